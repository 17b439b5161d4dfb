/**
 * Plans a crash (kdump) load of an x86_64 bzImage with `kexec_load`
 * (Documentation/admin-guide/kdump/kdump.rst): every segment and the entry
 * inside the main crash region (kernel/kexec_core.c, sanity_check_segment_list),
 * an elfcorehdr segment describing the running kernel's memory, the crash
 * kernel's own e820 (built as arch/x86/kernel/crash.c
 * crash_setup_memmap_entries does) and `elfcorehdr=` on its command line,
 * flags `KEXEC_ON_CRASH` plus the architecture. The purgatory checks the
 * SHA-256 of every segment before jumping unless `verify` is off (-i): after a
 * panic is when stray writes into the crash region are most likely.
 *
 * Pure: the caller reads the machine (see sources.ts) and passes it in.
 *
 * @module
 */

import { KEXEC_ON_CRASH, PATHS } from "../../abi.ts";
import { KexecError } from "../../errors.ts";
import { type BzImagePlanInput, planBzImage64 } from "./bzimage.ts";
import { planEfiHandover } from "./efi.ts";
import { bzImageKernel } from "./kernel_image.ts";
import { hex } from "../../format.ts";
import type { SegmentLoadPlan } from "../../plan/types.ts";
import { crashCmdline } from "../../crash/cmdline.ts";
import { dumpRamRanges, systemRamRanges } from "../../crash/dump_ranges.ts";
import { ELF } from "../../crash/elf64.ts";
import {
  buildElfCoreHeader,
  describeElfCoreHeader,
  type ElfCoreHeaderInput,
  elfCoreProgramHeaders,
} from "../../crash/elfcorehdr.ts";
import {
  type KernelLayoutDefaults,
  kernelTextMapping,
  pageOffsetFromKcore,
} from "../../crash/kernel_layout.ts";
import { crashKernelMemoryMap } from "../../crash/memory_map.ts";
import { type AddressRange, subtractRanges } from "../../crash/ranges.ts";
import { type CrashRegions, findCrashRegions } from "../../crash/region.ts";
import type { CrashSources } from "../../crash/sources.ts";

/** Name of the elfcorehdr segment in plans and notes. */
export const ELFCOREHDR_SEGMENT = "elfcorehdr";

/** Everything a crash plan depends on. */
export interface CrashPlanInput extends
  Omit<
    BzImagePlanInput,
    "memoryMap" | "memoryMapSource" | "placeable" | "flags" | "extraSegments" | "acpiRsdpAddr"
  > {
  /** What was read from the running kernel. */
  readonly sources: CrashSources;
  /** RSDP from /sys/firmware/efi/systab on UEFI machines. */
  readonly efiRsdp?: number;
  /** /sys/kernel/kexec_crash_size, to cross-check the region found in /proc/iomem. */
  readonly crashSize?: number;
}

/**
 * x86_64's virtual layout (Documentation/arch/x86/x86_64/mm.rst): the direct
 * map's base with 4-level paging and no CONFIG_RANDOMIZE_MEMORY, and
 * `__START_KERNEL_map`, where the kernel text area begins.
 */
export const X86_64_KERNEL_LAYOUT: KernelLayoutDefaults = {
  pageOffset: 0xffff888000000000n,
  pageOffsetCaveat: "(wrong if the kernel randomises its memory layout or uses 5-level paging)",
  kernelTextStart: 0xffffffff80000000n,
};

const MiB = 0x100000;
const size = (r: AddressRange) => r.end - r.start;
const describeRegion = (r: AddressRange) =>
  `${hex(r.start)}-${hex(r.end - 1)} (${(size(r) / MiB).toFixed(1)} MiB)`;

/**
 * Plans the crash load. Throws a {@link KexecError} (exit code 1) when no
 * crash region is reserved, and the planner's errors when something does not
 * fit in the region.
 *
 * @example
 * ```ts
 * import { planCrashBzImage64 } from "./crash.ts";
 * import { parseIomem } from "../../memory/iomem.ts";
 * const k = new Uint8Array(0x3000);
 * const v = new DataView(k.buffer);
 * k[0x1f1] = 1;
 * v.setUint16(0x1fe, 0xaa55, true);
 * v.setUint16(0x200, 0x6aeb, true);
 * v.setUint32(0x202, 0x53726448, true);
 * v.setUint16(0x206, 0x020f, true);
 * k[0x211] = 1;
 * v.setUint32(0x22c, 0x7fffffff, true);
 * v.setUint32(0x230, 0x200000, true);
 * k[0x234] = 1;
 * v.setUint16(0x236, 3, true);
 * v.setUint32(0x238, 2047, true);
 * v.setBigUint64(0x258, 0x1000000n, true);
 * v.setUint32(0x260, 0x800000, true);
 * const plan = planCrashBzImage64({
 *   kernel: k, kernelPath: "vmlinuz", initrd: null, cmdline: "irqpoll",
 *   sources: {
 *     iomem: parseIomem("00100000-7ffdffff : System RAM\n  69000000-78ffffff : Crash kernel\n"),
 *     cpuNotes: [{ cpu: 0, address: 0x7fc1f000, size: 0x1b0 }],
 *     notes: [],
 *   },
 *   rngSeed: new Uint8Array(32), pageSize: 4096,
 * });
 * if (plan.flags !== 0x3e0001 || !plan.cmdline.startsWith("elfcorehdr=0x")) throw new Error();
 * if (plan.segments.some((s) => s.mem < 0x69000000 || s.mem + s.memsz > 0x79000000)) {
 *   throw new Error();
 * }
 * ```
 */
