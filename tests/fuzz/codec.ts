/**
 * Fuzz inputs as JSON, for crasher files and for hang reports: byte arrays
 * become `{"$bytes": base64}` and non-finite numbers `{"$number": "NaN"}`, so
 * every input a target takes round-trips exactly.
 *
 * @module
 */

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/**
 * A JSON-safe copy of a fuzz input.
 *
 * @example
 * ```ts
 * import { fromJsonValue, toJsonValue } from "./codec.ts";
 * const input = { b: new Uint8Array([1, 2, 255]), n: NaN, s: "\ud800", a: [-0, Infinity] };
 * const back = fromJsonValue(JSON.parse(JSON.stringify(toJsonValue(input)))) as typeof input;
 * if (back.b[2] !== 255 || !Number.isNaN(back.n) || back.s !== "\ud800") throw new Error();
 * if (back.a[1] !== Infinity || !Object.is(back.a[0], -0)) throw new Error();
 * ```
 */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: toBase64(value) };
  if (typeof value === "number") {
    if (Object.is(value, -0)) return { $number: "-0" };
    if (!Number.isFinite(value)) return { $number: String(value) };
    return value;
  }
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toJsonValue(v)]),
    );
  }
  return value;
}

/**
 * The input a {@link toJsonValue} result stands for.
 *
 * @example
 * ```ts
 * import { fromJsonValue } from "./codec.ts";
 * const b = fromJsonValue({ $bytes: "AQI=" }) as Uint8Array;
 * if (b[1] !== 2) throw new Error();
 * ```
 */
export function fromJsonValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJsonValue);
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o.$bytes === "string") return fromBase64(o.$bytes);
    if (typeof o.$number === "string") return o.$number === "-0" ? -0 : Number(o.$number);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fromJsonValue(v)]));
  }
  return value;
}

/**
 * An input as one JSON string.
 *
 * @example
 * ```ts
 * import { encodeInput } from "./codec.ts";
 * if (encodeInput([NaN]) !== '[{"$number":"NaN"}]') throw new Error();
 * ```
 */
export function encodeInput(value: unknown): string {
  return JSON.stringify(toJsonValue(value));
}

/**
 * The input an {@link encodeInput} string stands for.
 *
 * @example
 * ```ts
 * import { decodeInput } from "./codec.ts";
 * if (!Number.isNaN((decodeInput('[{"$number":"NaN"}]') as number[])[0])) throw new Error();
 * ```
 */
export function decodeInput(text: string): unknown {
  return fromJsonValue(JSON.parse(text));
}
