/**
 * The memory map an x86_64 crash kernel gets as its e820 (the kernel's own
 * `kexec_file` scheme, arch/x86/kernel/crash.c crash_setup_memmap_entries):
 * the RAM of the low 1 MiB, the ACPI, ACPI NVS and reserved ranges, the low
 * crash region, and the main crash region without the elfcorehdr. Nothing
 * else: the rest of RAM is what the crash kernel dumps, so it must never
 * allocate from it. Leaving the elfcorehdr out of the RAM also keeps the crash
 * kernel from overwriting it before /proc/vmcore has read it.
 *
 * Each kind is found as the kernel's crash_setup_memmap_entries
 * (arch/x86/kernel/crash.c) finds it, with walk_iomem_res_desc over the whole
 * resource tree (see {@link walkIomem}): a "Reserved" range the PCI code
 * nested under "PCI MMCONFIG", "PCI Bus" or "Local APIC" is passed on, so the
 * crash kernel still finds its ECAM window reserved and uses it.
 *
 * @module
 */

import { type IomemNode, isSystemRamName, walkIomem } from "../memory/iomem.ts";
import { sortRanges } from "../memory/memmap.ts";
import type { MemoryKind, MemoryRange } from "../memory/types.ts";
import { subtractRanges } from "./ranges.ts";
import type { AddressRange } from "./ranges.ts";
import { LOW_MEMORY } from "./dump_ranges.ts";
import type { CrashRegions } from "./region.ts";

/**
 * /proc/iomem names passed through to the crash kernel, in the kernel's
 * order (crash_setup_memmap_entries, after the low 1 MiB): the e820 names of
 * IORES_DESC_ACPI_TABLES, IORES_DESC_ACPI_NV_STORAGE and IORES_DESC_RESERVED
 * (arch/x86/kernel/e820.c, e820_type_to_string; kernels before 5.x wrote
 * "reserved").
 */
export const CRASH_PASSED_RESOURCES: readonly { names: readonly string[]; kind: MemoryKind }[] = [
  { names: ["ACPI Tables"], kind: "acpi" },
  { names: ["ACPI Non-volatile Storage"], kind: "nvs" },
  { names: ["Reserved", "reserved"], kind: "reserved" },
];

/** Crash-region pieces smaller than this are not passed as RAM (as the kernel's loader). */
export const MIN_RAM_PIECE = 4096;

/**
 * The crash kernel's memory map, sorted by address. `excluded` are ranges
 * inside the main region the crash kernel must not use (the elfcorehdr).
 *
 * @example
 * ```ts
 * import { crashKernelMemoryMap } from "./memory_map.ts";
 * import { parseIomem } from "../memory/iomem.ts";
 * const map = crashKernelMemoryMap(
 *   parseIomem(
 *     "00001000-0009fbff : System RAM\n000f0000-000fffff : Reserved\n" +
 *       "00100000-7ffdffff : System RAM\n  69000000-78ffffff : Crash kernel\n",
 *   ),
 *   { main: { start: 0x69000000, end: 0x79000000 } },
 *   [{ start: 0x78fff000, end: 0x79000000 }],
 * );
 * const ram = map.filter((r) => r.kind === "ram");
 * if (ram.length !== 2 || ram[0].end !== 0x9fc00 || ram[1].end !== 0x78fff000) {
 *   throw new Error(JSON.stringify(map));
 * }
 * ```
 */
export function crashKernelMemoryMap(
  iomem: readonly IomemNode[],
  regions: CrashRegions,
  excluded: readonly AddressRange[] = [],
): MemoryRange[] {
  const crash = [regions.main, ...(regions.low ? [regions.low] : [])];
  const ranges: MemoryRange[] = [];
  const add = (list: readonly AddressRange[], kind: MemoryKind) => {
    for (const r of list) ranges.push({ start: r.start, end: r.end, kind });
  };
  // 1. RAM below 1 MiB (the crash kernel's real-mode trampoline lives there).
  add(subtractRanges(walkIomem(iomem, (n) => isSystemRamName(n.name), LOW_MEMORY), crash), "ram");
  // 2.–4. Firmware ranges the crash kernel must know about (ACPI tables, NVS, reserved).
  for (const { names, kind } of CRASH_PASSED_RESOURCES) {
    add(walkIomem(iomem, (n) => names.includes(n.name)), kind);
  }
  // 5. The low crash region, whole.
  if (regions.low) add([regions.low], "ram");
  // 6. The main crash region without the excluded ranges, ignoring slivers.
  add(
    subtractRanges([regions.main], excluded).filter((r) => r.end - r.start >= MIN_RAM_PIECE),
    "ram",
  );
  return sortRanges(ranges);
}
