import assert from "node:assert/strict";
import { KEXEC_SEGMENT_MAX } from "../../lib/abi.ts";
import { KexecError } from "../../lib/errors.ts";
import { SegmentAllocator } from "../../lib/memory/allocator.ts";
import type { MemoryRange } from "../../lib/memory/types.ts";

const MiB = 0x100000;
const PAGE = 4096;
const ram = (start: number, end: number): MemoryRange => ({ start, end, kind: "ram" });

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KexecError, `expected a KexecError, got ${e}`);
    return e.message;
  }
  throw new Error("expected a throw");
}

Deno.test("allocator: exact fit, bottom-up and top-down", () => {
  for (const direction of ["bottom-up", "top-down"] as const) {
    const alloc = new SegmentAllocator([ram(MiB, 2 * MiB)], { pageSize: PAGE });
    const p = alloc.place({ name: "x", size: MiB, direction });
    assert.deepEqual(p, { name: "x", start: MiB, end: 2 * MiB });
    // Nothing is left, not even a page.
    assert.match(
      message(() => alloc.place({ name: "y", size: 1, direction })),
      /^y \(1 bytes\) does not fit in RAM: no free RAM is left there \(already used: x 0x100000-0x1fffff\); 4096 bytes are needed$/,
    );
  }
  // One byte more than the range: no fit.
  const alloc = new SegmentAllocator([ram(MiB, 2 * MiB)], { pageSize: PAGE });
  assert.match(
    message(() => alloc.place({ name: "big", size: MiB + 1, direction: "top-down" })),
    /largest free aligned piece there is 1048576 bytes at 0x100000; 1052672 bytes are needed/,
  );
});

Deno.test("allocator: sizes round up to pages; RAM edges are trimmed to pages", () => {
  const alloc = new SegmentAllocator([ram(0x100400, 0x200c00)], { pageSize: PAGE });
  const low = alloc.place({ name: "low", size: 10, direction: "bottom-up" });
  const high = alloc.place({ name: "high", size: PAGE + 1, direction: "top-down" });
  assert.deepEqual([low.start, low.end], [0x101000, 0x102000]);
  assert.deepEqual([high.start, high.end], [0x1fe000, 0x200000]);
  assert.deepEqual(alloc.freeRanges(), [ram(0x102000, 0x1fe000)]);
});

Deno.test("allocator: alignment bottom-up and top-down; align below page is raised", () => {
  const alloc = new SegmentAllocator([ram(MiB, 64 * MiB)], { pageSize: PAGE });
  const kernel = alloc.place({
    name: "kernel",
    size: 3 * MiB,
    align: 2 * MiB,
    min: [{ address: 16 * MiB + 1, reason: "test" }],
    direction: "bottom-up",
  });
  assert.equal(kernel.start, 18 * MiB);
  const top = alloc.place({ name: "t", size: MiB + 5, align: 4 * MiB, direction: "top-down" });
  assert.equal(top.start, 60 * MiB);
  assert.equal(top.end, 60 * MiB + MiB + PAGE);
  const small = alloc.place({ name: "s", size: 1, align: 16, direction: "bottom-up" });
  assert.equal(small.start, MiB);
  assert.throws(
    () => alloc.place({ name: "odd", size: 1, align: 0x3000, direction: "bottom-up" }),
    /odd: alignment 0x3000 is not a power of two/,
  );
});

Deno.test("allocator: --mem-min and --mem-max bound every placement (mem-max inclusive)", () => {
  const alloc = new SegmentAllocator([ram(MiB, 256 * MiB)], {
    pageSize: PAGE,
    memMin: 32 * MiB,
    memMax: 64 * MiB - 1,
  });
  const a = alloc.place({ name: "a", size: MiB, direction: "bottom-up" });
  const b = alloc.place({ name: "b", size: MiB, direction: "top-down" });
  assert.equal(a.start, 32 * MiB);
  assert.equal(b.end, 64 * MiB);
  const msg = message(() =>
    alloc.place({
      name: "initrd",
      size: 104857600,
      limit: [{ address: 0x80000000, reason: "initrd_addr_max 0x7fffffff" }],
      direction: "top-down",
    })
  );
  assert.equal(
    msg,
    "initrd (104857600 bytes) does not fit in RAM starting at or above 0x2000000 " +
      "(--mem-min=0x2000000) and ending at or below 0x80000000 (initrd_addr_max 0x7fffffff), " +
      "0x4000000 (--mem-max=0x3ffffff): the largest free aligned piece there is 31457280 " +
      "bytes at 0x2100000 (already used: a 0x2000000-0x20fffff, b 0x3f00000-0x3ffffff); " +
      "104857600 bytes are needed",
  );
});

