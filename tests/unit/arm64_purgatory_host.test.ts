// Runs the shipped arm64 purgatory page, exactly as buildArm64Purgatory
// returns it, in user-mode qemu-aarch64 (tests/support/
// arm64_purgatory_harness.ts): its SHA-256 and verify routines against
// node:crypto, and its whole path from purgatory_main to the branch into the
// "kernel" (a probe in the harness that reports x0..x3) or into the halt
// loop. Region addresses are user-mode addresses in the harness's read-only
// data mapping, so a stray store into the hashed memory would fault. Needs
// qemu-user and binutils-aarch64-linux-gnu; fails without them.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import {
  ARM64_PURGATORY_MAX_REGIONS,
  buildArm64Purgatory,
  type PurgatoryRegion,
} from "../../lib/arch/arm64/purgatory.ts";
import {
  PURGATORY_HALT_OFFSET,
  PURGATORY_REGION_COUNT_OFFSET,
  PURGATORY_VERIFY_BAD_COUNT,
  PURGATORY_VERIFY_OK,
} from "../../lib/arch/arm64/purgatory_blob.ts";
import { buildHarness, DATA_AT, type Harness } from "../support/arm64_purgatory_harness.ts";

const DTB = 0x4800_0000;

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/** Lays `lengths` out one after another at 8-byte aligned offsets of one random buffer. */
function layout(lengths: number[]): { data: Uint8Array; regions: PurgatoryRegion[] } {
  const offsets: number[] = [];
  let end = 0;
  for (const len of lengths) {
    offsets.push(end);
    end += (len + 7) & ~7;
  }
  const data = new Uint8Array(randomBytes(Math.max(end, 8)));
  const regions = lengths.map((len, i) => ({
    mem: DATA_AT + offsets[i],
    len,
    sha256: sha256(data.subarray(offsets[i], offsets[i] + len)),
  }));
  return { data, regions };
}

async function withHarness(body: (h: Harness) => Promise<void>, pageAt?: number) {
  const harness = await buildHarness(pageAt);
  try {
    await body(harness);
  } finally {
    await harness.close();
  }
}

/** Each length's digest as the page computes it, compared with node:crypto. */
async function checkDigests(h: Harness, lengths: number[]) {
  for (let i = 0; i < lengths.length; i += ARM64_PURGATORY_MAX_REGIONS) {
    const { data, regions } = layout(lengths.slice(i, i + ARM64_PURGATORY_MAX_REGIONS));
    const page = buildArm64Purgatory({ kernelEntry: h.kernelProbe, dtb: DTB, verify: regions });
    const run = await h.run("hash", page, data);
    assert.equal(run.code, 0, `harness exit ${run.code ?? run.signal}`);
    assert.equal(run.stdout.length, 32 * regions.length);
    regions.forEach((r, j) => {
      assert.deepEqual(run.stdout.subarray(32 * j, 32 * j + 32), r.sha256, `length ${r.len}`);
    });
  }
}

Deno.test("arm64 purgatory sha256 matches node:crypto at block and padding edges", async () => {
  const lengths = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 8191];
  await withHarness((h) => checkDigests(h, [...lengths, (1 << 20) + 3, 3 * (1 << 20) + 17]));
});

Deno.test("arm64 purgatory sha256 matches node:crypto on random lengths", async () => {
  const lengths = Array.from({ length: 45 }, () => Math.floor(Math.random() * 5000));
  await withHarness((h) => checkDigests(h, lengths));
});

