/**
 * Loading Multiboot kernels through the injected syscall layer: the segments
 * and the chain purgatory → entry page → kernel that kexec_load gets, the
 * command line and module strings, -t between the two headers of one image,
 * and every refusal made before any system call.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { parseInvocation } from "../../lib/cli/invocation.ts";
import { runCli } from "../../lib/cli/run.ts";
import { loadKernel, type LoadRequest } from "../../lib/load.ts";
import { silentReporter } from "../../lib/report.ts";
import type { SegmentLoadPlan } from "../../lib/plan/types.ts";
import * as entry from "../../lib/arch/x86_64/multiboot/entry_blob.ts";
import * as purgatory from "../../lib/arch/x86_64/purgatory_blob.ts";
import { PATHS } from "../../lib/abi.ts";
import { KERNEL, machine } from "../support/machine.ts";
import {
  elfKernel,
  flatMb1Kernel,
  mb1Header,
  mb2Header,
  pattern,
  xenLikeKernel,
} from "../fixtures/multiboot.ts";

const XEN = "/boot/xen.gz";
const FLAT = "/boot/mb1.bin";
const DOM0 = "/boot/dom0-vmlinuz";
const RD = "/boot/dom0-initrd.img";
const DOM0_BYTES = pattern(0x3456, 1);
const RD_BYTES = pattern(0x2000, 2);

function mbMachine(extra: Record<string, Uint8Array | string | undefined> = {}) {
  return machine({
    [XEN]: new Uint8Array(gzipSync(xenLikeKernel())),
    [FLAT]: flatMb1Kernel(),
    [DOM0]: DOM0_BYTES,
    [RD]: RD_BYTES,
    ...extra,
  });
}

async function load(req: Partial<LoadRequest>, sys = mbMachine()): Promise<SegmentLoadPlan> {
  const result = await loadKernel(sys, {
    kernel: XEN,
    initrds: [],
    cmdline: "",
    crash: false,
    syscall: "auto",
    ...req,
  }, silentReporter);
  assert.equal(result.used, "kexec_load");
  assert.equal(sys.callsOf("kexec_file_load").length, 0, "the file loader is never asked");
  return result.plans.at(-1) as SegmentLoadPlan;
}

function segment(plan: SegmentLoadPlan, name: string) {
  const s = plan.segments.find((s) => s.name === name);
  assert.ok(s, `no segment ${name}: ${plan.segments.map((s) => s.name)}`);
  return s;
}

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const u64 = (b: Uint8Array, at: number) =>
  Number(new DataView(b.buffer, b.byteOffset).getBigUint64(at, true));

Deno.test("Xen (gzip'd, Multiboot2, relocatable): kernel high, modules, information, chain of entries", async () => {
  const plan = await load({
    cmdline: "console=com1 dom0_mem=512M",
    modules: [`${DOM0} console=hvc0 x="a b"`, RD],
  });
  assert.deepEqual(plan.segments.map((s) => s.name).sort(), [
    "kernel",
    "mb_entry",
    "mb_info",
    "module0",
    "module1",
    "purgatory",
  ]);
  const kernel = segment(plan, "kernel");
  // Preference high, 2 MiB alignment, below the 1 GiB machine's top of RAM.
  assert.equal(kernel.mem % 0x200000, 0);
  assert.ok(kernel.mem > 0x30000000, `kernel at 0x${kernel.mem.toString(16)}`);
  assert.deepEqual(kernel.buf.subarray(0, 16), pattern(0x5000, 3).subarray(0, 16));
  assert.equal(kernel.memsz, 0x9000);
  assert.equal(plan.cmdline, `${XEN} console=com1 dom0_mem=512M`);
  assert.deepEqual(segment(plan, "module0").buf, DOM0_BYTES);
  assert.deepEqual(segment(plan, "module1").buf, RD_BYTES);

  // purgatory (the entry) → entry page → kernel, EAX = Multiboot2 magic, EBX = information.
  const p = segment(plan, "purgatory");
  const mbEntry = segment(plan, "mb_entry");
  const info = segment(plan, "mb_info");
  assert.equal(plan.entry, p.mem);
  assert.equal(u64(p.buf, purgatory.PURGATORY_ENTRY64_OFFSET), mbEntry.mem);
  assert.equal(u64(p.buf, purgatory.PURGATORY_BOOT_PARAMS_OFFSET), info.mem);
  assert.equal(u32(mbEntry.buf, entry.MB_ENTRY_ENTRY_OFFSET), kernel.mem, "relocated entry");
  assert.equal(u32(mbEntry.buf, entry.MB_ENTRY_MAGIC_OFFSET), 0x36d76289);
  assert.equal(u32(mbEntry.buf, entry.MB_ENTRY_INFO_OFFSET), info.mem);

  // Every other segment's bytes are checked before the jump; the stack page is unchecked.
  const others = plan.segments.filter((s) => s !== p);
  assert.equal(u64(p.buf, purgatory.PURGATORY_REGION_COUNT_OFFSET), others.length);
  const regions = others.map((_, i) => purgatory.PURGATORY_REGIONS_OFFSET + 48 * i).map((at) => ({
    mem: u64(p.buf, at),
    len: u64(p.buf, at + 8),
    sha256: p.buf.slice(at + 16, at + 48),
  })).sort((a, b) => a.mem - b.mem);
  assert.deepEqual(
    regions,
    others.map((s) => ({
      mem: s.mem,
      len: s.buf.length,
      sha256: new Uint8Array(createHash("sha256").update(s.buf).digest()),
    })),
  );
  const stack = u64(p.buf, purgatory.PURGATORY_STACK_PAGE_OFFSET);
  assert.equal(stack, info.mem + info.memsz - 4096);
  assert.ok(stack >= info.mem + info.buf.length, "the stack page lies beyond the hashed bytes");

  // The information: the modules with their strings, the load base (relocatable).
  const text = new TextDecoder().decode(info.buf);
  assert.ok(text.includes(`${DOM0} console=hvc0 x="a b"\0`));
  assert.ok(text.includes(`${RD}\0`));
  assert.ok(text.includes(`${XEN} console=com1 dom0_mem=512M\0`));
  for (const s of plan.segments) assert.ok(s.mem + s.memsz <= 2 ** 32, `${s.name} below 4 GiB`);
});

Deno.test("-t multiboot-x86 boots Xen's other header: Multiboot, at its link address", async () => {
  const plan = await load({ type: "multiboot-x86", modules: [DOM0] });
  assert.equal(segment(plan, "kernel").mem, 0x200000);
  const mbEntry = segment(plan, "mb_entry");
  assert.equal(u32(mbEntry.buf, entry.MB_ENTRY_MAGIC_OFFSET), 0x2badb002);
  assert.equal(u32(mbEntry.buf, entry.MB_ENTRY_ENTRY_OFFSET), 0x200000);
  const info = segment(plan, "mb_info");
  assert.equal(u32(info.buf, 0) & 0x24d, 0x24d, "memory, cmdline, mods, mmap, loader name");
  assert.equal(plan.cmdline, XEN, "no --append: just the path");
});

Deno.test("a flat Multiboot kernel (a.out kludge) is loaded at its address with its bss; -i: no checks", async () => {
  const plan = await load({ kernel: FLAT, noChecks: true, cmdline: "x=1" });
  const kernel = segment(plan, "kernel");
  assert.deepEqual([kernel.mem, kernel.memsz, kernel.buf.length], [0x100000, 0x3000, 0x1234]);
  assert.equal(u32(segment(plan, "mb_entry").buf, entry.MB_ENTRY_ENTRY_OFFSET), 0x100040);
  const p = segment(plan, "purgatory");
  assert.equal(u64(p.buf, purgatory.PURGATORY_REGION_COUNT_OFFSET), 0);
  assert.equal(u64(p.buf, purgatory.PURGATORY_STACK_PAGE_OFFSET), 0);
  assert.equal(segment(plan, "mb_info").memsz, 4096, "no stack page without checks");
});

Deno.test("the EFI system table is passed when requested and the machine booted through EFI", async () => {
  const k = elfKernel({
    bits: 32,
    entry: 0x100000,
    loads: [{ paddr: 0x100000, data: pattern(0x100) }],
    headers: [mb2Header([{ type: 1, optional: true, fields: [12] }])],
  });
  const bootParams = new Uint8Array(4096);
  const v = new DataView(bootParams.buffer);
  v.setUint32(0x1c0, 0x34364c45, true); // "EL64"
  v.setUint32(0x1c4, 0x7f9e0018, true);
  v.setUint32(0x1d8, 0x1, true); // efi_systab_hi
  const withEfi = await load(
    { kernel: "/k" },
    mbMachine({ "/k": k, [PATHS.bootParams]: bootParams }),
  );
  const tags = mb2Tags(segment(withEfi, "mb_info").buf);
  assert.equal(u64(segment(withEfi, "mb_info").buf, tags.get(12)! + 8), 0x17f9e0018);
  const bios = await load({ kernel: "/k" }, mbMachine({ "/k": k }));
  assert.deepEqual([...mb2Tags(segment(bios, "mb_info").buf).keys()], [1, 2, 4, 6, 0]);
  // Not requested: not passed, even on EFI (Xen's header does not ask).
  const xen = await load({}, mbMachine({ [PATHS.bootParams]: bootParams }));
  assert.ok(!mb2Tags(segment(xen, "mb_info").buf).has(12));
});

/** Multiboot2 information tags: type → offset. */
function mb2Tags(info: Uint8Array): Map<number, number> {
  const tags = new Map<number, number>();
  for (let at = 8; at < info.length; at += Math.ceil(u32(info, at + 4) / 8) * 8) {
    tags.set(u32(info, at), at);
    if (u32(info, at) === 0) break;
  }
  return tags;
}