Deno.test("allocator: an empty window and a window without RAM say so", () => {
  const alloc = new SegmentAllocator([ram(MiB, 16 * MiB)], { pageSize: PAGE, memMax: 8 * MiB });
  assert.match(
    message(() =>
      alloc.place({
        name: "kernel",
        size: PAGE,
        min: [{ address: 16 * MiB, reason: "pref_address" }],
        direction: "bottom-up",
      })
    ),
    /no address satisfies both: the lowest start 0x1000000 is not below the end limit 0x800001$/,
  );
  const hole = new SegmentAllocator(
    [ram(0, 0xa0000), ram(0x100000, 0x200000), {
      start: 0x200000,
      end: 0x400000,
      kind: "reserved",
    }],
    { pageSize: PAGE },
  );
  assert.match(
    message(() =>
      hole.place({
        name: "x",
        size: PAGE,
        min: [{ address: 0x200000, reason: "r" }],
        direction: "bottom-up",
      })
    ),
    /there is no usable RAM between 0x200000 and 0x1fffffffffffff$/,
  );
});

Deno.test("allocator: placements never overlap each other or non-RAM", () => {
  const map: MemoryRange[] = [
    ram(MiB, 4 * MiB),
    { start: 4 * MiB, end: 5 * MiB, kind: "acpi" },
    ram(5 * MiB, 8 * MiB),
    { start: 8 * MiB, end: 9 * MiB, kind: "pmem" },
  ];
  const alloc = new SegmentAllocator(map, { pageSize: PAGE });
  const placed = [
    alloc.place({ name: "a", size: 2 * MiB, direction: "top-down" }),
    alloc.place({ name: "b", size: 2 * MiB, direction: "top-down" }),
    alloc.place({ name: "c", size: MiB, direction: "top-down" }),
    alloc.place({ name: "d", size: MiB, direction: "bottom-up" }),
  ];
  assert.deepEqual(placed.map((p) => [p.start / MiB, p.end / MiB]), [[6, 8], [2, 4], [5, 6], [
    1,
    2,
  ]]);
  // 3 MiB needs one contiguous RAM piece: none is left.
  assert.throws(() => alloc.place({ name: "e", size: PAGE, direction: "top-down" }), KexecError);
  for (const p of placed) {
    for (const q of placed) if (p !== q) assert.ok(p.end <= q.start || q.end <= p.start);
    assert.ok(map.some((r) => r.kind === "ram" && r.start <= p.start && p.end <= r.end));
  }
});

Deno.test("allocator: touching RAM ranges form one piece", () => {
  const alloc = new SegmentAllocator([ram(MiB, 2 * MiB), ram(2 * MiB, 3 * MiB)], {
    pageSize: PAGE,
  });
  assert.deepEqual(alloc.place({ name: "x", size: 2 * MiB, direction: "bottom-up" }), {
    name: "x",
    start: MiB,
    end: 3 * MiB,
  });
});

Deno.test("allocator: the 16-segment limit", () => {
  const alloc = new SegmentAllocator([ram(MiB, 64 * MiB)], { pageSize: PAGE });
  for (let i = 0; i < KEXEC_SEGMENT_MAX; i++) {
    alloc.place({ name: `s${i}`, size: PAGE, direction: "bottom-up" });
  }
  assert.equal(alloc.placements.length, 16);
  assert.equal(
    message(() => alloc.place({ name: "extra", size: PAGE, direction: "bottom-up" })),
    "extra would be segment 17, but kexec_load accepts at most 16",
  );
  const three = new SegmentAllocator([ram(MiB, 64 * MiB)], { pageSize: PAGE, maxPlacements: 3 });
  for (let i = 0; i < 3; i++) three.place({ name: `s${i}`, size: PAGE, direction: "top-down" });
  assert.throws(() => three.place({ name: "x", size: PAGE, direction: "top-down" }), /at most 3/);
});

Deno.test("allocator: invalid sizes and page sizes", () => {
  assert.throws(() => new SegmentAllocator([], { pageSize: 3000 }), KexecError);
  const alloc = new SegmentAllocator([ram(MiB, 2 * MiB)], { pageSize: PAGE });
  assert.throws(
    () => alloc.place({ name: "z", size: 0, direction: "bottom-up" }),
    /z: invalid size 0/,
  );
});

Deno.test("allocator: 64 KiB pages", () => {
  const alloc = new SegmentAllocator([ram(0x40001000, 0x40100000)], { pageSize: 0x10000 });
  const p = alloc.place({ name: "x", size: 1, direction: "bottom-up" });
  assert.deepEqual([p.start, p.end], [0x40010000, 0x40020000]);
});
