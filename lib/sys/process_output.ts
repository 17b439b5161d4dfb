/**
 * The process's standard output and error as an {@link Output}.
 *
 * @module
 */

import type { Output } from "./system.ts";

/** Standard output and error of the process. */
export const processOutput: Output = {
  out: (text) => writeAll(Deno.stdout, text),
  err: (text) => writeAll(Deno.stderr, text),
};

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}
