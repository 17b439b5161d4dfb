/**
 * How numbers and running text are written in messages, notes and tables.
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

/**
 * A byte count for messages: "812 bytes", "9.1 KiB", "31.5 MiB".
 *
 * @example
 * ```ts
 * import { size } from "./format.ts";
 * if (size(812) !== "812 bytes" || size(33030144) !== "31.5 MiB") throw new Error(size(33030144));
 * ```
 */
export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Word-wraps `text` at spaces into lines of at most `width` characters (a
 * single longer word keeps its own line); lines after the first start with
 * `continuation`, e.g. an indent.
 *
 * @example
 * ```ts
 * import { wordWrap } from "./format.ts";
 * const lines = wordWrap("load the crash kernel now", 12, "  ");
 * if (lines.join("|") !== "load the|  crash|  kernel now") throw new Error(lines.join("|"));
 * ```
 */
export function wordWrap(text: string, width: number, continuation = ""): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `${continuation}${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
