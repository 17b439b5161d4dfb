/**
 * Where a Multiboot kernel's bytes go: ELF32/ELF64 program headers (higher-
 * half entry points translated), the a.out kludge's address fields, overlap
 * and range refusals, page-aligned kexec segments, and relocation within a
 * Multiboot2 relocatable range.
 */

import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import { readMultibootElf } from "../../lib/arch/x86_64/multiboot/elf.ts";
import { layoutFromAddressFields, layoutFromElf } from "../../lib/arch/x86_64/multiboot/image.ts";
import { kernelSegments, placeKernel } from "../../lib/arch/x86_64/multiboot/place_kernel.ts";
import { SegmentAllocator } from "../../lib/memory/allocator.ts";
import { elfKernel, pattern } from "../fixtures/multiboot.ts";

function refused(f: () => unknown, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof KexecError, String(e));
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
}

const RAM = [
  { start: 0, end: 0x9fc00, kind: "ram" as const },
  { start: 0x9fc00, end: 0x100000, kind: "reserved" as const },
  { start: 0x100000, end: 0x7ffe0000, kind: "ram" as const },
];

Deno.test("ELF32: every PT_LOAD with its physical address, file bytes and memsz", () => {
  const text = pattern(0x300);
  const data = pattern(0x20, 7);
  const k = elfKernel({
    bits: 32,
    entry: 0x100010,
    loads: [
      { paddr: 0x100000, data: text },
      { paddr: 0x104000, data, memsz: 0x2000 },
    ],
  });
  const l = layoutFromElf(k, "k");
  assert.equal(l.entry, 0x100010);
  assert.equal(l.start, 0x100000);
  assert.equal(l.end, 0x106000);
  assert.deepEqual(l.pieces.map((p) => [p.paddr, p.bytes.length, p.memsz]), [
    [0x100000, 0x300, 0x300],
    [0x104000, 0x20, 0x2000],
  ]);
  assert.deepEqual(l.pieces[1].bytes, data);
  assert.equal(l.pieces[0].bytes.buffer, k.buffer, "a view of the image, not a copy");
  assert.match(l.source, /^ELF32, 2 loadable segments$/);
});

Deno.test("ELF64 higher-half kernel: e_entry is translated to its physical address", () => {
  const k = elfKernel({
    bits: 64,
    entry: 0xffffffff80100123n,
    loads: [{ paddr: 0x100000, vaddr: 0xffffffff80100000n, data: pattern(0x400) }],
  });
  const elf = readMultibootElf(k, "k64");
  assert.equal(elf.bits, 64);
  assert.equal(elf.entry, 0x100123, "exact, not rounded through a double");
  // An entry given as a physical address is taken as it is.
  const phys = elfKernel({
    bits: 64,
    entry: 0x100010,
    loads: [{ paddr: 0x100000, vaddr: 0xffffffff80100000n, data: pattern(0x40) }],
  });
  assert.equal(readMultibootElf(phys, "k").entry, 0x100010);
});

Deno.test("ELF refusals: class, endianness, machine, type, truncation, sizes, 4 GiB, entry", () => {
  const good = () =>
    elfKernel({ bits: 32, entry: 0x100000, loads: [{ paddr: 0x100000, data: pattern(64) }] });
  const edit = (f: (b: Uint8Array, v: DataView) => void) => {
    const b = good();
    f(b, new DataView(b.buffer));
    return b;
  };
  refused(() => readMultibootElf(edit((b) => b[4] = 3), "/k"), /kernel \/k: ELF class 3/);
  refused(() => readMultibootElf(edit((b) => b[5] = 2), "/k"), /big-endian/);
  refused(() => readMultibootElf(edit((_, v) => v.setUint16(0x12, 40, true)), "/k"), /machine 40/);
  refused(() => readMultibootElf(edit((_, v) => v.setUint16(0x10, 1, true)), "/k"), /type 1/);
  refused(() => readMultibootElf(good().subarray(0, 40), "/k"), /header is truncated/);
  refused(() => readMultibootElf(good().subarray(0, 60), "/k"), /program headers run past/);
  refused(() => readMultibootElf(good().subarray(0, 0x1010), "/k"), /segment 0 runs past the end/);
  refused(
    () => readMultibootElf(edit((_, v) => v.setUint32(52 + 20, 10, true)), "/k"),
    /filesz 0x40 > memsz 0xa/,
  );
  refused(
    () => readMultibootElf(edit((_, v) => v.setUint32(52 + 12, 0xfffffff0, true)), "/k"),
    /reaches above 4 GiB/,
  );
  refused(
    () => readMultibootElf(edit((_, v) => v.setUint32(0x18, 0x200000, true)), "/k"),
    /entry point 0x200000 lies in no loadable segment/,
  );
  refused(
    () => readMultibootElf(edit((_, v) => v.setUint32(52, 4, true)), "/k"),
    /has no loadable segment/,
  );
  refused(
    () => readMultibootElf(edit((_, v) => v.setUint16(0x2c, 0, true)), "/k"),
    /has 0 program headers/,
  );
});

