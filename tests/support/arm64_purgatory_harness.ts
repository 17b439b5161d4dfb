/**
 * Runs the shipped arm64 purgatory page on an x86_64 host: a small static
 * aarch64 Linux program (no libc; assembled and linked here with Debian's
 * binutils-aarch64-linux-gnu) maps the page and a data file at fixed
 * addresses and calls into it under user-mode `qemu-aarch64` (Debian's
 * qemu-user). Region tables then hold user-mode addresses inside the data
 * mapping instead of physical ones. The purgatory's code from purgatory_main
 * on is unprivileged (the drift test checks that), so this is the code
 * kexec_load jumps into, minus the 15-instruction I-cache prologue.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as blob from "../../lib/arch/arm64/purgatory_blob.ts";

/** Where the data file is mapped (read-only): region `mem` values point here. */
export const DATA_AT = 0x3000_0000;
/**
 * CPU seconds (ITIMER_VIRTUAL: the QEMU process's own user time, so a loaded
 * machine does not shorten it) the entry mode gives the page before
 * reporting a halt. A passing run needs a few milliseconds.
 */
export const ALARM_CPU_SECONDS = 1;

const SOURCE = String.raw`
/*
 *   harness MODE PAGE_FILE DATA_FILE
 * maps PAGE_FILE read/write/execute at PAGE_AT and DATA_FILE read-only at
 * DATA_AT, then by MODE:
 *   h  purgatory_sha256(mem, len, out) for every entry of the page's region
 *      table; writes each 32-byte digest
 *   v  purgatory_verify(); writes its 8-byte result
 *   e  fills x0..x30 with garbage and branches to purgatory_main. The
 *      kernel_entry slot should name kernel_probe, which writes x0..x3 and
 *      exits 0. After ALARM_SEC seconds of CPU time SIGVTALRM's handler
 *      writes x0..x3 and pc of the interrupted code instead and exits 3.
 * Exit codes: 0 done, 3 alarm, 4 a callee-saved register or sp changed
 * across a call, 64 usage, 65 a file could not be mapped or written.
 */
	.equ SYS_openat, 56
	.equ SYS_close, 57
	.equ SYS_lseek, 62
	.equ SYS_write, 64
	.equ SYS_exit_group, 94
	.equ SYS_setitimer, 103
	.equ SYS_sigaltstack, 132
	.equ SYS_rt_sigaction, 134
	.equ SYS_mmap, 222
	.equ AT_FDCWD, -100
	.equ SEEK_END, 2
	.equ PROT_READ, 1
	.equ PROT_RWX, 7
	.equ MAP_PRIVATE_FIXED, 0x12
	.equ SIGVTALRM, 26
	.equ ITIMER_VIRTUAL, 1
	.equ SA_SIGINFO, 4
	.equ SA_ONSTACK, 0x08000000
	.equ ALT_STACK_SIZE, 0x10000
	.equ UC_REGS, 184                    /* ucontext.uc_mcontext.regs[0] */
	.equ UC_PC, 440                      /* ucontext.uc_mcontext.pc */
	.equ CANARY, 0x5ca1ab1e

	.text
	.global _start
kernel_probe:
	adrp	x9, out
	add	x9, x9, :lo12:out
	stp	x0, x1, [x9]
	stp	x2, x3, [x9, #16]
	mov	x1, x9
	mov	x2, #32
	bl	write_out
	mov	x0, #0
	b	exit

_start:
	ldr	x0, [sp]
	cmp	x0, #4
	b.ne	usage
	ldr	x19, [sp, #16]
	ldr	x0, [sp, #24]
	ldr	x1, =PAGE_AT
	mov	x2, #PROT_RWX
	bl	map_file
	ldr	x0, [sp, #32]
	ldr	x1, =DATA_AT
	mov	x2, #PROT_READ
	bl	map_file
	ldr	x20, =PAGE_AT
	ldrb	w0, [x19]
	cmp	w0, #'h'
	b.eq	mode_hash
	cmp	w0, #'v'
	b.eq	mode_verify
	cmp	w0, #'e'
	b.eq	mode_entry
usage:
	mov	x0, #64
	b	exit

set_saved:                               /* x21..x28 = CANARY + 21.. */
	ldr	x21, =CANARY + 21
	add	x22, x21, #1
	add	x23, x21, #2
	add	x24, x21, #3
	add	x25, x21, #4
	add	x26, x21, #5
	add	x27, x21, #6
	add	x28, x21, #7
	mov	x29, sp
	ret
check_saved:                             /* exit 4 unless as set_saved left them */
	ldr	x9, =CANARY + 21
	cmp	x21, x9
	.irp r, 22,23,24,25,26,27,28
	add	x9, x9, #1
	ccmp	x\r, x9, #0, eq
	.endr
	mov	x9, sp
	ccmp	x29, x9, #0, eq
	b.ne	1f
	ret
1:	mov	x0, #4
	b	exit

mode_hash:
	ldr	x19, [x20, #REGION_COUNT_OFF]
	add	x20, x20, #REGIONS_OFF
1:	cbz	x19, 2f
	bl	set_saved
	ldp	x0, x1, [x20]
	adrp	x2, out
	add	x2, x2, :lo12:out
	ldr	x9, =PAGE_AT + SHA256_OFF
	blr	x9
	bl	check_saved
	adrp	x1, out
	add	x1, x1, :lo12:out
	mov	x2, #32
	bl	write_out
	add	x20, x20, #REGION_SIZE
	sub	x19, x19, #1
	b	1b
2:	mov	x0, #0
	b	exit

mode_verify:
	bl	set_saved
	ldr	x9, =PAGE_AT + VERIFY_OFF
	blr	x9
	bl	check_saved
	adrp	x1, out
	add	x1, x1, :lo12:out
	str	x0, [x1]
	mov	x2, #8
	bl	write_out
	mov	x0, #0
	b	exit

mode_entry:
	/* The handler needs a stack of its own: sp points into the page then. */
	adrp	x0, alt_stack_desc
	add	x0, x0, :lo12:alt_stack_desc
	adrp	x1, alt_stack
	add	x1, x1, :lo12:alt_stack
	str	x1, [x0]
	mov	x1, #0
	mov	x8, #SYS_sigaltstack
	svc	#0
	cbnz	x0, usage
	adrp	x1, alarm_action
	add	x1, x1, :lo12:alarm_action
	adr	x0, on_alarm
	str	x0, [x1]
	mov	x0, #SIGVTALRM
	mov	x2, #0
	mov	x3, #8
	mov	x8, #SYS_rt_sigaction
	svc	#0
	cbnz	x0, usage
	mov	x0, #ITIMER_VIRTUAL
	adrp	x1, alarm_time
	add	x1, x1, :lo12:alarm_time
	mov	x2, #0
	mov	x8, #SYS_setitimer
	svc	#0
	cbnz	x0, usage
	ldr	x30, =PAGE_AT + MAIN_OFF
	ldr	x0, =0xbad0bad0bad0bad0      /* x0 is meaningless at entry */
	.irp r, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29
	add	x\r, x0, #\r
	.endr
	br	x30

on_alarm:                                /* x2 = ucontext */
	adrp	x9, out
	add	x9, x9, :lo12:out
	ldp	x0, x1, [x2, #UC_REGS]
	stp	x0, x1, [x9]
	ldp	x0, x1, [x2, #UC_REGS + 16]
	stp	x0, x1, [x9, #16]
	ldr	x0, [x2, #UC_PC]
	str	x0, [x9, #32]
	mov	x1, x9
	mov	x2, #40
	bl	write_out
	mov	x0, #3
	b	exit

/* map_file: x0 = path, x1 = fixed address, x2 = prot. Exits 65 on failure. */
map_file:
	mov	x9, x1
	mov	x10, x2
	mov	x1, x0
	mov	x0, #AT_FDCWD
	mov	x2, #0
	mov	x8, #SYS_openat
	svc	#0
	tbnz	x0, #63, 9f
	mov	x11, x0
	mov	x1, #0
	mov	x2, #SEEK_END
	mov	x8, #SYS_lseek
	svc	#0
	tbnz	x0, #63, 9f
	cbz	x0, 1f
	mov	x1, x0
	mov	x0, x9
	mov	x2, x10
	mov	x3, #MAP_PRIVATE_FIXED
	mov	x4, x11
	mov	x5, #0
	mov	x8, #SYS_mmap
	svc	#0
	cmp	x0, x9
	b.ne	9f
1:	mov	x0, x11
	mov	x8, #SYS_close
	svc	#0
	ret
9:	mov	x0, #65
	b	exit

/* write_out: x1 = bytes, x2 = count, all written or exit 65. */
write_out:
	mov	x0, #1
	mov	x8, #SYS_write
	svc	#0
	cmp	x0, x2
	b.ne	9b
	ret

exit:
	mov	x8, #SYS_exit_group
	svc	#0

	.data
	.balign 16
alarm_action:                            /* struct sigaction, arm64 kernel ABI */
	.quad 0, SA_SIGINFO | SA_ONSTACK, 0, 0
alarm_time:                              /* struct itimerval: once, ALARM_SEC of CPU */
	.quad 0, 0, ALARM_SEC, 0
alt_stack_desc:                          /* stack_t: ss_sp, ss_flags, ss_size */
	.quad 0, 0, ALT_STACK_SIZE
	.bss
	.balign 16
out:	.skip 64
alt_stack:
	.skip ALT_STACK_SIZE
`;

