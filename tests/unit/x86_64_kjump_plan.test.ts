/**
 * Preserve-context (kexec jump) plans on x86_64: the command line's bytes in
 * the boot_params segment with the room the purgatory writes
 * ` kexec_jump_back_entry=0x…` into, the digests that cover that room as
 * loaded, the purgatory page's kexec-jump part, slots and entry; and the
 * page's own verify and kjump_append run on this machine over copies of the
 * segments, in the purgatory's order.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { KEXEC_PRESERVE_CONTEXT } from "../../lib/abi.ts";
import {
  type BzImagePlanInput,
  planBzImage64,
  RNG_SEED_SIZE,
} from "../../lib/arch/x86_64/bzimage.ts";
import { PURGATORY_KJUMP_ENTRY, PURGATORY_KJUMP_ROOM } from "../../lib/arch/x86_64/purgatory.ts";
import * as blob from "../../lib/arch/x86_64/purgatory_blob.ts";
import { KexecError } from "../../lib/errors.ts";
import { parseFirmwareMemmap } from "../../lib/memory/memmap.ts";
import type { Segment, SegmentLoadPlan } from "../../lib/plan/types.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { hostAddress, withPage } from "../support/x86_64_purgatory_page.ts";

const CMDLINE = "console=ttyS0 panic=-1 memmap=exactmap memmap=640K@0 memmap=512M@0x50000000";
const CMDLINE_AT = 0x1000; // after the 4 KiB boot_params
const SEED = Uint8Array.from({ length: RNG_SEED_SIZE }, (_, i) => 0xa0 + i);
const MAP_2G = parseFirmwareMemmap([
  { start: "0x0", end: "0x9fbff", type: "System RAM" },
  { start: "0x100000", end: "0x7ffdffff", type: "System RAM" },
  { start: "0x7ffe0000", end: "0x7fffffff", type: "Reserved" },
]);

function plan(overrides: Partial<BzImagePlanInput> = {}): SegmentLoadPlan {
  return planBzImage64({
    kernel: syntheticKernel(),
    kernelPath: "/e2e/vmlinuz",
    initrd: Uint8Array.from({ length: 0x12345 }, (_, i) => (i * 7) & 0xff),
    cmdline: CMDLINE,
    memoryMap: MAP_2G,
    memMin: 0x5000_0000,
    memMax: 0x6fff_ffff,
    rngSeed: SEED,
    verify: sha256,
    pageSize: 4096,
    flags: KEXEC_PRESERVE_CONTEXT,
    ...overrides,
  });
}

function byName(p: SegmentLoadPlan, name: string): Segment {
  const s = p.segments.find((x) => x.name === name);
  assert.ok(s, `no ${name}`);
  return s;
}

const u64 = (b: Uint8Array, at: number) =>
  Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true));
const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());

Deno.test("preserve-context plan: command line, its NUL, then the reserved zero room, then setup_data", () => {
  const p = plan();
  assert.equal(p.flags, 0x3e0002);
  const params = byName(p, "boot_params");
  const text = new TextEncoder().encode(CMDLINE);
  assert.deepEqual(params.buf.subarray(CMDLINE_AT, CMDLINE_AT + text.length), text);
  const room = params.buf.subarray(
    CMDLINE_AT + text.length,
    CMDLINE_AT + text.length + PURGATORY_KJUMP_ROOM,
  );
  assert.equal(room.length, PURGATORY_KJUMP_ROOM);
  assert.ok(room.every((b) => b === 0), "NUL and room are zeros");
  // setup_data (the RNG seed node) begins after the room, 16-byte aligned.
  const setupData = u64(params.buf, 0x250) - params.mem;
  assert.equal(setupData, Math.ceil((CMDLINE_AT + text.length + PURGATORY_KJUMP_ROOM) / 16) * 16);
  assert.deepEqual(params.buf.subarray(setupData + 16, setupData + 48), SEED);
  assert.equal(u64(params.buf, 0x228) & 0xffffffff, params.mem + CMDLINE_AT, "cmd_line_ptr");
  // The text the new kernel gets is the caller's; the parameter comes at run time.
  assert.equal(p.cmdline, CMDLINE);
  assert.ok(p.notes.some((n) => n.includes("kexec_jump_back_entry=0x…")));
});

Deno.test("preserve-context plan: the purgatory's kexec-jump entry, slots and digests", () => {
  const p = plan();
  const page = byName(p, "purgatory");
  const params = byName(p, "boot_params");
  assert.equal(p.entry, page.mem + PURGATORY_KJUMP_ENTRY);
  assert.equal(
    u64(page.buf, blob.PURGATORY_KJUMP_CMDLINE_END_OFFSET),
    params.mem + CMDLINE_AT + CMDLINE.length,
    "cmdline_end: where the NUL is",
  );
  assert.equal(u64(page.buf, blob.PURGATORY_STACK_PAGE_OFFSET), params.mem + params.memsz - 4096);
  assert.ok(
    page.buf.subarray(blob.PURGATORY_KJUMP_START_OFFSET, blob.PURGATORY_KJUMP_END_OFFSET).some((
      b,
    ) => b !== 0),
  );
  // Each other segment is verified over its bytes as loaded, the room included.
  const count = u64(page.buf, blob.PURGATORY_REGION_COUNT_OFFSET);
  const others = p.segments.filter((s) => s.name !== "purgatory");
  assert.equal(count, others.length);
  for (let i = 0; i < count; i++) {
    const at = blob.PURGATORY_REGIONS_OFFSET + i * blob.PURGATORY_REGION_SIZE;
    const s = others.find((x) => x.mem === u64(page.buf, at));
    assert.ok(s);
    assert.equal(u64(page.buf, at + 8), s.buf.length);
    assert.deepEqual(page.buf.subarray(at + 16, at + 48), sha256(s.buf), s.name);
  }
  for (const s of p.segments) assert.ok(s.mem >= 0x5000_0000 && s.mem + s.memsz <= 0x7000_0000);
});

Deno.test("preserve-context plan with -i: no digests, still the stack page and the kexec-jump entry", () => {
  const p = plan({ verify: undefined });
  const page = byName(p, "purgatory");
  const params = byName(p, "boot_params");
  assert.equal(u64(page.buf, blob.PURGATORY_REGION_COUNT_OFFSET), 0);
  assert.equal(u64(page.buf, blob.PURGATORY_STACK_PAGE_OFFSET), params.mem + params.memsz - 4096);
  assert.equal(p.entry, page.mem + PURGATORY_KJUMP_ENTRY);
});

Deno.test("preserve-context plan: a command line that leaves no room for the parameter is refused", () => {
  // The synthetic kernel's cmdline_size is 0x7ff: the line, the parameter and its NUL must fit.
  const max = 0x7ff - PURGATORY_KJUMP_ROOM;
  assert.equal(byName(plan({ cmdline: "x".repeat(max) }), "boot_params").buf[CMDLINE_AT + max], 0);
  assert.throws(() => plan({ cmdline: "x".repeat(max + 1) }), (e: unknown) => {
    assert.ok(e instanceof KexecError);
    assert.match(e.message, /kexec_jump_back_entry= parameter .* accepts at most 2005/);
    return true;
  });
  // A normal load takes that line.
  assert.equal(plan({ cmdline: "x".repeat(max + 1), flags: 0 }).cmdline.length, max + 1);
});

Deno.test("the page's verify accepts the segments as loaded; kjump_append then writes into the room only", () => {
  const p = plan();
  const page = byName(p, "purgatory").buf.slice();
  const params = byName(p, "boot_params");
  // The segments' bytes in this process stand in for physical memory.
  const copies = new Map<number, Uint8Array>();
  const count = u64(page, blob.PURGATORY_REGION_COUNT_OFFSET);
  const view = new DataView(page.buffer);
  for (let i = 0; i < count; i++) {
    const at = blob.PURGATORY_REGIONS_OFFSET + i * blob.PURGATORY_REGION_SIZE;
    const mem = u64(page, at);
    const copy = p.segments.find((s) => s.mem === mem)!.buf.slice();
    copies.set(mem, copy);
    view.setBigUint64(at, BigInt(hostAddress(copy)), true);
  }
  const paramsCopy = copies.get(params.mem)!;
  const before = paramsCopy.slice();
  const cmdlineEnd = u64(page, blob.PURGATORY_KJUMP_CMDLINE_END_OFFSET) - params.mem;
  withPage(page, ({ verify, report, kjumpAppend }) => {
    assert.equal(verify(), blob.PURGATORY_VERIFY_OK, report(verify()));
    const written = kjumpAppend(paramsCopy, cmdlineEnd, 0x4ffe3c5an);
    const end = paramsCopy.indexOf(0, CMDLINE_AT);
    assert.equal(
      new TextDecoder().decode(paramsCopy.subarray(CMDLINE_AT, end)),
      `${CMDLINE} kexec_jump_back_entry=0x4ffe3c5a`,
    );
    assert.equal(end, cmdlineEnd + written);
    // Nothing outside the room changed: not boot_params, not setup_data.
    const roomEnd = cmdlineEnd + PURGATORY_KJUMP_ROOM;
    assert.deepEqual(paramsCopy.subarray(0, cmdlineEnd), before.subarray(0, cmdlineEnd));
    assert.deepEqual(paramsCopy.subarray(roomEnd), before.subarray(roomEnd));
    // Which is why the purgatory appends only after verifying: now it differs.
    const paramsIndex = [...Array(count).keys()].find((i) =>
      u64(page, blob.PURGATORY_REGIONS_OFFSET + i * blob.PURGATORY_REGION_SIZE) ===
        hostAddress(paramsCopy)
    );
    assert.equal(verify(), paramsIndex);
  });
});
