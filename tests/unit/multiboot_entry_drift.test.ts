// The generated multiboot/entry_blob.ts must be what entry.S assembles to,
// and its code must keep the order the mode switch depends on (Intel SDM
// vol. 3A 10.8.5.4) and leave the registers both Multiboot specifications
// demand. Needs GNU binutils; fails (never skips) without them.

import assert from "node:assert/strict";
import { decodeBlobHex } from "../../lib/arch/purgatory_regions.ts";
import * as blob from "../../lib/arch/x86_64/multiboot/entry_blob.ts";
import {
  buildMultibootEntry,
  MULTIBOOT_ENTRY_SIZE,
} from "../../lib/arch/x86_64/multiboot/entry.ts";
import { assemblePurgatory, renderBlobModule } from "../../scripts/gen-purgatory.ts";
import { MULTIBOOT_ENTRY } from "../../scripts/gen-multiboot-entry.ts";
import { disassemble, type Insn } from "../support/x86_64_disasm.ts";

const REGENERATE =
  "run `deno run -A scripts/gen-multiboot-entry.ts` and commit multiboot/entry_blob.ts";

function page(): Uint8Array {
  return buildMultibootEntry({ entry: 0x100000, magic: 0x2badb002, info: 0x9000 });
}

Deno.test("multiboot/entry_blob.ts matches a fresh assembly of entry.S", async () => {
  const asm = await assemblePurgatory(MULTIBOOT_ENTRY);
  assert.equal(asm.bytes.length, MULTIBOOT_ENTRY_SIZE, "entry.S must assemble to one page");
  const stored = decodeBlobHex(blob.MB_ENTRY_BLOB_HEX, MULTIBOOT_ENTRY_SIZE);
  const firstDiff = asm.bytes.findIndex((b, i) => b !== stored[i]);
  assert.equal(firstDiff, -1, `bytes differ at 0x${firstDiff.toString(16)}: ${REGENERATE}`);
  assert.equal(
    await Deno.readTextFile(MULTIBOOT_ENTRY.blob),
    renderBlobModule(asm),
    REGENERATE,
  );
});

function indexOf(insns: Insn[], what: string, pred: (i: Insn) => boolean): number {
  const n = insns.findIndex(pred);
  assert.ok(n >= 0, `no ${what}`);
  return n;
}

Deno.test("entry page, 64-bit part: own GDT, CR4.PCIDE cleared, far return into 32-bit CS 0x08", async () => {
  const insns = await disassemble(page(), 0, blob.MB_ENTRY_COMPAT32_OFFSET);
  assert.equal(insns[0].mnemonic, "cli");
  const base = indexOf(insns, "page base in %rbp", (i) => i.operands.endsWith(",%rbp"));
  assert.equal(insns[base].target, blob.MB_ENTRY_START_OFFSET);
  const lgdt = indexOf(insns, "lgdt", (i) => i.mnemonic === "lgdt");
  assert.equal(insns[lgdt].target, blob.MB_ENTRY_GDTR_OFFSET);
  const cr4 = indexOf(insns, "write of %cr4", (i) => i.operands.endsWith(",%cr4"));
  assert.match(insns[cr4 - 1].operands, /^\$0xfffffffffffdffff,/, "PCIDE (bit 17) cleared");
  const lret = indexOf(insns, "lretq", (i) => i.mnemonic === "lretq");
  assert.ok(lgdt < lret && cr4 < lret);
  const [pushCs, leaRip, pushRip] = insns.slice(lret - 3, lret);
  assert.equal(pushCs.operands, "$0x8", "CS = 0x08 (32-bit code)");
  assert.equal(leaRip.target, blob.MB_ENTRY_COMPAT32_OFFSET, "returns into compat32");
  assert.equal(pushRip.mnemonic, "push");
  assert.equal(lret, insns.length - 1, "nothing after the far return in 64-bit code");
  // Nothing in the page may depend on where it was linked.
  for (const i of insns) {
    assert.ok(!/(^|,)-?0x[0-9a-f]+(,|$)/.test(i.operands), `absolute address: ${i.operands}`);
  }
});

