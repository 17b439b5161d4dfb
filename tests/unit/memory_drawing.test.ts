/**
 * The memory map `--dry-run` draws: every line within the width, each range
 * and segment on its own row under what holds it, bars that put each
 * segment where it lands (tiny and adjacent ones included), overlaps and
 * misplaced segments called out, addresses above 4 GiB, crash regions; and
 * the picture's data from /proc/iomem, memory maps and plans.
 */

import assert from "node:assert/strict";
import { drawMemoryPicture, shortSize } from "../../lib/plan/memory_drawing.ts";
import {
  layoutFromIomem,
  layoutFromRanges,
  type MapRange,
  type MemoryPicture,
  memoryPicture,
} from "../../lib/plan/memory_picture.ts";
import { parseIomem } from "../../lib/memory/iomem.ts";
import type { FileLoadPlan, SegmentLoadPlan } from "../../lib/plan/types.ts";
import { machineFixture } from "../fixtures/fixtures.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

function picture(fields: Partial<MemoryPicture>): MemoryPicture {
  return { source: "test", regions: [], areas: [], segments: [], notes: [], ...fields };
}

const RAM: MapRange = { start: 0x100000, end: GiB - 0x20000, name: "System RAM" };
const LOW: MapRange = { start: 0x1000, end: 0x9fc00, name: "System RAM" };
const CRASH: MapRange = { start: 0x35000000, end: 0x3d000000, name: "Crash kernel" };

function seg(name: string, start: number, size: number): MapRange {
  return { name, start, end: start + size };
}

/** The row of a range: its indentation (rails) and its label. */
function rowOf(lines: string[], label: string): { line: string; depth: number } {
  const line = lines.find((l) => l.endsWith(label) || l.includes(`${label} !`));
  assert.ok(line, `no row for ${label} in\n${lines.join("\n")}`);
  const depth = (/^ {2}((?:\| )*)/.exec(line)![1].length) / 2;
  return { line, depth };
}

