/**
 * Mutations of binary inputs: bit flips, interesting values written into
 * known header fields, truncation at field and sector boundaries, splices with
 * other seeds, inserted and deleted ranges, and magic numbers of other formats.
 *
 * @module
 */

import { concatBytes } from "../../lib/bytes.ts";
import type { Rng } from "./rng.ts";

/** A header field the mutator aims at (offset and width in bytes). */
export interface ByteField {
  readonly offset: number;
  readonly size: 1 | 2 | 4 | 8;
}

/** What a byte mutator knows about the format it mutates. */
export interface ByteShape {
  /** Fields worth writing interesting values into. */
  readonly fields: readonly ByteField[];
  /** Offsets worth truncating at (field starts and ends are added automatically). */
  readonly boundaries?: readonly number[];
  /** Bytes below this offset are where the header lives; most flips land there. */
  readonly hotEnd?: number;
  /** Magic numbers and strings of this and neighbouring formats. */
  readonly dictionary?: readonly Uint8Array[];
  /** Fields are little-endian (default true); the other order is tried now and then. */
  readonly littleEndian?: boolean;
  /** Longest input the mutator grows to (default 256 KiB). */
  readonly maxLength?: number;
}

const TWO_32 = 2 ** 32;

/**
 * Values that break parsers: zero, one, all-ones, sign boundaries, powers of
 * two around page and sector sizes, and the input's own length ± 1.
 *
 * @example
 * ```ts
 * import { interestingValues } from "./mutate_bytes.ts";
 * const v = interestingValues(2, 100);
 * if (!v.includes(0xffffn) || !v.includes(0x8000n) || !v.includes(101n)) throw new Error();
 * ```
 */
export function interestingValues(size: 1 | 2 | 4 | 8, length: number): bigint[] {
  const bits = BigInt(size * 8);
  const max = (1n << bits) - 1n;
  const values = [
    0n,
    1n,
    2n,
    max,
    max - 1n,
    max >> 1n,
    (max >> 1n) + 1n,
    0x10n,
    0x40n,
    0x7fn,
    0x80n,
    0xffn,
    0x100n,
    0x200n,
    0x1000n,
    0x7fffn,
    0x8000n,
    0xffffn,
    0x10000n,
    0x100000n,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    BigInt(TWO_32),
    BigInt(Number.MAX_SAFE_INTEGER),
    BigInt(Number.MAX_SAFE_INTEGER) + 1n,
    1n << 63n,
    BigInt(length),
    BigInt(length) - 1n,
    BigInt(length) + 1n,
    BigInt(length) / 16n,
    BigInt(length) / 16n + 1n,
  ];
  return values.filter((v) => v >= 0n && v <= max);
}

/**
 * Writes `value` as an unsigned integer of `size` bytes at `offset` (bounds-checked).
 *
 * @example
 * ```ts
 * import { writeField } from "./mutate_bytes.ts";
 * const b = new Uint8Array(4);
 * writeField(b, 0, 2, 0x1234n, true);
 * if (b[0] !== 0x34 || b[1] !== 0x12) throw new Error();
 * ```
 */
export function writeField(
  bytes: Uint8Array,
  offset: number,
  size: number,
  value: bigint,
  littleEndian: boolean,
): void {
  for (let i = 0; i < size; i++) {
    const at = offset + (littleEndian ? i : size - 1 - i);
    if (at >= 0 && at < bytes.length) bytes[at] = Number((value >> BigInt(8 * i)) & 0xffn);
  }
}

