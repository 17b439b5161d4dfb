/**
 * Option values: addresses (`--mem-min`, `--mem-max`, `--entry`) and
 * seconds (`--sync-timeout`), refused with a usage error naming the option.
 *
 * @module
 */

import { usageError } from "../errors.ts";

const ADDRESS_HINT = "use a number such as 0x1000000, 16777216 or 16M";

/**
 * Parses an address or size like strtoul(…, 0) does (`0x` hex, leading `0`
 * octal, else decimal), plus optional K/M/G binary suffixes. Refuses
 * negatives, garbage and values beyond 2^53 with a usage error naming the option.
 *
 * @example
 * ```ts
 * import { parseAddress } from "./values.ts";
 * if (parseAddress("0x1000", "--mem-min") !== 4096) throw new Error("hex");
 * if (parseAddress("16M", "--mem-max") !== 16 * 1024 * 1024) throw new Error("suffix");
 * let failed = false;
 * try { parseAddress("abc", "--mem-min"); } catch { failed = true; }
 * if (!failed) throw new Error("abc accepted");
 * ```
 */
export function parseAddress(text: string, option: string): number {
  const t = text.trim();
  if (t.startsWith("-")) {
    throw usageError(`option ${option}: '${text}' is negative`, ADDRESS_HINT);
  }
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgG]?)$/.exec(t);
  if (!m) throw usageError(`option ${option}: '${text}' is not a number`, ADDRESS_HINT);
  const [, digits, suffix] = m;
  let value: bigint;
  if (/^0[xX]/.test(digits)) value = BigInt(digits);
  else if (digits.length > 1 && digits.startsWith("0")) value = BigInt(`0o${digits.slice(1)}`);
  else value = BigInt(digits);
  const shift = { "": 0n, k: 10n, m: 20n, g: 30n }[suffix.toLowerCase()] ?? 0n;
  value <<= shift;
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw usageError(`option ${option}: '${text}' is too large`, "addresses must be below 2^53");
  }
  return Number(value);
}

/**
 * {@link parseAddress} for an option as it was spelled.
 *
 * @example
 * ```ts
 * import { addressOption } from "./values.ts";
 * if (addressOption("1k", "--entry") !== 1024) throw new Error();
 * ```
 */
export function addressOption(text: string, spelled: string): number {
  return parseAddress(text, spelled);
}

// setTimeout fires at once for a delay beyond 2^31 - 1 ms (about 24.8 days),
// which would give up on sync(2) immediately instead of waiting.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * A positive number of seconds as milliseconds, within what setTimeout can wait.
 *
 * @example
 * ```ts
 * import { secondsOption } from "./values.ts";
 * if (secondsOption("2.5", "--sync-timeout") !== 2500) throw new Error();
 * ```
 */
export function secondsOption(text: string, option: string): number {
  const v = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(v) || v <= 0) {
    throw usageError(`option ${option}: '${text}' is not a positive number of seconds`);
  }
  const ms = Math.round(v * 1000);
  if (ms < 1 || ms > MAX_TIMEOUT_MS) {
    throw usageError(
      `option ${option}: '${text}' is out of range`,
      `give between 0.001 and ${Math.floor(MAX_TIMEOUT_MS / 1000)} seconds`,
    );
  }
  return ms;
}
