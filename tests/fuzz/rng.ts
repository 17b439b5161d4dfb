/**
 * Deterministic pseudo-random numbers for fuzzing. Every input is generated
 * from its own generator seeded by (run seed, target name, input index), so
 * input N of a run can be rebuilt alone — by the runner after a hang, or by
 * hand from the numbers in a report.
 *
 * @module
 */

/**
 * A small fast PRNG (sfc32: 128-bit state, 32-bit output). Not for cryptography.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(1, 2, 3, 4);
 * const n = rng.int(10);
 * if (n < 0 || n >= 10 || rng.bytes(3).length !== 3) throw new Error();
 * ```
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** Seeds the state from four 32-bit words and discards the first outputs. */
  constructor(a: number, b: number, c: number, d: number) {
    this.#a = a >>> 0;
    this.#b = b >>> 0;
    this.#c = c >>> 0;
    this.#d = d >>> 0;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /**
   * Next 32-bit unsigned integer.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const a = new Rng(1, 2, 3, 4).u32();
   * if (a !== new Rng(1, 2, 3, 4).u32()) throw new Error("not deterministic");
   * ```
   */
  u32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** Integer in [0, n); n ≥ 1. */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 2 ** 32) * n);
  }

  /** Integer in [lo, hi], inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Small counts more often than large ones: 1 with p ½, 2 with ¼, … up to max. */
  count(max: number): number {
    let n = 1;
    while (n < max && this.chance(0.5)) n++;
    return n;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

/**
 * 32-bit FNV-1a of a string, used to give each target its own stream.
 *
 * @example
 * ```ts
 * import { hashName } from "./rng.ts";
 * if (hashName("iomem") === hashName("memmap")) throw new Error("collision");
 * ```
 */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The generator for input `index` of `target` in the run seeded with `seed`.
 *
 * @example
 * ```ts
 * import { inputRng } from "./rng.ts";
 * if (inputRng(1, "x", 5).u32() !== inputRng(1, "x", 5).u32()) throw new Error();
 * if (inputRng(1, "x", 5).u32() === inputRng(1, "x", 6).u32()) throw new Error();
 * ```
 */
export function inputRng(seed: number, target: string, index: number): Rng {
  return new Rng(seed, hashName(target), index, Math.floor(index / 2 ** 32) ^ 0x9e3779b9);
}
