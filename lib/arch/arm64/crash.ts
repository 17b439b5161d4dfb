/**
 * Plans a crash (kdump) load of an arm64 Image with `kexec_load`: every
 * segment and the entry in the main crash region, an ELF core header for
 * the crash kernel's /proc/vmcore, and a device tree whose `/chosen` carries
 * `linux,elfcorehdr` and `linux,usable-memory-range` (what the kernel's own
 * loader writes: drivers/of/kexec.c; read by drivers/of/fdt.c
 * early_init_dt_check_for_elfcorehdr and …_usable_mem_range). Nothing is
 * added to the command line.
 *
 * The ELF core header is what arch/arm64/kernel/machine_kexec_file.c
 * prepare_elf_headers makes: e_machine EM_AARCH64, the CPUs' crash notes and
 * VMCOREINFO, the kernel image at its own virtual address, and one PT_LOAD
 * per range of RAM — top-level "System RAM" of /proc/iomem (memblock memory
 * without NOMAP regions, which are firmware's and must not be read) minus
 * the crash regions — at its linear-map address, taken from the running
 * kernel's /proc/kcore (kernel_layout.ts).
 *
 * Pure: plan_load.ts reads the machine and passes it in.
 *
 * @module
 */

import { KEXEC_ON_CRASH } from "../../abi.ts";
import { systemRamRanges } from "../../crash/dump_ranges.ts";
import { ELF } from "../../crash/elf64.ts";
import {
  buildElfCoreHeader,
  describeElfCoreHeader,
  type ElfCoreHeaderInput,
  elfCoreProgramHeaders,
} from "../../crash/elfcorehdr.ts";
import { type AddressRange, subtractRanges } from "../../crash/ranges.ts";
import { findCrashRegions } from "../../crash/region.ts";
import type { CrashSources } from "../../crash/sources.ts";
import { KexecError } from "../../errors.ts";
import { hex } from "../../format.ts";
import type { SegmentLoadPlan } from "../../plan/types.ts";
import { arm64KernelLayout } from "./kernel_layout.ts";
import { type Arm64PlanInput, planArm64Image } from "./plan_image.ts";

/** What a crash plan needs besides an ordinary plan's inputs. */
export interface Arm64CrashPlanInput
  extends Omit<Arm64PlanInput, "usable" | "usableNotes" | "flags" | "crash"> {
  /** What was read from the running kernel. */
  readonly sources: CrashSources;
  /** /sys/kernel/kexec_crash_size, to cross-check the region found in /proc/iomem. */
  readonly crashSize?: number;
}

const MiB = 0x100000;
const size = (r: AddressRange) => r.end - r.start;
const describe = (r: AddressRange) =>
  `${hex(r.start)}-${hex(r.end - 1)} (${(size(r) / MiB).toFixed(1)} MiB)`;

/**
 * Plans the crash load. Throws a {@link KexecError} with exit code 254 when
 * no crash region is reserved, and the planner's errors when something does
 * not fit in the region.
 *
 * @example
 * ```ts
 * import { planArm64Crash } from "./crash.ts";
 * import { parseIomem } from "../../memory/iomem.ts";
 * import { emptyFdt, fdtU32, serializeFdt, setProperty } from "../../fdt/fdt.ts";
 * const image = new Uint8Array(0x10000);
 * const v = new DataView(image.buffer);
 * v.setBigUint64(0x10, 0x200000n, true);
 * v.setBigUint64(0x18, 0xan, true);
 * v.setUint32(0x38, 0x644d5241, true);
 * const tree = emptyFdt();
 * setProperty(tree.root, "#address-cells", fdtU32(2));
 * setProperty(tree.root, "#size-cells", fdtU32(2));
 * const plan = planArm64Crash({
 *   kernel: image, kernelPath: "Image", initrd: null, cmdline: "nr_cpus=1",
 *   dtb: serializeFdt(tree), dtbPath: "/sys/firmware/fdt",
 *   sources: {
 *     iomem: parseIomem("40000000-bfffffff : System RAM\n  b0000000-bfffffff : Crash kernel\n"),
 *     cpuNotes: [{ cpu: 0, address: 0xbfe1f000, size: 0x1b0 }],
 *     kcoreLoads: [{ vaddr: 0xffff000000000000n, paddr: 0x40000000n, memsz: 0x80000000n }],
 *     notes: [],
 *   },
 *   kaslrSeed: new Uint8Array(8), rngSeed: new Uint8Array(128), pageSize: 4096,
 * });
 * if (plan.flags !== 0xb70001 || plan.cmdline !== "nr_cpus=1") throw new Error();
 * if (plan.segments.some((s) => s.mem < 0xb0000000 || s.mem + s.memsz > 0xc0000000)) {
 *   throw new Error();
 * }
 * ```
 */
