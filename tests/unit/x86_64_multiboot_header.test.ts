/**
 * Multiboot and Multiboot2 header parsing: where headers may be found, the
 * checksums, which flags and tags are honoured or ignored, and the one-line
 * refusals for requirements kexec cannot meet or malformed headers.
 */

import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import {
  findMultiboot1Header,
  parseMultiboot1Header,
} from "../../lib/arch/x86_64/multiboot/header1.ts";
import {
  findMultiboot2Header,
  parseMultiboot2Header,
} from "../../lib/arch/x86_64/multiboot/header2.ts";
import { mb1Header, mb2Header, XEN_MB2_TAGS } from "../fixtures/multiboot.ts";

function at(header: Uint8Array, offset: number, size = 0x10000): Uint8Array {
  const image = new Uint8Array(size);
  image.set(header, offset);
  return image;
}

function refused(f: () => unknown, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof KexecError, String(e));
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), "one line");
    assert.ok(e.hint, "a hint");
    return true;
  });
}

Deno.test("Multiboot: found 4-aligned within the first 8192 bytes, with a valid checksum only", () => {
  assert.equal(findMultiboot1Header(at(mb1Header(3), 0)), 0);
  assert.equal(findMultiboot1Header(at(mb1Header(3), 8188 - 8)), 8180);
  assert.equal(findMultiboot1Header(at(mb1Header(3), 8192)), undefined, "past the window");
  assert.equal(findMultiboot1Header(at(mb1Header(3), 6)), undefined, "not 4-aligned");
  const bad = mb1Header(3);
  bad[8] ^= 1;
  assert.equal(findMultiboot1Header(at(bad, 0)), undefined, "checksum");
  // A header cut off by the end of the file is not read past it.
  assert.equal(findMultiboot1Header(mb1Header(3).subarray(0, 11)), undefined);
  assert.equal(findMultiboot1Header(mb1Header(3)), 0);
  // The first valid one wins.
  const two = at(mb1Header(1), 64);
  two.set(mb1Header(2), 16);
  assert.equal(parseMultiboot1Header(two, "k").flags, 2);
});

Deno.test("Multiboot flags: page alignment and memory information are honoured", () => {
  const h = parseMultiboot1Header(at(mb1Header(0x3), 4), "k");
  assert.deepEqual(h, { offset: 4, flags: 3 });
  // Bits 16-31 other than 16 are optional features: ignored.
  assert.equal(parseMultiboot1Header(at(mb1Header(0x00020003), 0), "k").flags, 0x20003);
});

Deno.test("Multiboot flags: video mode and unknown requirement bits are refused, naming the file", () => {
  refused(() => parseMultiboot1Header(at(mb1Header(0x7), 0), "/boot/k"), /\/boot\/k.*video mode/);
  refused(
    () => parseMultiboot1Header(at(mb1Header(0x8003), 0), "/boot/k"),
    /\/boot\/k: Multiboot header at 0x0 requires features .*flags 0x8000/,
  );
  refused(() => parseMultiboot1Header(new Uint8Array(64), "/boot/k"), /no Multiboot header/);
});

Deno.test("Multiboot address fields (bit 16) are read; cut off before them is refused", () => {
  const fields = {
    headerAddr: 0x100010,
    loadAddr: 0x100000,
    loadEndAddr: 0x100800,
    bssEndAddr: 0x102000,
    entryAddr: 0x100020,
  };
  const h = parseMultiboot1Header(at(mb1Header(0x10003, fields), 16), "k");
  assert.deepEqual(h.addresses, fields);
  const cut = mb1Header(0x10003, fields).subarray(0, 20);
  refused(() => parseMultiboot1Header(cut, "k"), /cut off before its address fields/);
});

Deno.test("Multiboot2: found 8-aligned within the first 32768 bytes, with a valid checksum only", () => {
  const h = mb2Header([]);
  assert.equal(findMultiboot2Header(at(h, 32768 - 16, 0x9000)), 32752);
  assert.equal(findMultiboot2Header(at(h, 32768, 0x9000)), undefined);
  assert.equal(findMultiboot2Header(at(h, 12)), undefined, "not 8-aligned");
  const bad = h.slice();
  bad[12] ^= 0x80;
  assert.equal(findMultiboot2Header(at(bad, 0)), undefined);
});

Deno.test("Multiboot2: Xen's header: requests, relocatable range, optional tags noted", () => {
  const h = parseMultiboot2Header(at(mb2Header(XEN_MB2_TAGS), 0x98), "xen.gz");
  assert.equal(h.offset, 0x98);
  assert.deepEqual(h.requests, [{ type: 4, required: true }, { type: 6, required: true }]);
  assert.deepEqual(h.relocatable, {
    minAddr: 0x200000,
    maxAddr: 0xffffffff,
    align: 0x200000,
    preference: "high",
  });
  assert.deepEqual(h.ignored, [
    "console flags",
    "framebuffer",
    "EFI boot services",
    "EFI amd64 entry address",
  ]);
  assert.equal(h.addresses, undefined);
  assert.equal(h.entryAddr, undefined);
});

