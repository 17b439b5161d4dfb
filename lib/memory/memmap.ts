/**
 * The firmware memory map as the running kernel exposes it in
 * /sys/firmware/memmap/N/{start,end,type} (Documentation/ABI/testing/sysfs-firmware-memmap),
 * plus the small range helpers every planner needs to print and check maps.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { hex } from "../format.ts";
import type { MemoryKind, MemoryRange } from "./types.ts";

/** One /sys/firmware/memmap/N directory as text: `start` and `end` are hex, `end` inclusive. */
export interface FirmwareMemmapEntry {
  readonly start: string;
  readonly end: string;
  readonly type: string;
}

/**
 * Names the kernel's e820_type_to_string() prints, in /sys/firmware/memmap and
 * at the top of /proc/iomem (arch/x86/kernel/e820.c). In memmap anything else is
 * treated as reserved, which is what an unknown e820 type means.
 */
export const E820_TYPE_NAMES: ReadonlyMap<string, MemoryKind> = new Map([
  ["System RAM", "ram"],
  ["Reserved", "reserved"],
  ["ACPI Tables", "acpi"],
  ["ACPI Non-volatile Storage", "nvs"],
  ["Unusable memory", "unusable"],
  ["Persistent Memory", "pmem"],
  ["Persistent Memory (legacy)", "pram"],
  ["Soft Reserved", "soft-reserved"],
]);

/**
 * Maps a /sys/firmware/memmap type string to a {@link MemoryKind}; unknown
 * strings (including "Unknown E820 type") become "reserved".
 *
 * @example
 * ```ts
 * import { firmwareTypeKind } from "./memmap.ts";
 * if (firmwareTypeKind("System RAM\n") !== "ram") throw new Error();
 * if (firmwareTypeKind("Unknown E820 type") !== "reserved") throw new Error();
 * ```
 */
export function firmwareTypeKind(type: string): MemoryKind {
  return E820_TYPE_NAMES.get(type.trim()) ?? "reserved";
}

/**
 * Parses a hexadecimal address as sysfs and procfs print it (with or without
 * `0x`, surrounding whitespace allowed). Throws a {@link KexecError} naming
 * `what` when the text is not hex or the value does not fit a JS number.
 *
 * @example
 * ```ts
 * import { parseHexAddress } from "./memmap.ts";
 * if (parseHexAddress("0x9fbff\n", "end") !== 0x9fbff) throw new Error();
 * if (parseHexAddress("100000000", "start") !== 2 ** 32) throw new Error();
 * ```
 */
export function parseHexAddress(text: string, what: string): number {
  const digits = text.trim().replace(/^0x/i, "");
  if (!/^[0-9a-f]{1,16}$/i.test(digits)) {
    throw new KexecError(`${what}: '${text.trim()}' is not a hexadecimal address`, {
      hint: "the memory map file is malformed; run again with -d and report it",
    });
  }
  const value = BigInt(`0x${digits}`);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new KexecError(`${what}: address 0x${digits} is beyond 2^53`, {
      hint: "physical addresses above 2^52 cannot be memory; report this map with -d",
    });
  }
  return Number(value);
}

/**
 * Turns /sys/firmware/memmap entries into ranges sorted by start address
 * (end made exclusive). Throws a {@link KexecError} on malformed numbers or an
 * end below its start.
 *
 * @example
 * ```ts
 * import { parseFirmwareMemmap } from "./memmap.ts";
 * const map = parseFirmwareMemmap([
 *   { start: "0x100000", end: "0x3ffdffff", type: "System RAM" },
 *   { start: "0x0", end: "0x9fbff", type: "System RAM" },
 * ]);
 * if (map[0].start !== 0 || map[0].end !== 0x9fc00 || map[1].end !== 0x3ffe0000) {
 *   throw new Error();
 * }
 * ```
 */
export function parseFirmwareMemmap(entries: readonly FirmwareMemmapEntry[]): MemoryRange[] {
  const ranges = entries.map((entry, i): MemoryRange => {
    const start = parseHexAddress(entry.start, `firmware memmap entry ${i} start`);
    const last = parseHexAddress(entry.end, `firmware memmap entry ${i} end`);
    if (last < start) {
      throw new KexecError(
        `firmware memmap entry ${i}: end ${hex(last)} is below start ${hex(start)}`,
        { hint: "the memory map file is malformed; run again with -d and report it" },
      );
    }
    return { start, end: last + 1, kind: firmwareTypeKind(entry.type) };
  });
  return sortRanges(ranges);
}

/**
 * Returns the ranges sorted by start address (then end), without modifying the input.
 *
 * @example
 * ```ts
 * import { sortRanges } from "./memmap.ts";
 * const s = sortRanges([{ start: 8, end: 9, kind: "ram" }, { start: 1, end: 2, kind: "acpi" }]);
 * if (s[0].start !== 1) throw new Error();
 * ```
 */
export function sortRanges(ranges: readonly MemoryRange[]): MemoryRange[] {
  return [...ranges].sort((a, b) => a.start - b.start || a.end - b.end);
}

/**
 * The RAM ranges of a map, sorted, with touching or overlapping ones merged:
 * where a planner may put segments by default.
 *
 * @example
 * ```ts
 * import { ramRanges } from "./memmap.ts";
 * const ram = ramRanges([
 *   { start: 0x100000, end: 0x200000, kind: "ram" },
 *   { start: 0x200000, end: 0x300000, kind: "ram" },
 *   { start: 0x300000, end: 0x400000, kind: "reserved" },
 * ]);
 * if (ram.length !== 1 || ram[0].end !== 0x300000) throw new Error();
 * ```
 */
export function ramRanges(ranges: readonly MemoryRange[]): MemoryRange[] {
  const merged: MemoryRange[] = [];
  for (const r of sortRanges(ranges.filter((r) => r.kind === "ram"))) {
    const last = merged.at(-1);
    if (last && r.start <= last.end) {
      merged[merged.length - 1] = { ...last, end: Math.max(last.end, r.end) };
    } else if (r.end > r.start) {
      merged.push(r);
    }
  }
  return merged;
}

/**
 * Total bytes of the ranges of one kind.
 *
 * @example
 * ```ts
 * import { totalBytes } from "./memmap.ts";
 * if (totalBytes([{ start: 0, end: 0x1000, kind: "ram" }], "ram") !== 0x1000) throw new Error();
 * ```
 */
export function totalBytes(ranges: readonly MemoryRange[], kind: MemoryKind): number {
  return ranges.reduce((sum, r) => sum + (r.kind === kind ? r.end - r.start : 0), 0);
}

/**
 * One line describing a range the way `-d` prints it: inclusive end, as in
 * /proc/iomem, so users can compare.
 *
 * @example
 * ```ts
 * import { formatRange } from "./memmap.ts";
 * const line = formatRange({ start: 0x100000, end: 0x40000000, kind: "ram" });
 * if (line !== "0x0000000000100000-0x000000003fffffff ram") throw new Error(line);
 * ```
 */
export function formatRange(range: MemoryRange): string {
  const pad = (n: number) => `0x${n.toString(16).padStart(16, "0")}`;
  return `${pad(range.start)}-${pad(range.end - 1)} ${range.kind}`;
}