/** The bar lines ("[...]") in order, without their prefix. */
function bars(lines: string[]): string[] {
  return lines.filter((l) => /^ {2}(\| )*\[/.test(l)).map((l) => l.slice(l.indexOf("[") + 1, -1));
}

function assertWidth(lines: string[], width = 80) {
  for (const l of lines) assert.ok(l.length <= width, `${l.length} > ${width}: ${l}`);
}

Deno.test("a plain load: regions in order, segments nested in the RAM that holds them", () => {
  const lines = drawMemoryPicture(picture({
    source: "/proc/iomem",
    regions: [
      { start: 0, end: 0x1000, name: "Reserved" },
      LOW,
      RAM,
      { start: 0xfffc0000, end: 2 ** 32, name: "Reserved" },
    ],
    segments: [seg("kernel", 0x1000000, 64 * MiB), seg("initrd", 0x3f000000, 8 * MiB)],
  }));
  assertWidth(lines);
  assert.equal(lines[0], "physical memory from /proc/iomem");
  assert.equal(lines[1], "  0x00000000-0x00000fff        4 KiB  Reserved");
  assert.equal(lines[2], "  0x00001000-0x0009fbff      635 KiB  System RAM");
  assert.equal(lines[3], "  0x00100000-0x3ffdffff     1022 MiB  System RAM");
  assert.equal(lines[5], "  | 0x01000000-0x04ffffff     64 MiB  [K] kernel");
  assert.equal(lines[6], "  | 0x3f000000-0x3f7fffff      8 MiB  [I] initrd");
  assert.equal(lines[7], "  0xfffc0000-0xffffffff      256 KiB  Reserved");
  // The bar under the 1023 MiB range: the kernel from 15/1023 to 79/1023 of it.
  const [bar] = bars(lines);
  assert.equal(bar.length, 80 - "  | [".length - 1);
  assert.equal(bar.indexOf("K"), Math.floor((0xf00000 / (RAM.end - RAM.start)) * bar.length));
  assert.equal(
    bar.lastIndexOf("I"),
    Math.ceil((0x3f800000 - RAM.start) / (RAM.end - RAM.start) * bar.length) - 1,
  );
  assert.match(bar, /^\.K+\.+I+\.*$/);
  assert.match(lines.at(-2)!, /^\[\.\.\.\]: the range on the row above/);
});

Deno.test("a crash load: the crash region in RAM, its segments nested in it, '=' where it lies", () => {
  const segments = [
    seg("kernel", CRASH.start, 64 * MiB),
    seg("purgatory", 0x3cff8000, 4 * KiB),
    seg("boot_params", 0x3cff9000, 12 * KiB),
    seg("initrd", 0x3cffc000, 12 * KiB),
    seg("elfcorehdr", 0x3cfff000, 4 * KiB),
  ];
  const lines = drawMemoryPicture(picture({ regions: [LOW, RAM], areas: [CRASH], segments }));
  assertWidth(lines);
  assert.equal(rowOf(lines, "Crash kernel").depth, 1);
  for (const s of segments) assert.equal(rowOf(lines, `] ${s.name}`).depth, 2, s.name);
  const [ram, crash] = bars(lines);
  // The crash region covers 848/1023.9 .. 976/1023.9 of the RAM range.
  const at = (a: number) => Math.floor(((a - RAM.start) / (RAM.end - RAM.start)) * ram.length);
  assert.equal(ram.indexOf("="), at(CRASH.start));
  assert.equal(
    ram.lastIndexOf("="),
    Math.ceil(((CRASH.end - RAM.start) / (RAM.end - RAM.start)) * ram.length) - 1,
  );
  // Four small segments at the very end of the region keep a cell each, in address order.
  assert.match(crash, /^K+\.+PBIE$/);
  assert.equal(crash.split("K").length - 1, Math.ceil(crash.length / 2), "64 of 128 MiB");
});

Deno.test("tiny segments in a huge range and adjacent ones stay visible, in address order", () => {
  const big: MapRange = { start: 4 * GiB, end: 68 * GiB, name: "System RAM" };
  const segments = [
    seg("a", big.start + 32 * GiB, 4 * KiB),
    seg("b", big.start + 32 * GiB + 4 * KiB, 4 * KiB),
    seg("c", big.start + 32 * GiB + 8 * KiB, 4 * KiB),
    seg("d", big.end - 4 * KiB, 4 * KiB),
    seg("e", big.start, 1),
  ];
  const lines = drawMemoryPicture(picture({ regions: [big], segments }));
  assertWidth(lines);
  const [bar] = bars(lines);
  const keys = segments.map((s) => rowOf(lines, `] ${s.name}`).line.match(/\[(.)\] /)![1]);
  for (const k of keys) assert.equal(bar.split(k).length - 1, 1, `${k} once in ${bar}`);
  assert.equal(bar.indexOf(keys[4]), 0);
  assert.equal(bar.indexOf(keys[3]), bar.length - 1);
  const [a, b, c] = keys.slice(0, 3).map((k) => bar.indexOf(k));
  assert.deepEqual([b - a, c - b], [1, 1]);
  assert.equal(a, Math.floor(bar.length / 2));
  assert.ok(!bar.includes("*"));
});

Deno.test("overlapping segments: both rows say so and the bar shows '*'", () => {
  const lines = drawMemoryPicture(picture({
    regions: [RAM],
    segments: [seg("kernel", 0x1000000, 256 * MiB), seg("initrd", 0x8000000, 256 * MiB)],
  }));
  assertWidth(lines);
  assert.match(rowOf(lines, "[K] kernel").line, /\[K\] kernel ! overlaps initrd$/);
  assert.match(rowOf(lines, "[I] initrd").line, /\[I\] initrd ! overlaps kernel$/);
  assert.match(bars(lines)[0], /^\.K+\*+I+\.+$/);
});

Deno.test("segments outside the map or in a non-RAM range are called out", () => {
  const lines = drawMemoryPicture(picture({
    regions: [LOW, { start: 0x9fc00, end: 0xa0000, name: "Reserved" }],
    segments: [
      seg("boot_params", 0x800, 0x1000),
      seg("kernel", 0x1000000, MiB),
      seg("x", 0x9fc00, 0x100),
    ],
  }));
  assertWidth(lines);
  const across = rowOf(lines, "[B] boot_params");
  assert.equal(across.depth, 0);
  assert.match(across.line, /! outside the memory map$/);
  assert.match(rowOf(lines, "[K] kernel").line, /! outside the memory map$/);
  const reserved = rowOf(lines, "[X] x");
  assert.equal(reserved.depth, 1);
  assert.match(reserved.line, /\[X\] x ! in Reserved$/);
  // Rows stay in address order at the top level.
  const starts = lines.filter((l) => /^ {2}0x/.test(l)).map((l) => parseInt(l.slice(4, 12), 16));
  assert.deepEqual(starts, [...starts].sort((p, q) => p - q));
});

Deno.test("addresses above 4 GiB widen the address column for every row alike", () => {
  const high: MapRange = { start: 2 ** 32, end: 2 ** 50, name: "System RAM" };
  const lines = drawMemoryPicture(picture({
    regions: [LOW, high],
    areas: [{ start: 2 ** 49, end: 2 ** 49 + GiB, name: "Crash kernel" }],
    segments: [seg("a-rather-long-segment-name-that-will-not-fit-in-the-column", 2 ** 49, MiB)],
  }));
  assertWidth(lines);
  // 2^50 - 1 has 13 hex digits: every address gets 13.
  assert.equal(lines[1], "  0x0000000001000-0x000000009fbff      635 KiB  System RAM");
  assert.equal(lines[2], "  0x0000100000000-0x3ffffffffffff     1023 TiB  System RAM");
  assert.equal(
    rowOf(lines, "Crash kernel").line.slice(0, 35),
    "  | 0x2000000000000-0x200003fffffff",
  );
  const sizes = lines.filter((l) => / (KiB|MiB|GiB|TiB|PiB) {2}/.test(l)).map((l) =>
    l.search(/ (KiB|MiB|GiB|TiB|PiB) {2}/)
  );
  assert.equal(new Set(sizes).size, 1, "the size column lines up at every depth");
  assert.ok(lines.some((l) => l.endsWith("...")), "a long name is cut to the width");
});

Deno.test("every line fits the width asked for (60 at least), whatever the picture", () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 300; round++) {
    const regions: MapRange[] = [];
    let at = rand(4) * 0x1000;
    for (let i = 0; i < 1 + rand(6); i++) {
      const size = (1 + rand(2 ** 20)) * 0x1000 * (rand(3) === 0 ? 2 ** 12 : 1);
      regions.push({
        start: at,
        end: at + size,
        name: ["System RAM", "Reserved", "ACPI Tables"][rand(3)],
      });
      at += size + rand(3) * 0x100000;
    }
    const ram = regions[rand(regions.length)];
    const area = {
      start: ram.start,
      end: ram.start + Math.floor((ram.end - ram.start) / 2),
      name: "Crash kernel",
    };
    const segments = Array.from({ length: rand(17) }, (_, i) => {
      const start = ram.start + rand(Math.max(1, ram.end - ram.start));
      return seg(`segment${i}`.repeat(1 + rand(4)), start, 1 + rand(16 * MiB));
    });
    const width = [40, 60, 72, 80, 100][rand(5)];
    const p = picture({
      regions,
      areas: rand(2) ? [area] : [],
      segments,
      notes: ["a note ".repeat(rand(30))],
    });
    const lines = drawMemoryPicture(p, width);
    assertWidth(lines, Math.max(60, width));
    const keys = lines.map((l) => /\[(.)\] segment/.exec(l)?.[1]).filter((k) => k !== undefined);
    assert.equal(keys.length, segments.length, "one row per segment");
    assert.equal(new Set(keys).size, keys.length, "a key each");
    // A segment that lies in a range is drawn in its bar unless a row says why not.
    const drawn = bars(lines).join("");
    for (const line of lines.filter((l) => /\[.\] segment/.test(l))) {
      const key = /\[(.)\] /.exec(line)![1];
      const next = lines[lines.indexOf(line) + 1] ?? "";
      const flagged = line.includes(" ! ") || /^ {2}(\| )* +! /.test(next);
      assert.ok(drawn.includes(key) || flagged, `${key} drawn or flagged:\n${lines.join("\n")}`);
    }
  }
});