Deno.test("arm64 purgatory sha256 of the FIPS 180-4 'abc' example", async () => {
  await withHarness(async (h) => {
    const region = { mem: DATA_AT, len: 3, sha256: new Uint8Array(32) };
    const page = buildArm64Purgatory({ kernelEntry: h.kernelProbe, dtb: DTB, verify: [region] });
    const run = await h.run("hash", page, new TextEncoder().encode("abc"));
    assert.equal(
      Array.from(run.stdout, (b) => b.toString(16).padStart(2, "0")).join(""),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});

Deno.test("arm64 purgatory verify: -1 for matching and empty tables, else the first bad index", async () => {
  await withHarness(async (h) => {
    const verify = async (regions: PurgatoryRegion[], data: Uint8Array) => {
      const page = buildArm64Purgatory({ kernelEntry: h.kernelProbe, dtb: DTB, verify: regions });
      const run = await h.run("verify", page, data);
      assert.equal(run.code, 0, `harness exit ${run.code ?? run.signal}`);
      return BigInt.asIntN(64, run.words[0]);
    };
    const full = layout(Array.from({ length: ARM64_PURGATORY_MAX_REGIONS }, (_, i) => 100 * i + 1));
    assert.equal(await verify(full.regions, full.data), BigInt(PURGATORY_VERIFY_OK));
    assert.equal(await verify([], full.data), BigInt(PURGATORY_VERIFY_OK));
    // One flipped bit after the digests were taken; a later bad region too.
    for (const [bad, alsoBad] of [[0, 3], [6, 14], [14, -1]]) {
      const data = full.data.slice();
      data[full.regions[bad].mem - DATA_AT + (full.regions[bad].len >> 1)] ^= 0x01;
      if (alsoBad >= 0) data[full.regions[alsoBad].mem - DATA_AT] ^= 0x80;
      assert.equal(await verify(full.regions, data), BigInt(bad));
    }
    // A wrong digest, a wrong length.
    const one = layout([777]);
    const wrong = one.regions[0].sha256.slice();
    wrong[31] ^= 0x40;
    assert.equal(
      await verify([...one.regions, { ...one.regions[0], sha256: wrong }], one.data),
      1n,
    );
    assert.equal(await verify([{ ...one.regions[0], len: 776 }], one.data), 0n);
  });
});

Deno.test("arm64 purgatory enters the kernel with x0 = DTB and x1 = x2 = x3 = 0", async () => {
  await withHarness(async (h) => {
    const full = layout(Array.from({ length: ARM64_PURGATORY_MAX_REGIONS }, (_, i) => 4096 + i));
    for (const [dtb, verify] of [[DTB, full.regions], [0x8_8000_0008, []]] as const) {
      const page = buildArm64Purgatory({ kernelEntry: h.kernelProbe, dtb, verify });
      const run = await h.run("entry", page, full.data);
      // The harness starts it with every register garbage (x0 = 0xbad0bad0...).
      assert.equal(run.code, 0, `did not reach the kernel: exit ${run.code ?? run.signal}`);
      assert.deepEqual(run.words, [BigInt(dtb), 0n, 0n, 0n]);
    }
  });
});

Deno.test("arm64 purgatory is position independent: the same bytes run at another address", async () => {
  await withHarness(async (h) => {
    const { data, regions } = layout([5000, 1]);
    const page = buildArm64Purgatory({ kernelEntry: h.kernelProbe, dtb: DTB, verify: regions });
    const run = await h.run("entry", page, data);
    assert.equal(run.code, 0);
    assert.deepEqual(run.words, [BigInt(DTB), 0n, 0n, 0n]);
  }, 0x7_1234_5000);
});

Deno.test("arm64 purgatory halts in its wfi loop on a corrupted byte, never reaching the kernel", async () => {
  await withHarness(async (h) => {
    const { data, regions } = layout([4096, 4096 * 3 + 5, 64]);
    data[regions[1].mem - DATA_AT + 4096 * 3 + 4] ^= 0x10; // the last byte of region 1
    const page = buildArm64Purgatory({ kernelEntry: h.kernelProbe, dtb: DTB, verify: regions });
    const run = await h.run("entry", page, data);
    // Exit 3: the CPU-time alarm fired, and its handler saw where the CPU was.
    assert.equal(run.code, 3, `expected a halt, got exit ${run.code ?? run.signal}`);
    const [x0, x1, x2, , pc] = run.words;
    const halt = BigInt(h.pageAt + PURGATORY_HALT_OFFSET);
    assert.ok(pc === halt || pc === halt + 4n, `pc 0x${pc.toString(16)} is not the halt loop`);
    assert.deepEqual([x0, x1, x2], [1n, BigInt(regions[1].mem), BigInt(regions[1].len)]);
  });
});

Deno.test("arm64 purgatory halts on a region count beyond its table", async () => {
  await withHarness(async (h) => {
    const page = buildArm64Purgatory({ kernelEntry: h.kernelProbe, dtb: DTB, verify: [] });
    const count = ARM64_PURGATORY_MAX_REGIONS + 1;
    new DataView(page.buffer).setBigUint64(PURGATORY_REGION_COUNT_OFFSET, BigInt(count), true);
    const verify = await h.run("verify", page, new Uint8Array(8));
    assert.equal(verify.words[0], BigInt(PURGATORY_VERIFY_BAD_COUNT));
    const run = await h.run("entry", page, new Uint8Array(8));
    assert.equal(run.code, 3, `expected a halt, got exit ${run.code ?? run.signal}`);
    assert.equal(run.words[0], BigInt(PURGATORY_VERIFY_BAD_COUNT));
    const halt = BigInt(h.pageAt + PURGATORY_HALT_OFFSET);
    assert.ok(run.words[4] === halt || run.words[4] === halt + 4n);
  });
});
