// The generated purgatory_blob.ts must be what purgatory.S assembles to, and
// the assembled code must keep the rules the page relies on. Both need GNU
// binutils; without them these tests fail (never skip) and say so.

import assert from "node:assert/strict";
import * as blob from "../../lib/arch/x86_64/purgatory_blob.ts";
import { PURGATORY_SIZE } from "../../lib/arch/x86_64/purgatory.ts";
import { assemblePurgatory, BLOB_URL, renderBlobModule } from "../../scripts/gen-purgatory.ts";
import { BRANCH, disassemble, type Insn } from "../support/x86_64_disasm.ts";

const REGENERATE = "run `deno run -A scripts/gen-purgatory.ts` and commit purgatory_blob.ts";

function blobBytes(): Uint8Array {
  const hex = blob.PURGATORY_BLOB_HEX;
  const page = new Uint8Array(PURGATORY_SIZE);
  for (let i = 0; i < hex.length / 2; i++) page[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return page;
}

Deno.test("purgatory_blob.ts matches a fresh assembly of purgatory.S", async () => {
  const asm = await assemblePurgatory();
  assert.equal(asm.bytes.length, PURGATORY_SIZE, "purgatory.S must assemble to exactly one page");
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
  assert.equal(await Deno.readTextFile(BLOB_URL), renderBlobModule(asm), REGENERATE);
});

Deno.test("purgatory code is integer-only and position independent", async () => {
  const insns = await disassemble(blobBytes(), 0, blob.PURGATORY_CODE_END_OFFSET);
  assert.ok(insns.length > 100, "disassembly looks empty");
  for (const i of insns) {
    const where = `0x${i.at.toString(16)}: ${i.mnemonic} ${i.operands}`;
    assert.ok(!/\(bad\)/.test(i.mnemonic), `undecodable byte at ${where}`);
    // CR4.OSFXSR is clear at entry: x87/MMX/SSE/AVX would fault.
    assert.ok(!/%(x|y|z)mm|%mm\d|%st\b|%st\(/.test(i.operands), `FPU/SIMD at ${where}`);
    assert.ok(!/^f/.test(i.mnemonic) || i.mnemonic === "fs", `x87 at ${where}`);
    // Memory is reached only RIP-relative or through a register, never at a
    // fixed address; relative branches are fine.
    if (!BRANCH.test(i.mnemonic)) {
      assert.ok(!/(^|,)-?0x[0-9a-f]+(,|$)/.test(i.operands), `absolute address at ${where}`);
    }
    if (BRANCH.test(i.mnemonic) && !i.operands.startsWith("*")) {
      const dest = parseInt(i.operands, 16);
      assert.ok(dest < blob.PURGATORY_CODE_END_OFFSET, `branch out of the code at ${where}`);
    }
  }
});

Deno.test("purgatory routines called from user space are unprivileged and self-contained", async () => {
  const from = blob.PURGATORY_VERIFY_OFFSET;
  const to = blob.PURGATORY_CODE_END_OFFSET;
  assert.ok(from < blob.PURGATORY_REPORT_OFFSET && blob.PURGATORY_REPORT_OFFSET < to);
  assert.ok(from < blob.PURGATORY_SHA256_OFFSET && blob.PURGATORY_SHA256_OFFSET < to);
  const insns = await disassemble(blobBytes(), from, to);
  const privileged =
    /^(in|out|ins\w?|outs\w?|hlt|cli|sti|lgdt|lidt|lldt|ltr|lret\w?|iret\w?|rdmsr|wrmsr|int\d?|sysret|swapgs|invlpg)$/;
  for (const i of insns) {
    const where = `0x${i.at.toString(16)}: ${i.mnemonic} ${i.operands}`;
    assert.ok(!privileged.test(i.mnemonic), `privileged instruction at ${where}`);
    // String instructions name %es/%ds implicitly; writing a segment register,
    // an %fs/%gs base override or a control register is what is not allowed.
    assert.ok(
      !/,%(c|d|e|s|f|g)s$|%(f|g)s:|%cr\d|%dr\d/.test(i.operands),
      `segment/control register at ${where}`,
    );
    if (BRANCH.test(i.mnemonic)) {
      assert.ok(!i.operands.startsWith("*"), `indirect branch at ${where}`);
      const dest = parseInt(i.operands, 16);
      assert.ok(dest >= from && dest < to, `branch to the entry path at ${where}`);
    }
  }
});

Deno.test("purgatory entry loads its GDT and stack before using them, then jumps via the slots", async () => {
  const insns = await disassemble(blobBytes(), 0, blob.PURGATORY_VERIFY_OFFSET);
  const index = (pred: (i: Insn) => boolean, what: string) => {
    const n = insns.findIndex(pred);
    assert.ok(n >= 0, `entry path has no ${what}`);
    return n;
  };
  const lgdt = index((i) => i.mnemonic === "lgdt", "lgdt");
  assert.equal(insns[lgdt].target, blob.PURGATORY_GDTR_OFFSET);
  const firstSegmentLoad = index((i) => /,%(d|e|s|f|g)s$/.test(i.operands), "segment load");
  assert.ok(lgdt < firstSegmentLoad, "a segment register is loaded before our GDT");
  for (const seg of ["ds", "es", "ss", "fs", "gs"]) {
    index((i) => i.mnemonic === "mov" && i.operands === `%eax,%${seg}`, `load of %${seg}`);
  }
  assert.ok(
    insns.slice(0, firstSegmentLoad).some((i) => i.operands === "$0x18,%eax"),
    "data selector 0x18",
  );
  const stackSwitch = index(
    (i) => i.mnemonic === "lea" && i.operands.endsWith(",%rsp"),
    "stack switch",
  );
  assert.equal(insns[stackSwitch].target, blob.PURGATORY_STACK_TOP_OFFSET);
  // Then, if the stack_page slot is nonzero, its page's end instead.
  const [loadSlot, test, skip, useSlot] = insns.slice(stackSwitch + 1, stackSwitch + 5);
  assert.ok(loadSlot.mnemonic === "mov" && loadSlot.target === blob.PURGATORY_STACK_PAGE_OFFSET);
  const slotReg = loadSlot.operands.split(",")[1];
  assert.equal(test.operands, `${slotReg},${slotReg}`);
  assert.ok(skip.mnemonic === "je" && parseInt(skip.operands, 16) === insns[stackSwitch + 5].at);
  assert.equal(useSlot.operands, `0x${PURGATORY_SIZE.toString(16)}(${slotReg}),%rsp`);
  // Nothing before the switch may touch the incoming stack.
  for (const i of insns.slice(0, stackSwitch + 5)) {
    assert.ok(
      i === insns[stackSwitch] || i === useSlot ||
        !/%rsp|%esp/.test(i.operands) && !/^(push|pop|call|ret)/.test(i.mnemonic),
      `stack used at 0x${i.at.toString(16)}`,
    );
  }
  const lret = index((i) => i.mnemonic === "lretq", "far return");
  // push $0x10 (CS), push the address right after lretq (RIP), lretq.
  const [pushCs, leaRip, pushRip] = insns.slice(lret - 3, lret);
  assert.ok(pushCs.mnemonic === "push" && pushCs.operands === "$0x10", "CS = 0x10 pushed first");
  assert.ok(leaRip.mnemonic === "lea" && leaRip.target === insns[lret + 1].at, "return address");
  assert.ok(pushRip.mnemonic === "push" && pushRip.operands === leaRip.operands.split(",")[1]);
  const jump = index((i) => i.mnemonic === "jmp" && i.operands.startsWith("*"), "kernel jump");
  assert.equal(insns[jump].target, blob.PURGATORY_ENTRY64_OFFSET);
  const verifyCall = index(
    (i) => i.mnemonic === "call" && parseInt(i.operands, 16) === blob.PURGATORY_VERIFY_OFFSET,
    "call of verify",
  );
  assert.ok(lret < verifyCall && verifyCall < jump, "verify runs before the jump");
  // Between verify and the jump: only the success test, %rsi and zeroing.
  const between = insns.slice(verifyCall + 1, jump);
  const rsi = between.findIndex((i) => i.operands.endsWith(",%rsi"));
  assert.ok(rsi >= 0 && between[rsi].target === blob.PURGATORY_BOOT_PARAMS_OFFSET);
  for (const reg of ["ebx", "ebp", "edi"]) {
    assert.ok(between.some((i) => i.mnemonic === "xor" && i.operands === `%${reg},%${reg}`), reg);
  }
  assert.ok(
    between.every((i) => i === between[rsi] || !i.operands.endsWith(",%rsi")),
    "%rsi changed after boot_params was loaded",
  );
  // The failure branch starts after the jump and ends in a hlt loop.
  const failBranch = between.find((i) => i.mnemonic === "jne");
  assert.ok(failBranch && parseInt(failBranch.operands, 16) > insns[jump].at);
  const hlt = index((i) => i.mnemonic === "hlt", "hlt");
  assert.ok(hlt > jump);
  const loop = insns.slice(hlt).find((i) => i.mnemonic === "jmp");
  assert.ok(loop && parseInt(loop.operands, 16) <= insns[hlt].at, "hlt is not in a loop");
});

Deno.test("the kexec-jump part is integer-only, position independent and reached only by its entry", async () => {
  const page = blobBytes();
  const from = blob.PURGATORY_KJUMP_START_OFFSET;
  // Up to kjump_append's ret; its string follows.
  const all = await disassemble(page, from, blob.PURGATORY_KJUMP_END_OFFSET);
  const last = all.findIndex((i) =>
    i.at >= blob.PURGATORY_KJUMP_APPEND_OFFSET && i.mnemonic === "ret"
  );
  assert.ok(last > 0);
  const insns = all.slice(0, last + 1);
  const to = all[last + 1].at;
  assert.ok(insns.length > 30, "disassembly looks empty");
  for (const i of insns) {
    const where = `0x${i.at.toString(16)}: ${i.mnemonic} ${i.operands}`;
    assert.ok(!/\(bad\)/.test(i.mnemonic), `undecodable byte at ${where}`);
    assert.ok(!/%(x|y|z)mm|%mm\d|%st\b|%st\(/.test(i.operands), `FPU/SIMD at ${where}`);
    if (!BRANCH.test(i.mnemonic)) {
      assert.ok(!/(^|,)-?0x[0-9a-f]+(,|$)/.test(i.operands), `absolute address at ${where}`);
    } else if (!i.operands.startsWith("*")) {
      // Into its own code or into the shared code; never into data.
      const dest = parseInt(i.operands, 16);
      assert.ok(dest < blob.PURGATORY_CODE_END_OFFSET || dest >= from && dest < to, where);
    }
  }
  // The shared code never enters this part: in other pages it is zeros.
  const main = await disassemble(page, 0, blob.PURGATORY_CODE_END_OFFSET);
  for (const i of main) {
    if (BRANCH.test(i.mnemonic) && !i.operands.startsWith("*")) {
      assert.ok(parseInt(i.operands, 16) < blob.PURGATORY_CODE_END_OFFSET, i.operands);
    }
    if (i.target !== null) {
      assert.ok(
        i.target < blob.PURGATORY_KJUMP_OFFSET || i.target >= blob.PURGATORY_KJUMP_END_OFFSET,
      );
    }
  }
});

Deno.test("kexec-jump entry: saves 0(%rsp) first, then GDT, stack page, verify, append, the kernel; returns on a mismatch", async () => {
  const page = blobBytes();
  const insns = await disassemble(
    page,
    blob.PURGATORY_KJUMP_START_OFFSET,
    blob.PURGATORY_KJUMP_APPEND_OFFSET,
  );
  const index = (pred: (i: Insn) => boolean, what: string, after = 0) => {
    const n = insns.findIndex((i, k) => k >= after && pred(i));
    assert.ok(n >= 0, `kexec-jump entry has no ${what}`);
    return n;
  };
  // relocate_kernel_64.S calls the entry: the return address is read before
  // anything else touches the stack, and kept in its slot.
  const [cli, cld, load, store] = insns;
  assert.equal(cli.mnemonic, "cli");
  assert.equal(cld.mnemonic, "cld");
  assert.ok(load.mnemonic === "mov" && load.operands === "(%rsp),%rax", load.operands);
  assert.ok(store.mnemonic === "mov" && store.operands.startsWith("%rax,"));
  assert.equal(store.target, blob.PURGATORY_KJUMP_RETURN_OFFSET);
  const lgdt = index((i) => i.mnemonic === "lgdt", "lgdt");
  assert.equal(insns[lgdt].target, blob.PURGATORY_GDTR_OFFSET);
  const firstSegmentLoad = index((i) => /,%(d|e|s|f|g)s$/.test(i.operands), "segment load");
  assert.ok(lgdt < firstSegmentLoad);
  // The stack is the stack page named in its slot; nothing is pushed before.
  const slot = index((i) => i.target === blob.PURGATORY_STACK_PAGE_OFFSET, "stack page slot");
  const reg = insns[slot].operands.split(",")[1];
  assert.equal(insns[slot + 1].operands, `0x${PURGATORY_SIZE.toString(16)}(${reg}),%rsp`);
  for (const i of insns.slice(2, slot + 1)) {
    assert.ok(!/^(push|pop|call|ret)/.test(i.mnemonic), `stack used at 0x${i.at.toString(16)}`);
  }
  const lret = index((i) => i.mnemonic === "lretq", "far return", slot);
  assert.equal(insns[lret - 3].operands, "$0x10");
  const call = (target: number, what: string) =>
    index((i) => i.mnemonic === "call" && parseInt(i.operands, 16) === target, what);
  const verify = call(blob.PURGATORY_VERIFY_OFFSET, "call of verify");
  const append = call(blob.PURGATORY_KJUMP_APPEND_OFFSET, "call of kjump_append");
  assert.ok(lret < verify && verify < append, "verify runs before the command line is changed");
  // Append's arguments: the cmdline_end slot and the saved return address.
  const args = insns.slice(verify, append);
  assert.ok(
    args.some((i) =>
      i.operands.endsWith(",%rdi") && i.target === blob.PURGATORY_KJUMP_CMDLINE_END_OFFSET
    ),
  );
  assert.ok(
    args.some((i) =>
      i.operands.endsWith(",%rsi") && i.target === blob.PURGATORY_KJUMP_RETURN_OFFSET
    ),
  );
  // Then the normal path's kernel jump: the instruction that loads boot_params into %rsi.
  const main = await disassemble(page, 0, blob.PURGATORY_VERIFY_OFFSET);
  const boot = main.find((i) =>
    i.operands.endsWith(",%rsi") && i.target === blob.PURGATORY_BOOT_PARAMS_OFFSET
  );
  assert.ok(boot);
  const jmp = insns[append + 1];
  assert.ok(
    jmp.mnemonic === "jmp" && parseInt(jmp.operands, 16) === boot.at,
    `${jmp.mnemonic} ${jmp.operands}`,
  );
  // A mismatch prints the line and returns to the caller: no hlt; the return
  // address comes from the slot, with this entry above it as the re-entry point.
  const failBranch = insns.slice(verify, append).find((i) => i.mnemonic === "jne");
  assert.ok(failBranch);
  const fail = insns.findIndex((i) => i.at === parseInt(failBranch.operands, 16));
  assert.ok(fail > append + 1);
  const tail = insns.slice(fail);
  assert.ok(
    tail.some((i) =>
      i.mnemonic === "call" && parseInt(i.operands, 16) === blob.PURGATORY_REPORT_OFFSET
    ),
  );
  assert.ok(!tail.some((i) => i.mnemonic === "hlt"));
  const ret = tail.findIndex((i) => i.mnemonic === "ret");
  assert.ok(ret >= 3);
  const [lea, pushEntry, pushReturn] = tail.slice(ret - 3, ret);
  assert.equal(lea.target, blob.PURGATORY_KJUMP_START_OFFSET);
  assert.equal(pushEntry.mnemonic, "push");
  assert.ok(
    pushReturn.mnemonic === "push" && pushReturn.target === blob.PURGATORY_KJUMP_RETURN_OFFSET,
  );
});

Deno.test("kjump_append is unprivileged and calls only the shared string routines", async () => {
  const from = blob.PURGATORY_KJUMP_APPEND_OFFSET;
  const insns = await disassemble(blobBytes(), from, from + 0x30);
  const end = insns.findIndex((i) => i.mnemonic === "ret");
  assert.ok(end > 0);
  for (const i of insns.slice(0, end + 1)) {
    const where = `0x${i.at.toString(16)}: ${i.mnemonic} ${i.operands}`;
    assert.ok(
      !/^(in|out|hlt|cli|sti|lgdt|lidt|lret\w?|iret\w?|wrmsr|rdmsr)$/.test(i.mnemonic),
      where,
    );
    assert.ok(!/,%(c|d|e|s|f|g)s$|%(f|g)s:|%cr\d/.test(i.operands), where);
    if (BRANCH.test(i.mnemonic)) {
      const dest = parseInt(i.operands, 16);
      assert.ok(
        dest >= blob.PURGATORY_VERIFY_OFFSET && dest < blob.PURGATORY_CODE_END_OFFSET,
        where,
      );
    }
  }
});
