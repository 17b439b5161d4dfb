/**
 * What `--dry-run` draws: the machine's physical memory (top-level RAM and
 * firmware ranges), the crash regions inside it, and where each kexec_load
 * segment lands. Plain data, built from /proc/iomem (or a memory map when
 * /proc/iomem cannot be read) and the plans; `--json` prints it as is and
 * {@link drawMemoryPicture} turns it into text.
 *
 * @module
 */

import { KEXEC_FILE_ON_CRASH } from "../abi.ts";
import { CRASH_KERNEL_RESOURCE } from "../crash/region.ts";
import { findIomem, iomemMemoryKind, type IomemNode } from "../memory/iomem.ts";
import { E820_TYPE_NAMES } from "../memory/memmap.ts";
import type { MemoryKind, MemoryRange } from "../memory/types.ts";
import type { LoadPlan } from "./types.ts";

/** A named physical range, end exclusive. */
export interface MapRange {
  /** First address of the range. */
  readonly start: number;
  /** First address after the range. */
  readonly end: number;
  /** "System RAM", "Reserved", "Crash kernel", or a segment's name. */
  readonly name: string;
}

/** Physical memory with the crash regions and the segments placed in it. */
export interface MemoryPicture {
  /** Where the memory ranges came from, or why there are none. */
  readonly source: string;
  /** Top-level memory ranges in address order: RAM, reserved, ACPI, … */
  readonly regions: readonly MapRange[];
  /** The crash regions ("Crash kernel"; with `crashkernel=…,low` the lower one too). */
  readonly areas: readonly MapRange[];
  /** kexec_load segments, in the order they are passed; empty for kexec_file_load. */
  readonly segments: readonly MapRange[];
  /** What the picture cannot show (the kernel places kexec_file_load's segments). */
  readonly notes: readonly string[];
}

/** The regions and crash areas known before any plan: from /proc/iomem or a memory map. */
export interface MemoryLayout {
  /** Where the ranges came from, or why there are none. */
  readonly source: string;
  /** Top-level memory ranges in address order. */
  readonly regions: readonly MapRange[];
  /** The crash regions. */
  readonly areas: readonly MapRange[];
}

/**
 * The memory ranges of /proc/iomem's top level (named as the file names
 * them) and every "Crash kernel" resource in the tree.
 *
 * @example
 * ```ts
 * import { layoutFromIomem } from "./memory_picture.ts";
 * import { parseIomem } from "../memory/iomem.ts";
 * const layout = layoutFromIomem(parseIomem(
 *   "00001000-0009fbff : System RAM\n000a0000-000bffff : PCI Bus 0000:00\n" +
 *     "00100000-3ffdffff : System RAM\n  35000000-3cffffff : Crash kernel\n",
 * ));
 * if (layout.regions.length !== 2 || layout.areas[0].start !== 0x35000000) throw new Error();
 * ```
 */
export function layoutFromIomem(iomem: readonly IomemNode[], source = "/proc/iomem"): MemoryLayout {
  const regions = iomem
    .filter((node) => iomemMemoryKind(node.name) !== undefined)
    .map(({ start, end, name }) => ({ start, end, name }));
  const crash = findIomem(iomem, CRASH_KERNEL_RESOURCE).filter((n) => n.end > n.start);
  const areas = crash.map(({ start, end }) => ({ start, end, name: CRASH_KERNEL_RESOURCE }));
  return { source, regions: byAddress(regions), areas: byAddress(areas) };
}

const KIND_NAMES: ReadonlyMap<MemoryKind, string> = new Map(
  [...E820_TYPE_NAMES].map(([name, kind]) => [kind, name]),
);

/**
 * A layout from a memory map (/sys/firmware/memmap) when /proc/iomem cannot
 * be read: ranges named by their e820 type, no crash regions.
 *
 * @example
 * ```ts
 * import { layoutFromRanges } from "./memory_picture.ts";
 * const layout = layoutFromRanges([{ start: 0x100000, end: 0x40000000, kind: "ram" }], "memmap");
 * if (layout.regions[0].name !== "System RAM" || layout.areas.length !== 0) throw new Error();
 * ```
 */
export function layoutFromRanges(ranges: readonly MemoryRange[], source: string): MemoryLayout {
  const regions = ranges.map(({ start, end, kind }) => ({
    start,
    end,
    name: KIND_NAMES.get(kind) ?? kind,
  }));
  return { source, regions: byAddress(regions), areas: [] };
}

/**
 * The picture of a dry run: the layout, and the segments of its kexec_load
 * plan (a kexec_file_load plan has none: the kernel places them). A crash
 * plan's region joins the areas when the layout did not have it.
 *
 * @example
 * ```ts
 * import { memoryPicture } from "./memory_picture.ts";
 * const layout = { source: "test", regions: [{ start: 0, end: 0x40000000, name: "System RAM" }], areas: [] };
 * const picture = memoryPicture(layout, [{
 *   syscall: "kexec_load", entry: 0x1000, flags: 0, cmdline: "", notes: [],
 *   segments: [{ name: "kernel", buf: new Uint8Array(1), mem: 0x1000000, memsz: 0x1000 }],
 * }]);
 * if (picture.segments[0].end !== 0x1001000 || picture.notes.length !== 0) throw new Error();
 * ```
 */
export function memoryPicture(layout: MemoryLayout, plans: readonly LoadPlan[]): MemoryPicture {
  const segmentPlan = plans.find((p) => p.syscall === "kexec_load");
  const filePlan = plans.find((p) => p.syscall === "kexec_file_load");
  const notes: string[] = [];
  if (filePlan) {
    const where = filePlan.flags & KEXEC_FILE_ON_CRASH ? " inside the crash region" : "";
    notes.push(
      segmentPlan
        ? `kexec_file_load places its segments itself${where}; the segments shown are ` +
          "those of the kexec_load fallback"
        : `kexec_file_load places its segments itself${where}: none are shown`,
    );
  }
  const areas = [...layout.areas];
  const region = segmentPlan?.crashRegion;
  if (region && !areas.some((a) => a.start <= region.start && region.end <= a.end)) {
    areas.push({ start: region.start, end: region.end, name: CRASH_KERNEL_RESOURCE });
  }
  const segments = (segmentPlan?.segments ?? []).map((s) => ({
    start: s.mem,
    end: s.mem + s.memsz,
    name: s.name,
  }));
  return {
    source: layout.source,
    regions: layout.regions,
    areas: byAddress(areas),
    segments,
    notes,
  };
}

function byAddress(ranges: MapRange[]): MapRange[] {
  return ranges.sort((a, b) => a.start - b.start || b.end - a.end);
}
