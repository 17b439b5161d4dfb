/**
 * The e820 memory map handed to the next kernel (Documentation/arch/x86/zero-page.rst,
 * arch/x86/include/uapi/asm/e820.h): packed 20-byte entries, at most 128 in
 * boot_params, the rest in a SETUP_E820_EXT setup_data node.
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import { formatRange, sortRanges } from "../../memory/memmap.ts";
import type { MemoryKind, MemoryRange } from "../../memory/types.ts";

/** e820 type numbers per memory kind (arch/x86/include/asm/e820/types.h, `enum e820_type`). */
export const E820_TYPE: Readonly<Record<MemoryKind, number>> = {
  ram: 1,
  reserved: 2,
  acpi: 3,
  nvs: 4,
  unusable: 5,
  pmem: 7,
  pram: 12,
  "soft-reserved": 0xefffffff,
};

/** `struct boot_e820_entry` layout: u64 addr, u64 size, u32 type, packed. */
export const E820_ENTRY = {
  addr: 0x00,
  size: 0x08,
  type: 0x10,
  /** Bytes per entry. */
  length: 20,
} as const;

/** Entries that fit in boot_params (`E820_MAX_ENTRIES_ZEROPAGE`). */
export const E820_MAX_ENTRIES_ZEROPAGE = 128;

/** One e820 entry. */
export interface E820Entry {
  readonly addr: number;
  readonly size: number;
  readonly type: number;
}

/**
 * Converts a memory map to e820 entries, sorted by address; empty ranges are
 * dropped. Overlapping ranges are a {@link KexecError}: the kernel would
 * sanitise them, but they mean the map given to us is inconsistent.
 *
 * @example
 * ```ts
 * import { e820FromMemoryMap } from "./e820.ts";
 * const e = e820FromMemoryMap([
 *   { start: 0x100000, end: 0x40000000, kind: "ram" },
 *   { start: 0, end: 0x9fc00, kind: "ram" },
 * ]);
 * if (e[0].addr !== 0 || e[1].size !== 0x3ff00000 || e[1].type !== 1) throw new Error();
 * ```
 */
export function e820FromMemoryMap(ranges: readonly MemoryRange[]): E820Entry[] {
  const sorted = sortRanges(ranges).filter((r) => r.end > r.start);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].start < sorted[i - 1].end) {
      throw new KexecError(
        `memory map ranges overlap: ${formatRange(sorted[i - 1])} and ${formatRange(sorted[i])}`,
        { hint: "the memory map source is inconsistent; run again with -d and report it" },
      );
    }
  }
  return sorted.map((r) => ({ addr: r.start, size: r.end - r.start, type: E820_TYPE[r.kind] }));
}

/**
 * Encodes entries as the packed 20-byte array used both in boot_params
 * (0x2D0) and in a SETUP_E820_EXT node.
 *
 * @example
 * ```ts
 * import { encodeE820 } from "./e820.ts";
 * const b = encodeE820([{ addr: 0x100000, size: 0x1000, type: 1 }]);
 * const v = new DataView(b.buffer);
 * if (b.length !== 20 || v.getBigUint64(0, true) !== 0x100000n || v.getUint32(16, true) !== 1) {
 *   throw new Error();
 * }
 * ```
 */
export function encodeE820(entries: readonly E820Entry[]): Uint8Array {
  const bytes = new Uint8Array(entries.length * E820_ENTRY.length);
  const view = new DataView(bytes.buffer);
  entries.forEach((e, i) => {
    const at = i * E820_ENTRY.length;
    view.setBigUint64(at + E820_ENTRY.addr, BigInt(e.addr), true);
    view.setBigUint64(at + E820_ENTRY.size, BigInt(e.size), true);
    view.setUint32(at + E820_ENTRY.type, e.type, true);
  });
  return bytes;
}

/**
 * Splits entries into those for boot_params (the first 128) and the rest,
 * which go into a SETUP_E820_EXT node.
 *
 * @example
 * ```ts
 * import { splitE820 } from "./e820.ts";
 * const all = Array.from({ length: 130 }, (_, i) => ({ addr: i * 0x1000, size: 0x1000, type: 1 }));
 * const { zeroPage, extended } = splitE820(all);
 * if (zeroPage.length !== 128 || extended[0].addr !== 128 * 0x1000) throw new Error();
 * ```
 */
export function splitE820(
  entries: readonly E820Entry[],
): { zeroPage: E820Entry[]; extended: E820Entry[] } {
  return {
    zeroPage: entries.slice(0, E820_MAX_ENTRIES_ZEROPAGE),
    extended: entries.slice(E820_MAX_ENTRIES_ZEROPAGE),
  };
}
