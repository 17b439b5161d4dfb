/**
 * Text that carries bytes: argv words, /proc/cmdline and file paths are byte
 * strings to the kernel, not necessarily UTF-8. A "raw string" is UTF-8 text
 * in which every byte that is not part of a well-formed UTF-8 sequence is
 * carried as the lone surrogate U+DC80..U+DCFF (the low half of the byte plus
 * 0xDC00), the scheme Python calls "surrogateescape" (PEP 383). Valid text is
 * unchanged, so printing and matching work as before, and
 * `encodeRaw(decodeRaw(bytes))` gives back exactly `bytes`.
 *
 * Well-formed UTF-8 is Table 3-7 of the Unicode Standard (chapter 3.9).
 *
 * @module
 */

const ESCAPE_BASE = 0xdc00;
const FIRST_ESCAPE = 0xdc80;
const LAST_ESCAPE = 0xdcff;
const HAS_ESCAPE = /[\udc80-\udcff]/u;

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

// Length of the well-formed sequence starting at `i`, or 0 (Unicode Table 3-7).
function sequenceLength(b: Uint8Array, i: number): number {
  const c0 = b[i];
  if (c0 < 0x80) return 1;
  const inRange = (k: number, lo: number, hi: number) =>
    i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  const tail = (from: number, to: number) => {
    for (let k = from; k <= to; k++) if (!inRange(k, 0x80, 0xbf)) return false;
    return true;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) return tail(1, 1) ? 2 : 0;
  if (c0 === 0xe0) return inRange(1, 0xa0, 0xbf) && tail(2, 2) ? 3 : 0;
  if (c0 === 0xed) return inRange(1, 0x80, 0x9f) && tail(2, 2) ? 3 : 0;
  if (c0 >= 0xe1 && c0 <= 0xef) return tail(1, 2) ? 3 : 0;
  if (c0 === 0xf0) return inRange(1, 0x90, 0xbf) && tail(2, 3) ? 4 : 0;
  if (c0 >= 0xf1 && c0 <= 0xf3) return tail(1, 3) ? 4 : 0;
  if (c0 === 0xf4) return inRange(1, 0x80, 0x8f) && tail(2, 3) ? 4 : 0;
  return 0;
}

/**
 * Bytes as a raw string: well-formed UTF-8 decoded, every other byte escaped.
 *
 * @example
 * ```ts
 * import { decodeRaw } from "./raw_text.ts";
 * const s = decodeRaw(new Uint8Array([0x61, 0xff, 0xc3, 0xa9]));
 * if (s !== "a\udcffé") throw new Error(JSON.stringify(s));
 * ```
 */
export function decodeRaw(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    // Not all well-formed: decode sequence by sequence below.
  }
  let out = "";
  let run = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (run < i) out += strict.decode(bytes.subarray(run, i));
    out += String.fromCharCode(ESCAPE_BASE + bytes[i]);
    i++;
    run = i;
  }
  if (run < bytes.length) out += strict.decode(bytes.subarray(run));
  return out;
}

/**
 * A raw string as bytes: UTF-8, with each escape U+DC80..U+DCFF turned back
 * into its byte. Other lone surrogates become U+FFFD, as with TextEncoder.
 *
 * @example
 * ```ts
 * import { decodeRaw, encodeRaw } from "./raw_text.ts";
 * const bytes = new Uint8Array([0x72, 0x6f, 0xff, 0xed, 0xa0, 0x80, 0x20]);
 * const back = encodeRaw(decodeRaw(bytes));
 * if (back.join() !== bytes.join()) throw new Error(back.join());
 * ```
 */
export function encodeRaw(text: string): Uint8Array {
  if (!HAS_ESCAPE.test(text)) return encoder.encode(text);
  const parts: number[] = [];
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= FIRST_ESCAPE && c <= LAST_ESCAPE) {
      parts.push(c - ESCAPE_BASE);
    } else {
      for (const b of encoder.encode(ch)) parts.push(b);
    }
  }
  return Uint8Array.from(parts);
}

/**
 * A raw string for people: escaped bytes shown as `\xNN`.
 *
 * @example
 * ```ts
 * import { displayRaw } from "./raw_text.ts";
 * if (displayRaw("quiet x=\udcff") !== "quiet x=\\xff") throw new Error();
 * ```
 */
export function displayRaw(text: string): string {
  if (!HAS_ESCAPE.test(text)) return text;
  return text.replace(
    /[\udc80-\udcff]/gu,
    (c) => `\\x${(c.charCodeAt(0) - ESCAPE_BASE).toString(16).padStart(2, "0")}`,
  );
}
