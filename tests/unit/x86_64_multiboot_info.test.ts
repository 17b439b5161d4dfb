/**
 * The boot information both versions hand the kernel, read back the way a
 * kernel reads it (pointers are physical addresses into the buffer):
 * Multiboot 0.6.96 3.3 and Multiboot2 2.0 3.6 layouts, the memory summary,
 * and which Multiboot2 information requests are met, left out or refused.
 */

import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import {
  buildMultiboot1Info,
  encodeStrings,
  MB1_INFO_FLAG,
  multiboot1InfoSize,
} from "../../lib/arch/x86_64/multiboot/info1.ts";
import {
  buildMultiboot2Info,
  checkInformationRequests,
  multiboot2InfoSize,
} from "../../lib/arch/x86_64/multiboot/info2.ts";
import { basicMemory, multibootMemoryMap } from "../../lib/arch/x86_64/multiboot/memory.ts";

const BASE = 0x7ffc0000;
const MAP = [
  { addr: 0, size: 0x9fc00, type: 1 },
  { addr: 0x9fc00, size: 0x400, type: 2 },
  { addr: 0x100000, size: 0x7fee0000, type: 1 },
  { addr: 0xfd00000000, size: 0x300000000, type: 2 },
];
const MODULES = [
  { start: 0x1000000, end: 0x1800123, cmdline: '/boot/vmlinuz root=/dev/sda1 x="a b"' },
  { start: 0x2000000, end: 0x2000000, cmdline: "/boot/empty" },
];
const INPUT = {
  cmdline: "/boot/xen.gz console=com1 é",
  bootLoaderName: "kexec (Deno)",
  memory: { lowerKiB: 639, upperKiB: 2096000 },
  memoryMap: MAP,
  modules: MODULES,
};

/** Reads a NUL-terminated string at physical `address` of a buffer loaded at BASE. */
function cstring(info: Uint8Array, address: number): string {
  const at = address - BASE;
  assert.ok(at >= 0 && at < info.length, `pointer 0x${address.toString(16)} outside the buffer`);
  const end = info.indexOf(0, at);
  assert.ok(end >= 0, "string not terminated");
  return new TextDecoder().decode(info.subarray(at, end));
}

Deno.test("Multiboot information: flags, memory, command line, loader name, modules, memory map", () => {
  const info = buildMultiboot1Info({ ...INPUT, base: BASE });
  assert.equal(info.length, multiboot1InfoSize(INPUT));
  const v = new DataView(info.buffer);
  const u32 = (at: number) => v.getUint32(at, true);
  assert.equal(
    u32(0),
    MB1_INFO_FLAG.MEMORY | MB1_INFO_FLAG.CMDLINE | MB1_INFO_FLAG.MODS | MB1_INFO_FLAG.MMAP |
      MB1_INFO_FLAG.BOOT_LOADER_NAME,
  );
  assert.deepEqual([u32(4), u32(8)], [639, 2096000]);
  assert.equal(u32(12), 0, "no boot device");
  assert.equal(cstring(info, u32(16)), INPUT.cmdline);
  assert.equal(cstring(info, u32(64)), "kexec (Deno)");
  assert.equal(u32(20), 2);
  const mods = u32(24) - BASE;
  for (const [i, m] of MODULES.entries()) {
    const at = mods + 16 * i;
    assert.deepEqual([u32(at), u32(at + 4)], [m.start, m.end]);
    assert.equal(cstring(info, u32(at + 8)), m.cmdline);
    assert.equal(u32(at + 12), 0);
  }
  // mmap_addr points at the first size field; each entry is size + 4 bytes.
  assert.equal(u32(44), 24 * MAP.length);
  let at = u32(48) - BASE;
  const entries = [];
  while (at < u32(48) - BASE + u32(44)) {
    entries.push({
      addr: Number(v.getBigUint64(at + 4, true)),
      size: Number(v.getBigUint64(at + 12, true)),
      type: u32(at + 20),
    });
    at += u32(at) + 4;
  }
  assert.deepEqual(entries, MAP);
  for (const field of [28, 32, 36, 40, 52, 56, 60, 68, 72, 76, 80, 84, 88]) {
    assert.equal(u32(field), 0, `field at ${field} is not passed`);
  }
});

