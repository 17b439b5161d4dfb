// Runs the shipped purgatory page's own SHA-256, verify and report routines
// on this machine (tests/support/x86_64_purgatory_page.ts), comparing with
// node:crypto.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { buildPurgatory } from "../../lib/arch/x86_64/purgatory.ts";
import {
  PURGATORY_MAX_REGIONS,
  PURGATORY_REGION_COUNT_OFFSET,
  PURGATORY_VERIFY_BAD_COUNT,
  PURGATORY_VERIFY_OK,
} from "../../lib/arch/x86_64/purgatory_blob.ts";
import { nodeSha256, regionOf, withPage } from "../support/x86_64_purgatory_page.ts";

const anyPage = () => buildPurgatory({ entry64: 0x1000200, bootParams: 0x99b000, verify: [] });

Deno.test("purgatory sha256 matches node:crypto at block and padding edges", () => {
  const lengths = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 8191];
  withPage(anyPage(), ({ sha256 }) => {
    for (const len of lengths) {
      const data = new Uint8Array(randomBytes(len));
      assert.deepEqual(sha256(data), nodeSha256(data), `length ${len}`);
    }
  });
});

Deno.test("purgatory sha256 matches node:crypto on random and large inputs", () => {
  withPage(anyPage(), ({ sha256 }) => {
    for (let i = 0; i < 200; i++) {
      const data = new Uint8Array(randomBytes(Math.floor(Math.random() * 5000)));
      assert.deepEqual(sha256(data), nodeSha256(data), `length ${data.length}`);
    }
    const big = new Uint8Array(randomBytes(3 * 1024 * 1024 + 17));
    assert.deepEqual(sha256(big), nodeSha256(big));
    // Unaligned start: the kernel regions are page-aligned, but nothing in
    // the routine should depend on it.
    assert.deepEqual(sha256(big.subarray(3, 70001)), nodeSha256(big.subarray(3, 70001)));
  });
});

Deno.test("purgatory sha256 of the FIPS 180-4 'abc' example", () => {
  withPage(anyPage(), ({ sha256 }) => {
    const hex = Array.from(
      sha256(new TextEncoder().encode("abc")),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    assert.equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

Deno.test("purgatory verify accepts matching regions and an empty table", () => {
  const bufs = [0, 1, 64, 4096, 100_000].map((n) => new Uint8Array(randomBytes(n)));
  withPage(
    buildPurgatory({
      entry64: 0x1000200,
      bootParams: 0x99b000,
      verify: bufs.map((b) => regionOf(b)),
    }),
    ({ verify, report }) => {
      assert.equal(verify(), PURGATORY_VERIFY_OK);
      assert.equal(report(PURGATORY_VERIFY_OK), "");
    },
  );
  withPage(anyPage(), ({ verify }) => assert.equal(verify(), PURGATORY_VERIFY_OK));
});

Deno.test("purgatory verify accepts a full table of regions", () => {
  const bufs = Array.from(
    { length: PURGATORY_MAX_REGIONS },
    (_, i) => new Uint8Array(randomBytes(100 + i * 37)),
  );
  withPage(
    buildPurgatory({
      entry64: 0x1000200,
      bootParams: 0x99b000,
      verify: bufs.map((b) => regionOf(b)),
    }),
    ({ verify }) => assert.equal(verify(), PURGATORY_VERIFY_OK),
  );
});

Deno.test("purgatory verify reports the first corrupted region with its mem and len", () => {
  const bufs = Array.from(
    { length: PURGATORY_MAX_REGIONS },
    () => new Uint8Array(randomBytes(5000)),
  );
  const regions = bufs.map((b) => regionOf(b));
  for (const [bad, alsoBad] of [[0, 3], [6, 14], [14, -1]]) {
    const saved = [bufs[bad][1234], alsoBad >= 0 ? bufs[alsoBad][0] : 0];
    bufs[bad][1234] ^= 0x01; // a single flipped bit after the digest was taken
    if (alsoBad >= 0) bufs[alsoBad][0] ^= 0x80;
    withPage(
      buildPurgatory({ entry64: 0x1000200, bootParams: 0x99b000, verify: regions }),
      ({ verify, report }) => {
        const result = verify();
        assert.equal(result, bad);
        const { mem, len } = regions[bad];
        assert.equal(
          report(result),
          `purgatory: sha256 mismatch in region ${bad} (mem 0x${mem.toString(16)}, len 0x${
            len.toString(16)
          })\r\n`,
        );
      },
    );
    bufs[bad][1234] = saved[0];
    if (alsoBad >= 0) bufs[alsoBad][0] = saved[1];
  }
});

Deno.test("purgatory verify catches a wrong digest and a wrong length", () => {
  const buf = new Uint8Array(randomBytes(777));
  const wrongDigest = nodeSha256(buf);
  wrongDigest[31] ^= 0x40;
  withPage(
    buildPurgatory({
      entry64: 0x1000200,
      bootParams: 0x99b000,
      verify: [regionOf(buf), regionOf(buf, wrongDigest)],
    }),
    ({ verify }) => assert.equal(verify(), 1),
  );
  withPage(
    buildPurgatory({
      entry64: 0x1000200,
      bootParams: 0x99b000,
      verify: [{ ...regionOf(buf), len: buf.length - 1 }],
    }),
    ({ verify }) => assert.equal(verify(), 0),
  );
});

Deno.test("purgatory verify refuses a region count beyond the table", () => {
  const page = anyPage();
  const count = PURGATORY_MAX_REGIONS + 1;
  new DataView(page.buffer).setBigUint64(PURGATORY_REGION_COUNT_OFFSET, BigInt(count), true);
  withPage(page, ({ verify, report }) => {
    const result = verify();
    assert.equal(result, PURGATORY_VERIFY_BAD_COUNT);
    assert.equal(report(result), `purgatory: bad region count 0x${count.toString(16)}\r\n`);
  });
});

Deno.test("purgatory report prints large addresses and region numbers in full", () => {
  const buf = new Uint8Array(1);
  const regions = Array.from({ length: 12 }, (_, i) => ({
    mem: i === 11 ? Number.MAX_SAFE_INTEGER : 0x1000 * i,
    len: i === 11 ? 0xfedcba987654 : i,
    sha256: nodeSha256(buf),
  }));
  withPage(buildPurgatory({ entry64: 0x1000200, bootParams: 0x99b000, verify: regions }), ({
    report,
  }) => {
    assert.equal(
      report(11),
      "purgatory: sha256 mismatch in region 11 (mem 0x1fffffffffffff, len 0xfedcba987654)\r\n",
    );
    assert.equal(report(0), "purgatory: sha256 mismatch in region 0 (mem 0x0, len 0x0)\r\n");
  });
});
