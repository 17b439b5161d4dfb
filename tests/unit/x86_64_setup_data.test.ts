import assert from "node:assert/strict";
import {
  SETUP_DATA_TYPE,
  setupDataSize,
  writeSetupData,
} from "../../lib/arch/x86_64/setup_data.ts";

Deno.test("setup_data: nodes chained by physical address, 16-byte aligned, last next = 0", () => {
  const nodes = [
    { type: SETUP_DATA_TYPE.RNG_SEED, data: new Uint8Array(32).fill(0xab) },
    { type: SETUP_DATA_TYPE.E820_EXT, data: new Uint8Array(20).fill(0x11) },
    { type: 0x12345, data: new Uint8Array(3).fill(0x22) },
  ];
  // 16+32 = 48; 48 → +16+20 = 84 → align 96 → +16+3 = 115
  assert.equal(setupDataSize(nodes), 115);
  const buf = new Uint8Array(0x200).fill(0xee);
  const base = 0x7654_3000;
  const layout = writeSetupData(buf, 0x40, base, nodes);
  assert.deepEqual(layout, {
    head: base + 0x40,
    addresses: [base + 0x40, base + 0x70, base + 0xa0],
    size: 115,
  });
  const v = new DataView(buf.buffer);
  assert.equal(v.getBigUint64(0x40, true), BigInt(base + 0x70));
  assert.equal(v.getUint32(0x48, true), 9);
  assert.equal(v.getUint32(0x4c, true), 32);
  assert.deepEqual([...buf.subarray(0x50, 0x70)], Array(32).fill(0xab));
  assert.equal(v.getBigUint64(0x70, true), BigInt(base + 0xa0));
  assert.equal(v.getUint32(0x78, true), 1);
  assert.equal(v.getUint32(0x7c, true), 20);
  assert.deepEqual([...buf.subarray(0x80, 0x94)], Array(20).fill(0x11));
  assert.equal(v.getBigUint64(0xa0, true), 0n);
  assert.equal(v.getUint32(0xa8, true), 0x12345);
  assert.equal(v.getUint32(0xac, true), 3);
  assert.deepEqual([...buf.subarray(0xb0, 0xb3)], [0x22, 0x22, 0x22]);
  // Nothing outside the nodes' bytes is touched (padding keeps its old value).
  assert.equal(buf[0x3f], 0xee);
  assert.equal(buf[0x94], 0xee);
  assert.equal(buf[0xb3], 0xee);
});

Deno.test("setup_data: no nodes gives head 0; misaligned offset and overflow are refused", () => {
  assert.deepEqual(writeSetupData(new Uint8Array(16), 0, 0x1000, []), {
    head: 0,
    addresses: [],
    size: 0,
  });
  assert.equal(setupDataSize([]), 0);
  assert.throws(() => writeSetupData(new Uint8Array(64), 8, 0, []), RangeError);
  assert.throws(
    () => writeSetupData(new Uint8Array(40), 0, 0, [{ type: 9, data: new Uint8Array(32) }]),
    RangeError,
  );
});
