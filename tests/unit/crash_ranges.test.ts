/**
 * What the dump describes (issue 5): RAM minus the crash regions and the low
 * 1 MiB, at the edges — a region at the start or end of a RAM range, one
 * spanning two ranges, adjacent ranges, RAM below 1 MiB.
 */

import assert from "node:assert/strict";
import { dumpRamRanges, LOW_MEMORY, systemRamRanges } from "../../lib/crash/dump_ranges.ts";
import { clipRanges, subtractRanges } from "../../lib/crash/ranges.ts";
import { parseIomem } from "../../lib/memory/iomem.ts";

const MiB = 0x100000;
const r = (start: number, end: number) => ({ start, end });

Deno.test("subtractRanges: hole at the start, at the end, in the middle, covering", () => {
  const ram = [r(0x1000000, 0x2000000)];
  assert.deepEqual(subtractRanges(ram, [r(0x1000000, 0x1400000)]), [r(0x1400000, 0x2000000)]);
  assert.deepEqual(subtractRanges(ram, [r(0x1c00000, 0x2000000)]), [r(0x1000000, 0x1c00000)]);
  assert.deepEqual(subtractRanges(ram, [r(0x1400000, 0x1800000)]), [
    r(0x1000000, 0x1400000),
    r(0x1800000, 0x2000000),
  ]);
  assert.deepEqual(subtractRanges(ram, [r(0x800000, 0x3000000)]), []);
  assert.deepEqual(subtractRanges(ram, [r(0x800000, 0x1000000), r(0x2000000, 0x3000000)]), ram);
});

Deno.test("subtractRanges: a hole spanning two ranges cuts both; holes in any order", () => {
  const ram = [r(0x100000, 0x40000000), r(0x40000000, 0x80000000)];
  assert.deepEqual(subtractRanges(ram, [r(0x30000000, 0x50000000)]), [
    r(0x100000, 0x30000000),
    r(0x50000000, 0x80000000),
  ]);
  assert.deepEqual(
    subtractRanges([r(0, 0x10000)], [r(0x8000, 0x9000), r(0x1000, 0x2000), r(0x1800, 0x3000)]),
    [r(0, 0x1000), r(0x3000, 0x8000), r(0x9000, 0x10000)],
  );
  assert.deepEqual(subtractRanges(ram, [r(0x5000, 0x5000)]), ram, "an empty hole changes nothing");
});

Deno.test("clipRanges: keeps only what lies in the window", () => {
  assert.deepEqual(clipRanges([r(0x1000, 0x9fc00), r(MiB, 0x7ffe0000)], LOW_MEMORY), [
    r(0x1000, 0x9fc00),
  ]);
  assert.deepEqual(clipRanges([r(0x80000, 0x200000)], LOW_MEMORY), [r(0x80000, MiB)]);
});

Deno.test("dumpRamRanges: low 1 MiB left out, also from a range that crosses 1 MiB", () => {
  const iomem = parseIomem(
    "00001000-0009fbff : System RAM\n000a0000-000bffff : PCI Bus 0000:00\n" +
      "000c0000-7fffffff : System RAM\n  70000000-77ffffff : Crash kernel\n",
  );
  assert.deepEqual(dumpRamRanges(iomem, { main: r(0x70000000, 0x78000000) }), [
    r(MiB, 0x70000000),
    r(0x78000000, 0x80000000),
  ]);
});

Deno.test("dumpRamRanges: crash region at the start and at the end of RAM ranges", () => {
  const iomem = parseIomem(
    "00100000-0fffffff : System RAM\n  00100000-03ffffff : Crash kernel\n" +
      "10000000-1fffffff : System RAM\n  1c000000-1fffffff : Crash kernel\n",
  );
  const regions = { main: r(0x1c000000, 0x20000000), low: r(MiB, 0x4000000) };
  assert.deepEqual(dumpRamRanges(iomem, regions), [
    r(0x4000000, 0x10000000),
    r(0x10000000, 0x1c000000),
  ]);
});

Deno.test("dumpRamRanges: adjacent RAM ranges stay separate program headers", () => {
  const iomem = parseIomem(
    "00100000-3fffffff : System RAM\n40000000-7fffffff : System RAM\n" +
      "  60000000-6fffffff : Crash kernel\n",
  );
  assert.deepEqual(dumpRamRanges(iomem, { main: r(0x60000000, 0x70000000) }), [
    r(MiB, 0x40000000),
    r(0x40000000, 0x60000000),
    r(0x70000000, 0x80000000),
  ]);
});

Deno.test("systemRamRanges: top level only, other names ignored", () => {
  const iomem = parseIomem(
    "00000000-00000fff : Reserved\n00001000-0009fbff : System RAM\n" +
      "00100000-3fffffff : System RAM\n  01000000-01ffffff : System RAM\n" +
      "40000000-4fffffff : Persistent Memory\n",
  );
  assert.deepEqual(systemRamRanges(iomem), [r(0x1000, 0x9fc00), r(MiB, 0x40000000)]);
});