Deno.test("Multiboot information without modules: bit 3 clear, mods_addr 0", () => {
  const info = buildMultiboot1Info({ ...INPUT, modules: [], base: BASE });
  const v = new DataView(info.buffer);
  assert.equal(v.getUint32(0, true) & MB1_INFO_FLAG.MODS, 0);
  assert.equal(v.getUint32(24, true), 0);
});

interface Tag {
  type: number;
  size: number;
  at: number;
}

function tagsOf(info: Uint8Array): Tag[] {
  const v = new DataView(info.buffer);
  assert.equal(v.getUint32(0, true), info.length, "total_size");
  const tags: Tag[] = [];
  let at = 8;
  for (;;) {
    assert.equal(at % 8, 0, "tags are 8-byte aligned");
    const tag = { type: v.getUint32(at, true), size: v.getUint32(at + 4, true), at };
    tags.push(tag);
    if (tag.type === 0) break;
    at += Math.ceil(tag.size / 8) * 8;
  }
  assert.equal(at + 8, info.length, "the end tag is last");
  return tags;
}

Deno.test("Multiboot2 information: tags in order, strings, modules, meminfo, mmap, end", () => {
  const info = buildMultiboot2Info({ ...INPUT, base: BASE });
  assert.equal(info.length, multiboot2InfoSize(INPUT));
  const v = new DataView(info.buffer);
  const tags = tagsOf(info);
  assert.deepEqual(tags.map((t) => t.type), [1, 2, 3, 3, 4, 6, 0]);
  const str = (t: Tag, offset: number) => {
    const bytes = info.subarray(t.at + offset, t.at + t.size);
    assert.equal(bytes.at(-1), 0, "NUL inside the tag's size");
    return new TextDecoder().decode(bytes.subarray(0, -1));
  };
  assert.equal(str(tags[0], 8), INPUT.cmdline);
  assert.equal(str(tags[1], 8), "kexec (Deno)");
  for (const [i, m] of MODULES.entries()) {
    const t = tags[2 + i];
    assert.deepEqual([v.getUint32(t.at + 8, true), v.getUint32(t.at + 12, true)], [m.start, m.end]);
    assert.equal(str(t, 16), m.cmdline);
  }
  assert.deepEqual([v.getUint32(tags[4].at + 8, true), v.getUint32(tags[4].at + 12, true)], [
    639,
    2096000,
  ]);
  const mmap = tags[5];
  assert.deepEqual([v.getUint32(mmap.at + 8, true), v.getUint32(mmap.at + 12, true)], [24, 0]);
  assert.equal(mmap.size, 16 + 24 * MAP.length);
  const entries = MAP.map((_, i) => {
    const at = mmap.at + 16 + 24 * i;
    return {
      addr: Number(v.getBigUint64(at, true)),
      size: Number(v.getBigUint64(at + 8, true)),
      type: v.getUint32(at + 16, true),
    };
  });
  assert.deepEqual(entries, MAP);
  assert.equal(tags[6].size, 8);
});

Deno.test("Multiboot2 information: EFI system table (64 or 32) and load base address when given", () => {
  const info = buildMultiboot2Info({
    ...INPUT,
    base: BASE,
    efiSystemTable: { address: 0x17f9e0018, bits: 64 },
    loadBaseAddr: 0x7fa00000,
  });
  const v = new DataView(info.buffer);
  const tags = tagsOf(info);
  const efi = tags.find((t) => t.type === 12)!;
  assert.equal(efi.size, 16);
  assert.equal(v.getBigUint64(efi.at + 8, true), 0x17f9e0018n);
  const base = tags.find((t) => t.type === 21)!;
  assert.equal(base.size, 12);
  assert.equal(v.getUint32(base.at + 8, true), 0x7fa00000);
  const info32 = buildMultiboot2Info({
    ...INPUT,
    base: BASE,
    efiSystemTable: { address: 0x7f9e0018, bits: 32 },
  });
  const efi32 = tagsOf(info32).find((t) => t.type === 11)!;
  assert.equal(efi32.size, 12);
  assert.equal(new DataView(info32.buffer).getUint32(efi32.at + 8, true), 0x7f9e0018);
});