const TOOLS_HINT = "install binutils-aarch64-linux-gnu (aarch64-linux-gnu-as, -ld, -nm) " +
  "and qemu-user (qemu-aarch64)";

async function tool(cmd: string, args: string[], signal?: AbortSignal) {
  try {
    return await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", signal })
      .output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(`\`${cmd}\` not found: ${TOOLS_HINT}`);
    throw err;
  }
}

async function must(cmd: string, args: string[]): Promise<string> {
  const out = await tool(cmd, args);
  const dec = new TextDecoder();
  assert.ok(out.success, `${cmd} ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** One harness executable, built for one page address. */
export interface Harness {
  /** Where the page is mapped: the page is position independent, so any page works. */
  readonly pageAt: number;
  /** Address of `kernel_probe`: the `kernelEntry` a page run in entry mode should name. */
  readonly kernelProbe: number;
  /** Runs one mode over `page` and `data` (at {@link DATA_AT}). */
  run(mode: HarnessMode, page: Uint8Array, data: Uint8Array): Promise<HarnessRun>;
  /** Removes the build directory. */
  close(): Promise<void>;
}

/** `hash`: each table region's digest; `verify`: verify()'s result; `entry`: the whole path. */
export type HarnessMode = "hash" | "verify" | "entry";

/** How one run ended. */
export interface HarnessRun {
  /** Exit code (0 done, 3 halted: alarm), or null when killed by a signal. */
  readonly code: number | null;
  readonly signal: Deno.Signal | null;
  readonly stdout: Uint8Array;
  /** stdout as little-endian u64 words. */
  readonly words: bigint[];
}

/**
 * Assembles and links the harness for a page mapped at `pageAt`.
 *
 * @example
 * ```ts
 * import { buildArm64Purgatory } from "../../lib/arch/arm64/purgatory.ts";
 * import { buildHarness, DATA_AT } from "./arm64_purgatory_harness.ts";
 * const harness = await buildHarness();
 * try {
 *   const data = new TextEncoder().encode("abc");
 *   const region = { mem: DATA_AT, len: 3, sha256: new Uint8Array(32) };
 *   const page = buildArm64Purgatory({ kernelEntry: 0x1000, dtb: 0x2000, verify: [region] });
 *   const { code, stdout } = await harness.run("hash", page, data);
 *   const hex = Array.from(stdout, (b) => b.toString(16).padStart(2, "0")).join("");
 *   if (code !== 0 || !hex.startsWith("ba7816bf")) throw new Error(`sha256("abc") = ${hex}`);
 * } finally {
 *   await harness.close();
 * }
 * ```
 */
export async function buildHarness(pageAt = 0x2000_0000): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "arm64-purgatory-harness-" });
  const defs: Record<string, number> = {
    PAGE_AT: pageAt,
    DATA_AT,
    SHA256_OFF: blob.PURGATORY_SHA256_OFFSET,
    VERIFY_OFF: blob.PURGATORY_VERIFY_OFFSET,
    MAIN_OFF: blob.PURGATORY_MAIN_OFFSET,
    REGION_COUNT_OFF: blob.PURGATORY_REGION_COUNT_OFFSET,
    REGIONS_OFF: blob.PURGATORY_REGIONS_OFFSET,
    REGION_SIZE: blob.PURGATORY_REGION_SIZE,
    ALARM_SEC: ALARM_CPU_SECONDS,
  };
  await Deno.writeTextFile(`${dir}/harness.S`, SOURCE);
  await must("aarch64-linux-gnu-as", [
    ...Object.entries(defs).flatMap(([k, v]) => ["--defsym", `${k}=${v}`]),
    "-o",
    `${dir}/harness.o`,
    `${dir}/harness.S`,
  ]);
  await must("aarch64-linux-gnu-ld", ["-static", "-o", `${dir}/harness`, `${dir}/harness.o`]);
  const nm = await must("aarch64-linux-gnu-nm", [`${dir}/harness`]);
  const probe = /^([0-9a-f]+) t kernel_probe$/m.exec(nm);
  assert.ok(probe, "kernel_probe not in the harness");
  let runs = 0;
  return {
    pageAt,
    kernelProbe: parseInt(probe[1], 16),
    async run(mode, page, data) {
      const n = runs++;
      await Deno.writeFile(`${dir}/page${n}.bin`, page);
      await Deno.writeFile(`${dir}/data${n}.bin`, data);
      const out = await tool("qemu-aarch64", [
        `${dir}/harness`,
        mode[0],
        `${dir}/page${n}.bin`,
        `${dir}/data${n}.bin`,
      ], AbortSignal.timeout(60_000));
      await Deno.remove(`${dir}/page${n}.bin`);
      await Deno.remove(`${dir}/data${n}.bin`);
      const view = new DataView(out.stdout.buffer, out.stdout.byteOffset, out.stdout.byteLength);
      const words: bigint[] = [];
      for (let i = 0; i + 8 <= out.stdout.length; i += 8) words.push(view.getBigUint64(i, true));
      return { code: out.signal ? null : out.code, signal: out.signal, stdout: out.stdout, words };
    },
    close: () => Deno.remove(dir, { recursive: true }),
  };
}