Deno.test("no ranges and no segments: says the memory is unknown and why", () => {
  const lines = drawMemoryPicture(picture({ source: "/proc/iomem is unreadable" }));
  assert.deepEqual(lines, [
    "physical memory unknown: /proc/iomem is unreadable",
    "  (no memory ranges and no segments)",
  ]);
});

Deno.test("shortSize: exact units, one decimal below 10, whole numbers above", () => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [1, "1 B"],
    [1023, "1023 B"],
    [4096, "4 KiB"],
    [1536, "1.5 KiB"],
    [0x9ec00, "635 KiB"],
    [GiB - 0x20000, "1023 MiB"],
    [10 * MiB - 1, "9.9 MiB"],
    [68 * GiB, "68 GiB"],
    [2 ** 50, "1 PiB"],
  ];
  for (const [bytes, text] of cases) assert.equal(shortSize(bytes), text, String(bytes));
  for (let b = 1; b < 2 ** 53; b = b * 3 + 1) assert.ok(shortSize(b).length <= 8, shortSize(b));
});

Deno.test("layoutFromIomem: top-level memory only, by its own names; both crash regions", () => {
  const layout = layoutFromIomem(parseIomem(machineFixture("iomem-server-hpe-pmem.txt")));
  assert.ok(layout.regions.length > 5);
  const names = new Set(layout.regions.map((r) => r.name));
  assert.ok(names.has("System RAM") && names.has("ACPI Tables") && names.has("Reserved"));
  assert.ok(![...names].some((n) => n.startsWith("PCI")), [...names].join());
  assert.equal(layout.areas.length, 2, "crashkernel=…,high and …,low");
  assert.ok(layout.areas.every((a) => a.name === "Crash kernel"));
  assert.ok(layout.areas[0].start < layout.areas[1].start);
  const lines = drawMemoryPicture({ ...layout, segments: [], notes: [] });
  assertWidth(lines);
  assert.equal(lines.filter((l) => l.endsWith("Crash kernel")).length, 2);
});

