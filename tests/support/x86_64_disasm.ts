/**
 * Disassembles x86_64 code pages with GNU objdump for the tests that check
 * the rules a purgatory or helper page keeps (tests/unit/*_drift.test.ts).
 * Without objdump the tests fail and say what to install.
 *
 * @module
 */

import assert from "node:assert/strict";

/** One decoded instruction. */
export interface Insn {
  at: number;
  mnemonic: string;
  operands: string;
  /** objdump's resolved address comment (`# 0x8b0`), if any. */
  target: number | null;
}

/**
 * The instructions of `bytes` in [start, stop), decoded as `machine` (objdump's
 * `-m`: "i386:x86-64" for 64-bit code, "i386" for the 32-bit parts of the
 * Multiboot entry page).
 */
export async function disassemble(
  bytes: Uint8Array,
  start: number,
  stop: number,
  machine = "i386:x86-64",
): Promise<Insn[]> {
  const dir = await Deno.makeTempDir({ prefix: "purgatory-dis-" });
  try {
    await Deno.writeFile(`${dir}/page.bin`, bytes);
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("objdump", {
        args: [
          "-D",
          "-w",
          "-b",
          "binary",
          "-m",
          machine,
          `--start-address=${start}`,
          `--stop-address=${stop}`,
          `${dir}/page.bin`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new Error("`objdump` not found: install GNU binutils (apt-get install binutils)");
      }
      throw err;
    }
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const insns: Insn[] = [];
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      const m = /^\s*([0-9a-f]+):\t[0-9a-f ]+\t(\S+)\s*([^#]*?)\s*(?:#\s*0x([0-9a-f]+).*)?$/.exec(
        line,
      );
      if (!m) continue;
      insns.push({
        at: parseInt(m[1], 16),
        mnemonic: m[2],
        operands: m[3],
        target: m[4] === undefined ? null : parseInt(m[4], 16),
      });
    }
    return insns;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Mnemonics of branches (their operand is the target). */
export const BRANCH = /^(call|jmp|j[a-z]+|loop\w*)$/;
