import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { KexecError } from "../../lib/errors.ts";
import {
  buildPurgatory,
  PURGATORY_MAX_REGIONS,
  PURGATORY_SIZE,
  type PurgatoryConfig,
  type PurgatoryRegion,
} from "../../lib/arch/x86_64/purgatory.ts";
import * as blob from "../../lib/arch/x86_64/purgatory_blob.ts";

function digestOf(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest());
}

function region(i: number): PurgatoryRegion {
  return {
    mem: 0x100000 * (i + 1) + 0x1_0000_0000 * i,
    len: 0x1000 * (i + 3),
    sha256: digestOf(`r${i}`),
  };
}

const base: PurgatoryConfig = { entry64: 0x1000200, bootParams: 0x99b000, verify: [] };
const u64 = (page: Uint8Array, at: number) =>
  Number(new DataView(page.buffer, page.byteOffset).getBigUint64(at, true));
const blobBytes = () => {
  const hex = blob.PURGATORY_BLOB_HEX;
  const page = new Uint8Array(PURGATORY_SIZE);
  for (let i = 0; i < hex.length / 2; i++) page[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return page;
};

Deno.test("purgatory layout: entry at byte 0, table and stack inside one page", () => {
  assert.equal(PURGATORY_SIZE, 4096);
  assert.equal(PURGATORY_MAX_REGIONS, 15);
  assert.equal(blob.PURGATORY_PAGE_SIZE, PURGATORY_SIZE);
  assert.equal(blob.PURGATORY_START_OFFSET, 0);
  assert.ok(blob.PURGATORY_BLOB_HEX.length / 2 <= PURGATORY_SIZE);
  assert.ok(blob.PURGATORY_CODE_END_OFFSET <= blob.PURGATORY_GDT_OFFSET);
  assert.equal(blob.PURGATORY_REGION_SIZE, 8 + 8 + 32);
  assert.equal(
    blob.PURGATORY_REGIONS_END_OFFSET - blob.PURGATORY_REGIONS_OFFSET,
    PURGATORY_MAX_REGIONS * blob.PURGATORY_REGION_SIZE,
  );
  assert.ok(blob.PURGATORY_REGIONS_END_OFFSET <= blob.PURGATORY_STACK_BOTTOM_OFFSET);
  assert.equal(blob.PURGATORY_STACK_TOP_OFFSET, PURGATORY_SIZE);
  assert.ok(blob.PURGATORY_STACK_TOP_OFFSET - blob.PURGATORY_STACK_BOTTOM_OFFSET >= 1024);
  assert.equal(blob.PURGATORY_STACK_TOP_OFFSET % 16, 0);
  // Slots are u64 and naturally aligned.
  for (
    const at of [
      blob.PURGATORY_ENTRY64_OFFSET,
      blob.PURGATORY_BOOT_PARAMS_OFFSET,
      blob.PURGATORY_REGION_COUNT_OFFSET,
      blob.PURGATORY_STACK_PAGE_OFFSET,
      blob.PURGATORY_REGIONS_OFFSET,
    ]
  ) {
    assert.equal(at % 8, 0, `slot at 0x${at.toString(16)}`);
  }
});

Deno.test("purgatory GDT holds the boot protocol's descriptors at 0x10 and 0x18", () => {
  const page = buildPurgatory(base);
  const gdt = blob.PURGATORY_GDT_OFFSET;
  const view = new DataView(page.buffer);
  assert.equal(view.getBigUint64(gdt + 0x00, true), 0n);
  assert.equal(view.getBigUint64(gdt + 0x10, true), 0x00af9a000000ffffn);
  assert.equal(view.getBigUint64(gdt + 0x18, true), 0x00cf92000000ffffn);
  assert.equal(view.getUint16(blob.PURGATORY_GDTR_OFFSET, true), 4 * 8 - 1);
});

Deno.test("buildPurgatory writes entry64 and bootParams, including high halves", () => {
  const page = buildPurgatory({
    entry64: 0x1_2345_6789_a200,
    bootParams: 0x8_0000_1000,
    verify: [],
  });
  assert.equal(page.length, PURGATORY_SIZE);
  assert.equal(u64(page, blob.PURGATORY_ENTRY64_OFFSET), 0x1_2345_6789_a200);
  assert.equal(u64(page, blob.PURGATORY_BOOT_PARAMS_OFFSET), 0x8_0000_1000);
  assert.equal(u64(page, blob.PURGATORY_REGION_COUNT_OFFSET), 0);
  assert.equal(u64(page, blob.PURGATORY_STACK_PAGE_OFFSET), 0, "no stack page by default");
});

Deno.test("buildPurgatory encodes the region table and changes nothing else", () => {
  for (const n of [0, 1, 7, PURGATORY_MAX_REGIONS]) {
    const verify = Array.from({ length: n }, (_, i) => region(i));
    const page = buildPurgatory({ ...base, verify });
    assert.equal(u64(page, blob.PURGATORY_REGION_COUNT_OFFSET), n);
    const expected = blobBytes();
    // A normal page has no kexec-jump part.
    expected.fill(0, blob.PURGATORY_KJUMP_OFFSET, blob.PURGATORY_KJUMP_END_OFFSET);
    const view = new DataView(expected.buffer);
    view.setBigUint64(blob.PURGATORY_ENTRY64_OFFSET, BigInt(base.entry64), true);
    view.setBigUint64(blob.PURGATORY_BOOT_PARAMS_OFFSET, BigInt(base.bootParams), true);
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
    // Every other byte is the assembled page: code, GDT, unused entries, zero stack.
    assert.deepEqual(page, expected, `${n} regions`);
  }
});

Deno.test("buildPurgatory returns a fresh page and keeps its inputs", () => {
  const verify = [region(0)];
  const digest = verify[0].sha256.slice();
  const a = buildPurgatory({ ...base, verify });
  a.fill(0xff);
  const b = buildPurgatory({ ...base, verify });
  assert.notDeepEqual(a, b);
  assert.equal(u64(b, blob.PURGATORY_ENTRY64_OFFSET), base.entry64);
  assert.deepEqual(verify[0].sha256, digest);
});

Deno.test("buildPurgatory rejects more regions than the table holds", () => {
  const verify = Array.from({ length: PURGATORY_MAX_REGIONS + 1 }, (_, i) => region(i));
  assert.throws(() => buildPurgatory({ ...base, verify }), (err: unknown) => {
    assert.ok(err instanceof KexecError);
    assert.match(err.message, /16 regions/);
    return true;
  });
});

Deno.test("buildPurgatory rejects digests that are not 32 bytes", () => {
  for (const sha256 of [new Uint8Array(31), new Uint8Array(33), new Uint8Array(0)]) {
    assert.throws(
      () => buildPurgatory({ ...base, verify: [region(0), { ...region(1), sha256 }] }),
      (err: unknown) => err instanceof KexecError && /region 1 sha256/.test(err.message),
    );
  }
  const notBytes = Array.from(digestOf("x")) as unknown as Uint8Array;
  assert.throws(
    () => buildPurgatory({ ...base, verify: [{ ...region(0), sha256: notBytes }] }),
    KexecError,
  );
});

Deno.test("buildPurgatory rejects addresses and lengths that are not safe integers", () => {
  const bad = [-1, 1.5, Number.NaN, Infinity, 2 ** 53, "0x1000" as unknown as number];
  for (const value of bad) {
    assert.throws(
      () => buildPurgatory({ ...base, entry64: value }),
      KexecError,
      `entry64 ${value}`,
    );
    assert.throws(() => buildPurgatory({ ...base, bootParams: value }), KexecError);
    assert.throws(
      () => buildPurgatory({ ...base, verify: [{ ...region(0), mem: value }] }),
      KexecError,
    );
    assert.throws(
      () => buildPurgatory({ ...base, verify: [{ ...region(0), len: value }] }),
      KexecError,
    );
  }
  // Zero is a forgotten address for the jump target and boot_params, but a
  // fine region start or length.
  assert.throws(() => buildPurgatory({ ...base, entry64: 0 }), KexecError);
  assert.throws(() => buildPurgatory({ ...base, bootParams: 0 }), KexecError);
  const page = buildPurgatory({ ...base, verify: [{ ...region(0), mem: 0, len: 0 }] });
  assert.equal(u64(page, blob.PURGATORY_REGION_COUNT_OFFSET), 1);
  assert.equal(u64(page, blob.PURGATORY_REGIONS_OFFSET + blob.PURGATORY_REGION_MEM), 0);
  const largest = Number.MAX_SAFE_INTEGER;
  const high = buildPurgatory({ ...base, verify: [{ ...region(0), mem: largest }] });
  assert.equal(u64(high, blob.PURGATORY_REGIONS_OFFSET + blob.PURGATORY_REGION_MEM), largest);
});

Deno.test("buildPurgatory writes the optional stack page", () => {
  const verify = [region(0), region(1)];
  const page = buildPurgatory({ ...base, verify, stackPage: 0x1_2345_6000 });
  assert.equal(u64(page, blob.PURGATORY_STACK_PAGE_OFFSET), 0x1_2345_6000);
  // Right next to a region is fine.
  const r = verify[0];
  for (const at of [r.mem - PURGATORY_SIZE, r.mem + r.len]) {
    const ok = buildPurgatory({ ...base, verify, stackPage: at });
    assert.equal(u64(ok, blob.PURGATORY_STACK_PAGE_OFFSET), at);
  }
});

Deno.test("buildPurgatory rejects a stack page that is unaligned, zero or inside a region", () => {
  const verify = [region(0), region(1)];
  const r = verify[1];
  const bad: [number, RegExp][] = [
    [0, /not set/],
    [-PURGATORY_SIZE, /non-negative/],
    [0x99b800, /not page-aligned/],
    [r.mem, /overlaps verified region 1/],
    [r.mem + r.len - PURGATORY_SIZE, /overlaps verified region 1/],
  ];
  for (const [stackPage, why] of bad) {
    assert.throws(
      () => buildPurgatory({ ...base, verify, stackPage }),
      (err: unknown) => err instanceof KexecError && why.test(err.message),
      `stackPage 0x${stackPage.toString(16)}`,
    );
  }
});

Deno.test("the kexec-jump part lies in the stack area, after the table, with aligned slots", () => {
  assert.ok(blob.PURGATORY_KJUMP_OFFSET >= blob.PURGATORY_REGIONS_END_OFFSET);
  assert.ok(blob.PURGATORY_KJUMP_END_OFFSET <= blob.PURGATORY_STACK_TOP_OFFSET);
  assert.ok(blob.PURGATORY_CODE_END_OFFSET <= blob.PURGATORY_KJUMP_OFFSET);
  for (const at of [blob.PURGATORY_KJUMP_CMDLINE_END_OFFSET, blob.PURGATORY_KJUMP_RETURN_OFFSET]) {
    assert.equal(at % 8, 0);
    assert.ok(at >= blob.PURGATORY_KJUMP_OFFSET && at < blob.PURGATORY_KJUMP_START_OFFSET);
  }
  for (const at of [blob.PURGATORY_KJUMP_START_OFFSET, blob.PURGATORY_KJUMP_APPEND_OFFSET]) {
    assert.ok(at > blob.PURGATORY_KJUMP_OFFSET && at < blob.PURGATORY_KJUMP_END_OFFSET);
  }
  // The assembled page has code there; nothing after it.
  const page = blobBytes();
  const part = page.subarray(blob.PURGATORY_KJUMP_START_OFFSET, blob.PURGATORY_KJUMP_END_OFFSET);
  assert.ok(part.some((b) => b !== 0));
  assert.ok(page.subarray(blob.PURGATORY_KJUMP_END_OFFSET).every((b) => b === 0));
});

Deno.test("buildPurgatory: only a kjump page carries the kexec-jump part, with its slot filled", () => {
  const stackPage = 0x7000_0000;
  const normal = buildPurgatory({ ...base, stackPage });
  const kjump = buildPurgatory({ ...base, stackPage, kjump: { cmdlineEnd: 0x6fff_e812 } });
  const { PURGATORY_KJUMP_OFFSET: from, PURGATORY_KJUMP_END_OFFSET: to } = blob;
  assert.ok(normal.subarray(from, to).every((b) => b === 0), "normal page has kjump bytes");
  assert.equal(u64(kjump, blob.PURGATORY_KJUMP_CMDLINE_END_OFFSET), 0x6fff_e812);
  assert.equal(u64(kjump, blob.PURGATORY_KJUMP_RETURN_OFFSET), 0, "written by the entry only");
  const expected = blobBytes().subarray(blob.PURGATORY_KJUMP_START_OFFSET, to);
  assert.deepEqual(kjump.subarray(blob.PURGATORY_KJUMP_START_OFFSET, to), expected);
  // Outside that part the two pages are the same bytes.
  assert.deepEqual(kjump.subarray(0, from), normal.subarray(0, from));
  assert.deepEqual(kjump.subarray(to), normal.subarray(to));
});

Deno.test("buildPurgatory refuses a kjump page without a stack page, or a bad cmdlineEnd", () => {
  assert.throws(
    () => buildPurgatory({ ...base, kjump: { cmdlineEnd: 0x1000 } }),
    (err: unknown) => err instanceof KexecError && /needs a stackPage/.test(err.message),
  );
  assert.throws(
    () => buildPurgatory({ ...base, stackPage: 0x2000, kjump: { cmdlineEnd: -1 } }),
    (err: unknown) => err instanceof KexecError && /kjump.cmdlineEnd/.test(err.message),
  );
});
