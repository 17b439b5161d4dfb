// The x86_64 jump-back helper's page-table routine (jump_back.S,
// jump_back_map) run on this machine on fake page tables: host memory stands
// in for physical memory, so table entries hold this process's addresses. A
// small page walker written here, from the Intel SDM's 4- and 5-level paging
// formats, checks what the routine built.

import assert from "node:assert/strict";
import { buildJumpBackPage } from "../../lib/arch/x86_64/jump_back.ts";
import {
  JUMP_BACK_MAP_OFFSET,
  JUMP_BACK_SPARE_PAGES,
} from "../../lib/arch/x86_64/jump_back_blob.ts";
import { withCode, withMemory } from "../support/x86_64_purgatory_page.ts";

const PAGE = 4096;
const ADDR = 0x000f_ffff_ffff_f000n;
const P = 0x1n;
const PS = 0x80n;
const TABLE = 0x63n; // present, writable, accessed, dirty
const LARGE_2M = 0xe3n;
const MiB2 = 0x20_0000n;
const GiB = 0x4000_0000n;

/** Host memory as u64 "physical memory". */
class Memory {
  constructor(readonly base: bigint, readonly pages: number) {}
  page(i: number): bigint {
    return this.base + BigInt(i * PAGE);
  }
  #view(addr: bigint) {
    const ptr = Deno.UnsafePointer.create(addr);
    assert.ok(ptr);
    return new Deno.UnsafePointerView(ptr);
  }
  get(table: bigint, index: number | bigint): bigint {
    return this.#view(table).getBigUint64(Number(index) * 8);
  }
  set(table: bigint, index: number | bigint, value: bigint): void {
    new BigUint64Array(this.#view(table).getArrayBuffer(PAGE))[Number(index)] = value;
  }
  snapshot(): Uint8Array {
    return new Uint8Array(this.#view(this.base).getArrayBuffer(this.pages * PAGE)).slice();
  }
  fill(from: number, to: number, byte: number): void {
    new Uint8Array(this.#view(this.page(from)).getArrayBuffer((to - from) * PAGE)).fill(byte);
  }
}

/** Where `virt` leads through the tables at `root`, or null if not present. */
function translate(mem: Memory, root: bigint, virt: bigint, levels: number): bigint | null {
  let table = root & ADDR;
  for (let shift = 12n + 9n * BigInt(levels); shift >= 21n; shift -= 9n) {
    const entry = mem.get(table, (virt >> (shift - 9n)) & 511n);
    const level = shift - 9n;
    if (!(entry & P)) return null;
    if ((level === 30n || level === 21n) && entry & PS) {
      const size = 1n << level;
      return (entry & ADDR & ~(size - 1n)) | (virt & (size - 1n));
    }
    if (level === 21n) return null; // 4 KiB tables are not used by identity maps
    table = entry & ADDR;
  }
  return null;
}

type MapFn = (root: bigint, target: bigint, spare: bigint, levels: number) => bigint;

function withMap(body: (map: MapFn) => void): void {
  withCode(buildJumpBackPage(0x1234_5000), (fn) => {
    const map = fn(JUMP_BACK_MAP_OFFSET, {
      parameters: ["u64", "u64", "u64", "u32"],
      result: "u64",
    });
    body((root, target, spare, levels) => map.call(root, target, spare, levels) as bigint);
  });
}

// Pages 0..5: original tables; 6..: spare pages (dirty on purpose).
const ORIGINAL_PAGES = 6;
const PAGES = ORIGINAL_PAGES + JUMP_BACK_SPARE_PAGES;

function withTables(body: (mem: Memory, map: MapFn) => void): void {
  withMemory(PAGES * PAGE, (ptr) => {
    const mem = new Memory(BigInt(Deno.UnsafePointer.value(ptr)), PAGES);
    mem.fill(ORIGINAL_PAGES, PAGES, 0xff);
    withMap((map) => body(mem, map));
  });
}

/**
 * An identity map like init_pgtable()'s for kernel B: 2 MiB pages for its
 * low memory and its window 0x50000000-0x6fffffff, nothing else.
 */
function kernelBTables(mem: Memory, levels: 4 | 5): bigint {
  const [top, pml4, pdpt, pd0, pd1] = [0, 1, 2, 3, 4].map((i) => mem.page(i));
  const root = levels === 5 ? top : pml4;
  if (levels === 5) mem.set(top, 0, pml4 | TABLE);
  mem.set(pml4, 0, pdpt | TABLE);
  mem.set(pdpt, 0, pd0 | TABLE);
  mem.set(pdpt, 1, pd1 | TABLE);
  mem.set(pd0, 0, 0n | LARGE_2M);
  for (let a = 0x5000_0000n; a < 0x7000_0000n; a += MiB2) {
    mem.set(pd1, (a - GiB) / MiB2, a | LARGE_2M);
  }
  return root;
}

function checkCopy(mem: Memory, map: MapFn, root: bigint, target: bigint, levels: 4 | 5) {
  const before = mem.snapshot();
  const spare = mem.page(ORIGINAL_PAGES);
  const copy = map(root | 0x18n, target, spare, levels); // CR3 flag bits are ignored
  assert.equal(copy, spare, "the root's copy is the first spare page");
  assert.equal(translate(mem, copy, target, levels), target, "target identity mapped");
  const page = target & ~(MiB2 - 1n);
  assert.equal(translate(mem, copy, page + MiB2 - 1n, levels), page + MiB2 - 1n);
  // Everything the original maps is still mapped the same way.
  for (
    const a of [0n, 0x1000n, 0x5000_0000n, 0x5fff_f123n, 0x6fff_ffffn, 0x7000_0000n, 0x4000_0000n]
  ) {
    if (a >> 21n === target >> 21n) continue;
    assert.equal(
      translate(mem, copy, a, levels),
      translate(mem, root, a, levels),
      `0x${a.toString(16)}`,
    );
  }
  // The original tables are untouched.
  const after = mem.snapshot();
  assert.deepEqual(
    after.subarray(0, ORIGINAL_PAGES * PAGE),
    before.subarray(0, ORIGINAL_PAGES * PAGE),
  );
  assert.equal(translate(mem, root, target, levels), null, "the original still lacks the target");
}

Deno.test("jump_back_map: a target in a gigabyte the kernel already maps in part (4-level)", () => {
  // A's control page below B's window, in the same 1 GiB as the window.
  withTables((mem, map) => checkCopy(mem, map, kernelBTables(mem, 4), 0x4ffe_3c5an, 4));
});

Deno.test("jump_back_map: a target in a gigabyte with no page directory yet (4-level)", () => {
  withTables((mem, map) => checkCopy(mem, map, kernelBTables(mem, 4), 0x8765_4321n, 4));
});

Deno.test("jump_back_map: a target under a PML4 entry that is not present (4-level)", () => {
  withTables((mem, map) => checkCopy(mem, map, kernelBTables(mem, 4), 0x80_1234_5000n, 4));
});

Deno.test("jump_back_map: 5-level paging copies one more level", () => {
  withTables((mem, map) => checkCopy(mem, map, kernelBTables(mem, 5), 0x4ffe_3c5an, 5));
  withTables((mem, map) => checkCopy(mem, map, kernelBTables(mem, 5), 0x1_0000_0000_0000n, 5));
});

Deno.test("jump_back_map: a target under a 1 GiB page is mapped as it is", () => {
  withTables((mem, map) => {
    const root = kernelBTables(mem, 4);
    const pdpt = mem.page(2);
    mem.set(pdpt, 2, 0x8000_0000n | LARGE_2M); // 1 GiB page at 2 GiB
    const copy = map(root, 0x9abc_def0n, mem.page(ORIGINAL_PAGES), 4);
    assert.equal(translate(mem, copy, 0x9abc_def0n, 4), 0x9abc_def0n);
    assert.equal(mem.get(mem.get(copy, 0) & ADDR, 2), 0x8000_0000n | LARGE_2M);
  });
});

Deno.test("jump_back_map: uses at most one spare page per level above the 2 MiB page", () => {
  withTables((mem, map) => {
    const root = kernelBTables(mem, 5);
    const guard = ORIGINAL_PAGES + JUMP_BACK_SPARE_PAGES - 1;
    map(root, 0x1_0000_0000_0000n, mem.page(ORIGINAL_PAGES), 5);
    // The deepest case (nothing below PML5 present) fills exactly the last spare page.
    assert.ok(mem.get(mem.page(guard), 0) !== 0xffff_ffff_ffff_ffffn);
  });
});
