/**
 * arm64 crash loads (lib/arch/arm64/crash.ts, kernel_layout.ts) on what two
 * real guests showed: the segments in the crash region, the device tree's
 * `linux,elfcorehdr` and `linux,usable-memory-range`, and an ELF core header
 * read back field by field — EM_AARCH64, only real RAM outside the crash
 * region, at the linear-map addresses the running kernel's /proc/kcore gave,
 * the kernel image at its own. The layout's fallbacks are tested on their own.
 */

import { sha256 } from "../../lib/plan/sha256.ts";
import assert from "node:assert/strict";
import { planArm64ImageLoad } from "../../lib/arch/arm64/plan_load.ts";
import { arm64KernelLayout } from "../../lib/arch/arm64/kernel_layout.ts";
import { parseKcoreLoads } from "../../lib/crash/sources.ts";
import {
  findVmcoreinfoNote,
  kcoreNoteSegments,
  parseVmcoreinfoText,
} from "../../lib/crash/kcore_notes.ts";
import { ExitCode, KexecError } from "../../lib/errors.ts";
import {
  decodeRanges,
  findNode,
  getProperty,
  parseFdt,
  readString,
  rootCells,
} from "../../lib/fdt/fdt.ts";
import { parseIomem } from "../../lib/memory/iomem.ts";
import type { Segment, SegmentLoadPlan } from "../../lib/plan/types.ts";
import { validateSegmentPlan } from "../../lib/plan/validate.ts";
import {
  arm64Fixture,
  arm64Image,
  IMAGE,
  INITRD_BYTES,
  VIRT,
  type VirtBoot,
  virtIomem,
  virtMachine,
} from "../support/arm64_machine.ts";

const CMDLINE = "console=ttyAMA0 panic=-1 nr_cpus=1 reset_devices";
const EM_AARCH64 = 183;
const PT_LOAD = 1;
const PT_NOTE = 4;

function crashPlan(
  boot: VirtBoot,
  extra: Record<string, string | undefined> = {},
): SegmentLoadPlan {
  return planArm64ImageLoad(virtMachine(boot, extra), {
    kernelPath: IMAGE,
    kernel: arm64Image(),
    initrd: INITRD_BYTES,
    cmdline: CMDLINE,
    crash: true,
    verify: sha256,
    facts: { crashSize: 268435456 },
  });
}

const seg = (plan: SegmentLoadPlan, name: string): Segment => {
  const s = plan.segments.find((s) => s.name === name);
  assert.ok(s, `no ${name} segment`);
  return s;
};

interface Phdr {
  type: number;
  offset: bigint;
  vaddr: bigint;
  paddr: bigint;
  filesz: bigint;
  memsz: bigint;
}

/** The ELF header fields and program headers, read with the gABI offsets written out here. */
function readCore(bytes: Uint8Array): { type: number; machine: number; phdrs: Phdr[] } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  const phoff = Number(v.getBigUint64(0x20, true));
  const phnum = v.getUint16(0x38, true);
  assert.equal(bytes.length, phoff + phnum * 56, "nothing after the program headers");
  const phdrs = Array.from({ length: phnum }, (_, i) => {
    const at = phoff + i * 56;
    return {
      type: v.getUint32(at, true),
      offset: v.getBigUint64(at + 8, true),
      vaddr: v.getBigUint64(at + 16, true),
      paddr: v.getBigUint64(at + 24, true),
      filesz: v.getBigUint64(at + 32, true),
      memsz: v.getBigUint64(at + 40, true),
    };
  });
  return { type: v.getUint16(0x10, true), machine: v.getUint16(0x12, true), phdrs };
}

/** Top-level System RAM of a fixture minus [start, end), written independently of lib/. */
function ramOutside(boot: VirtBoot, hole: { start: number; end: number }): [number, number][] {
  const out: [number, number][] = [];
  for (const line of virtIomem(boot).split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) : System RAM$/.exec(line);
    if (!m) continue;
    const [s, e] = [parseInt(m[1], 16), parseInt(m[2], 16) + 1];
    if (hole.end <= s || hole.start >= e) out.push([s, e]);
    else {
      if (s < hole.start) out.push([s, hole.start]);
      if (hole.end < e) out.push([hole.end, e]);
    }
  }
  return out;
}

