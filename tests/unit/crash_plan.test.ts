/**
 * A whole crash load on a fake machine (issue 5): `-p -c` through the CLI down
 * to the recorded kexec_load call, the plan's invariants (every segment and
 * the entry in the crash region, flags), the elfcorehdr segment's contents,
 * the crash kernel's boot_params e820 and command line, and the refusals.
 */

import { sha256 } from "../../lib/plan/sha256.ts";
import assert from "node:assert/strict";
import { PATHS } from "../../lib/abi.ts";
import { runCli } from "../../lib/cli/run.ts";
import { planX86Load } from "../../lib/arch/x86_64/plan_load.ts";
import { readHostFacts } from "../../lib/facts.ts";
import type { Segment, SegmentLoadPlan } from "../../lib/plan/types.ts";
import { validateSegmentPlan } from "../../lib/plan/validate.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import {
  CPU_NOTES,
  CRASH_REGION,
  crashMachine,
  END,
  KERNEL_CODE,
  PAGE_OFFSET,
  TEXT,
  VMCOREINFO,
} from "../support/crash_machine.ts";
import { INITRD, INITRD_BYTES, KERNEL } from "../support/machine.ts";

const APPEND = "console=ttyS0 irqpoll nr_cpus=1 reset_devices";
const KEXEC_ON_CRASH = 0x1;
const KEXEC_ARCH_X86_64 = 0x3e0000;

function plan(sys = crashMachine(), cmdline = APPEND, verify = true): SegmentLoadPlan {
  const kernel = sys.mapFile(sys.openFile(KERNEL, "kernel"));
  return planX86Load(sys, {
    kernelPath: KERNEL,
    kernel,
    initrd: INITRD_BYTES,
    cmdline,
    crash: true,
    verify: verify ? sha256 : undefined,
    facts: readHostFacts(sys),
  });
}

function segment(p: SegmentLoadPlan, name: string): Segment {
  const s = p.segments.find((s) => s.name === name);
  assert.ok(s, `no ${name} segment in ${p.segments.map((s) => s.name)}`);
  return s;
}

const inRegion = (a: number) => a >= CRASH_REGION.start && a < CRASH_REGION.end;

Deno.test("crash plan: every segment and the entry inside the region, flags ON_CRASH|x86_64", () => {
  const p = plan();
  assert.equal(p.flags, KEXEC_ON_CRASH | KEXEC_ARCH_X86_64);
  assert.deepEqual(p.crashRegion, CRASH_REGION);
  assert.deepEqual(
    p.segments.map((s) => s.name).sort(),
    ["boot_params", "elfcorehdr", "initrd", "kernel", "purgatory"],
  );
  for (const s of p.segments) {
    assert.ok(inRegion(s.mem) && s.mem + s.memsz <= CRASH_REGION.end, `${s.name} at ${s.mem}`);
  }
  assert.ok(inRegion(p.entry));
  assert.equal(p.entry, segment(p, "purgatory").mem);
  // The kernel's own checks, as load.ts runs them before the syscall.
  validateSegmentPlan(p, { pageSize: 4096, crashRegion: p.crashRegion, ramBytes: p.ramBytes });
});

