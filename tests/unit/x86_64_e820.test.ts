import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import {
  E820_MAX_ENTRIES_ZEROPAGE,
  e820FromMemoryMap,
  encodeE820,
  splitE820,
} from "../../lib/arch/x86_64/e820.ts";
import type { MemoryKind } from "../../lib/memory/types.ts";

Deno.test("e820: kinds map to the e820 type numbers", () => {
  const kinds: [MemoryKind, number][] = [
    ["ram", 1],
    ["reserved", 2],
    ["acpi", 3],
    ["nvs", 4],
    ["unusable", 5],
    ["pmem", 7],
    ["pram", 12],
    ["soft-reserved", 0xefffffff],
  ];
  const entries = e820FromMemoryMap(
    kinds.map(([kind], i) => ({ start: i * 0x1000, end: (i + 1) * 0x1000, kind })),
  );
  assert.deepEqual(entries.map((e) => e.type), kinds.map(([, t]) => t));
});

Deno.test("e820: sorted, sizes from exclusive ends, empty ranges dropped, overlaps refused", () => {
  const entries = e820FromMemoryMap([
    { start: 0x100000000, end: 0x140000000, kind: "ram" },
    { start: 0x5000, end: 0x5000, kind: "ram" },
    { start: 0, end: 0x9fc00, kind: "ram" },
  ]);
  assert.deepEqual(entries, [
    { addr: 0, size: 0x9fc00, type: 1 },
    { addr: 0x100000000, size: 0x40000000, type: 1 },
  ]);
  assert.throws(
    () =>
      e820FromMemoryMap([
        { start: 0x1000, end: 0x3000, kind: "ram" },
        { start: 0x2000, end: 0x4000, kind: "reserved" },
      ]),
    (e: unknown) => e instanceof KexecError && /ranges overlap/.test(e.message),
  );
});

Deno.test("e820: 20-byte packed little-endian entries, checked byte by byte", () => {
  const bytes = encodeE820([
    { addr: 0x123456789a, size: 0x1000, type: 1 },
    { addr: 0x9fc00, size: 0x400, type: 0xefffffff },
  ]);
  // deno-fmt-ignore
  const expected = [
    // addr 0x123456789a, size 0x1000, type 1
    0x9a, 0x78, 0x56, 0x34, 0x12, 0, 0, 0,
    0x00, 0x10, 0, 0, 0, 0, 0, 0,
    1, 0, 0, 0,
    // addr 0x9fc00, size 0x400, type 0xefffffff
    0x00, 0xfc, 0x09, 0, 0, 0, 0, 0,
    0x00, 0x04, 0, 0, 0, 0, 0, 0,
    0xff, 0xff, 0xff, 0xef,
  ];
  assert.deepEqual([...bytes], expected);
});

Deno.test("e820: more than 128 entries split into zero page and extension", () => {
  assert.equal(E820_MAX_ENTRIES_ZEROPAGE, 128);
  const all = Array.from({ length: 300 }, (_, i) => ({ addr: i * 0x2000, size: 0x1000, type: 1 }));
  const { zeroPage, extended } = splitE820(all);
  assert.equal(zeroPage.length, 128);
  assert.equal(extended.length, 172);
  assert.equal(extended[0].addr, 128 * 0x2000);
  const exactly = splitE820(all.slice(0, 128));
  assert.equal(exactly.extended.length, 0);
});
