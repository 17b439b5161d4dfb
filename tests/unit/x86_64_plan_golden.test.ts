/**
 * Normal and crash kexec_load plans are pinned byte for byte: entry, flags and
 * every segment's address, size and SHA-256, recorded before the kexec jump
 * work (issue 14) added a preserve-context path to the purgatory page and the
 * planner. A change to any byte a normal or crash load passes to the kernel
 * fails here; a deliberate one updates the digests with its reason.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { planBzImage64, RNG_SEED_SIZE } from "../../lib/arch/x86_64/bzimage.ts";
import { planX86Load } from "../../lib/arch/x86_64/plan_load.ts";
import { buildPurgatory } from "../../lib/arch/x86_64/purgatory.ts";
import { readHostFacts } from "../../lib/facts.ts";
import { parseFirmwareMemmap } from "../../lib/memory/memmap.ts";
import type { SegmentLoadPlan } from "../../lib/plan/types.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { memmapFixture } from "../fixtures/fixtures.ts";
import { crashMachine } from "../support/crash_machine.ts";
import { INITRD_BYTES, KERNEL } from "../support/machine.ts";

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** One line per segment plus entry and flags, and the digest of those lines. */
// The planners' SHA-256, independent of lib/plan/sha256.ts.
const digest = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());

function fingerprint(plan: SegmentLoadPlan): string {
  const lines = [
    `entry=${plan.entry.toString(16)} flags=${plan.flags.toString(16)}`,
    ...plan.segments.map((s) =>
      `${s.name} mem=${s.mem.toString(16)} memsz=${s.memsz.toString(16)} ` +
      `bufsz=${s.buf.length.toString(16)} sha256=${sha256(s.buf)}`
    ),
  ];
  return sha256(new TextEncoder().encode(lines.join("\n")));
}

function normalPlan(verify: boolean): SegmentLoadPlan {
  return planBzImage64({
    kernel: syntheticKernel(),
    kernelPath: "/boot/vmlinuz-test",
    initrd: Uint8Array.from({ length: 0x123457 }, (_, i) => (i * 13) & 0xff),
    cmdline: "console=ttyS0 root=/dev/vda KEXEC=Y",
    memoryMap: parseFirmwareMemmap([...memmapFixture("memmap-qemu-seabios-1g.txt").values()]),
    memoryMapSource: "/sys/firmware/memmap",
    rngSeed: Uint8Array.from({ length: RNG_SEED_SIZE }, (_, i) => 0xa0 + i),
    verify: verify ? digest : undefined,
    pageSize: 4096,
    flags: 0,
  });
}

function crashPlan(verify: boolean): SegmentLoadPlan {
  const sys = crashMachine();
  return planX86Load(sys, {
    kernelPath: KERNEL,
    kernel: sys.mapFile(sys.openFile(KERNEL, "kernel")),
    initrd: INITRD_BYTES,
    cmdline: "console=ttyS0 irqpoll nr_cpus=1 reset_devices",
    crash: true,
    verify: verify ? digest : undefined,
    facts: readHostFacts(sys),
  });
}

// Recorded from the tree just before issue 14's kexec jump joined it (commit
// 075c603, which already passes EFI state and type_of_loader in boot_params):
// the kexec-jump purgatory and planner must leave these byte for byte.
const GOLDEN = {
  purgatoryPage: "e21ebfa32fdf173f555a76b1c98db51b21aad0445deec22338459bd71a065a3b",
  normal: "0af3bb7cfe4a153a8082a7c3512a616d38a12abc03f623ee772afbcec064277b",
  normalNoChecks: "1e350bc11a379922599e7b316f5c224bffae8c3068ff42354d8ce56503279cc9",
  crash: "8aa9ff014b79b5269fa7a841f96cd78f8074f66c6b0dbe30a26cba25d229118c",
  crashNoChecks: "b1d3ec69a8fc70adccef2c9579144e678082f46e74e8313b90dc0b56db3b6fda",
};

Deno.test("a normal load's purgatory page is the page it was before kexec jump", () => {
  const page = buildPurgatory({ entry64: 0x1000200, bootParams: 0x99b000, verify: [] });
  assert.equal(sha256(page), GOLDEN.purgatoryPage);
});

Deno.test("normal kexec_load plans are byte for byte what they were", () => {
  assert.equal(fingerprint(normalPlan(true)), GOLDEN.normal);
  assert.equal(fingerprint(normalPlan(false)), GOLDEN.normalNoChecks);
});

Deno.test("crash kexec_load plans are byte for byte what they were", () => {
  assert.equal(fingerprint(crashPlan(true)), GOLDEN.crash);
  assert.equal(fingerprint(crashPlan(false)), GOLDEN.crashNoChecks);
});
