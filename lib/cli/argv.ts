/**
 * The caller's argv as raw strings (lib/raw_text.ts). Deno.args decodes each
 * word as UTF-8, replacing bytes that are not UTF-8 with U+FFFD, which would
 * change a kernel command line or a path; /proc/self/cmdline has the bytes
 * (Documentation/filesystems/proc.rst: the process's argv, NUL-separated).
 *
 * @module
 */

import { decodeRaw } from "../raw_text.ts";

const REPLACEMENT = "\ufffd";

/**
 * `args` with their original bytes: when a word holds U+FFFD (a byte that was
 * not UTF-8, or a real U+FFFD), the process's argv is read and its last
 * `args.length` words replace `args`, provided each of them decodes to the
 * same text as Deno did; otherwise `args` is kept as it is.
 *
 * @example
 * ```ts
 * import { rawArgs } from "./argv.ts";
 * const proc = new Uint8Array([...new TextEncoder().encode("deno\0run\0x.ts\0-l\0"), 0x61, 0xff, 0]);
 * const args = rawArgs(["-l", "a\ufffd"], () => proc);
 * if (args[1] !== "a\udcff") throw new Error(JSON.stringify(args));
 * ```
 */
export function rawArgs(
  args: readonly string[],
  readProcCmdline: () => Uint8Array | undefined,
): string[] {
  if (!args.some((a) => a.includes(REPLACEMENT))) return [...args];
  const proc = readProcCmdline();
  if (proc === undefined) return [...args];
  const words: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < proc.length; i++) {
    if (proc[i] === 0) {
      words.push(proc.subarray(start, i));
      start = i + 1;
    }
  }
  if (words.length < args.length) return [...args];
  const tail = words.slice(words.length - args.length);
  const lossy = new TextDecoder();
  if (tail.some((w, i) => lossy.decode(w) !== args[i])) return [...args];
  return tail.map(decodeRaw);
}
