/**
 * Where the purgatory's SHA-256 digests come from: the machine's libcrypto
 * through FFI (lib/sys/libcrypto.ts), reading mappings in place, and
 * node:crypto (lib/plan/sha256.ts) when the System offers none. Both must give
 * FIPS 180-4 digests, and load.ts must hand the planners the System's.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Sha256 } from "../../lib/bytes.ts";
import { loadKernel } from "../../lib/load.ts";
import type { SegmentLoadPlan } from "../../lib/plan/types.ts";
import { silentReporter } from "../../lib/report.ts";
import { libcryptoSha256 } from "../../lib/sys/libcrypto.ts";
import type { System } from "../../lib/sys/system.ts";
import { INITRD, INITRD_BYTES, KERNEL, machineFiles } from "../support/machine.ts";
import { FakeSystem, SafeHostSystem } from "../support/fake_system.ts";

const reference = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}

Deno.test("this machine's libcrypto opens (the test setup installs openssl)", () => {
  assert.equal(typeof libcryptoSha256(), "function");
  assert.equal(new SafeHostSystem().nativeSha256(), libcryptoSha256());
});

Deno.test("libcrypto's SHA-256 matches node:crypto across block and padding edges", () => {
  const sha256 = libcryptoSha256()!;
  for (const n of [0, 1, 3, 55, 56, 63, 64, 65, 119, 4096, (3 << 20) + 17]) {
    const b = pattern(n, n);
    assert.deepEqual(sha256(b), reference(b), `${n} bytes`);
  }
  // The FIPS 180-4 example "abc".
  const abc = [...sha256(new TextEncoder().encode("abc"))]
    .map((x) => x.toString(16).padStart(2, "0")).join("");
  assert.equal(abc, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

Deno.test("libcrypto hashes a view from its first byte, not its buffer's", () => {
  const sha256 = libcryptoSha256()!;
  const whole = pattern(10000, 5);
  for (const [start, end] of [[1, 10000], [4096, 8192], [777, 778], [9999, 9999]]) {
    const view = whole.subarray(start, end);
    assert.deepEqual(sha256(view), reference(view), `${start}..${end}`);
  }
});

Deno.test("libcrypto hashes a read-only file mapping in place", async () => {
  const sha256 = libcryptoSha256()!;
  const path = await Deno.makeTempFile();
  try {
    const bytes = pattern((1 << 20) + 4099, 9);
    await Deno.writeFile(path, bytes);
    const sys = new SafeHostSystem();
    const file = sys.openFile(path, "initrd");
    const map = sys.mapFile(file);
    assert.deepEqual(sha256(map), reference(bytes));
    sys.close(file);
  } finally {
    await Deno.remove(path);
  }
});

// A machine whose System offers a SHA-256 that records what it hashed.
class NativeHashMachine extends FakeSystem {
  readonly hashed: Uint8Array[] = [];
  asked = 0;
  override nativeSha256(): Sha256 {
    this.asked++;
    return (b) => {
      this.hashed.push(b);
      return reference(b);
    };
  }
}

async function dryLoad(sys: System, noChecks: boolean): Promise<SegmentLoadPlan> {
  const r = await loadKernel(sys, {
    kernel: KERNEL,
    initrds: [INITRD],
    cmdline: "console=ttyS0",
    crash: false,
    syscall: "load",
    dryRun: true,
    noChecks,
  }, silentReporter);
  return r.plans[0] as SegmentLoadPlan;
}

Deno.test("load.ts hands the planners the System's SHA-256, once per checked segment", async () => {
  const sys = new NativeHashMachine(machineFiles());
  const plan = await dryLoad(sys, false);
  assert.equal(sys.asked, 1);
  const checked = plan.segments.filter((s) => s.name !== "purgatory" && s.buf.length > 0);
  assert.equal(sys.hashed.length, checked.length);
  // Hashed where the plan keeps them: the initrd is the same bytes, no copy.
  const initrd = plan.segments.find((s) => s.name === "initrd")!;
  assert.ok(sys.hashed.includes(initrd.buf));
  assert.deepEqual(initrd.buf.subarray(0, INITRD_BYTES.length), INITRD_BYTES);
});

Deno.test("with -i (no checks) no SHA-256 is asked for, native or not", async () => {
  const sys = new NativeHashMachine(machineFiles());
  await dryLoad(sys, true);
  assert.equal(sys.asked, 0);
  assert.equal(sys.hashed.length, 0);
});

Deno.test("without a native SHA-256 the plan carries the same digests (node:crypto)", async () => {
  const native = await dryLoad(new NativeHashMachine(machineFiles()), false);
  const fallback = await dryLoad(new FakeSystem(machineFiles()), false);
  const page = (p: SegmentLoadPlan) => p.segments.find((s) => s.name === "purgatory")!.buf;
  assert.deepEqual(page(fallback), page(native));
});