export function planCrashBzImage64(input: CrashPlanInput): SegmentLoadPlan {
  const { sources, efiRsdp, crashSize, ...bzImage } = input;
  const regions = findCrashRegions(sources.iomem);
  const image = input.image ?? bzImageKernel(input.kernel, input.kernelPath);
  const header = image.header;
  checkRelocatable(header, input.kernelPath, regions.main);
  checkMemWindow(regions.main, input.memMin, input.memMax);

  const pageOffset = pageOffsetFromKcore(sources.kcoreLoads, X86_64_KERNEL_LAYOUT);
  const kernelText = kernelTextMapping(sources, X86_64_KERNEL_LAYOUT.kernelTextStart);
  const coreInput: ElfCoreHeaderInput = {
    machine: ELF.EM_X86_64,
    cpuNotes: sources.cpuNotes,
    vmcoreinfo: sources.vmcoreinfo,
    kernelText: kernelText.value,
    ram: dumpRamRanges(sources.iomem, regions),
    pageOffset: pageOffset.value,
  };
  const elfcorehdr = buildElfCoreHeader(coreInput);
  const efiHandedOver = input.efi !== undefined && !("reason" in planEfiHandover({
    running: input.runningBootParams,
    xloadflags: header.xloadflags,
    firmware: input.efi,
  }));
  const regionNotes = [
    `crash region: ${describeRegion(regions.main)}` +
    (regions.low ? `; low crash region ${describeRegion(regions.low)} (RAM only)` : ""),
    ...crashSizeNote(regions, crashSize),
    `low 1 MiB: given to the crash kernel as RAM and left out of the dump ` +
    `(no 640K backup segment, as in Linux's own crash loader: current kernels keep ` +
    `the low 1 MiB reserved)`,
    ...sources.notes,
    pageOffset.note,
    kernelText.note,
    ...describeElfCoreHeader(elfCoreProgramHeaders(coreInput)).map((line, i) =>
      i === 0 ? `elfcorehdr: ${line}` : line
    ),
  ];

  const plan = planBzImage64({
    ...bzImage,
    image,
    memoryMap: crashKernelMemoryMap(sources.iomem, regions),
    memoryMapSource: `${PATHS.procIomem}, cut to what the crash kernel may use`,
    placeable: [{ ...regions.main, kind: "ram" }],
    acpiRsdpAddr: efiRsdp,
    flags: KEXEC_ON_CRASH,
    extraSegments: (place) => {
      const segment = place({ name: ELFCOREHDR_SEGMENT, buf: elfcorehdr });
      const taken = { start: segment.mem, end: segment.mem + segment.memsz };
      const line = crashCmdline({
        cmdline: input.cmdline,
        elfcorehdr: segment.mem,
        // With EFI handed over the crash kernel finds ACPI through EFI, as
        // kexec-tools reasons (it adds acpi_rsdp= only without EFI).
        efiRsdp: efiHandedOver ? undefined : efiRsdp,
        protocol: header.version,
      });
      return {
        cmdline: line.cmdline,
        memoryMap: crashKernelMemoryMap(sources.iomem, regions, [taken]),
        notes: [
          ...regionNotes,
          `elfcorehdr segment ${hex(taken.start)}-${hex(taken.end - 1)} is left out of the ` +
          "crash kernel's e820, so it cannot be overwritten before /proc/vmcore reads it",
          ...line.notes,
        ],
      };
    },
  });
  const ram = subtractRanges(
    systemRamRanges(sources.iomem),
    [regions.main, ...(regions.low ? [regions.low] : [])],
  );
  return {
    ...plan,
    crashRegion: regions.main,
    // The kernel's half-of-RAM rule counts managed pages, which exclude the reservation.
    ramBytes: ram.reduce((n, r) => n + size(r), 0),
  };
}

function checkRelocatable(
  header: { relocatableKernel: boolean; prefAddress: number; initSize: number },
  path: string,
  main: AddressRange,
): void {
  if (header.relocatableKernel) return;
  const end = header.prefAddress + header.initSize;
  if (header.prefAddress >= main.start && end <= main.end) return;
  throw new KexecError(
    `crash kernel ${path} is not relocatable: it runs only at ${hex(header.prefAddress)}, ` +
      `outside the crash region ${describeRegion(main)}`,
    { hint: "use a kernel built with CONFIG_RELOCATABLE=y (distribution kernels are)" },
  );
}

// The kernel refuses crash segments outside the region (EADDRNOTAVAIL) after
// freeing the loaded crash kernel; say so here, naming the region.
function checkMemWindow(main: AddressRange, memMin?: number, memMax?: number): void {
  const lo = Math.max(main.start, memMin ?? 0);
  const hi = Math.min(main.end, memMax === undefined ? Infinity : memMax + 1);
  if (lo < hi) return;
  throw new KexecError(
    `--mem-min/--mem-max (${hex(memMin ?? 0)}-${memMax === undefined ? "end" : hex(memMax)}) ` +
      `leave no room inside the crash region ${describeRegion(main)}; nothing was loaded`,
    {
      hint:
        "crash segments must lie in the crash region; drop --mem-min/--mem-max or fit them to it",
    },
  );
}

function crashSizeNote(regions: CrashRegions, crashSize: number | undefined): string[] {
  if (crashSize === undefined || crashSize === size(regions.main)) return [];
  return [
    `note: /sys/kernel/kexec_crash_size says ${crashSize} bytes, /proc/iomem ` +
    `${size(regions.main)}; using /proc/iomem`,
  ];
}
