// The generated lib/arch/arm64/purgatory_blob.ts must be what purgatory.S
// assembles to, and the assembled code must keep the rules the page relies
// on with the MMU off. Both need the aarch64 cross binutils
// (binutils-aarch64-linux-gnu); without them these tests fail (never skip)
// and say so.

import assert from "node:assert/strict";
import * as blob from "../../lib/arch/arm64/purgatory_blob.ts";
import { ARM64_PURGATORY_SIZE } from "../../lib/arch/arm64/purgatory.ts";
import { assemblePurgatory, renderBlobModule } from "../../scripts/gen-purgatory.ts";
import { ARM64_PURGATORY } from "../../scripts/gen-purgatory-arm64.ts";

const REGENERATE =
  "run `deno run -A scripts/gen-purgatory-arm64.ts` and commit lib/arch/arm64/purgatory_blob.ts";

function blobBytes(): Uint8Array {
  const hex = blob.PURGATORY_BLOB_HEX;
  const page = new Uint8Array(ARM64_PURGATORY_SIZE);
  for (let i = 0; i < hex.length / 2; i++) page[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return page;
}

Deno.test("arm64 purgatory_blob.ts matches a fresh assembly of purgatory.S", async () => {
  const asm = await assemblePurgatory(ARM64_PURGATORY);
  assert.equal(asm.bytes.length, ARM64_PURGATORY_SIZE, "purgatory.S must assemble to one page");
  const stored = blobBytes();
  const firstDiff = asm.bytes.findIndex((b, i) => b !== stored[i]);
  assert.equal(
    firstDiff,
    -1,
    `assembled bytes differ from purgatory_blob.ts at offset 0x${
      firstDiff.toString(16)
    }: ${REGENERATE}`,
  );
  const exported = blob as unknown as Record<string, number>;
  for (const [name, { kind, value }] of asm.symbols) {
    const constName = kind === "t" ? `${name.toUpperCase()}_OFFSET` : name.toUpperCase();
    assert.equal(exported[constName], Number(value), `${constName}: ${REGENERATE}`);
  }
  // The whole text too: header (source digest), docs and formatting.
  assert.equal(await Deno.readTextFile(ARM64_PURGATORY.blob), renderBlobModule(asm), REGENERATE);
});

interface Insn {
  at: number;
  mnemonic: string;
  operands: string;
  /** The last operand when it is an address (branch, adr, ldr literal). */
  target: number | null;
}

async function disassemble(start: number, stop: number): Promise<Insn[]> {
  const dir = await Deno.makeTempDir({ prefix: "arm64-purgatory-dis-" });
  try {
    await Deno.writeFile(`${dir}/page.bin`, blobBytes());
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(ARM64_PURGATORY.objdump, {
        args: [
          "-D",
          "-w",
          "-b",
          "binary",
          "-m",
          "aarch64",
          `--start-address=${start}`,
          `--stop-address=${stop}`,
          `${dir}/page.bin`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw new Error(ARM64_PURGATORY.installHint);
      throw err;
    }
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const insns: Insn[] = [];
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      const m = /^\s*([0-9a-f]+):\t[0-9a-f]{8} \t(\S+)\s*(.*?)\s*(?:\/\/.*)?$/.exec(line);
      if (!m) continue;
      const last = /(?:^|, )(0x[0-9a-f]+)$/.exec(m[3]);
      insns.push({
        at: parseInt(m[1], 16),
        mnemonic: m[2],
        operands: m[3],
        target: last ? parseInt(last[1], 16) : null,
      });
    }
    assert.equal(insns.length, (stop - start) / 4, "every word should decode as one instruction");
    return insns;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const where = (i: Insn) => `0x${i.at.toString(16)}: ${i.mnemonic} ${i.operands}`;
const DIRECT_BRANCH = /^(b|bl|b\.\w+|cbn?z|tbn?z)$/;
const LITERAL_OR_ADR = (i: Insn) => /^(adr|ldr|ldrsw)$/.test(i.mnemonic) && i.target !== null;

Deno.test("arm64 purgatory code is integer-only, position independent and MMU-off safe", async () => {
  const code = await disassemble(0, blob.PURGATORY_CODE_END_OFFSET);
  assert.ok(code.length > 500, "disassembly looks empty");
  const slots = [
    blob.PURGATORY_KERNEL_ENTRY_OFFSET,
    blob.PURGATORY_DTB_OFFSET,
    blob.PURGATORY_REGION_COUNT_OFFSET,
  ];
  for (const i of code) {
    assert.ok(!/^(\.inst|udf|\(bad\))/.test(i.mnemonic), `undecodable word at ${where(i)}`);
    // FP/SIMD may trap at entry (CPACR_EL1.FPEN, CPTR_EL2.TFP) with nowhere to go.
    assert.ok(!/\b[bhsdqvz]\d+\b/.test(i.operands), `FP/SIMD register at ${where(i)}`);
    // Exclusives and atomics are not dependable on Device memory.
    assert.ok(
      !/^(ld[a]?x[rp]|st[l]?x[rp]|ld(add|clr|eor|set|[su]max|[su]min)|cas|swp|st(add|clr|eor|set))/
        .test(i.mnemonic),
      `exclusive or atomic access at ${where(i)}`,
    );
    // adrp would tie the code to its 4 KiB offset; absolute literals do not exist here.
    assert.notEqual(i.mnemonic, "adrp", `adrp at ${where(i)}`);
    if (DIRECT_BRANCH.test(i.mnemonic)) {
      assert.ok(
        i.target !== null && i.target < blob.PURGATORY_CODE_END_OFFSET,
        `branch out of the code at ${where(i)}`,
      );
    } else if (LITERAL_OR_ADR(i)) {
      const t = i.target!;
      assert.ok(t >= blob.PURGATORY_CODE_END_OFFSET && t <= ARM64_PURGATORY_SIZE, where(i));
      if (i.mnemonic === "ldr") {
        assert.ok(slots.includes(t), `literal load of something other than a slot: ${where(i)}`);
        assert.match(i.operands, /^x\d+,/, "slots are read as 64-bit words");
      }
    }
    // Stack accesses keep sp 16-byte aligned and every access naturally aligned.
    const sp = /\[sp(?:, #(-?\d+))?\](!?)(?:, #(-?\d+))?$/.exec(i.operands);
    if (sp) {
      const [pre, writeback, post] = [Number(sp[1] ?? 0), sp[2] === "!", Number(sp[3] ?? 0)];
      assert.equal(Math.abs(pre % 8), 0, `unaligned stack slot at ${where(i)}`);
      if (writeback || post !== 0) {
        assert.equal(Math.abs((writeback ? pre : post) % 16), 0, `sp misaligned at ${where(i)}`);
      }
    }
  }
  // Only one indirect branch: to the kernel.
  const indirect = code.filter((i) => /^(br|blr|braa\w*|blraa\w*)$/.test(i.mnemonic));
  assert.deepEqual(indirect.map((i) => i.operands), ["x4"]);
});

const PRIVILEGED = /^(mrs|msr|ic|dc|tlbi|at|hvc|smc|svc|eret|sys|sysl|hlt|brk)$/;

Deno.test("arm64 purgatory: only the I-cache prologue is privileged, and it is right", async () => {
  const prologue = await disassemble(0, blob.PURGATORY_MAIN_OFFSET);
  const text = prologue.map((i) => `${i.mnemonic} ${i.operands}`.trim());
  // Invalidate first, so no line from before the copy can hit once enabled.
  assert.deepEqual(text.slice(0, 3), ["ic iallu", "dsb nsh", "isb"]);
  // CurrentEL.EL == 2 -> SCTLR_EL2, else SCTLR_EL1; set bit 12 (I) only.
  const read = prologue.findIndex((i) => i.operands.endsWith(", currentel"));
  assert.ok(read > 0, "CurrentEL is not read");
  const el = read + 1;
  assert.equal(text[el], `cmp ${prologue[read].operands.split(",")[0]}, #0x8`);
  assert.equal(prologue[el + 1].mnemonic, "b.ne");
  const el1 = prologue.findIndex((i) => i.at === prologue[el + 1].target);
  const rmw = (from: number, sysreg: string) => {
    const reg = prologue[from].operands.split(",")[0];
    assert.deepEqual(text.slice(from, from + 3), [
      `mrs ${reg}, ${sysreg}`,
      `orr ${reg}, ${reg}, #0x1000`,
      `msr ${sysreg}, ${reg}`,
    ]);
  };
  rmw(el + 2, "sctlr_el2");
  rmw(el1, "sctlr_el1");
  assert.equal(prologue[el + 5].mnemonic, "b");
  assert.equal(prologue[el + 5].target, prologue.at(-1)!.at, "EL2 path skips the EL1 write");
  assert.equal(el1 + 3, prologue.length - 1);
  assert.equal(text.at(-1), "isb", "the SCTLR write is synchronized before main");

  const rest = await disassemble(blob.PURGATORY_MAIN_OFFSET, blob.PURGATORY_CODE_END_OFFSET);
  for (const i of rest) {
    assert.ok(!PRIVILEGED.test(i.mnemonic), `privileged instruction after main at ${where(i)}`);
  }
});

Deno.test("arm64 purgatory main: own stack, verify, then x0 = DTB, x1-x3 = 0, or a halt loop", async () => {
  const main = await disassemble(blob.PURGATORY_MAIN_OFFSET, blob.PURGATORY_VERIFY_OFFSET);
  const text = main.map((i) => `${i.mnemonic} ${i.operands}`.trim());
  // The stack is set before anything could use it; the incoming sp is never read.
  assert.equal(main[0].mnemonic, "adr");
  assert.equal(main[0].target, blob.PURGATORY_STACK_TOP_OFFSET);
  const scratch = main[0].operands.split(",")[0];
  assert.equal(text[1], `mov sp, ${scratch}`);
  assert.equal(main[2].mnemonic, "bl");
  assert.equal(main[2].target, blob.PURGATORY_VERIFY_OFFSET);
  assert.equal(text[3], "cmn x0, #0x1", "verify's result is compared with purgatory_verify_ok");
  assert.equal(main[4].mnemonic, "b.ne");
  const jump = text.indexOf("br x4");
  assert.ok(jump > 4 && main[4].target! > main[jump].at, "failure branches past the jump");
  // Exactly these between the check and the jump, in any order.
  const loads = main.slice(5, jump);
  assert.deepEqual(loads.map((i) => `${i.mnemonic} ${i.operands}`).sort(), [
    `ldr x0, 0x${blob.PURGATORY_DTB_OFFSET.toString(16)}`,
    `ldr x4, 0x${blob.PURGATORY_KERNEL_ENTRY_OFFSET.toString(16)}`,
    "mov x1, xzr",
    "mov x2, xzr",
    "mov x3, xzr",
  ]);
  // The failure path only reads the table and ends in a wfi loop.
  const fail = main.filter((i) => i.at >= main[4].target!);
  assert.ok(fail.every((i) => !/^(br|blr|bl|ret)$/.test(i.mnemonic)), "failure path leaves");
  const halt = main.findIndex((i) => i.at === blob.PURGATORY_HALT_OFFSET);
  assert.deepEqual(text.slice(halt), ["wfi", `b 0x${blob.PURGATORY_HALT_OFFSET.toString(16)}`]);
  for (const i of fail.filter((i) => DIRECT_BRANCH.test(i.mnemonic))) {
    assert.ok(i.target! >= main[4].target!, `failure path branches back at ${where(i)}`);
  }
});
