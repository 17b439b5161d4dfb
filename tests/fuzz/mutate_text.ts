/**
 * Mutations of text inputs (procfs/sysfs files, command lines, option
 * values): line edits, numbers replaced by boundary values, dictionary tokens,
 * odd characters (NUL, CR, tabs, non-ASCII, lone surrogates), indentation,
 * truncation, repetition and byte-level damage through UTF-8.
 *
 * @module
 */

import type { Rng } from "./rng.ts";

/** Number spellings at the edges of what parsers accept. */
export const INTERESTING_NUMBERS: readonly string[] = [
  "0",
  "1",
  "00",
  "-1",
  "-0",
  "+1",
  "7f",
  "80",
  "ff",
  "fff",
  "1000",
  "7fffffff",
  "80000000",
  "ffffffff",
  "100000000",
  "1fffffffffffff",
  "20000000000000",
  "7fffffffffffffff",
  "8000000000000000",
  "ffffffffffffffff",
  "10000000000000000",
  "9007199254740991",
  "9007199254740992",
  "18446744073709551615",
  "99999999999999999999",
  "1e3",
  "1.5",
  "0x",
  "0x0",
  "0xffffffffffffffff",
  "0X10",
  "NaN",
  "Infinity",
  "",
  " 1",
  "1 ",
];

const ODD_CHARS: readonly string[] = [
  " ",
  "  ",
  "\t",
  "\n",
  "\r",
  "\r\n",
  "\0",
  "\v",
  "\f",
  "-",
  ":",
  "=",
  '"',
  "'",
  "[",
  "]",
  "\\",
  "/",
  ",",
  "x",
  "é",
  "\u00a0",
  "\u2028",
  "\ufeff",
  "\ud800",
  "\udfff",
  "😀",
  "\u0085",
];

const NUMBER = /(0[xX])?[0-9a-fA-F]+/g;

function numbersIn(text: string): { index: number; length: number }[] {
  return [...text.matchAll(NUMBER)].map((m) => ({ index: m.index, length: m[0].length }));
}

function splice(text: string, at: number, remove: number, insert: string): string {
  return text.slice(0, at) + insert + text.slice(at + remove);
}

