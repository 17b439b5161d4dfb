/**
 * How numbers are written in messages, notes and tables.
 *
 * @module
 */

/**
 * An address or size as lowercase hex with `0x`.
 *
 * @example
 * ```ts
 * import { hex } from "./format.ts";
 * if (hex(0x1000000) !== "0x1000000" || hex(0xffff888000000000n) !== "0xffff888000000000") {
 *   throw new Error();
 * }
 * ```
 */
export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