Deno.test("overlapping ELF load addresses are refused in one line", () => {
  const k = elfKernel({
    bits: 32,
    entry: 0x100000,
    loads: [
      { paddr: 0x100000, data: pattern(0x100), memsz: 0x3000 },
      { paddr: 0x102000, data: pattern(0x10) },
    ],
  });
  refused(
    () => layoutFromElf(k, "/boot/k"),
    /\/boot\/k: ELF load addresses overlap: \[0x100000, 0x103000\) and \[0x102000, 0x102010\)/,
  );
  refused(
    () => layoutFromElf(new Uint8Array(64), "/boot/k"),
    /is not ELF and its Multiboot header has no address fields/,
  );
});

Deno.test("address fields: file range, load_end 0 = end of file, bss, entry inside", () => {
  const image = pattern(0x1000);
  const l = layoutFromAddressFields(image, "k", 0x20, {
    headerAddr: 0x100020,
    loadAddr: 0x100000,
    loadEndAddr: 0x100800,
    bssEndAddr: 0x102000,
  }, 0x100100);
  assert.equal(l.pieces.length, 1);
  assert.deepEqual(l.pieces[0].bytes, image.subarray(0, 0x800));
  assert.equal(l.pieces[0].memsz, 0x2000);
  assert.equal(l.end, 0x102000);
  // The text may start inside the file (header_addr - load_addr < header offset).
  const inner = layoutFromAddressFields(image, "k", 0x420, {
    headerAddr: 0x200020,
    loadAddr: 0x200000,
    loadEndAddr: 0,
    bssEndAddr: 0,
  }, 0x200020);
  assert.deepEqual(inner.pieces[0].bytes, image.subarray(0x400));
  assert.equal(inner.end, 0x200000 + 0xc00);
});

Deno.test("address fields that contradict each other or the file are refused", () => {
  const image = pattern(0x1000);
  const fields = { headerAddr: 0x100020, loadAddr: 0x100000, loadEndAddr: 0, bssEndAddr: 0 };
  refused(
    () => layoutFromAddressFields(image, "/k", 0x10, fields, 0x100000),
    /put the start of the text before the start of the file/,
  );
  refused(
    () => layoutFromAddressFields(image, "/k", 0x20, { ...fields, loadAddr: 0x100040 }, 0x100040),
    /before the start of the file/,
  );
  refused(
    () =>
      layoutFromAddressFields(image, "/k", 0x20, { ...fields, loadEndAddr: 0x102000 }, 0x100000),
    /load_end_addr 0x102000 lies beyond the end of the file/,
  );
  refused(
    () =>
      layoutFromAddressFields(image, "/k", 0x20, { ...fields, loadEndAddr: 0x100010 }, 0x100000),
    /load_end_addr 0x100010 is not past the header/,
  );
  refused(
    () => layoutFromAddressFields(image, "/k", 0x20, { ...fields, bssEndAddr: 0x100800 }, 0x100000),
    /bss_end_addr 0x100800 lies before load_end 0x101000/,
  );
  refused(
    () => layoutFromAddressFields(image, "/k", 0x20, fields, 0x101000),
    /entry point 0x101000 lies outside the loaded image/,
  );
  refused(
    () =>
      layoutFromAddressFields(image, "/k", 0x20, {
        headerAddr: 0xfffff820,
        loadAddr: 0xfffff800,
        loadEndAddr: 0,
        bssEndAddr: 0,
      }, 0xfffff800),
    /reach above 4 GiB/,
  );
});

