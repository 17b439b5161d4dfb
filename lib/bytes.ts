/**
 * Byte-array helpers shared by the library and its tests.
 *
 * @module
 */

/**
 * A SHA-256 function (FIPS 180-4): the digest of `bytes`, 32 bytes. The
 * kexec_load planners take one for the purgatory's segment check; the System
 * supplies the fastest the machine has (lib/sys/libcrypto.ts) or
 * lib/plan/sha256.ts.
 */
export type Sha256 = (bytes: Uint8Array) => Uint8Array;

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