Deno.test("crash plan: the elfcorehdr segment describes this machine", () => {
  const p = plan();
  const hdr = segment(p, "elfcorehdr");
  const v = new DataView(hdr.buf.buffer, hdr.buf.byteOffset, hdr.buf.byteLength);
  assert.equal(v.getUint16(0x10, true), 4);
  const phnum = v.getUint16(0x38, true);
  const phdrs = Array.from({ length: phnum }, (_, i) => {
    const at = 64 + 56 * i;
    return {
      type: v.getUint32(at, true),
      paddr: v.getBigUint64(at + 24, true),
      vaddr: v.getBigUint64(at + 16, true),
      size: v.getBigUint64(at + 40, true),
    };
  });
  assert.deepEqual(phdrs, [
    { type: 4, paddr: BigInt(CPU_NOTES[0].address), vaddr: 0n, size: BigInt(CPU_NOTES[0].size) },
    { type: 4, paddr: BigInt(CPU_NOTES[1].address), vaddr: 0n, size: BigInt(CPU_NOTES[1].size) },
    { type: 4, paddr: BigInt(VMCOREINFO.address), vaddr: 0n, size: BigInt(VMCOREINFO.size) },
    { type: 1, paddr: BigInt(KERNEL_CODE), vaddr: TEXT, size: END - TEXT },
    // RAM: 1 MiB up to the crash region, then after it up to the end of RAM.
    {
      type: 1,
      paddr: 0x100000n,
      vaddr: PAGE_OFFSET + 0x100000n,
      size: BigInt(CRASH_REGION.start - 0x100000),
    },
    {
      type: 1,
      paddr: BigInt(CRASH_REGION.end),
      vaddr: PAGE_OFFSET + BigInt(CRASH_REGION.end),
      size: BigInt(0x7ffe0000 - CRASH_REGION.end),
    },
  ]);
  assert.equal(hdr.mem % 4096, 0);
});

Deno.test("crash plan: boot_params e820 is the crash map without the elfcorehdr; cmdline has it first", () => {
  const p = plan();
  const hdr = segment(p, "elfcorehdr");
  assert.equal(p.cmdline, `elfcorehdr=0x${hdr.mem.toString(16)} ${APPEND}`);
  const bp = segment(p, "boot_params").buf;
  const v = new DataView(bp.buffer, bp.byteOffset, bp.byteLength);
  const count = bp[0x1e8];
  const e820 = Array.from({ length: count }, (_, i) => ({
    addr: Number(v.getBigUint64(0x2d0 + 20 * i, true)),
    size: Number(v.getBigUint64(0x2d0 + 20 * i + 8, true)),
    type: v.getUint32(0x2d0 + 20 * i + 16, true),
  }));
  const ram = e820.filter((e) => e.type === 1);
  assert.deepEqual(ram, [
    { addr: 0x1000, size: 0x9ec00, type: 1 },
    // The elfcorehdr went top-down, so the region's RAM ends where it starts.
    { addr: CRASH_REGION.start, size: hdr.mem - CRASH_REGION.start, type: 1 },
  ]);
  assert.equal(hdr.mem + hdr.memsz, CRASH_REGION.end);
  assert.ok(e820.some((e) => e.type === 2 && e.addr === 0x7ffe0000), "firmware reserved kept");
  // The command line the kernel reads is the plan's, NUL-terminated.
  const cmdPtr = v.getUint32(0x228, true);
  const at = cmdPtr - segment(p, "boot_params").mem;
  assert.equal(new TextDecoder().decode(bp.subarray(at, at + p.cmdline.length)), p.cmdline);
  assert.equal(bp[at + p.cmdline.length], 0);
});

Deno.test("crash plan: the purgatory checks digests unless -i", () => {
  assert.match(plan().notes.join("\n"), /checks SHA-256 of 4 segments/);
  assert.match(plan(crashMachine(), APPEND, false).notes.join("\n"), /no digest check/);
});

Deno.test("-p -c: one kexec_load with ON_CRASH|x86_64, entry and table inside the region", async () => {
  const sys = crashMachine();
  const code = await runCli(
    ["-p", "-c", KERNEL, `--initrd=${INITRD}`, `--append=${APPEND}`],
    sys,
  );
  assert.equal(code, 0, sys.stderr);
  const calls = sys.callsOf("kexec_load");
  assert.equal(calls.length, 1);
  const [call] = calls;
  assert.equal(call.flags, KEXEC_ON_CRASH | KEXEC_ARCH_X86_64);
  assert.ok(inRegion(Number(call.entry)));
  assert.equal(call.nr, 5);
  for (let i = 0; i < call.nr; i++) {
    const mem = Number(call.table[4 * i + 2]);
    const memsz = Number(call.table[4 * i + 3]);
    assert.ok(inRegion(mem) && mem + memsz <= CRASH_REGION.end, `segment ${i}`);
  }
  assert.equal(sys.callsOf("kexec_file_load").length, 0);
  assert.match(sys.stderr, /loaded crash kernel \/boot\/vmlinuz with kexec_load/);
});

