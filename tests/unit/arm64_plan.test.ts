/**
 * arm64 kexec_load plans (lib/arch/arm64/plan_image.ts, plan_load.ts,
 * memory.ts) on what two real guests showed (tests/support/arm64_machine.ts):
 * where each segment goes and why, what the device tree says (decompiled by
 * Debian's dtc), what the purgatory page will do, and the refusals.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadableRam } from "../../lib/arch/arm64/memory.ts";
import {
  ARM64_DTB_ALIGN,
  type Arm64PlanInput,
  planArm64Image,
} from "../../lib/arch/arm64/plan_image.ts";
import { planArm64ImageLoad } from "../../lib/arch/arm64/plan_load.ts";
import * as pg from "../../lib/arch/arm64/purgatory_blob.ts";
import { KexecError } from "../../lib/errors.ts";
import { findNode, getProperty, parseFdt, readString, serializeFdt } from "../../lib/fdt/fdt.ts";
import { parseIomem } from "../../lib/memory/iomem.ts";
import type { MemoryRange } from "../../lib/memory/types.ts";
import type { Segment, SegmentLoadPlan } from "../../lib/plan/types.ts";
import { validateSegmentPlan } from "../../lib/plan/validate.ts";
import { dts, dtsNode } from "../fixtures/fdt.ts";
import {
  arm64Image,
  IMAGE,
  INITRD_BYTES,
  type VirtBoot,
  virtFdt,
  virtIomem,
  virtMachine,
} from "../support/arm64_machine.ts";

const MiB = 0x100000;
const GiB = 0x40000000;
const CMDLINE = 'console=ttyAMA0 panic=-1 e2e.arg="a b"';
const rejects = (re: RegExp) => (e: unknown) => e instanceof KexecError && re.test(e.message);
const seg = (plan: SegmentLoadPlan, name: string): Segment => {
  const s = plan.segments.find((s) => s.name === name);
  assert.ok(s, `no ${name} segment`);
  return s;
};
const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());

function plan(boot: VirtBoot, over: Partial<Arm64PlanInput> = {}): SegmentLoadPlan {
  return planArm64Image({
    kernel: arm64Image(),
    kernelPath: IMAGE,
    initrd: INITRD_BYTES,
    cmdline: CMDLINE,
    dtb: virtFdt(boot),
    dtbPath: "/sys/firmware/fdt",
    usable: loadableRam(parseIomem(virtIomem(boot))).ranges,
    kaslrSeed: new Uint8Array(8).fill(0x11),
    rngSeed: new Uint8Array(128).fill(0x22),
    verify: sha256,
    pageSize: 4096,
    flags: 0,
    ...over,
  });
}

const inside = (s: Segment, ranges: readonly MemoryRange[]) =>
  ranges.some((r) => s.mem >= r.start && s.mem + s.memsz <= r.end);

Deno.test("usable RAM: System RAM minus every nested resource but the running kernel's image", () => {
  const direct = loadableRam(parseIomem(virtIomem("direct")));
  // QEMU's DTB at 0x48000000, the first kernel's initrd, the crash region and the
  // memblock reservations at the top are out; "Kernel code" and "Kernel data" stay in.
  assert.deepEqual(direct.ranges.map((r) => [r.start, r.end]), [
    [0x40000000, 0x41860000],
    [0x41eb0000, 0x48000000],
    [0x4a2f6000, 0x4a400000],
    [0x4a500000, 0xa9800000],
    [0xbfa00000, 0xbfa8a000],
    [0xbfbc9000, 0xbfbcb000],
  ]);
  assert.equal(direct.systemRamBytes, 2 * GiB);
  const uefi = loadableRam(parseIomem(virtIomem("uefi")));
  // The UEFI memory map the stub left at 0xba13d9c0 (/chosen/linux,uefi-mmap-start) is kept.
  assert.ok(!uefi.ranges.some((r) => r.start <= 0xba13d9c0 && 0xba13d9c0 < r.end));
  // A crash load may give its own region back.
  const crash = { start: 0x9fe00000, end: 0xafe00000 };
  const withCrash = loadableRam(parseIomem(virtIomem("uefi")), [crash]);
  assert.ok(withCrash.ranges.some((r) => r.start <= crash.start && crash.end <= r.end));
});

for (const boot of ["direct", "uefi"] as const) {
  Deno.test(`${boot} boot: every segment in usable RAM, page-aligned, none below the kernel`, () => {
    const usable = loadableRam(parseIomem(virtIomem(boot))).ranges;
    const p = plan(boot);
    validateSegmentPlan(p, { pageSize: 4096, ramBytes: 2 * GiB });
    assert.equal(p.flags, 0xb70000);
    assert.deepEqual(p.segments.map((s) => s.name), ["kernel", "initrd", "dtb", "purgatory"]);
    const kernel = seg(p, "kernel");
    for (const s of p.segments) {
      assert.ok(inside(s, usable), `${s.name} at 0x${s.mem.toString(16)} is not in usable RAM`);
      assert.ok(s.mem >= kernel.mem, `${s.name} below the kernel`);
    }
  });

  Deno.test(`${boot} boot: the kernel at the lowest 2 MiB aligned base with image_size free`, () => {
    const usable = loadableRam(parseIomem(virtIomem(boot))).ranges;
    const kernel = seg(plan(boot), "kernel");
    assert.equal(kernel.mem % (2 * MiB), 0);
    assert.equal(kernel.memsz, 0x2010000);
    assert.equal(kernel.buf.length, 0x10000);
    // No lower 2 MiB aligned base has room.
    const fits = (base: number) => usable.some((r) => base >= r.start && base + 0x2010000 <= r.end);
    for (let base = 0x40000000; base < kernel.mem; base += 2 * MiB) assert.equal(fits(base), false);
    assert.ok(fits(kernel.mem));
  });

  Deno.test(`${boot} boot: /chosen of the DTB segment, as dtc reads it`, async () => {
    const p = plan(boot);
    const dtb = seg(p, "dtb");
    const initrd = seg(p, "initrd");
    assert.equal(dtb.mem % ARM64_DTB_ALIGN, 0, "DTB in a 2 MiB block of its own");
    assert.ok(dtb.buf.length <= 2 * MiB);
    const listing = await dts(dtb.buf);
    const chosen = dtsNode(listing, "chosen");
    const hi = (n: number) => `0x${Math.floor(n / 2 ** 32).toString(16).padStart(2, "0")}`;
    const lo = (n: number) => `0x${(n % 2 ** 32).toString(16).padStart(2, "0")}`;
    assert.ok(
      chosen.includes(`bootargs = "console=ttyAMA0 panic=-1 e2e.arg=\\"a b\\"";`),
      chosen.join("\n"),
    );
    assert.ok(chosen.includes(`linux,initrd-start = <${hi(initrd.mem)} ${lo(initrd.mem)}>;`));
    const end = initrd.mem + INITRD_BYTES.length;
    assert.ok(chosen.includes(`linux,initrd-end = <${hi(end)} ${lo(end)}>;`), chosen.join("\n"));
    assert.ok(chosen.includes("kaslr-seed = <0x11111111 0x11111111>;"));
    assert.ok(chosen.some((l) => l.startsWith("rng-seed = <0x22222222")));
    assert.ok(chosen.includes("linux,booted-from-kexec;"));
    assert.ok(!chosen.some((l) => l.startsWith("linux,elfcorehdr")));
    if (boot === "uefi") {
      // What the EFI stub wrote stays: the next kernel finds UEFI and its memory map through it.
      assert.ok(chosen.includes("linux,uefi-mmap-start = <0x00 0xba13d9c0>;"));
      assert.ok(chosen.includes("linux,uefi-system-table = <0x00 0xbffd0018>;"));
      assert.equal(dtsNode(listing, "memory@40000000").length, 0);
    } else {
      assert.ok(chosen.includes('stdout-path = "/pl011@9000000";'));
      assert.ok(
        dtsNode(listing, "memory@40000000").includes("reg = <0x00 0x40000000 0x00 0x80000000>;"),
      );
    }
  });
}

Deno.test("the purgatory: entry = its page; kernel entry, DTB and the three digests in its slots", () => {
  const p = plan("direct");
  const page = seg(p, "purgatory");
  assert.equal(p.entry, page.mem);
  assert.equal(page.buf.length, 4096);
  const v = new DataView(page.buf.buffer, page.buf.byteOffset);
  assert.equal(
    v.getBigUint64(pg.PURGATORY_KERNEL_ENTRY_OFFSET, true),
    BigInt(seg(p, "kernel").mem),
  );
  assert.equal(v.getBigUint64(pg.PURGATORY_DTB_OFFSET, true), BigInt(seg(p, "dtb").mem));
  assert.equal(v.getBigUint64(pg.PURGATORY_REGION_COUNT_OFFSET, true), 3n);
  ["kernel", "initrd", "dtb"].forEach((name, i) => {
    const at = pg.PURGATORY_REGIONS_OFFSET + i * pg.PURGATORY_REGION_SIZE;
    const s = seg(p, name);
    assert.equal(v.getBigUint64(at + pg.PURGATORY_REGION_MEM, true), BigInt(s.mem));
    assert.equal(v.getBigUint64(at + pg.PURGATORY_REGION_LEN, true), BigInt(s.buf.length));
    const digest = page.buf.subarray(
      at + pg.PURGATORY_REGION_SHA256,
      at + pg.PURGATORY_REGION_SHA256 + 32,
    );
    assert.deepEqual(digest, sha256(s.buf), `${name} digest`);
  });
  // -i: nothing to check.
  const unchecked = seg(plan("direct", { verify: undefined }), "purgatory");
  assert.equal(
    new DataView(unchecked.buf.buffer).getBigUint64(pg.PURGATORY_REGION_COUNT_OFFSET, true),
    0n,
  );
});

Deno.test("text_offset 0x80000: the segment starts there, above the 2 MiB aligned base", () => {
  const usable: MemoryRange[] = [{ start: 0x40000000, end: 0x80000000, kind: "ram" }];
  const p = plan("uefi", { kernel: arm64Image({ textOffset: 0x80000n }), usable });
  const kernel = seg(p, "kernel");
  assert.equal(kernel.mem, 0x40080000);
  assert.equal(kernel.memsz, 0x2010000);
  const v = new DataView(seg(p, "purgatory").buf.buffer);
  assert.equal(v.getBigUint64(pg.PURGATORY_KERNEL_ENTRY_OFFSET, true), 0x40080000n);
  // Everything else above base + text_offset + image_size.
  for (const s of p.segments.filter((s) => s.name !== "kernel")) assert.ok(s.mem >= 0x42090000);
});

Deno.test("the initrd stays in the 1 GiB aligned 32 GiB window that holds the kernel", () => {
  const usable: MemoryRange[] = [
    { start: 0x40000000, end: 0x42400000, kind: "ram" }, // kernel and little else
    { start: 0x900000000, end: 0x940000000, kind: "ram" }, // 36 GiB: beyond the window
  ];
  assert.throws(
    () => plan("uefi", { usable, initrd: new Uint8Array(8 * MiB) }),
    rejects(/initrd .* does not fit.*32 GiB window/),
  );
  const inWindow: MemoryRange[] = [usable[0], {
    start: 0x800000000,
    end: 0x840000000,
    kind: "ram",
  }];
  const ok = plan("uefi", { usable: inWindow, initrd: new Uint8Array(8 * MiB) });
  assert.equal(seg(ok, "initrd").mem, 0x800000000);
});

Deno.test("--mem-min/--mem-max bound every segment", () => {
  const p = plan("direct", { memMin: 0x60000000, memMax: 0x6fffffff });
  for (const s of p.segments) {
    assert.ok(s.mem >= 0x60000000 && s.mem + s.memsz <= 0x70000000, s.name);
  }
  assert.ok(p.notes.some((n) => n.includes("--mem-min=0x60000000 --mem-max=0x6fffffff")));
});

Deno.test("a kernel whose base should be low says how much RAM it cannot map", () => {
  const p = plan("direct", { kernel: arm64Image({ flags: 0b0010n }) });
  assert.ok(
    p.notes.some((n) =>
      /flags bit 3 is clear, so this kernel cannot map the 0x2000000 bytes/.test(n)
    ),
  );
});

Deno.test("refusals: file longer than image_size, unaligned text_offset, long command line, bad DTB", () => {
  assert.throws(
    () => plan("direct", { kernel: arm64Image({ imageSize: 0x8000n }) }),
    rejects(/65536 bytes, more than the 32768 of image_size/),
  );
  assert.throws(
    () => plan("direct", { kernel: arm64Image({ textOffset: 0x1000n }), pageSize: 0x4000 }),
    rejects(/text_offset 0x1000 is not a multiple of the 16384-byte page size/),
  );
  assert.throws(
    () => plan("direct", { cmdline: "x".repeat(2048) }),
    rejects(/2048 bytes; an arm64 kernel takes at most 2047/),
  );
  assert.doesNotThrow(() => plan("direct", { cmdline: "x".repeat(2047) }));
  assert.throws(
    () => plan("direct", { dtb: new Uint8Array(64), dtbPath: "/x.dtb" }),
    rejects(/device tree \/x.dtb: no magic/),
  );
});

Deno.test("the guests' /sys/firmware/fdt round-trips byte for byte", () => {
  for (const boot of ["direct", "uefi"] as const) {
    const blob = virtFdt(boot);
    assert.deepEqual(serializeFdt(parseFdt(blob, boot)), blob, boot);
  }
});

Deno.test("plan_load: /sys/firmware/fdt by default, --dtb instead when given, seeds from getrandom", () => {
  const input = {
    kernelPath: IMAGE,
    kernel: arm64Image(),
    initrd: null,
    cmdline: "x",
    crash: false,
    verify: sha256,
    facts: {},
  };
  const fromFirmware = planArm64ImageLoad(virtMachine("uefi"), input);
  const fdt = parseFdt(seg(fromFirmware, "dtb").buf);
  assert.ok(getProperty(findNode(fdt, "/chosen")!, "linux,uefi-system-table"));
  assert.deepEqual(
    getProperty(findNode(fdt, "/chosen")!, "kaslr-seed")!.value,
    new Uint8Array(8).fill(0xa5),
  );
  assert.equal(fromFirmware.ramBytes, 0x7f930000);

  const own = planArm64ImageLoad(virtMachine("uefi"), {
    ...input,
    dtb: virtFdt("direct"),
    dtbPath: "/my.dtb",
  });
  const mine = parseFdt(seg(own, "dtb").buf);
  assert.equal(getProperty(findNode(mine, "/chosen")!, "linux,uefi-system-table"), undefined);
  assert.equal(readString(getProperty(mine.root, "model")!), "linux,dummy-virt");
  assert.ok(own.notes.some((n) => n.startsWith("device tree from /my.dtb")));
  assert.equal(getProperty(findNode(mine, "/chosen")!, "linux,initrd-start"), undefined);

  assert.throws(
    () => planArm64ImageLoad(virtMachine("direct", { "/sys/firmware/fdt": undefined }), input),
    rejects(/no device tree: \/sys\/firmware\/fdt is missing or unreadable, and no --dtb/),
  );
  assert.throws(
    () => planArm64ImageLoad(virtMachine("direct"), { ...input, preserveContext: true }),
    rejects(/kexec jump\) exists only on x86/),
  );
});
