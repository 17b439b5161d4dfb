/**
 * The memory map an x86_64 crash kernel gets as its e820 (crash.md §3.1, the
 * kernel's own `kexec_file` scheme): the RAM of the low 1 MiB, the ACPI,
 * ACPI NVS and reserved ranges, the low crash region, and the main crash
 * region without the elfcorehdr. Nothing else: the rest of RAM is what the
 * crash kernel dumps, so it must never allocate from it. Leaving the
 * elfcorehdr out of the RAM also keeps the crash kernel from overwriting it
 * before /proc/vmcore has read it.
 *
 * @module
 */

import type { IomemNode } from "../memory/iomem.ts";
import { sortRanges } from "../memory/memmap.ts";
import type { MemoryKind, MemoryRange } from "../memory/types.ts";
import { clipRanges, subtractRanges } from "./ranges.ts";
import type { AddressRange } from "./ranges.ts";
import { LOW_MEMORY, systemRamRanges } from "./dump_ranges.ts";
import type { CrashRegions } from "./region.ts";

/** Top-level /proc/iomem names passed through to the crash kernel, by kind (§3.1 steps 2–4). */
export const CRASH_PASSED_RESOURCES: ReadonlyMap<string, MemoryKind> = new Map([
  ["ACPI Tables", "acpi"],
  ["ACPI Non-volatile Storage", "nvs"],
  ["Reserved", "reserved"],
  ["reserved", "reserved"],
]);

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
  add(subtractRanges(clipRanges(systemRamRanges(iomem), LOW_MEMORY), crash), "ram");
  // 2.–4. Firmware ranges the crash kernel must know about (ACPI tables, NVS, reserved).
  for (const node of iomem) {
    const kind = CRASH_PASSED_RESOURCES.get(node.name);
    if (kind) add([{ start: node.start, end: node.end }], kind);
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
