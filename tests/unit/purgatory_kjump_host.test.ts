// The kexec-jump part of the x86_64 purgatory page, run on this machine
// (tests/support/x86_64_purgatory_page.ts): kjump_append writes exactly
// " kexec_jump_back_entry=0x<hex>" and a NUL, never more than the room the
// planner reserves, as kexec-tools' purgatory formats it ("0x%lx").

import assert from "node:assert/strict";
import { buildPurgatory, PURGATORY_KJUMP_ROOM } from "../../lib/arch/x86_64/purgatory.ts";
import { withPage } from "../support/x86_64_purgatory_page.ts";

const kjumpPage = () =>
  buildPurgatory({
    entry64: 0x5100200,
    bootParams: 0x6fffe000,
    verify: [],
    stackPage: 0x6ffff000,
    kjump: { cmdlineEnd: 0x6fffe812 },
  });

const SENTINEL = 0xa5;

function appendInto(
  calls: { kjumpAppend(buf: Uint8Array, at: number, entry: bigint): number },
  prefix: string,
  entry: bigint,
): { text: string; written: number; buf: Uint8Array; at: number } {
  const at = prefix.length;
  const buf = new Uint8Array(at + PURGATORY_KJUMP_ROOM + 32).fill(SENTINEL);
  buf.set(new TextEncoder().encode(prefix));
  buf[at] = 0; // the command line's NUL
  const written = calls.kjumpAppend(buf, at, entry);
  const nul = buf.indexOf(0, at);
  return { text: new TextDecoder().decode(buf.subarray(0, nul)), written, buf, at };
}

Deno.test("kjump_append writes the jump-back parameter in kexec-tools' format", () => {
  withPage(kjumpPage(), (calls) => {
    for (
      const entry of [
        0n,
        1n,
        0xfn,
        0x10n,
        0x9a000n,
        0x4ffe3c5an,
        0x1_2345_6789n,
        0xffff_ffff_ffff_ffffn,
      ]
    ) {
      const r = appendInto(calls, "console=ttyS0 memmap=exactmap", entry);
      const expected = `console=ttyS0 memmap=exactmap kexec_jump_back_entry=0x${
        entry.toString(16)
      }`;
      assert.equal(r.text, expected);
      assert.equal(r.written, expected.length - r.at, "returned length");
      assert.equal(r.buf[r.at + r.written], 0, "NUL after the text");
    }
  });
});

Deno.test("kjump_append never writes beyond the reserved room, even for the longest entry", () => {
  withPage(kjumpPage(), (calls) => {
    const r = appendInto(calls, "", 0xffff_ffff_ffff_ffffn);
    assert.equal(r.written + 1, PURGATORY_KJUMP_ROOM, "the longest text fills the room exactly");
    assert.ok(r.buf.subarray(PURGATORY_KJUMP_ROOM).every((b) => b === SENTINEL));
    // An empty command line gets the parameter after one space, as the kernel splits it.
    assert.equal(r.text, " kexec_jump_back_entry=0xffffffffffffffff");
  });
});
