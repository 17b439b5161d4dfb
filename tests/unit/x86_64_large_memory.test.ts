/**
 * Memory above 4 GiB (issue 13): placement and e820 on the end-to-end 6 GiB
 * guest's real memory map (tests/fixtures/machines/memmap-qemu-seabios-6g.txt),
 * with the 100 MiB initrd of that test, and everything above 4 GiB when
 * --mem-min asks for it.
 */

import assert from "node:assert/strict";
import { planBzImage64 } from "../../lib/arch/x86_64/bzimage.ts";
import { parseFirmwareMemmap } from "../../lib/memory/memmap.ts";
import type { Segment } from "../../lib/plan/types.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";
import { memmapFixture } from "../fixtures/fixtures.ts";

const FOUR_GIB = 2 ** 32;
const INITRD_BYTES = 100 * 2 ** 20 + 4099 + 0x100000; // the e2e's file, its archive and stage 2
const map = parseFirmwareMemmap([...memmapFixture("machines/memmap-qemu-seabios-6g.txt").values()]);

function plan(memMin?: number) {
  return planBzImage64({
    kernel: syntheticKernel(),
    kernelPath: "/e2e/vmlinuz",
    initrd: new Uint8Array(INITRD_BYTES),
    cmdline: "console=ttyS0 panic=-1",
    memoryMap: map,
    memoryMapSource: "/sys/firmware/memmap",
    memMin,
    rngSeed: new Uint8Array(32),
    pageSize: 4096,
    flags: 0,
  });
}

const seg = (segments: readonly Segment[], name: string) => segments.find((s) => s.name === name)!;

Deno.test("6 GiB guest: e820 carries every range, the 3 GiB above 4 GiB included", () => {
  const bp = seg(plan().segments, "boot_params").buf;
  const v = new DataView(bp.buffer, bp.byteOffset, 4096);
  const e820 = Array.from({ length: bp[0x1e8] }, (_, i) => {
    const at = 0x2d0 + 20 * i;
    return [
      Number(v.getBigUint64(at, true)),
      Number(v.getBigUint64(at + 8, true)),
      v.getUint32(at + 16, true),
    ];
  });
  assert.deepEqual(e820, [
    [0x0, 0x9fc00, 1],
    [0x9fc00, 0x400, 2],
    [0xf0000, 0x10000, 2],
    [0x100000, 0xbfee0000, 1],
    [0xbffe0000, 0x20000, 2],
    [0xfffc0000, 0x40000, 2],
    [0x100000000, 0xc0000000, 1],
    [0xfd00000000, 0x300000000, 2],
  ]);
});

Deno.test("6 GiB guest: kernel at pref_address, initrd top-down below initrd_addr_max, the rest below 4 GiB", () => {
  const p = plan();
  assert.equal(seg(p.segments, "kernel").mem, 0x1000000);
  const initrd = seg(p.segments, "initrd");
  assert.equal(initrd.mem + initrd.memsz, 0x80000000, "ends at initrd_addr_max + 1");
  assert.equal(initrd.mem % 4096, 0);
  for (const name of ["boot_params", "purgatory"]) {
    const s = seg(p.segments, name);
    assert.ok(
      s.mem + s.memsz <= 0xbffe0000 && s.mem > 0xbf000000,
      `${name} at 0x${s.mem.toString(16)}`,
    );
  }
  const bp = seg(p.segments, "boot_params").buf;
  const v = new DataView(bp.buffer, bp.byteOffset, 4096);
  assert.equal(v.getUint32(0x218, true), initrd.mem);
  assert.equal(v.getUint32(0x0c0, true), 0, "ext_ramdisk_image: below 4 GiB");
});

Deno.test("6 GiB guest with --mem-min=4G: every segment above 4 GiB, both pointer halves written", () => {
  const p = plan(FOUR_GIB);
  for (const s of p.segments) {
    assert.ok(
      s.mem >= FOUR_GIB && s.mem + s.memsz <= 0x1c0000000,
      `${s.name} 0x${s.mem.toString(16)}`,
    );
  }
  assert.equal(seg(p.segments, "kernel").mem, FOUR_GIB, "2 MiB-aligned, first fit from 4 GiB");
  const params = seg(p.segments, "boot_params");
  const initrd = seg(p.segments, "initrd");
  const v = new DataView(params.buf.buffer, params.buf.byteOffset, 4096);
  assert.equal(v.getUint32(0x218, true) + v.getUint32(0x0c0, true) * FOUR_GIB, initrd.mem);
  assert.equal(v.getUint32(0x21c, true), INITRD_BYTES);
  assert.equal(v.getUint32(0x0c4, true), 0, "ext_ramdisk_size");
  assert.equal(
    v.getUint32(0x228, true) + v.getUint32(0x0c8, true) * FOUR_GIB,
    params.mem + 4096,
    "cmd_line_ptr + ext_cmd_line_ptr: right after boot_params",
  );
  assert.equal(v.getUint32(0x0c8, true), 1);
  const notes = p.notes.join("\n");
  for (const name of ["initrd", "boot_params", "purgatory"]) {
    assert.match(notes, new RegExp(`${name}: no room below .*XLF_CAN_BE_LOADED_ABOVE_4G`));
  }
});