Deno.test("-p -c --dry-run: prints the plan with the ELF header summary, calls nothing", async () => {
  const sys = crashMachine();
  const code = await runCli(
    ["-p", "-c", "--dry-run", KERNEL, `--initrd=${INITRD}`, `--append=${APPEND}`],
    sys,
  );
  assert.equal(code, 0, sys.stderr);
  assert.equal(sys.callsOf("kexec_load").length, 0);
  const out = sys.stdout;
  assert.match(out, /flags: +0x3e0001 \[KEXEC_ON_CRASH\|KEXEC_ARCH_X86_64\]/);
  assert.match(
    out,
    /elfcorehdr: ELF64 ET_CORE, 6 program headers \(2 CPU notes, 1 VMCOREINFO, 1 kernel text, 2 RAM\)/,
  );
  assert.match(
    out,
    /PT_LOAD kernel text: paddr 0x1e000000, size 0x35c6000, vaddr 0xffffffff9a000000/,
  );
  assert.match(out, /PAGE_OFFSET 0xffff9e4a40000000/);
  assert.match(out, /crash region: 0x69000000-0x78ffffff \(256\.0 MiB\)/);
  const lowMemoryNote = "low 1 MiB: given to the crash kernel as RAM and left out of the dump " +
    "(no 640K backup segment, as in Linux's own crash loader: current kernels keep the low " +
    "1 MiB reserved)\n";
  assert.ok(out.includes(lowMemoryNote), out);
  assert.match(
    out,
    /memory map from \/proc\/iomem, cut to what the crash kernel may use \(8 ranges,/,
  );
});

Deno.test("-p -c: --mem-min/--mem-max narrow placement inside the region", () => {
  const sys = crashMachine();
  const kernel = sys.mapFile(sys.openFile(KERNEL, "kernel"));
  const p = planX86Load(sys, {
    kernelPath: KERNEL,
    kernel,
    initrd: INITRD_BYTES,
    cmdline: APPEND,
    crash: true,
    verify: sha256,
    memMin: 0x70000000,
    memMax: 0x75ffffff,
    facts: readHostFacts(sys),
  });
  for (const s of p.segments) {
    assert.ok(s.mem >= 0x70000000 && s.mem + s.memsz <= 0x76000000, `${s.name} at ${s.mem}`);
  }
});

Deno.test("-p -c: no Crash kernel in /proc/iomem → exit 1 (kexec-tools' die()) with the hint, nothing called", async () => {
  const sys = crashMachine({
    [PATHS.procIomem]: "00100000-7ffdffff : System RAM\n  1e000000-1ee02a06 : Kernel code\n",
  });
  const code = await runCli(["-p", "-c", KERNEL, `--append=${APPEND}`], sys);
  assert.equal(code, 1);
  assert.match(sys.stderr, /not reserved.*crashkernel=/);
  assert.equal(sys.callsOf("kexec_load").length, 0);
});

Deno.test("-p -c: a non-relocatable kernel that cannot run in the region is refused", () => {
  const sys = crashMachine({ [KERNEL]: syntheticKernel({ relocatable: 0 }) });
  assert.throws(() => plan(sys), /not relocatable/);
});

Deno.test("-p -c: a kernel that does not fit in the region names the region", () => {
  const sys = crashMachine({ [KERNEL]: syntheticKernel({ initSize: 0x11000000 }) });
  assert.throws(() => plan(sys), /kernel .*does not fit/);
});

Deno.test("-p -c: --mem-min/--mem-max outside the region are refused naming the region", async () => {
  const sys = crashMachine();
  const code = await runCli(
    ["-p", "-c", "--mem-min=0x1000000", "--mem-max=0x1ffffff", KERNEL, `--append=${APPEND}`],
    sys,
  );
  assert.equal(code, 255);
  assert.match(sys.stderr, /leave no room inside the crash region 0x69000000-0x78ffffff/);
  assert.equal(sys.callsOf("kexec_load").length, 0);
});
