/**
 * Raw strings (lib/raw_text.ts) and argv recovery (lib/cli/argv.ts): any
 * bytes survive decodeRaw → encodeRaw unchanged, well-formed UTF-8 decodes
 * as TextDecoder does, and rawArgs never returns words whose text differs
 * from what Deno would have shown.
 *
 * @module
 */

import { rawArgs } from "../../../lib/cli/argv.ts";
import { decodeRaw, encodeRaw } from "../../../lib/raw_text.ts";
import { ascii, mutateBytes } from "../mutate_bytes.ts";
import { check, defineTarget } from "../target.ts";

const SEEDS = [
  ascii("root=/dev/vda1 ro quiet"),
  new Uint8Array([0x61, 0xff, 0x62, 0xc3, 0xa9, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98, 0x80]),
  new Uint8Array([0xe2, 0x82, 0xf4, 0x90, 0x80, 0x80, 0xc0, 0xaf, 0xef, 0xbf, 0xbd]),
  ascii("deno\0run\0kexec.js\0-l\0/k\0--append=x\0"),
];

/** decodeRaw/encodeRaw round trips, and rawArgs on a NUL-separated argv. */
export const rawTextTarget = defineTarget<Uint8Array>({
  name: "raw_text",
  entry: "lib/raw_text.ts decodeRaw/encodeRaw, lib/cli/argv.ts rawArgs",
  seeds: () => SEEDS,
  mutate: (rng, seed, seeds) => mutateBytes(rng, seed, { fields: [] }, seeds),
  run(bytes) {
    const text = decodeRaw(bytes);
    const back = encodeRaw(text);
    check(
      back.length === bytes.length && back.every((b, i) => b === bytes[i]),
      "bytes changed by decodeRaw/encodeRaw",
    );
    let valid = true;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      valid = false;
    }
    if (valid) {
      check(text === new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes), "valid UTF-8");
    }
    // The same bytes as a process's argv: its last words as Deno shows them.
    const words = new TextDecoder().decode(bytes).split("\0").slice(1, -1);
    const args = rawArgs(words, () => bytes);
    const lossy = new TextDecoder();
    check(args.length === words.length, "rawArgs changed the word count");
    check(args.every((a, i) => lossy.decode(encodeRaw(a)) === words[i]), "rawArgs changed a word");
  },
});