async function refusedBeforeAnySyscall(
  argv: string[],
  code: number,
  pattern: RegExp,
  sys = mbMachine(),
): Promise<void> {
  assert.equal(await runCli(argv, sys), code, sys.stderr);
  assert.match(sys.stderr, pattern);
  assert.equal(sys.stderr.trim().split("\n").length, 1, `one line: ${sys.stderr}`);
  assert.equal(sys.callsOf("kexec_load").length + sys.callsOf("kexec_file_load").length, 0);
}

Deno.test("refused before any system call, in one line", async () => {
  await refusedBeforeAnySyscall(
    ["-l", XEN, "--module", "/boot/nope args"],
    255,
    /cannot open module \/boot\/nope/,
  );
  await refusedBeforeAnySyscall(
    ["-l", KERNEL, "--module", DOM0],
    1,
    /--module is for Multiboot kernels, not for kernel \/boot\/vmlinuz \(x86 bzImage\)/,
  );
  await refusedBeforeAnySyscall(
    ["-l", XEN, "--initrd", RD],
    1,
    /Multiboot kernel: it takes no --initrd.*--module/,
  );
  await refusedBeforeAnySyscall(["-p", XEN], 1, /cannot be loaded as a crash kernel/);
  await refusedBeforeAnySyscall(["-l", XEN, "--module", " x"], 1, /names no file/);
  await refusedBeforeAnySyscall(["-l", XEN, "--module="], 1, /needs "FILE ARGS"/);
  await refusedBeforeAnySyscall(
    ["-s", "-l", XEN],
    253,
    /kexec_file_load would refuse kernel \/boot\/xen\.gz: .*only bzImage.*nothing was loaded/,
  );
  const video = flatMb1Kernel(0x10007);
  await refusedBeforeAnySyscall(
    ["-l", "/boot/video.bin"],
    255,
    /requires video mode information/,
    mbMachine({ "/boot/video.bin": video }),
  );
  const overlapping = elfKernel({
    bits: 32,
    entry: 0x100000,
    loads: [
      { paddr: 0x100000, data: pattern(0x10), memsz: 0x2000 },
      { paddr: 0x101000, data: pattern(0x10) },
    ],
    headers: [mb1Header(0x3)],
  });
  await refusedBeforeAnySyscall(
    ["-l", "/boot/ov"],
    255,
    /ELF load addresses overlap/,
    mbMachine({ "/boot/ov": overlapping }),
  );
  const lowMemory = elfKernel({
    bits: 32,
    entry: 0x9f000,
    loads: [{ paddr: 0x9f000, data: pattern(0x10), memsz: 0x2000 }],
    headers: [mb1Header(0x3)],
  });
  await refusedBeforeAnySyscall(
    ["-l", "/boot/low"],
    255,
    /kernel of \/boot\/low .*no usable RAM/,
    mbMachine({ "/boot/low": lowMemory }),
  );
});

