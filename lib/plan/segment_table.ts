/**
 * The `struct kexec_segment` array passed to kexec_load (include/uapi/linux/kexec.h):
 * four u64 per segment — buf, bufsz, mem, memsz — contiguous, 32 bytes each.
 *
 * @module
 */

import { KEXEC_SEGMENT_MAX } from "../abi.ts";
import type { Segment } from "./types.ts";
import { hex } from "../format.ts";

/** u64 slots per `struct kexec_segment`. */
export const KEXEC_SEGMENT_FIELDS = {
  buf: 0,
  bufsz: 1,
  mem: 2,
  memsz: 3,
  /** Slots per segment. */
  count: 4,
} as const;

/**
 * Builds the segment array. `addressOf` gives the user-space address the kernel
 * reads each buffer from (`System.addressOf`). Throws a RangeError for more
 * than `KEXEC_SEGMENT_MAX` segments or a buffer larger than its memsz, which
 * planners never produce.
 *
 * @example
 * ```ts
 * import { segmentTable } from "./segment_table.ts";
 * const buf = new Uint8Array(10);
 * const t = segmentTable([{ name: "x", buf, mem: 0x100000, memsz: 0x1000 }], () => 0x7f00n);
 * if (t.length !== 4 || t[0] !== 0x7f00n || t[1] !== 10n || t[2] !== 0x100000n || t[3] !== 0x1000n) {
 *   throw new Error();
 * }
 * ```
 */
export function segmentTable(
  segments: readonly Segment[],
  addressOf: (bytes: Uint8Array) => bigint,
): BigUint64Array {
  if (segments.length > KEXEC_SEGMENT_MAX) {
    throw new RangeError(`${segments.length} segments; kexec_load takes ${KEXEC_SEGMENT_MAX}`);
  }
  const table = new BigUint64Array(segments.length * KEXEC_SEGMENT_FIELDS.count);
  segments.forEach((segment, i) => {
    if (segment.buf.length > segment.memsz) {
      throw new RangeError(
        `segment ${segment.name}: ${segment.buf.length} bytes exceed memsz ${segment.memsz}`,
      );
    }
    const at = i * KEXEC_SEGMENT_FIELDS.count;
    table[at + KEXEC_SEGMENT_FIELDS.buf] = addressOf(segment.buf);
    table[at + KEXEC_SEGMENT_FIELDS.bufsz] = BigInt(segment.buf.length);
    table[at + KEXEC_SEGMENT_FIELDS.mem] = BigInt(segment.mem);
    table[at + KEXEC_SEGMENT_FIELDS.memsz] = BigInt(segment.memsz);
  });
  return table;
}

/**
 * Lines of the segment table for `-d` and `--dry-run`: index, name, mem,
 * memsz, bufsz.
 *
 * @example
 * ```ts
 * import { segmentTableLines } from "./segment_table.ts";
 * const lines = segmentTableLines([
 *   { name: "kernel", buf: new Uint8Array(3), mem: 0x1000000, memsz: 0x1000 },
 * ]);
 * if (!lines[1].includes("kernel") || !lines[1].includes("0x1000000")) throw new Error();
 * ```
 */
export function segmentTableLines(segments: readonly Segment[]): string[] {
  const row = (cells: string[]) =>
    `  ${cells[0].padStart(2)}  ${cells[1].padEnd(12)} ${cells[2].padStart(18)} ` +
    `${cells[3].padStart(12)} ${cells[4].padStart(12)}`;
  return [
    row(["#", "name", "mem", "memsz", "bufsz"]),
    ...segments.map((s, i) =>
      row([String(i), s.name, hex(s.mem), hex(s.memsz), hex(s.buf.length)])
    ),
  ];
}
