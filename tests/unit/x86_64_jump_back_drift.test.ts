// jump_back_blob.ts must be what jump_back.S assembles to, and the code must
// keep the rules JUMP_BACK.md states. Needs GNU binutils; fails (never skips)
// without them.

import assert from "node:assert/strict";
import * as blob from "../../lib/arch/x86_64/jump_back_blob.ts";
import { buildJumpBackPage } from "../../lib/arch/x86_64/jump_back.ts";
import {
  assemblePurgatory,
  renderBlobModule,
  X86_64_JUMP_BACK,
} from "../../scripts/gen-purgatory.ts";
import { BRANCH, disassemble } from "../support/x86_64_disasm.ts";

const REGENERATE = "run `deno run -A scripts/gen-purgatory.ts` and commit jump_back_blob.ts";

Deno.test("jump_back_blob.ts matches a fresh assembly of jump_back.S", async () => {
  const asm = await assemblePurgatory(X86_64_JUMP_BACK);
  assert.equal(asm.bytes.length, blob.JUMP_BACK_PAGE_SIZE);
  assert.deepEqual(buildJumpBackPage(0), asm.bytes, REGENERATE);
  assert.equal(await Deno.readTextFile(X86_64_JUMP_BACK.blob), renderBlobModule(asm), REGENERATE);
});

Deno.test("jump-back helper: integer-only, position independent, map() unprivileged", async () => {
  const page = buildJumpBackPage(0);
  const insns = await disassemble(page, 0, blob.JUMP_BACK_CODE_END_OFFSET);
  assert.ok(insns.length > 40);
  const privileged = /^(in|out|hlt|cli|sti|lgdt|lidt|lret\w?|iret\w?|wrmsr|rdmsr|invlpg)$/;
  for (const i of insns) {
    const where = `0x${i.at.toString(16)}: ${i.mnemonic} ${i.operands}`;
    assert.ok(!/\(bad\)/.test(i.mnemonic), where);
    assert.ok(!/%(x|y|z)mm|%mm\d|%st\b|%st\(/.test(i.operands), `FPU/SIMD at ${where}`);
    assert.ok(!privileged.test(i.mnemonic), where);
    // The one absolute constant is the mask of address bits (movabs).
    if (!BRANCH.test(i.mnemonic) && i.mnemonic !== "movabs") {
      assert.ok(!/(^|,)-?0x[0-9a-f]{5,}(,|$)/.test(i.operands), `absolute address at ${where}`);
    }
    if (i.at >= blob.JUMP_BACK_MAP_OFFSET) {
      assert.ok(!/%cr\d|,%(c|d|e|s|f|g)s$/.test(i.operands), `privileged in map() at ${where}`);
      if (BRANCH.test(i.mnemonic)) {
        assert.ok(!i.operands.startsWith("*"), where);
        const dest = parseInt(i.operands, 16);
        assert.ok(
          dest >= blob.JUMP_BACK_MAP_OFFSET && dest < blob.JUMP_BACK_CODE_END_OFFSET,
          where,
        );
      }
    }
  }
});

Deno.test("jump-back entry: CR3 and CR4 in, map() called, the copy loaded, then a jump through the slot; %rsp untouched", async () => {
  const insns = await disassemble(buildJumpBackPage(0), 0, blob.JUMP_BACK_MAP_OFFSET);
  const at = (pred: (i: (typeof insns)[number]) => boolean, what: string) => {
    const n = insns.findIndex(pred);
    assert.ok(n >= 0, `entry has no ${what}`);
    return n;
  };
  const readCr3 = at((i) => i.operands === "%cr3,%rdi", "read of CR3 into the first argument");
  const target = at(
    (i) => i.operands.endsWith(",%rsi") && i.target === blob.JUMP_BACK_TARGET_OFFSET,
    "target",
  );
  const spare = at((i) => i.mnemonic === "lea" && i.operands.endsWith(",%rdx"), "spare pages");
  assert.equal(insns[spare].target, blob.JUMP_BACK_PAGE_SIZE, "spare pages right after this page");
  at((i) => i.operands === "%cr4,%rcx", "read of CR4 (LA57)");
  const call = at((i) => i.mnemonic === "call", "call of map");
  assert.equal(parseInt(insns[call].operands, 16), blob.JUMP_BACK_MAP_OFFSET);
  assert.ok(readCr3 < call && target < call && spare < call);
  const load = at((i) => i.operands === "%rax,%cr3", "load of the copy");
  const jump = at((i) => i.mnemonic === "jmp" && i.operands.startsWith("*"), "jump");
  assert.ok(call < load && load < jump);
  assert.equal(insns[jump].target, blob.JUMP_BACK_TARGET_OFFSET);
  // The other kernel reads 0(%rsp): nothing but the balanced call may touch the stack.
  for (const i of insns.slice(0, jump + 1)) {
    if (i === insns[call]) continue;
    assert.ok(!/%rsp|%esp/.test(i.operands) && !/^(push|pop|ret)/.test(i.mnemonic), i.operands);
  }
});