function lineEdit(rng: Rng, text: string, others: readonly string[]): string {
  const lines = text.split("\n");
  const i = rng.int(lines.length);
  switch (rng.int(5)) {
    case 0:
      lines.splice(i, 1);
      break;
    case 1:
      lines.splice(i, 0, lines[i]);
      break;
    case 2: {
      const j = rng.int(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      break;
    }
    case 3: {
      const other = rng.pick(others.length ? others : [text]).split("\n");
      lines.splice(i, 0, rng.pick(other));
      break;
    }
    default:
      // Indentation: add or remove spaces at the start of a line.
      lines[i] = rng.chance(0.5)
        ? " ".repeat(rng.range(1, 5)) + lines[i]
        : lines[i].replace(/^ {1,2}/, "");
  }
  return lines.join("\n");
}

type Mutation = (
  rng: Rng,
  text: string,
  dictionary: readonly string[],
  others: readonly string[],
) => string;

const MUTATIONS: readonly [number, Mutation][] = [
  // Line edits: delete, duplicate, swap, splice from another seed, indent.
  [4, (rng, text, _d, others) => lineEdit(rng, text, others)],
  // A number replaced by a boundary value.
  [5, (rng, text) => {
    const numbers = numbersIn(text);
    if (numbers.length === 0) return text;
    const n = rng.pick(numbers);
    let value = rng.pick(INTERESTING_NUMBERS);
    if (rng.chance(0.1)) value = rng.pick(["f", "0", "9", "1"]).repeat(rng.range(17, 400));
    return splice(text, n.index, n.length, value);
  }],
  // A digit changed.
  [2, (rng, text) => {
    const numbers = numbersIn(text);
    if (numbers.length === 0) return text;
    const n = rng.pick(numbers);
    const at = n.index + rng.int(n.length);
    return splice(text, at, 1, rng.pick([..."0123456789abcdefABCDEFxg"]));
  }],
  // A dictionary token inserted or written over.
  [4, (rng, text, dictionary) => {
    if (dictionary.length === 0) return text;
    const at = rng.int(text.length + 1);
    return splice(text, at, rng.chance(0.5) ? 0 : rng.int(8), rng.pick(dictionary));
  }],
  // An odd character inserted, or one deleted or replaced.
  [4, (rng, text) => {
    const at = rng.int(text.length + 1);
    const remove = rng.pick([0, 0, 1]);
    return splice(text, at, remove, remove && rng.chance(0.3) ? "" : rng.pick(ODD_CHARS));
  }],
  // Truncate, at a line end or anywhere.
  [2, (rng, text) => {
    if (rng.chance(0.5)) {
      const ends = [...text.matchAll(/\n/g)].map((m) => m.index);
      if (ends.length > 0) return text.slice(0, rng.pick(ends) + rng.range(0, 1));
    }
    return text.slice(0, rng.int(text.length + 1));
  }],
  // Repeat a piece many times (long lines, deep nesting, many entries).
  [1, (rng, text) => {
    if (text.length === 0) return text;
    const at = rng.int(text.length);
    const piece = text.slice(at, at + rng.range(1, 40));
    return splice(text, at, 0, piece.repeat(rng.range(2, rng.chance(0.2) ? 2000 : 50)));
  }],
  // Case flipped over a stretch.
  [1, (rng, text) => {
    const at = rng.int(text.length + 1);
    const end = at + rng.range(1, 30);
    const part = text.slice(at, end);
    const flipped = part === part.toUpperCase() ? part.toLowerCase() : part.toUpperCase();
    return splice(text, at, part.length, flipped);
  }],
  // Byte damage through UTF-8 (invalid sequences decode to U+FFFD).
  [1, (rng, text) => {
    const bytes = new TextEncoder().encode(text);
    if (bytes.length === 0) return text;
    for (let n = rng.count(4); n > 0; n--) bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
    return new TextDecoder().decode(bytes);
  }],
  // Splice with another seed.
  [1, (rng, text, _d, others) => {
    if (others.length === 0) return text;
    const other = rng.pick(others);
    return text.slice(0, rng.int(text.length + 1)) + other.slice(rng.int(other.length + 1));
  }],
];

const TOTAL_WEIGHT = MUTATIONS.reduce((n, [w]) => n + w, 0);

/**
 * Returns `seed` with 1 to 6 stacked text mutations. `dictionary` holds tokens
 * of the format (keywords, separators); `others` are other seeds for splices.
 *
 * @example
 * ```ts
 * import { mutateText } from "./mutate_text.ts";
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(7, 7, 7, 7);
 * let changed = 0;
 * for (let i = 0; i < 20; i++) {
 *   if (mutateText(rng, "00100000-3ffdffff : System RAM\n", [" : "], []) !== "") changed++;
 * }
 * if (changed === 0) throw new Error("nothing generated");
 * ```
 */
export function mutateText(
  rng: Rng,
  seed: string,
  dictionary: readonly string[],
  others: readonly string[],
): string {
  let text = seed;
  for (let n = rng.count(6); n > 0; n--) {
    let pick = rng.int(TOTAL_WEIGHT);
    for (const [weight, mutate] of MUTATIONS) {
      if (pick < weight) {
        text = mutate(rng, text, dictionary, others);
        break;
      }
      pick -= weight;
    }
  }
  // Keep inputs bounded: 256 KiB of text is far beyond any real procfs file.
  return text.length > 0x40000 ? text.slice(0, 0x40000) : text;
}

/**
 * A number mutated as text: a boundary spelling, or a random mutation of `value`.
 *
 * @example
 * ```ts
 * import { mutateNumberText } from "./mutate_text.ts";
 * import { Rng } from "./rng.ts";
 * if (typeof mutateNumberText(new Rng(1, 1, 1, 1), "0x1000") !== "string") throw new Error();
 * ```
 */
export function mutateNumberText(rng: Rng, value: string): string {
  if (rng.chance(0.5)) return rng.pick(INTERESTING_NUMBERS);
  return mutateText(rng, value, INTERESTING_NUMBERS, []);
}
