import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import {
  firmwareTypeKind,
  formatRange,
  parseFirmwareMemmap,
  parseHexAddress,
  ramRanges,
  totalBytes,
} from "../../lib/memory/memmap.ts";
import { memmapFixture } from "../fixtures/fixtures.ts";

Deno.test("firmware memmap: QEMU SeaBIOS dump parses with inclusive ends made exclusive", () => {
  const map = parseFirmwareMemmap([...memmapFixture("memmap-qemu-seabios-1g.txt").values()]);
  assert.deepEqual(map.map((r) => [r.start, r.end, r.kind]), [
    [0x0, 0xa0000 - 0x400, "ram"],
    [0x9fc00, 0xa0000, "reserved"],
    [0xf0000, 0x100000, "reserved"],
    [0x100000, 0x3ffe0000, "ram"],
    [0x3ffe0000, 0x40000000, "reserved"],
    [0xfeffc000, 0xff000000, "reserved"],
    [0xfffc0000, 0x1_0000_0000, "reserved"],
  ]);
});

Deno.test("firmware memmap: every e820 type string maps to its kind, entries sorted", () => {
  const map = parseFirmwareMemmap([...memmapFixture("memmap-uefi-6g.txt").values()].reverse());
  for (let i = 1; i < map.length; i++) assert.ok(map[i - 1].end <= map[i].start);
  const kindAt = (a: number) => map.find((r) => r.start === a)?.kind;
  assert.equal(kindAt(0x800000), "nvs");
  assert.equal(kindAt(0x7eb6e000), "acpi");
  assert.equal(kindAt(0x7e8ee000), "reserved");
  assert.equal(kindAt(0x100000000), "ram");
  assert.equal(kindAt(0x1c0000000), "pmem");
  assert.equal(kindAt(0x200000000), "soft-reserved");
  assert.equal(map.at(-1)?.end, 0x10000000000);
  assert.equal(firmwareTypeKind("Persistent Memory (legacy)"), "pram");
  assert.equal(firmwareTypeKind("Unusable memory"), "unusable");
  assert.equal(firmwareTypeKind("Something new"), "reserved");
});

Deno.test("firmware memmap: malformed numbers and reversed ranges are KexecErrors", () => {
  assert.throws(
    () => parseFirmwareMemmap([{ start: "zz", end: "0x10", type: "System RAM" }]),
    (e: unknown) => e instanceof KexecError && /entry 0 start: 'zz'/.test(e.message),
  );
  assert.throws(
    () => parseFirmwareMemmap([{ start: "0x2000", end: "0x1000", type: "System RAM" }]),
    (e: unknown) => e instanceof KexecError && /end 0x1000 is below start 0x2000/.test(e.message),
  );
  assert.throws(() => parseHexAddress("0x20000000000000", "x"), KexecError);
  assert.equal(parseHexAddress("1fffffffffffff", "x"), Number.MAX_SAFE_INTEGER);
});

Deno.test("ramRanges merges touching RAM and drops other kinds; totals and formatting", () => {
  const map = parseFirmwareMemmap([...memmapFixture("memmap-uefi-6g.txt").values()]);
  const ram = ramRanges(map);
  assert.deepEqual(ram.map((r) => [r.start, r.end]), [
    [0x0, 0xa0000],
    [0x100000, 0x800000],
    [0x808000, 0x810000],
    [0x900000, 0x7e8ee000],
    [0x7ebfe000, 0x7fee0000],
    [0x100000000, 0x1c0000000],
  ]);
  const split = ramRanges([
    { start: 0x3000, end: 0x5000, kind: "ram" },
    { start: 0x1000, end: 0x3000, kind: "ram" },
    { start: 0x4000, end: 0x4800, kind: "ram" },
  ]);
  assert.deepEqual(split, [{ start: 0x1000, end: 0x5000, kind: "ram" }]);
  assert.equal(totalBytes(map, "pmem"), 0x40000000);
  assert.equal(
    formatRange({ start: 0x100000000, end: 0x1c0000000, kind: "ram" }),
    "0x0000000100000000-0x00000001bfffffff ram",
  );
});