for (const boot of ["direct", "uefi"] as const) {
  const facts = VIRT[boot];

  Deno.test(`${boot} crash load: every segment and the entry in the crash region`, () => {
    const p = crashPlan(boot);
    assert.equal(p.flags, 0xb70001);
    assert.deepEqual(p.crashRegion, facts.crashRegion);
    validateSegmentPlan(p, { pageSize: 4096, crashRegion: p.crashRegion, ramBytes: p.ramBytes });
    for (const s of p.segments) {
      assert.ok(
        s.mem >= facts.crashRegion.start && s.mem + s.memsz <= facts.crashRegion.end,
        s.name,
      );
    }
    assert.equal(
      seg(p, "kernel").mem,
      facts.crashRegion.start,
      "kernel at the region's 2 MiB base",
    );
    assert.equal(seg(p, "elfcorehdr").mem % 0x10000, 0, "elfcorehdr 64 KiB aligned");
    assert.equal(p.cmdline, CMDLINE, "nothing is added to an arm64 crash kernel's command line");
  });

  Deno.test(`${boot} crash load: /chosen names the ELF core header and the crash region only`, () => {
    const p = crashPlan(boot);
    const fdt = parseFdt(seg(p, "dtb").buf);
    const chosen = findNode(fdt, "/chosen")!;
    const cells = rootCells(fdt);
    const hdr = seg(p, "elfcorehdr");
    assert.deepEqual(decodeRanges(getProperty(chosen, "linux,elfcorehdr")!, cells), [
      { start: hdr.mem, size: hdr.buf.length },
    ]);
    assert.deepEqual(decodeRanges(getProperty(chosen, "linux,usable-memory-range")!, cells), [
      { start: facts.crashRegion.start, size: 0x10000000 },
    ]);
    assert.equal(readString(getProperty(chosen, "bootargs")!), CMDLINE);
  });

  Deno.test(`${boot} crash load: the ELF core header, field by field`, () => {
    const core = readCore(seg(crashPlan(boot), "elfcorehdr").buf);
    assert.equal(core.type, 4, "ET_CORE");
    assert.equal(core.machine, EM_AARCH64);
    const notes = core.phdrs.filter((h) => h.type === PT_NOTE);
    assert.deepEqual(
      notes.map((n) => [n.paddr, n.memsz]),
      [
        ...facts.crashNotes.map((n) => [BigInt(n.address), 424n]),
        [BigInt(parseInt(facts.vmcoreinfo.split(" ")[0], 16)), 0x1024n],
      ],
    );
    const loads = core.phdrs.filter((h) => h.type === PT_LOAD);
    // The kernel image first, as /proc/kcore maps it ([_text, _end), kimage_voffset).
    assert.deepEqual(
      [loads[0].vaddr, loads[0].paddr, loads[0].memsz],
      [facts.text.vaddr, BigInt(facts.text.paddr), BigInt(facts.text.size)],
    );
    // Then RAM: System RAM minus the crash region, at the linear map's addresses.
    const ram = loads.slice(1);
    assert.deepEqual(
      ram.map((h) => [Number(h.paddr), Number(h.paddr + h.memsz)]),
      ramOutside(boot, facts.crashRegion),
    );
    for (const h of ram) {
      assert.equal(h.vaddr, facts.linearOffset + h.paddr, "linear map address");
      assert.equal(h.offset, h.paddr);
      assert.equal(h.filesz, h.memsz);
    }
    const total = ram.reduce((n, h) => n + h.memsz, 0n);
    const systemRam = ramOutside(boot, { start: 0, end: 0 }).reduce((n, [s, e]) => n + e - s, 0);
    assert.equal(total, BigInt(systemRam - 0x10000000), "all RAM but the 256 MiB region");
  });
}

Deno.test("the two guests map RAM differently: PHYS_OFFSET 0x40000000 direct, 0 through UEFI", () => {
  // The same kernel, the same RAM; only /proc/kcore (or VMCOREINFO) tells them apart.
  const layout = (boot: VirtBoot) => {
    const kcore = arm64Fixture(`kcore-virt-${boot}.bin`);
    return arm64KernelLayout({
      iomem: parseIomem(virtIomem(boot)),
      kcoreLoads: parseKcoreLoads(kcore),
    });
  };
  assert.equal(layout("direct").linearOffset, 0xfffeffffc0000000n);
  assert.equal(layout("uefi").linearOffset, 0xffff000000000000n);
  // Without /proc/kcore the first RAM byte (0x40000000 in both) would suggest the same map.
  const guess = arm64KernelLayout({ iomem: parseIomem(virtIomem("uefi")) });
  assert.equal(guess.linearOffset, 0xfffeffffc0000000n);
  assert.ok(guess.notes.some((n) => n.includes("a GUESS")));
  assert.equal(guess.kernelText, undefined);
});