Deno.test("entry page, 32-bit part: paging off before EFER.LME, then EAX/EBX from the slots and the jump", async () => {
  const insns = await disassemble(
    page(),
    blob.MB_ENTRY_COMPAT32_OFFSET,
    blob.MB_ENTRY_CODE_END_OFFSET,
    "i386",
  );
  assert.equal(insns[0].at, blob.MB_ENTRY_COMPAT32_OFFSET);
  assert.equal(insns[0].operands, "$0x10,%eax", "data selector 0x10");
  for (const seg of ["ds", "es", "fs", "gs", "ss"]) {
    indexOf(insns, `load of %${seg}`, (i) => i.operands === `%eax,%${seg}`);
  }
  const cr0 = indexOf(insns, "write of %cr0", (i) => i.operands.endsWith(",%cr0"));
  assert.equal(insns[cr0 - 1].operands, "$0x7fffffff,%eax", "only CR0.PG cleared");
  const rdmsr = indexOf(insns, "rdmsr", (i) => i.mnemonic === "rdmsr");
  const wrmsr = indexOf(insns, "wrmsr", (i) => i.mnemonic === "wrmsr");
  assert.ok(cr0 < rdmsr && rdmsr < wrmsr, "paging goes off before EFER.LME");
  assert.equal(insns[rdmsr - 1].operands, "$0xc0000080,%ecx", "EFER");
  assert.equal(insns[wrmsr - 1].operands, "$0xfffffeff,%eax", "only EFER.LME cleared");
  const cr4 = indexOf(insns, "write of %cr4", (i) => i.operands.endsWith(",%cr4"));
  assert.ok(wrmsr < cr4 && insns[cr4 - 1].operands === "%eax,%eax", "CR4 = 0 after long mode");
  const slot = (reg: string, offset: number) => {
    const n = indexOf(
      insns,
      `load of %${reg}`,
      (i) => i.operands === `0x${offset.toString(16)}(%ebp),%${reg}`,
    );
    assert.ok(n > cr4);
    return n;
  };
  slot("eax", blob.MB_ENTRY_MAGIC_OFFSET);
  slot("ebx", blob.MB_ENTRY_INFO_OFFSET);
  slot("ecx", blob.MB_ENTRY_ENTRY_OFFSET);
  const jump = insns.at(-1)!;
  assert.deepEqual([jump.mnemonic, jump.operands], ["jmp", "*%ecx"]);
  const after = insns.slice(insns.findIndex((i) => i.operands.endsWith("(%ebp),%ecx")) + 1, -1);
  for (const reg of ["edx", "esi", "edi", "ebp"]) {
    assert.ok(after.some((i) => i.operands === `%${reg},%${reg}` && i.mnemonic === "xor"), reg);
  }
  for (const i of insns) {
    assert.ok(!/^(push|pop|call|ret|lret)/.test(i.mnemonic), `stack use: ${i.mnemonic}`);
    assert.ok(
      !/,-?0x[0-9a-f]*\(/.test(i.operands) && !/,\(/.test(i.operands),
      `store: ${i.operands}`,
    );
    assert.ok(!/\(bad\)/.test(i.mnemonic));
  }
});

Deno.test("entry page GDT: 0x08 = flat 32-bit code (D = 1, L = 0), 0x10 = flat data", () => {
  const view = new DataView(page().buffer);
  const gdt = blob.MB_ENTRY_GDT_OFFSET;
  assert.equal(view.getBigUint64(gdt, true), 0n);
  assert.equal(view.getBigUint64(gdt + 8, true), 0x00cf9a000000ffffn);
  assert.equal(view.getBigUint64(gdt + 16, true), 0x00cf92000000ffffn);
  assert.equal(view.getUint16(blob.MB_ENTRY_GDTR_OFFSET, true), 23, "GDTR limit");
});
