// The shipped arm64 purgatory page from byte 0, as the kernel enters it: on
// a bare QEMU `virt` machine (qemu-system-aarch64, TCG) at EL1 and at EL2,
// MMU and caches off, interrupts masked. A small ELF (assembled here with
// binutils-aarch64-linux-gnu) holds the page at PAGE_AT and the hashed data
// at DATA_AT, fills every register with garbage and branches to the page.
// Its "kernel" prints x0..x3, CurrentEL, SCTLR_ELx and DAIF on the PL011 and
// exits through semihosting; a halted page is found in its wfi loop with the
// QEMU monitor. This covers what user-mode QEMU cannot run: the privileged
// I-cache prologue. (QEMU does not fault unaligned Device accesses, so MMU-off
// alignment stays the drift test's job.)

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { buildArm64Purgatory, type PurgatoryRegion } from "../../lib/arch/arm64/purgatory.ts";
import { PURGATORY_HALT_OFFSET } from "../../lib/arch/arm64/purgatory_blob.ts";

const KERNEL_PROBE = 0x4008_0000; // first byte of .text
const PAGE_AT = 0x4010_0000;
const DATA_AT = 0x4020_0000;
const DTB = 0x4800_0000; // not read: only passed on in x0
const SAMPLE_MS = 500; // between two looks at the halted CPU
const HALT_LIMIT_MS = 30_000; // a passing run takes well under a second
const RUN_LIMIT_MS = 60_000;

const SOURCE = String.raw`
	.equ UART, 0x09000000                /* virt: PL011 data register */
	.equ SYS_EXIT, 0x18                  /* semihosting */
	.equ ADP_Stopped_ApplicationExit, 0x20026
	.text
	.global _start
kernel_probe:                            /* x0..x3 as the page left them */
	mov	x19, x0
	mov	x20, x1
	mov	x21, x2
	mov	x22, x3
	mrs	x23, CurrentEL
	cmp	x23, #8
	b.ne	1f
	mrs	x24, sctlr_el2
	b	2f
1:	mrs	x24, sctlr_el1
2:	mrs	x25, daif
	ldr	x26, =UART
	.irp r, 19,20,21,22,23,24,25
	mov	x0, x\r
	bl	put_hex
	.endr
	mov	w1, #'\n'
	str	w1, [x26]
	adr	x1, exit_block
	mov	w0, #SYS_EXIT
	hlt	#0xf000
3:	b	3b

put_hex:                                 /* x0 as 16 hex digits and a space */
	mov	x2, #60
1:	lsr	x1, x0, x2
	and	x1, x1, #15
	add	x3, x1, #'0'
	add	x1, x1, #('a' - 10)
	cmp	x3, #'9'
	csel	x1, x3, x1, ls
	str	w1, [x26]
	subs	x2, x2, #4
	b.pl	1b
	mov	w1, #' '
	str	w1, [x26]
	ret

_start:
	ldr	x0, =0xbad0bad0bad0bad0      /* x0 is meaningless at entry */
	.irp r, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
	add	x\r, x0, #\r
	.endr
	mov	sp, x29
	ldr	x30, =PAGE_AT
	br	x30

	.balign 8
exit_block:
	.quad ADP_Stopped_ApplicationExit, 0

	.section .purgatory, "ax"
	.incbin "page.bin"
	.section .blob, "a"
	.incbin "data.bin"
`;

