/**
 * The memory facts both Multiboot versions pass: the memory map as e820-style
 * entries (Multiboot 0.6.96, 3.3 "Boot information format", `mmap_*`: its
 * types are the BIOS INT 15h E820 types, as are Multiboot2's, 3.6.8) and the
 * `mem_lower`/`mem_upper` summary in KiB: RAM from 0 up to at most 640 KiB,
 * and RAM from 1 MiB up to the first hole.
 *
 * @module
 */

import type { MemoryRange } from "../../../memory/types.ts";
import { type E820Entry, e820FromMemoryMap } from "../e820.ts";

/** The lower/upper memory summary, in KiB. */
export interface BasicMemory {
  readonly lowerKiB: number;
  readonly upperKiB: number;
}

const KiB = 1024;
const MiB = 0x100000;
/** Conventional memory ends here (the 640 KiB the specification names). */
const LOWER_END = 0xa0000;
/**
 * Lower memory counts if its RAM starts at or below this: /proc/iomem hides
 * the first page(s) the kernel keeps for itself (kexec-tools allows 64 KiB).
 */
const LOWER_START_SLACK = 0x10000;
const U32_MAX = 0xffffffff;

/**
 * `mem_lower` and `mem_upper` from a memory map: adjacent RAM ranges count
 * as one.
 *
 * @example
 * ```ts
 * import { basicMemory } from "./memory.ts";
 * const m = basicMemory([
 *   { start: 0, end: 0x9fc00, kind: "ram" },
 *   { start: 0x100000, end: 0x7ffe0000, kind: "ram" },
 * ]);
 * if (m.lowerKiB !== 639 || m.upperKiB !== (0x7ffe0000 - 0x100000) / 1024) throw new Error();
 * ```
 */
export function basicMemory(ranges: readonly MemoryRange[]): BasicMemory {
  const ram = mergedRam(ranges);
  const low = ram.find((r) => r.start <= LOWER_START_SLACK);
  const high = ram.find((r) => r.start <= MiB && r.end > MiB);
  return {
    lowerKiB: low ? Math.floor(Math.min(low.end, LOWER_END) / KiB) : 0,
    upperKiB: high ? Math.min(Math.floor((high.end - MiB) / KiB), U32_MAX) : 0,
  };
}

/**
 * The map as sorted entries with E820 type numbers (1 = available RAM,
 * 2 = reserved, 3 = ACPI reclaimable, 4 = ACPI NVS, 5 = bad memory; the
 * others as the firmware named them). Throws a KexecError for overlapping
 * ranges.
 *
 * @example
 * ```ts
 * import { multibootMemoryMap } from "./memory.ts";
 * const e = multibootMemoryMap([{ start: 0xf0000, end: 0x100000, kind: "reserved" }]);
 * if (e[0].type !== 2 || e[0].size !== 0x10000) throw new Error();
 * ```
 */
export function multibootMemoryMap(ranges: readonly MemoryRange[]): E820Entry[] {
  return e820FromMemoryMap(ranges);
}

function mergedRam(ranges: readonly MemoryRange[]): { start: number; end: number }[] {
  const ram = ranges.filter((r) => r.kind === "ram" && r.end > r.start)
    .map((r) => ({ start: r.start, end: r.end }))
    .sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number }[] = [];
  for (const r of ram) {
    const last = merged.at(-1);
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else merged.push(r);
  }
  return merged;
}
