/**
 * Physical address ranges for crash loads: taking holes out of RAM ranges.
 * The dump must not contain the crash kernel's own memory, and the crash
 * kernel must not be given the memory it is dumping (arch/x86/kernel/crash.c:
 * elf_header_exclude_ranges for the dump, crash_setup_memmap_entries for the
 * crash kernel's map).
 *
 * @module
 */

/** A physical address range, end exclusive. */
export interface AddressRange {
  /** First address of the range. */
  readonly start: number;
  /** First address after the range. */
  readonly end: number;
}

/**
 * Each range of `ranges` with every range of `holes` taken out, in the order
 * of `ranges`. A range cut in the middle becomes two; adjacent input ranges
 * stay separate (one ELF program header each, as the kernel does); empty
 * pieces are dropped.
 *
 * @example
 * ```ts
 * import { subtractRanges } from "./ranges.ts";
 * const pieces = subtractRanges(
 *   [{ start: 0x100000, end: 0x80000000 }],
 *   [{ start: 0x69000000, end: 0x79000000 }],
 * );
 * if (pieces.length !== 2 || pieces[0].end !== 0x69000000 || pieces[1].start !== 0x79000000) {
 *   throw new Error(JSON.stringify(pieces));
 * }
 * ```
 */
export function subtractRanges(
  ranges: readonly AddressRange[],
  holes: readonly AddressRange[],
): AddressRange[] {
  const sortedHoles = holes.filter((h) => h.end > h.start).sort((a, b) => a.start - b.start);
  const pieces: AddressRange[] = [];
  for (const range of ranges) {
    let cursor = range.start;
    for (const hole of sortedHoles) {
      if (hole.end <= cursor || hole.start >= range.end) continue;
      if (hole.start > cursor) pieces.push({ start: cursor, end: hole.start });
      cursor = Math.max(cursor, hole.end);
    }
    if (cursor < range.end) pieces.push({ start: cursor, end: range.end });
  }
  return pieces;
}

/**
 * The part of each range that lies inside `[window.start, window.end)`;
 * ranges outside it are dropped.
 *
 * @example
 * ```ts
 * import { clipRanges } from "./ranges.ts";
 * const low = clipRanges([{ start: 0x1000, end: 0x7fe0000 }], { start: 0, end: 0x100000 });
 * if (low.length !== 1 || low[0].start !== 0x1000 || low[0].end !== 0x100000) throw new Error();
 * ```
 */
export function clipRanges(
  ranges: readonly AddressRange[],
  window: AddressRange,
): AddressRange[] {
  return ranges
    .map((r) => ({ start: Math.max(r.start, window.start), end: Math.min(r.end, window.end) }))
    .filter((r) => r.end > r.start);
}