async function tool(cmd: string, args: string[], cwd?: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `\`${cmd}\` not found: install binutils-aarch64-linux-gnu and qemu-system-arm`,
      );
    }
    throw err;
  }
  assert.ok(out.success, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** Writes the probe ELF (page at PAGE_AT, data at DATA_AT) into `dir`. */
async function buildImage(dir: string, page: Uint8Array, data: Uint8Array): Promise<string> {
  await Deno.writeTextFile(`${dir}/probe.S`, SOURCE);
  await Deno.writeFile(`${dir}/page.bin`, page);
  await Deno.writeFile(`${dir}/data.bin`, data);
  await tool(
    "aarch64-linux-gnu-as",
    ["--defsym", `PAGE_AT=${PAGE_AT}`, "-o", "probe.o", "probe.S"],
    dir,
  );
  await tool("aarch64-linux-gnu-ld", [
    "-e",
    "_start",
    `-Ttext=0x${KERNEL_PROBE.toString(16)}`,
    `--section-start=.purgatory=0x${PAGE_AT.toString(16)}`,
    `--section-start=.blob=0x${DATA_AT.toString(16)}`,
    "-o",
    "probe.elf",
    "probe.o",
  ], dir);
  const nm = await tool("aarch64-linux-gnu-nm", ["probe.elf"], dir);
  assert.match(nm, new RegExp(`^0*${KERNEL_PROBE.toString(16)} t kernel_probe$`, "m"));
  return `${dir}/probe.elf`;
}

function qemu(dir: string, elf: string, el2: boolean, monitor: boolean): Deno.ChildProcess {
  return new Deno.Command("qemu-system-aarch64", {
    args: [
      ...["-M", el2 ? "virt,virtualization=on" : "virt", "-cpu", "max", "-m", "256"],
      ...["-display", "none", "-monitor", monitor ? "stdio" : "none"],
      ...["-serial", `file:${dir}/uart.txt`, "-semihosting", "-kernel", elf],
    ],
    stdin: monitor ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(RUN_LIMIT_MS),
  }).spawn();
}

async function withImage<T>(
  page: Uint8Array,
  data: Uint8Array,
  body: (dir: string, elf: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "arm64-purgatory-system-" });
  try {
    return await body(dir, await buildImage(dir, page, data));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Boots until the probe exits; its line: x0..x3, CurrentEL, SCTLR_ELx, DAIF. */
function bootToKernel(page: Uint8Array, data: Uint8Array, el2: boolean): Promise<bigint[]> {
  return withImage(page, data, async (dir, elf) => {
    const out = await qemu(dir, elf, el2, false).output();
    const uart = await Deno.readTextFile(`${dir}/uart.txt`).catch(() => "");
    assert.equal(out.code, 0, `semihosting exit ${out.code}: ${uart}`);
    const words = uart.trim().split(/\s+/).map((w) => BigInt(`0x${w}`));
    assert.equal(words.length, 7, `probe printed: ${uart}`);
    return words;
  });
}

/** One `info registers` answer: pc, x0..x2 and the exception level. */
interface Sample {
  pc: bigint;
  x: bigint[];
  el: string;
}

/**
 * Boots and samples the CPU through the QEMU monitor every SAMPLE_MS until
 * two samples in a row show `inLoop(pc)` (or HALT_LIMIT_MS passes); returns
 * the last sample, and whether the probe ever printed.
 */
function bootToHalt(
  page: Uint8Array,
  data: Uint8Array,
  el2: boolean,
  inLoop: (pc: bigint) => boolean,
): Promise<{ sample: Sample | null; probed: boolean }> {
  return withImage(page, data, async (dir, elf) => {
    const child = qemu(dir, elf, el2, true);
    const writer = child.stdin.getWriter();
    let text = "";
    const reading = child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void (text += chunk) }),
    );
    let exited = false;
    const status = child.status.finally(() => exited = true);
    const samples: Sample[] = [];
    const deadline = Date.now() + HALT_LIMIT_MS;
    while (Date.now() < deadline && !exited) {
      await new Promise((ok) => setTimeout(ok, SAMPLE_MS));
      const seen = text.split("PC=").length;
      const asked = await writer.write(new TextEncoder().encode("info registers\n")).then(
        () => true,
        () => false,
      );
      if (!asked) break;
      while (text.split("PC=").length === seen && Date.now() < deadline && !exited) {
        await new Promise((ok) => setTimeout(ok, 20));
      }
      const last = text.slice(text.lastIndexOf(" PC="));
      const reg = (name: string) => {
        const m = new RegExp(`\\b${name}=([0-9a-f]{16})`).exec(last);
        return m ? BigInt(`0x${m[1]}`) : -1n;
      };
      const el = /PSTATE=[0-9a-f]+ \S+ (EL\d)/.exec(last)?.[1] ?? "?";
      if (text.split("PC=").length === seen) break;
      samples.push({ pc: reg("PC"), x: [reg("X00"), reg("X01"), reg("X02")], el });
      if (samples.length >= 2 && samples.slice(-2).every((s) => inLoop(s.pc))) break;
    }
    await writer.write(new TextEncoder().encode("quit\n")).catch(() => {});
    await writer.close().catch(() => {});
    await reading;
    await status;
    const uart = await Deno.readTextFile(`${dir}/uart.txt`).catch(() => "");
    return { sample: samples.at(-1) ?? null, probed: uart !== "" };
  });
}