Deno.test("Multiboot2: address and entry address tags", () => {
  const h = parseMultiboot2Header(
    at(
      mb2Header([
        { type: 2, fields: [0x100008, 0x100000, 0, 0x104000] },
        { type: 3, fields: [0x100040] },
        { type: 1, optional: true, fields: [1, 12] },
      ]),
      8,
    ),
    "k",
  );
  assert.deepEqual(h.addresses, {
    headerAddr: 0x100008,
    loadAddr: 0x100000,
    loadEndAddr: 0,
    bssEndAddr: 0x104000,
  });
  assert.equal(h.entryAddr, 0x100040);
  assert.deepEqual(h.requests, [{ type: 1, required: false }, { type: 12, required: false }]);
});

Deno.test("Multiboot2: required tags kexec cannot honour are refused with the reason", () => {
  const cases: [number, number[], RegExp][] = [
    [7, [], /requires EFI boot services \(tag type 7\).*EFI boot services run/],
    [8, [0x100000], /requires EFI i386 entry address/],
    [9, [0x100000], /requires EFI amd64 entry address/],
    [5, [1024, 768, 32], /requires a framebuffer \(tag type 5\), which kexec cannot set up/],
    [11, [], /requires header tag type 11, which the Multiboot2 specification does not define/],
  ];
  for (const [type, fields, pattern] of cases) {
    refused(() => parseMultiboot2Header(at(mb2Header([{ type, fields }]), 0), "/k"), pattern);
    // The same tag marked optional is ignored.
    const ok = parseMultiboot2Header(at(mb2Header([{ type, fields, optional: true }]), 0), "/k");
    assert.equal(ok.ignored.length, 1);
  }
  // Console flags: refused only when a console is required (bit 0), not for EGA support.
  refused(
    () => parseMultiboot2Header(at(mb2Header([{ type: 4, fields: [1] }]), 0), "/k"),
    /requires a console flags/,
  );
  assert.deepEqual(
    parseMultiboot2Header(at(mb2Header([{ type: 4, fields: [2] }]), 0), "/k").ignored,
    ["console flags"],
  );
});

Deno.test("Multiboot2: malformed headers are refused in one line", () => {
  refused(
    () => parseMultiboot2Header(at(mb2Header([], { architecture: 4 }), 0), "/k"),
    /architecture 4, not i386/,
  );
  refused(
    () => parseMultiboot2Header(at(mb2Header([{ type: 3, fields: [1, 2] }]), 0), "/k"),
    /tag type 3 at 0x10 of size 16/,
  );
  refused(
    () => parseMultiboot2Header(at(mb2Header([{ type: 6, size: 4 }]), 0), "/k"),
    /size 4, past the header's end/,
  );
  refused(
    () => parseMultiboot2Header(at(mb2Header([{ type: 6, size: 0x1000 }]), 0), "/k"),
    /past the header's end/,
  );
  refused(
    () => parseMultiboot2Header(at(mb2Header([{ type: 10, fields: [0, 1, 3, 0] }]), 0), "/k"),
    /relocatable alignment 0x3/,
  );
  refused(
    () => parseMultiboot2Header(at(mb2Header([{ type: 10, fields: [0, 1, 4, 3] }]), 0), "/k"),
    /relocatable preference 3/,
  );
  refused(
    () => parseMultiboot2Header(at(mb2Header([{ type: 10, fields: [9, 1, 4, 0] }]), 0), "/k"),
    /ends before it starts/,
  );
  // No end tag: the header ends after a tag.
  const noEnd = mb2Header([{ type: 6 }]);
  const v = new DataView(noEnd.buffer);
  v.setUint32(8, 24, true);
  v.setUint32(12, -(0xe85250d6 + 24) >>> 0, true);
  refused(() => parseMultiboot2Header(at(noEnd, 0), "/k"), /has no end tag/);
  // header_length beyond the file.
  const long = mb2Header([]);
  new DataView(long.buffer).setUint32(8, 0x10000, true);
  new DataView(long.buffer).setUint32(12, -(0xe85250d6 + 0x10000) >>> 0, true);
  refused(() => parseMultiboot2Header(at(long, 0, 0x1000), "/k"), /header_length 65536/);
  refused(() => parseMultiboot2Header(new Uint8Array(64), "/k"), /no Multiboot2 header/);
});
