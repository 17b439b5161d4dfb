import assert from "node:assert/strict";
import { segmentTable } from "../../lib/plan/segment_table.ts";
import type { Segment } from "../../lib/plan/types.ts";

Deno.test("segment table: exact bytes of struct kexec_segment[] (buf, bufsz, mem, memsz)", () => {
  const a = new Uint8Array(0x1234);
  const b = new Uint8Array(0);
  const segments: Segment[] = [
    { name: "kernel", buf: a, mem: 0x1000000, memsz: 0x3f98000 },
    { name: "empty", buf: b, mem: 0x1_2345_6000, memsz: 0x1000 },
  ];
  const addresses = new Map<Uint8Array, bigint>([[a, 0x7f12_3456_7000n], [b, 0x5000n]]);
  const table = segmentTable(segments, (buf) => addresses.get(buf)!);
  const bytes = new Uint8Array(table.buffer, table.byteOffset, table.byteLength);
  assert.equal(bytes.length, 64);
  // deno-fmt-ignore
  const expected = [
    // segment 0: buf 0x7f1234567000, bufsz 0x1234, mem 0x1000000, memsz 0x3f98000
    0x00, 0x70, 0x56, 0x34, 0x12, 0x7f, 0, 0,
    0x34, 0x12, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0x01, 0, 0, 0, 0,
    0, 0x80, 0xf9, 0x03, 0, 0, 0, 0,
    // segment 1: buf 0x5000, bufsz 0, mem 0x123456000, memsz 0x1000
    0x00, 0x50, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0x00, 0x60, 0x45, 0x23, 0x01, 0, 0, 0,
    0x00, 0x10, 0, 0, 0, 0, 0, 0,
  ];
  assert.deepEqual([...bytes], expected);
});

Deno.test("segment table: more than 16 segments or bufsz > memsz are refused", () => {
  const seg = (i: number): Segment => ({
    name: `s${i}`,
    buf: new Uint8Array(1),
    mem: i * 4096,
    memsz: 4096,
  });
  assert.equal(segmentTable(Array.from({ length: 16 }, (_, i) => seg(i)), () => 1n).length, 64);
  assert.throws(
    () => segmentTable(Array.from({ length: 17 }, (_, i) => seg(i)), () => 1n),
    RangeError,
  );
  assert.throws(
    () => segmentTable([{ name: "x", buf: new Uint8Array(4097), mem: 0, memsz: 4096 }], () => 1n),
    /4097 bytes exceed memsz 4096/,
  );
  assert.equal(segmentTable([], () => 1n).length, 0);
});
