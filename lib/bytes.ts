/**
 * Byte-array helpers shared by the library and its tests.
 *
 * @module
 */

/**
 * The parts one after another in a new array.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 * const b = concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]);
 * if (b.join() !== "1,2,3") throw new Error();
 * ```
 */
export function concatBytes(parts: Iterable<Uint8Array>): Uint8Array {
  const list = [...parts];
  const out = new Uint8Array(list.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of list) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