function regionsOf(data: Uint8Array, lengths: number[]): PurgatoryRegion[] {
  let at = 0;
  return lengths.map((len) => {
    const region = {
      mem: DATA_AT + at,
      len,
      sha256: new Uint8Array(createHash("sha256").update(data.subarray(at, at + len)).digest()),
    };
    at += (len + 4095) & ~4095;
    return region;
  });
}

const SCTLR_M = 1n << 0n;
const SCTLR_C = 1n << 2n;
const SCTLR_I = 1n << 12n;
const DAIF_ALL = 0xfn << 6n;

for (const el2 of [false, true]) {
  const level = el2 ? 2n : 1n;
  Deno.test(`arm64 purgatory at EL${level}, MMU off: verifies, turns the I-cache on, x0 = DTB, x1-x3 = 0`, async () => {
    const data = new Uint8Array(randomBytes(1 << 20));
    const verify = regionsOf(data, [(1 << 19) + 3, 4096, 1, 0, 300_000]);
    const page = buildArm64Purgatory({ kernelEntry: KERNEL_PROBE, dtb: DTB, verify });
    const [x0, x1, x2, x3, currentEl, sctlr, daif] = await bootToKernel(page, data, el2);
    assert.deepEqual([x0, x1, x2, x3], [BigInt(DTB), 0n, 0n, 0n]);
    assert.equal(currentEl >> 2n, level, "entered the kernel at another EL");
    assert.equal(sctlr & SCTLR_I, SCTLR_I, "I-cache left off");
    assert.equal(sctlr & (SCTLR_M | SCTLR_C), 0n, "MMU or D-cache turned on");
    assert.equal(daif & DAIF_ALL, DAIF_ALL, "interrupts unmasked");
  });

  Deno.test(`arm64 purgatory at EL${level}, MMU off: halts in its wfi loop on a corrupted byte`, async () => {
    const data = new Uint8Array(randomBytes(64 * 1024));
    const verify = regionsOf(data, [8192, 4096 + 7, 100]);
    const page = buildArm64Purgatory({ kernelEntry: KERNEL_PROBE, dtb: DTB, verify });
    data[8192 + 4096 + 6] ^= 0x01; // region 1's last byte, after the digest was taken
    const halt = BigInt(PAGE_AT + PURGATORY_HALT_OFFSET);
    const inLoop = (pc: bigint) => pc === halt || pc === halt + 4n;
    const { sample, probed } = await bootToHalt(page, data, el2, inLoop);
    assert.ok(!probed, "reached the kernel with a corrupted segment");
    assert.ok(sample && inLoop(sample.pc), `not in the halt loop: pc ${sample?.pc.toString(16)}`);
    assert.deepEqual(sample.x, [1n, BigInt(verify[1].mem), BigInt(verify[1].len)]);
    assert.equal(sample.el, `EL${level}`);
  });
}
