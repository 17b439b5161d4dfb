/**
 * Alignment arithmetic on addresses and sizes, apart from the allocator so
 * that image headers can be checked without loading it.
 *
 * @module
 */

/**
 * Rounds up to a multiple of a power of two (exact for values below 2^53).
 *
 * @example
 * ```ts
 * import { alignUp } from "./align.ts";
 * if (alignUp(0x1001, 0x1000) !== 0x2000 || alignUp(0x2000, 0x1000) !== 0x2000) throw new Error();
 * ```
 */
export function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/**
 * Rounds down to a multiple of a power of two (exact for values below 2^53).
 *
 * @example
 * ```ts
 * import { alignDown } from "./align.ts";
 * if (alignDown(0x1fff, 0x1000) !== 0x1000) throw new Error();
 * ```
 */
export function alignDown(value: number, align: number): number {
  return Math.floor(value / align) * align;
}

/**
 * True for 1, 2, 4, 8, … up to 2^52.
 *
 * @example
 * ```ts
 * import { isPowerOfTwo } from "./align.ts";
 * if (!isPowerOfTwo(0x200000) || isPowerOfTwo(0x300000) || isPowerOfTwo(0)) throw new Error();
 * ```
 */
export function isPowerOfTwo(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0 && Number.isInteger(Math.log2(value));
}