Deno.test("auto mode goes straight to kexec_load; the message counts the modules", async () => {
  const sys = mbMachine();
  assert.equal(await runCli(["-l", XEN, "--module", DOM0, "--module", RD], sys), 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_file_load").length, 0);
  const [call] = sys.callsOf("kexec_load");
  assert.equal(call.nr, 6);
  assert.equal(call.flags, 0x3e0000);
  assert.match(sys.stderr, /loaded kernel \/boot\/xen\.gz with kexec_load \(no initrd; 2 module/);
});

Deno.test("--dry-run --json shows the Multiboot plan and calls nothing", async () => {
  const sys = mbMachine();
  const argv = ["--dry-run", "--json", "-l", XEN, "--module", `${DOM0} a=1`, "--append", "x"];
  assert.equal(await runCli(argv, sys), 0, sys.stderr);
  assert.equal(sys.calls.filter((c) => c.op.startsWith("kexec")).length, 0);
  const out = JSON.parse(sys.stdout);
  const plan = out.plans.at(-1);
  assert.equal(plan.syscall, "kexec_load");
  assert.equal(plan.cmdline, `${XEN} x`);
  assert.ok(plan.notes.some((n: string) => /^module0: 0x[0-9a-f]+, 13398 bytes, string/.test(n)));
  assert.ok(plan.notes.some((n: string) => /relocatable .* preference high/.test(n)));
});

Deno.test("--module is repeatable and keeps each argument's order and text", () => {
  const inv = parseInvocation(
    ["-l", XEN, "--module", "/a b  c", "--module=/d", "--module", "/e"],
    "x86_64",
  );
  assert.deepEqual(inv.modules, ["/a b  c", "/d", "/e"]);
  assert.deepEqual(parseInvocation(["-l", XEN], "x86_64").modules, []);
});