export function planArm64Crash(input: Arm64CrashPlanInput): SegmentLoadPlan {
  const { sources, crashSize, ...image } = input;
  const regions = findCrashRegions(sources.iomem);
  const crashRegions = [regions.main, ...(regions.low ? [regions.low] : [])];
  checkMemWindow(regions.main, input.memMin, input.memMax);
  const layout = arm64KernelLayout(sources);
  const coreInput: ElfCoreHeaderInput = {
    machine: ELF.EM_AARCH64,
    cpuNotes: sources.cpuNotes,
    vmcoreinfo: sources.vmcoreinfo,
    kernelText: layout.kernelText,
    ram: subtractRanges(systemRamRanges(sources.iomem), crashRegions),
    pageOffset: layout.linearOffset,
  };
  const headers = elfCoreProgramHeaders(coreInput);
  const elfcorehdr = buildElfCoreHeader(coreInput);
  const notes = [
    `crash region: ${describe(regions.main)}` +
    (regions.low ? `; low crash region ${describe(regions.low)} (RAM for the crash kernel)` : ""),
    ...(crashSize !== undefined && crashSize !== size(regions.main)
      ? [
        `note: /sys/kernel/kexec_crash_size says ${crashSize} bytes, /proc/iomem ` +
        `${size(regions.main)}; using /proc/iomem`,
      ]
      : []),
    ...sources.notes,
    ...layout.notes,
    ...describeElfCoreHeader(headers).map((line, i) => i === 0 ? `elfcorehdr: ${line}` : line),
  ];
  const plan = planArm64Image({
    ...image,
    usable: [{ ...regions.main, kind: "ram" }],
    usableNotes: ["segments go into the main crash region only"],
    flags: KEXEC_ON_CRASH,
    crash: {
      elfcorehdr,
      usableMemory: crashRegions.map((r) => ({ start: r.start, size: size(r) })),
      notes,
    },
  });
  const ram = subtractRanges(systemRamRanges(sources.iomem), crashRegions);
  return {
    ...plan,
    crashRegion: regions.main,
    // The kernel's half-of-RAM rule counts managed pages, which exclude the reservation.
    ramBytes: ram.reduce((n, r) => n + size(r), 0),
  };
}

// The kernel refuses crash segments outside the region (EADDRNOTAVAIL) after
// freeing the loaded crash kernel; say so here, naming the region.
function checkMemWindow(main: AddressRange, memMin?: number, memMax?: number): void {
  const lo = Math.max(main.start, memMin ?? 0);
  const hi = Math.min(main.end, memMax === undefined ? Infinity : memMax + 1);
  if (lo < hi) return;
  throw new KexecError(
    `--mem-min/--mem-max (${hex(memMin ?? 0)}-${memMax === undefined ? "end" : hex(memMax)}) ` +
      `leave no room inside the crash region ${describe(main)}; nothing was loaded`,
    {
      hint:
        "crash segments must lie in the crash region; drop --mem-min/--mem-max or fit them to it",
    },
  );
}