Deno.test("layoutFromRanges names e820 kinds as /proc/iomem does", () => {
  const layout = layoutFromRanges([
    { start: 0x100000, end: GiB, kind: "ram" },
    { start: 0, end: 0x1000, kind: "nvs" },
  ], "/sys/firmware/memmap");
  assert.deepEqual(layout.regions.map((r) => r.name), ["ACPI Non-volatile Storage", "System RAM"]);
});

const SEGMENT_PLAN: SegmentLoadPlan = {
  syscall: "kexec_load",
  entry: 0x3cff8000,
  flags: 0x3e0001,
  cmdline: "",
  notes: [],
  segments: [{ name: "kernel", buf: new Uint8Array(4), mem: 0x35000000, memsz: 0x2000000 }],
  crashRegion: { start: 0x35000000, end: 0x3d000000 },
};
const FILE_PLAN: FileLoadPlan = {
  syscall: "kexec_file_load",
  kernel: { path: "/k", fd: 3, size: 1 },
  initrd: null,
  initrdPaths: [],
  cmdline: "",
  cmdlineBytes: new Uint8Array(1),
  flags: 0x6,
  notes: [],
};

Deno.test("memoryPicture: the kexec_load segments; the plan's crash region when the map lacks it", () => {
  const layout = layoutFromRanges([{ start: 0x100000, end: GiB, kind: "ram" }], "memmap");
  const p = memoryPicture(layout, [SEGMENT_PLAN]);
  assert.deepEqual(p.segments, [{ name: "kernel", start: 0x35000000, end: 0x37000000 }]);
  assert.deepEqual(p.areas, [{ start: 0x35000000, end: 0x3d000000, name: "Crash kernel" }]);
  assert.deepEqual(p.notes, []);
  const known = memoryPicture({ ...layout, areas: [CRASH] }, [SEGMENT_PLAN]);
  assert.equal(known.areas.length, 1, "not twice");
});

Deno.test("memoryPicture: kexec_file_load shows no segments and says who places them", () => {
  const layout = layoutFromRanges([{ start: 0x100000, end: GiB, kind: "ram" }], "memmap");
  const only = memoryPicture(layout, [FILE_PLAN]);
  assert.deepEqual(only.segments, []);
  assert.deepEqual(only.notes, [
    "kexec_file_load places its segments itself inside the crash region: none are shown",
  ]);
  const normal = memoryPicture(layout, [{ ...FILE_PLAN, flags: 0 }]);
  assert.match(normal.notes[0], /itself: none are shown/);
  const both = memoryPicture(layout, [FILE_PLAN, SEGMENT_PLAN]);
  assert.equal(both.segments.length, 1);
  assert.match(both.notes[0], /the segments shown are those of the kexec_load fallback/);
  assert.deepEqual(memoryPicture(layout, []).notes, []);
});