Deno.test("the buffers refuse a NUL inside a string and a base they cannot describe", () => {
  const nul = { ...INPUT, modules: [{ start: 0, end: 0, cmdline: "/m a\0b" }] };
  for (const build of [buildMultiboot1Info, buildMultiboot2Info]) {
    assert.throws(
      () => build({ ...nul, base: BASE }),
      (e: unknown) => e instanceof KexecError && /contains a NUL byte/.test(e.message),
    );
    assert.throws(() => build({ ...INPUT, base: 0xffffff00 }), KexecError);
  }
  assert.throws(() => buildMultiboot2Info({ ...INPUT, base: BASE + 4 }), /8-byte aligned/);
  assert.deepEqual(encodeStrings(["ab", ""]), [new Uint8Array([97, 98, 0]), new Uint8Array([0])]);
});

Deno.test("information requests: met, left out when unavailable, refused when impossible", () => {
  const req = (type: number, required = true) => ({ type, required });
  assert.deepEqual(
    checkInformationRequests([1, 2, 3, 4, 6, 21].map((t) => req(t)), "k", false),
    [],
  );
  // EFI system tables are met on EFI machines and left out elsewhere.
  assert.deepEqual(checkInformationRequests([req(12)], "k", true), []);
  assert.match(
    checkInformationRequests([req(12)], "k", false)[0],
    /type 12 requested \(required\)/,
  );
  // Unavailable information is left out, as the specification allows.
  for (const type of [5, 7, 8, 9, 10, 13, 14, 15, 16]) {
    assert.equal(checkInformationRequests([req(type)], "k", true).length, 1, `type ${type}`);
  }
  // What only exists during EFI boot services, required: refused; optional: left out.
  for (const type of [17, 18, 19, 20]) {
    assert.throws(
      () => checkInformationRequests([req(type)], "/xen", true),
      (e: unknown) =>
        e instanceof KexecError && e.message.startsWith("kernel /xen requires ") &&
        /exists only while EFI boot services run/.test(e.message),
    );
    assert.equal(checkInformationRequests([req(type, false)], "k", true).length, 1);
  }
  assert.throws(
    () => checkInformationRequests([req(22)], "/k", false),
    /type 22, which the specification does not define/,
  );
  assert.deepEqual(checkInformationRequests([req(22, false)], "/k", false), []);
});

Deno.test("memory summary: conventional memory up to 640 KiB, upper from 1 MiB to the first hole", () => {
  assert.deepEqual(
    basicMemory([
      { start: 0, end: 0x9fc00, kind: "ram" },
      { start: 0x100000, end: 0x200000, kind: "ram" },
      { start: 0x200000, end: 0x7ffe0000, kind: "ram" }, // adjacent: one range
      { start: 0x100000000, end: 0x180000000, kind: "ram" },
    ]),
    { lowerKiB: 639, upperKiB: (0x7ffe0000 - 0x100000) / 1024 },
  );
  // /proc/iomem hides the first page; RAM to 1 MiB and beyond caps lower at 640 KiB.
  assert.deepEqual(basicMemory([{ start: 0x1000, end: 0x40000000, kind: "ram" }]), {
    lowerKiB: 640,
    upperKiB: (0x40000000 - 0x100000) / 1024,
  });
  assert.deepEqual(basicMemory([{ start: 0x100000, end: 0x200000, kind: "reserved" }]), {
    lowerKiB: 0,
    upperKiB: 0,
  });
  assert.deepEqual(multibootMemoryMap([{ start: 0xe0000, end: 0x100000, kind: "acpi" }]), [
    { addr: 0xe0000, size: 0x20000, type: 3 },
  ]);
});