function readField(
  bytes: Uint8Array,
  offset: number,
  size: number,
  littleEndian: boolean,
): bigint {
  let value = 0n;
  for (let i = 0; i < size; i++) {
    const at = offset + (littleEndian ? i : size - 1 - i);
    const b = at >= 0 && at < bytes.length ? bytes[at] : 0;
    value |= BigInt(b) << BigInt(8 * i);
  }
  return value;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

function hotOffset(rng: Rng, bytes: Uint8Array, shape: ByteShape): number {
  const hot = Math.min(shape.hotEnd ?? bytes.length, bytes.length);
  if (hot > 0 && rng.chance(0.75)) return rng.int(hot);
  return rng.int(Math.max(bytes.length, 1));
}

type Mutation = (
  rng: Rng,
  bytes: Uint8Array,
  shape: ByteShape,
  others: readonly Uint8Array[],
) => Uint8Array;

const MUTATIONS: readonly [number, Mutation][] = [
  // Flip a few bits, mostly in the header.
  [3, (rng, bytes, shape) => {
    if (bytes.length === 0) return bytes;
    for (let n = rng.count(8); n > 0; n--) {
      bytes[hotOffset(rng, bytes, shape)] ^= 1 << rng.int(8);
    }
    return bytes;
  }],
  // Random byte values.
  [1, (rng, bytes, shape) => {
    if (bytes.length === 0) return bytes;
    for (let n = rng.count(4); n > 0; n--) bytes[hotOffset(rng, bytes, shape)] = rng.int(256);
    return bytes;
  }],
  // An interesting value in a header field, sometimes in the other byte order.
  [5, (rng, bytes, shape) => {
    if (shape.fields.length === 0) return bytes;
    const field = rng.pick(shape.fields);
    const le = (shape.littleEndian ?? true) !== rng.chance(0.1);
    writeField(
      bytes,
      field.offset,
      field.size,
      rng.pick(interestingValues(field.size, bytes.length)),
      le,
    );
    return bytes;
  }],
  // Small arithmetic on a header field.
  [2, (rng, bytes, shape) => {
    if (shape.fields.length === 0) return bytes;
    const field = rng.pick(shape.fields);
    const le = shape.littleEndian ?? true;
    const mask = (1n << BigInt(field.size * 8)) - 1n;
    const delta = BigInt(rng.range(-35, 35)) * (rng.chance(0.3) ? 0x1000n : 1n);
    const v = (readField(bytes, field.offset, field.size, le) + delta) & mask;
    writeField(bytes, field.offset, field.size, v, le);
    return bytes;
  }],
  // Truncate at a boundary (± 1) or anywhere.
  [3, (rng, bytes, shape) => {
    const cuts = [
      ...shape.fields.flatMap((f) => [f.offset, f.offset + f.size]),
      ...(shape.boundaries ?? []),
    ];
    const at = cuts.length > 0 && rng.chance(0.8)
      ? rng.pick(cuts) + rng.range(-1, 1)
      : rng.int(bytes.length + 1);
    return bytes.subarray(0, Math.max(0, Math.min(at, bytes.length)));
  }],
  // Grow: zeros, 0xff or random bytes at the end.
  [1, (rng, bytes, shape) => {
    const n = rng.chance(0.5) ? rng.range(1, 64) : rng.range(1, 0x10000);
    if (bytes.length + n > (shape.maxLength ?? 0x40000)) return bytes;
    const fill = rng.pick([0, 0xff, -1]);
    const tail = fill < 0 ? rng.bytes(n) : new Uint8Array(n).fill(fill);
    return concat(bytes, tail);
  }],
  // Insert a few random bytes (shifts everything after them).
  [2, (rng, bytes, shape) => {
    const at = hotOffset(rng, bytes, shape);
    return concat(bytes.subarray(0, at), rng.bytes(rng.count(16)), bytes.subarray(at));
  }],
  // Delete a range (shifts everything after it).
  [2, (rng, bytes, shape) => {
    if (bytes.length === 0) return bytes;
    const at = hotOffset(rng, bytes, shape);
    const n = rng.chance(0.7) ? rng.count(16) : rng.int(bytes.length - at + 1);
    return concat(bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + n)));
  }],
  // Fill a range with 0x00 or 0xff.
  [1, (rng, bytes, shape) => {
    if (bytes.length === 0) return bytes;
    const at = hotOffset(rng, bytes, shape);
    bytes.fill(rng.chance(0.5) ? 0 : 0xff, at, at + rng.range(1, 256));
    return bytes;
  }],
  // Copy a block from elsewhere in the input over another place.
  [1, (rng, bytes, shape) => {
    if (bytes.length < 2) return bytes;
    const from = rng.int(bytes.length);
    const to = hotOffset(rng, bytes, shape);
    const n = Math.min(rng.range(1, 64), bytes.length - from, bytes.length - to);
    bytes.copyWithin(to, from, from + n);
    return bytes;
  }],
  // A magic number or string of this or another format.
  [2, (rng, bytes, shape) => {
    const dict = shape.dictionary ?? [];
    if (dict.length === 0 || bytes.length === 0) return bytes;
    const token = rng.pick(dict);
    const at = shape.fields.length > 0 && rng.chance(0.6)
      ? rng.pick(shape.fields).offset
      : hotOffset(rng, bytes, shape);
    bytes.set(token.subarray(0, Math.max(0, bytes.length - at)), Math.min(at, bytes.length));
    return bytes;
  }],
  // Splice: this input's head with another seed's tail, at the same or another offset.
  [2, (rng, bytes, _shape, others) => {
    if (others.length === 0) return bytes;
    const other = rng.pick(others);
    const cut = rng.int(Math.min(bytes.length, other.length) + 1);
    const otherCut = rng.chance(0.7) ? cut : rng.int(other.length + 1);
    return concat(bytes.subarray(0, cut), other.subarray(otherCut));
  }],
];

const TOTAL_WEIGHT = MUTATIONS.reduce((n, [w]) => n + w, 0);

/**
 * Returns a mutated copy of `seed` (1 to 6 stacked mutations; the seed is not
 * modified). `others` are other seeds of the same format, for splices.
 *
 * @example
 * ```ts
 * import { mutateBytes } from "./mutate_bytes.ts";
 * import { Rng } from "./rng.ts";
 * const seed = new Uint8Array(64);
 * const out = mutateBytes(new Rng(1, 2, 3, 4), seed, { fields: [{ offset: 8, size: 4 }] }, []);
 * if (seed.some((b) => b !== 0)) throw new Error("seed modified");
 * if (!(out instanceof Uint8Array)) throw new Error();
 * ```
 */
export function mutateBytes(
  rng: Rng,
  seed: Uint8Array,
  shape: ByteShape,
  others: readonly Uint8Array[],
): Uint8Array {
  let bytes: Uint8Array = seed.slice();
  for (let n = rng.count(6); n > 0; n--) {
    let pick = rng.int(TOTAL_WEIGHT);
    for (const [weight, mutate] of MUTATIONS) {
      if (pick < weight) {
        // In place on the copy, or a view of it, or a new array: never a seed.
        bytes = mutate(rng, bytes, shape, others);
        break;
      }
      pick -= weight;
    }
  }
  return bytes;
}

/**
 * ASCII text as bytes, for dictionaries.
 *
 * @example
 * ```ts
 * import { ascii } from "./mutate_bytes.ts";
 * if (ascii("HdrS")[0] !== 0x48) throw new Error();
 * ```
 */
export function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/**
 * Little-endian bytes of an unsigned integer, for dictionaries.
 *
 * @example
 * ```ts
 * import { le } from "./mutate_bytes.ts";
 * if (le(0xaa55, 2)[0] !== 0x55) throw new Error();
 * ```
 */
export function le(value: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  writeField(out, 0, size, BigInt(value), true);
  return out;
}