Deno.test("the kcore fixtures' VMCOREINFO: VA_BITS, PHYS_OFFSET, kimage_voffset", () => {
  for (
    const [boot, phys, voffset] of [
      ["direct", "0x40000000", "0xffffb48491a00000"],
      ["uefi", "0x0", "0xffffdb365fc00000"],
    ] as const
  ) {
    const kcore = arm64Fixture(`kcore-virt-${boot}.bin`);
    const [segment] = kcoreNoteSegments(kcore);
    const text = findVmcoreinfoNote(kcore.subarray(segment.offset, segment.offset + segment.size));
    const info = parseVmcoreinfoText(text!);
    assert.equal(info.get("OSRELEASE"), "6.1.0-57-arm64");
    assert.equal(info.get("NUMBER(VA_BITS)"), "48");
    assert.equal(info.get("NUMBER(PHYS_OFFSET)"), phys);
    assert.equal(info.get("NUMBER(kimage_voffset)"), voffset);
  }
});

Deno.test("layout from VMCOREINFO alone, and a kcore that disagrees with it", () => {
  const iomem = parseIomem(virtIomem("direct"));
  const info = new Map([["NUMBER(VA_BITS)", "48"], ["NUMBER(PHYS_OFFSET)", "0x40000000"]]);
  const fromInfo = arm64KernelLayout({ iomem, kcoreVmcoreinfo: info });
  assert.equal(fromInfo.linearOffset, 0xfffeffffc0000000n);
  assert.ok(
    fromInfo.notes.some((n) => /from VMCOREINFO VA_BITS 48 and PHYS_OFFSET 0x40000000/.test(n)),
  );
  const disagree = arm64KernelLayout({
    iomem,
    kcoreVmcoreinfo: new Map([["NUMBER(VA_BITS)", "48"], ["NUMBER(PHYS_OFFSET)", "0x0"]]),
    kcoreLoads: parseKcoreLoads(arm64Fixture("kcore-virt-direct.bin")),
  });
  assert.equal(disagree.linearOffset, 0xfffeffffc0000000n, "kcore wins");
  assert.ok(disagree.notes.some((n) => n.includes("/proc/kcore's own mapping is used")));
});

Deno.test("kernel image PT_LOAD: from kallsyms with kimage_voffset, or with iomem Kernel code, or left out", () => {
  const iomem = parseIomem(virtIomem("direct"));
  const symbols = {
    text: 0xffffb484d1c00000n,
    stext: 0xffffb484d1c10000n,
    end: 0xffffb484d3c10000n,
  };
  const viaVoffset = arm64KernelLayout({
    iomem,
    symbols,
    kcoreVmcoreinfo: new Map([["NUMBER(kimage_voffset)", "0xffffb48491a00000"]]),
  });
  assert.deepEqual(viaVoffset.kernelText, {
    vaddr: symbols.text,
    paddr: 0x40200000,
    size: 0x2010000,
  });
  // "Kernel code" starts at __pa_symbol(_stext), 0x40210000 in this guest.
  const viaIomem = arm64KernelLayout({ iomem, symbols });
  assert.deepEqual(viaIomem.kernelText, {
    vaddr: symbols.text,
    paddr: 0x40200000,
    size: 0x2010000,
  });
  const none = arm64KernelLayout({ iomem, symbols: { stext: symbols.stext } });
  assert.equal(none.kernelText, undefined);
  assert.ok(none.notes.some((n) => n.startsWith("kernel image PT_LOAD left out")));
});

Deno.test("a low crash region: usable memory lists the main region first, the dump leaves both out", () => {
  const iomem = virtIomem("direct").replace(
    "  a9800000-a99fffff : reserved\n",
    "  a9800000-a99fffff : reserved\n  60000000-67ffffff : Crash kernel\n",
  );
  const p = crashPlan("direct", { "/proc/iomem": iomem });
  const fdt = parseFdt(seg(p, "dtb").buf);
  const ranges = decodeRanges(
    getProperty(findNode(fdt, "/chosen")!, "linux,usable-memory-range")!,
    rootCells(fdt),
  );
  assert.deepEqual(ranges, [{ start: 0xa9a00000, size: 0x10000000 }, {
    start: 0x60000000,
    size: 0x8000000,
  }]);
  const ram = readCore(seg(p, "elfcorehdr").buf).phdrs.filter((h) => h.type === PT_LOAD).slice(1);
  assert.deepEqual(ram.map((h) => [Number(h.paddr), Number(h.paddr + h.memsz)]), [
    [0x40000000, 0x60000000],
    [0x68000000, 0xa9a00000],
    [0xb9a00000, 0xc0000000],
  ]);
});

Deno.test("no crash region: exit 1 (kexec-tools' die()) with the crashkernel= hint", () => {
  const iomem = virtIomem("direct").replace("  a9a00000-b99fffff : Crash kernel\n", "");
  assert.throws(
    () => crashPlan("direct", { "/proc/iomem": iomem }),
    (e: unknown) =>
      e instanceof KexecError && e.exitCode === ExitCode.USAGE &&
      /crashkernel=/.test(e.hint ?? ""),
  );
});
