/**
 * readElfDynamic (PT_INTERP, DT_NEEDED, DT_SONAME, DT_RUNPATH/RPATH) on the
 * deno executable's headers and dynamic section and on a whole small library,
 * mutated in the ELF header, every program header and every dynamic entry.
 *
 * @module
 */

import { readElfDynamic } from "../../../lib/elf/dynamic.ts";
import { mutateBytes } from "../mutate_bytes.ts";
import { elfSeeds } from "../seeds.ts";
import { check, defineTarget } from "../target.ts";
import { elfShape } from "./shapes.ts";

const shapes = new WeakMap<Uint8Array, ReturnType<typeof elfShape>>();

/** readElfDynamic on whole files and through the random-access reader form. */
export const elfDynamicTarget = defineTarget<{ bytes: Uint8Array; viaReader: boolean }>({
  name: "elf_dynamic",
  entry: "lib/elf/dynamic.ts readElfDynamic",
  seeds: () =>
    elfSeeds().flatMap((bytes) => {
      shapes.set(bytes, elfShape(bytes));
      return [{ bytes, viaReader: false }, { bytes, viaReader: true }];
    }),
  mutate(rng, seed, seeds) {
    const shape = shapes.get(seed.bytes) ?? elfShape(seed.bytes);
    const others = seeds.map((s) => s.bytes);
    return { bytes: mutateBytes(rng, seed.bytes, shape, others), viaReader: seed.viaReader };
  },
  run({ bytes, viaReader }) {
    // The reader form as scripts/mkinitramfs.ts writes it: a buffer of the
    // asked length, filled from the file, cut to what the file had.
    const file = viaReader
      ? (offset: number, length: number) => {
        const buf = new Uint8Array(length);
        const got = bytes.subarray(offset, offset + length);
        buf.set(got);
        return buf.subarray(0, got.length);
      }
      : bytes;
    const info = readElfDynamic(file, "fuzz.elf");
    check(Number.isInteger(info.machine) && Number.isInteger(info.type), "machine/type");
    check(info.needed.every((n) => typeof n === "string"), "DT_NEEDED not strings");
    for (const list of [info.runpath, info.rpath]) {
      check(list === undefined || list.every((p) => p !== ""), "empty search path kept");
    }
    check(info.interpreter === undefined || !info.interpreter.includes("\0"), "NUL in PT_INTERP");
  },
});
