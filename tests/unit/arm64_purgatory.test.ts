import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { KexecError } from "../../lib/errors.ts";
import {
  ARM64_PURGATORY_MAX_REGIONS,
  ARM64_PURGATORY_SIZE,
  type Arm64PurgatoryConfig,
  buildArm64Purgatory,
  type PurgatoryRegion,
} from "../../lib/arch/arm64/purgatory.ts";
import * as blob from "../../lib/arch/arm64/purgatory_blob.ts";

function digestOf(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest());
}

function region(i: number): PurgatoryRegion {
  return {
    mem: 0x4000_0000 + 0x20_0000 * i + 0x1_0000_0000 * (i % 3),
    len: 0x1000 * (i + 3) + i,
    sha256: digestOf(`r${i}`),
  };
}

const base: Arm64PurgatoryConfig = { kernelEntry: 0x4020_0000, dtb: 0x4800_0000, verify: [] };
const u64 = (page: Uint8Array, at: number) =>
  Number(new DataView(page.buffer, page.byteOffset).getBigUint64(at, true));
const blobBytes = () => {
  const hex = blob.PURGATORY_BLOB_HEX;
  const page = new Uint8Array(ARM64_PURGATORY_SIZE);
  for (let i = 0; i < hex.length / 2; i++) page[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return page;
};

Deno.test("arm64 purgatory layout: entry at byte 0, slots, table and stack inside one page", () => {
  assert.equal(ARM64_PURGATORY_SIZE, 4096);
  assert.equal(ARM64_PURGATORY_MAX_REGIONS, 15, "16 kexec segments, one is the page");
  assert.equal(blob.PURGATORY_PAGE_SIZE, ARM64_PURGATORY_SIZE);
  assert.equal(blob.PURGATORY_START_OFFSET, 0);
  assert.ok(blob.PURGATORY_BLOB_HEX.length / 2 <= ARM64_PURGATORY_SIZE);
  // Code, then constants, then the slots: nothing overlaps.
  assert.ok(blob.PURGATORY_START_OFFSET < blob.PURGATORY_MAIN_OFFSET);
  assert.ok(blob.PURGATORY_MAIN_OFFSET < blob.PURGATORY_HALT_OFFSET);
  assert.ok(blob.PURGATORY_HALT_OFFSET < blob.PURGATORY_VERIFY_OFFSET);
  assert.ok(blob.PURGATORY_VERIFY_OFFSET < blob.PURGATORY_SHA256_OFFSET);
  assert.ok(blob.PURGATORY_SHA256_OFFSET < blob.PURGATORY_CODE_END_OFFSET);
  // 64 K words and the 8 initial hash words follow the code.
  assert.ok(blob.PURGATORY_CODE_END_OFFSET + 4 * (64 + 8) <= blob.PURGATORY_KERNEL_ENTRY_OFFSET);
  assert.equal(blob.PURGATORY_REGION_SIZE, 8 + 8 + 32);
  assert.equal(
    blob.PURGATORY_REGIONS_END_OFFSET - blob.PURGATORY_REGIONS_OFFSET,
    ARM64_PURGATORY_MAX_REGIONS * blob.PURGATORY_REGION_SIZE,
  );
  assert.ok(blob.PURGATORY_REGION_COUNT_OFFSET + 8 <= blob.PURGATORY_REGIONS_OFFSET);
  assert.ok(blob.PURGATORY_REGIONS_END_OFFSET <= blob.PURGATORY_STACK_BOTTOM_OFFSET);
  assert.equal(blob.PURGATORY_STACK_TOP_OFFSET, ARM64_PURGATORY_SIZE);
  // verify (80) -> sha256 (192) -> sha256_blocks (16), sp 16-byte aligned.
  assert.ok(blob.PURGATORY_STACK_TOP_OFFSET - blob.PURGATORY_STACK_BOTTOM_OFFSET >= 288);
  assert.equal(blob.PURGATORY_STACK_TOP_OFFSET % 16, 0);
  // With the MMU off every slot is read with a naturally aligned 64-bit load.
  for (
    const at of [
      blob.PURGATORY_KERNEL_ENTRY_OFFSET,
      blob.PURGATORY_DTB_OFFSET,
      blob.PURGATORY_REGION_COUNT_OFFSET,
      blob.PURGATORY_REGIONS_OFFSET,
      blob.PURGATORY_REGIONS_OFFSET + blob.PURGATORY_REGION_SIZE,
    ]
  ) {
    assert.equal(at % 8, 0, `slot at 0x${at.toString(16)}`);
  }
  // Instructions are 4 bytes each, code entries 4-byte aligned.
  for (
    const at of [
      blob.PURGATORY_MAIN_OFFSET,
      blob.PURGATORY_HALT_OFFSET,
      blob.PURGATORY_VERIFY_OFFSET,
      blob.PURGATORY_SHA256_OFFSET,
    ]
  ) {
    assert.equal(at % 4, 0);
  }
});

Deno.test("buildArm64Purgatory writes the kernel entry and DTB slots, including high halves", () => {
  const page = buildArm64Purgatory({
    kernelEntry: 0x8_8020_0000,
    dtb: 0x1_2345_6788,
    verify: [],
  });
  assert.equal(page.length, ARM64_PURGATORY_SIZE);
  assert.equal(u64(page, blob.PURGATORY_KERNEL_ENTRY_OFFSET), 0x8_8020_0000);
  assert.equal(u64(page, blob.PURGATORY_DTB_OFFSET), 0x1_2345_6788);
  assert.equal(u64(page, blob.PURGATORY_REGION_COUNT_OFFSET), 0, "-i: empty table");
});

Deno.test("buildArm64Purgatory encodes the region table and changes nothing else", () => {
  for (const n of [0, 1, 7, ARM64_PURGATORY_MAX_REGIONS]) {
    const verify = Array.from({ length: n }, (_, i) => region(i));
    const page = buildArm64Purgatory({ ...base, verify });
    assert.equal(u64(page, blob.PURGATORY_REGION_COUNT_OFFSET), n);
    const expected = blobBytes();
    const view = new DataView(expected.buffer);
    view.setBigUint64(blob.PURGATORY_KERNEL_ENTRY_OFFSET, BigInt(base.kernelEntry), true);
    view.setBigUint64(blob.PURGATORY_DTB_OFFSET, BigInt(base.dtb), true);
    view.setBigUint64(blob.PURGATORY_REGION_COUNT_OFFSET, BigInt(n), true);
    verify.forEach((r, i) => {
      const entry = blob.PURGATORY_REGIONS_OFFSET + i * blob.PURGATORY_REGION_SIZE;
      assert.equal(u64(page, entry + blob.PURGATORY_REGION_MEM), r.mem);
      assert.equal(u64(page, entry + blob.PURGATORY_REGION_LEN), r.len);
      assert.deepEqual(
        page.subarray(entry + blob.PURGATORY_REGION_SHA256, entry + blob.PURGATORY_REGION_SIZE),
        r.sha256,
      );
      view.setBigUint64(entry + blob.PURGATORY_REGION_MEM, BigInt(r.mem), true);
      view.setBigUint64(entry + blob.PURGATORY_REGION_LEN, BigInt(r.len), true);
      expected.set(r.sha256, entry + blob.PURGATORY_REGION_SHA256);
    });
    // Every other byte is the assembled page: code, constants, unused entries, stack.
    assert.deepEqual(page, expected, `${n} regions`);
  }
});

Deno.test("buildArm64Purgatory returns a fresh page and keeps its inputs", () => {
  const verify = [region(0)];
  const digest = verify[0].sha256.slice();
  const a = buildArm64Purgatory({ ...base, verify });
  a.fill(0xff);
  const b = buildArm64Purgatory({ ...base, verify });
  assert.notDeepEqual(a, b);
  assert.equal(u64(b, blob.PURGATORY_KERNEL_ENTRY_OFFSET), base.kernelEntry);
  assert.equal(b[0], blobBytes()[0]);
  assert.deepEqual(verify[0].sha256, digest);
});

Deno.test("buildArm64Purgatory refuses more regions than the table holds (16 segments in all)", () => {
  const verify = Array.from({ length: ARM64_PURGATORY_MAX_REGIONS + 1 }, (_, i) => region(i));
  assert.throws(() => buildArm64Purgatory({ ...base, verify }), (err: unknown) => {
    assert.ok(err instanceof KexecError);
    assert.match(err.message, /^purgatory: 16 regions to verify, the page holds at most 15$/);
    assert.ok(err.hint?.includes("bug"));
    return true;
  });
});

Deno.test("buildArm64Purgatory refuses digests that are not 32 bytes", () => {
  for (const sha256 of [new Uint8Array(31), new Uint8Array(33), new Uint8Array(0)]) {
    assert.throws(
      () => buildArm64Purgatory({ ...base, verify: [region(0), { ...region(1), sha256 }] }),
      (err: unknown) => err instanceof KexecError && /region 1 sha256/.test(err.message),
    );
  }
  const notBytes = Array.from(digestOf("x")) as unknown as Uint8Array;
  assert.throws(
    () => buildArm64Purgatory({ ...base, verify: [{ ...region(0), sha256: notBytes }] }),
    KexecError,
  );
  assert.throws(
    () => buildArm64Purgatory({ ...base, verify: "none" as unknown as PurgatoryRegion[] }),
    /verify must be an array/,
  );
});

Deno.test("buildArm64Purgatory refuses addresses and lengths that are not safe integers", () => {
  const bad = [-8, 1.5, Number.NaN, Infinity, 2 ** 53, "0x1000" as unknown as number];
  for (const value of bad) {
    assert.throws(() => buildArm64Purgatory({ ...base, kernelEntry: value }), KexecError);
    assert.throws(() => buildArm64Purgatory({ ...base, dtb: value }), KexecError);
    assert.throws(
      () => buildArm64Purgatory({ ...base, verify: [{ ...region(0), mem: value }] }),
      KexecError,
    );
    assert.throws(
      () => buildArm64Purgatory({ ...base, verify: [{ ...region(0), len: value }] }),
      KexecError,
    );
  }
  // Zero is a forgotten kernel or DTB address, but a fine region start or length.
  assert.throws(() => buildArm64Purgatory({ ...base, kernelEntry: 0 }), /kernelEntry is 0/);
  assert.throws(() => buildArm64Purgatory({ ...base, dtb: 0 }), /dtb is 0/);
  const page = buildArm64Purgatory({ ...base, verify: [{ ...region(0), mem: 0, len: 0 }] });
  assert.equal(u64(page, blob.PURGATORY_REGION_COUNT_OFFSET), 1);
  const largest = Number.MAX_SAFE_INTEGER - 7; // the largest 8-aligned safe integer
  const high = buildArm64Purgatory({ ...base, verify: [{ ...region(0), mem: largest }] });
  assert.equal(u64(high, blob.PURGATORY_REGIONS_OFFSET + blob.PURGATORY_REGION_MEM), largest);
});

Deno.test("buildArm64Purgatory refuses what the MMU-off page cannot load aligned", () => {
  // booting.rst: the DTB on an 8-byte boundary. Instructions are 4-byte aligned.
  for (const dtb of [0x4800_0004, 0x4800_0001]) {
    assert.throws(
      () => buildArm64Purgatory({ ...base, dtb }),
      /^KexecError: purgatory: dtb 0x4800000[14] is not 8-byte aligned$/,
    );
  }
  assert.throws(
    () => buildArm64Purgatory({ ...base, kernelEntry: 0x4020_0002 }),
    /kernelEntry 0x40200002 is not 4-byte aligned/,
  );
  // Device memory: the message is read with 8-byte aligned paired loads.
  for (const mem of [0x4000_0004, 0x4000_0001, 0x4000_0fff]) {
    assert.throws(
      () => buildArm64Purgatory({ ...base, verify: [region(0), { ...region(1), mem }] }),
      /region 1 mem 0x4000.* is not 8-byte aligned/,
    );
  }
  const ok = buildArm64Purgatory({ ...base, dtb: 0x4800_0008, kernelEntry: 0x4028_0004 });
  assert.equal(u64(ok, blob.PURGATORY_DTB_OFFSET), 0x4800_0008);
  assert.equal(u64(ok, blob.PURGATORY_KERNEL_ENTRY_OFFSET), 0x4028_0004);
});