Deno.test("kexec segments: pieces sharing a page are merged by copy, aligned ones stay views", () => {
  const a = pattern(0x100);
  const b = pattern(0x10, 9);
  const c = pattern(0x2000, 5);
  const segs = kernelSegments([
    { paddr: 0x100000, bytes: a, memsz: 0x100 },
    { paddr: 0x100f00, bytes: b, memsz: 0x200 }, // shares 0x100000's page, spills into the next
    { paddr: 0x101800, bytes: new Uint8Array(0), memsz: 0x10 }, // bss-only, same page as b's end
    { paddr: 0x104000, bytes: c, memsz: 0x3000 },
  ], 4096);
  assert.deepEqual(segs.map((s) => [s.name, s.mem, s.memsz, s.buf.length]), [
    ["kernel0", 0x100000, 0x2000, 0xf10],
    ["kernel1", 0x104000, 0x3000, 0x2000],
  ]);
  assert.deepEqual(segs[0].buf.subarray(0, 0x100), a);
  assert.deepEqual(segs[0].buf.subarray(0xf00), b);
  assert.ok(segs[0].buf.subarray(0x100, 0xf00).every((x) => x === 0), "gap is zero");
  assert.equal(segs[1].buf, c, "page-aligned piece passed as it is");
  // A single piece starting inside a page: copied to a page-aligned buffer.
  const [odd] = kernelSegments([{ paddr: 0x100010, bytes: a, memsz: 0x100 }], 4096);
  assert.deepEqual([odd.name, odd.mem, odd.memsz, odd.buf.length], [
    "kernel",
    0x100000,
    0x1000,
    0x110,
  ]);
  assert.deepEqual(odd.buf.subarray(0x10), a);
});

function allocator(memMin?: number, memMax?: number): SegmentAllocator {
  return new SegmentAllocator(RAM, { pageSize: 4096, memMin, memMax });
}

const LAYOUT = {
  pieces: [{ paddr: 0x200000, bytes: pattern(0x2000), memsz: 0x3a7000 }],
  entry: 0x200000,
  start: 0x200000,
  end: 0x5a7000,
  source: "ELF32, 1 loadable segment",
};

Deno.test("a fixed kernel is placed at its own addresses, or refused when they are not free RAM", () => {
  const placed = placeKernel(allocator(), LAYOUT, "/xen", 4096);
  assert.equal(placed.loadBase, undefined);
  assert.deepEqual(placed.segments.map((s) => [s.mem, s.memsz]), [[0x200000, 0x3a7000]]);
  const low = { ...LAYOUT, pieces: [{ ...LAYOUT.pieces[0], paddr: 0x9f000 }], start: 0x9f000 };
  refused(() => placeKernel(allocator(), low, "/xen", 4096), /kernel of \/xen/);
  refused(
    () => placeKernel(allocator(0x1000000), LAYOUT, "/xen", 4096),
    /--mem-min=0x1000000/,
  );
});

Deno.test("relocatable: preference high/low/none within min_addr-max_addr at the alignment", () => {
  const tag = { minAddr: 0x200000, maxAddr: 0xffffffff, align: 0x200000 };
  const high = placeKernel(allocator(), LAYOUT, "/xen", 4096, { ...tag, preference: "high" });
  // Highest 2 MiB-aligned start whose 0x3a7000 bytes end below 0x7ffe0000.
  assert.equal(high.loadBase, 0x7fc00000);
  assert.equal(high.layout.entry, 0x7fc00000);
  assert.deepEqual(high.segments.map((s) => s.mem), [0x7fc00000]);
  assert.equal(high.segments[0].buf, LAYOUT.pieces[0].bytes, "moved, not copied");
  assert.match(high.notes[0], /linked at 0x200000, loaded at 0x7fc00000/);
  const low = placeKernel(allocator(), LAYOUT, "/xen", 4096, { ...tag, preference: "low" });
  assert.equal(low.loadBase, 0x200000);
  const none = placeKernel(allocator(), LAYOUT, "/xen", 4096, { ...tag, preference: "none" });
  assert.equal(none.loadBase, 0x200000, "its link address when free");
  // With the link address outside --mem-min, "none" moves it anyway.
  const moved = placeKernel(allocator(0x10000000), LAYOUT, "/xen", 4096, {
    ...tag,
    preference: "none",
  });
  assert.equal(moved.loadBase, 0x10000000);
  refused(
    () =>
      placeKernel(allocator(), LAYOUT, "/xen", 4096, {
        minAddr: 0x200000,
        maxAddr: 0x400000,
        align: 0x200000,
        preference: "high",
      }),
    /relocatable kernel \/xen/,
  );
});
