// lib/fdt/parse.ts on malformed blobs: each is refused with a KexecError that
// names the blob and the problem. Blobs are built by hand (tests/fixtures/fdt.ts
// rawBlob, from the spec's layout) so that exactly one thing is wrong in each.
import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import { parseFdt } from "../../lib/fdt/fdt.ts";
import { dtc, rawBlob, TOKEN } from "../fixtures/fdt.ts";

const { BEGIN, END_NODE, PROP, NOP, END } = TOKEN;

function refused(blob: Uint8Array, pattern: RegExp): KexecError {
  let error: unknown;
  try {
    parseFdt(blob, "bad.dtb");
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof KexecError, `not refused with a KexecError: ${error}`);
  assert.match(error.message, /^device tree bad\.dtb: /);
  assert.match(error.message, pattern);
  assert.ok(error.hint, "a hint");
  assert.equal(error.exitCode, 255);
  return error;
}

/** A valid structure block: / { a = <1>; n { }; }; with strings "a\0". */
const GOOD: (number | string)[] = [BEGIN, "", PROP, 4, 0, 1, BEGIN, "n", END_NODE, END_NODE, END];

Deno.test("the hand-made reference blob is valid, so each case below breaks one thing", () => {
  const fdt = parseFdt(rawBlob({ struct: GOOD, strings: "a\0" }));
  assert.equal(fdt.root.properties[0].name, "a");
  assert.equal(fdt.root.children[0].name, "n");
});

Deno.test("header: too short, no magic, truncated, bad sizes and versions", () => {
  const good = rawBlob({ struct: GOOD, strings: "a\0" });
  assert.match(refused(new Uint8Array(0), /0 bytes is too short/).hint!, /flattened device tree/);
  assert.match(refused(good.subarray(0, 39), /39 bytes is too short/).hint!, /cut short/);
  refused(new TextEncoder().encode("\x7fELF".padEnd(64, "\0")), /no magic 0xd00dfeed/);
  assert.match(refused(good.subarray(0, good.length - 1), /truncated/).hint!, /cut short/);
  refused(rawBlob({ struct: GOOD, strings: "a\0", header: [[4, 39]] }), /totalsize 39 is smaller/);
  refused(rawBlob({ struct: GOOD, strings: "a\0", header: [[0x14, 16]] }), /version 16/);
  refused(rawBlob({ struct: GOOD, strings: "a\0", header: [[0x18, 18]] }), /compatible back to 18/);
});

Deno.test("every truncation of a real blob is refused", async () => {
  const blob = await dtc(`/dts-v1/;\n/memreserve/ 0x1000 0x1000;\n/ { a = <1>; n { b = "x"; }; };`);
  for (let length = 0; length < blob.length; length++) {
    assert.throws(() => parseFdt(blob.subarray(0, length)), KexecError, `length ${length}`);
  }
});

Deno.test("blocks: outside the blob, misaligned, overlapping", () => {
  const at = (header: [number, number][]) => rawBlob({ struct: GOOD, strings: "a\0", header });
  refused(at([[0x10, 0x2c]]), /memory reservation block at 0x2c .* 8-byte aligned/);
  refused(at([[0x10, 0x20]]), /memory reservation block at 0x20 .* after the header/);
  refused(at([[0x08, 0x3a]]), /structure block at 0x3a .* 4-byte aligned/);
  refused(at([[0x24, 0x1000]]), /structure block at 0x38 \(4096 bytes\) is not inside/);
  refused(at([[0x20, 0x1000]]), /strings block at .* is not inside/);
  refused(at([[0x0c, 0x38]]), /the structure block and the strings block overlap/);
  refused(at([[0x08, 0x28]]), /the memory reservation block and the structure block overlap/);
});

Deno.test("memory reservation block: terminator, zero sizes, huge entries", () => {
  const strings = "a\0";
  // The list runs into the structure block, which holds no 16 zero bytes: no terminator.
  refused(
    rawBlob({ struct: GOOD, strings, header: [[0x10, 0x38 + 0x18]] }),
    /has no terminating entry|overlap/,
  );
  const noEnd = rawBlob({ struct: GOOD, strings, free: 16 });
  new DataView(noEnd.buffer).setUint32(0x10, Math.floor((noEnd.length - 8) / 8) * 8);
  refused(noEnd, /has no terminating entry/);
  refused(
    rawBlob({ struct: GOOD, strings, reservations: [[0x1000n, 0n]] }),
    /entry 0 at 0x1000 has size 0/,
  );
  refused(
    rawBlob({ struct: GOOD, strings, reservations: [[1n << 60n, 0x1000n]] }),
    /entry 0 .* ends beyond any physical address/,
  );
  const ok = parseFdt(rawBlob({ struct: GOOD, strings, reservations: [[0x4000n, 0x1000n]] }));
  assert.deepEqual(ok.reservations, [{ address: 0x4000, size: 0x1000 }]);
});

Deno.test("structure block: tokens, FDT_END and node nesting", () => {
  const blob = (struct: (number | string | Uint8Array)[], strings = "a\0") =>
    rawBlob({ struct, strings });
  refused(blob([BEGIN, "", 7, END_NODE, END]), /unknown token 0x7 at structure block offset 0x8/);
  refused(blob([BEGIN, "", END_NODE]), /ends without FDT_END/);
  refused(blob([BEGIN, "", END_NODE, END, NOP]), /4 bytes after FDT_END/);
  refused(blob([BEGIN, "", BEGIN, "n", END_NODE, END]), /FDT_END .* inside \/ \(1 open nodes\)/);
  refused(blob([NOP, END]), /FDT_END at .* before any node/);
  refused(blob([BEGIN, "", END_NODE, BEGIN, "", END_NODE, END]), /a second root node/);
  refused(blob([END_NODE, END]), /FDT_END_NODE outside any node/);
  refused(blob([PROP, 0, 0, END]), /a property outside any node/);
  refused(
    blob([BEGIN, "", BEGIN, "n", END_NODE, PROP, 4, 0, 1, END_NODE, END]),
    /a property after a child node of \//,
  );
  refused(
    blob([BEGIN, "", BEGIN, "n", END_NODE, BEGIN, "n", END_NODE, END_NODE, END]),
    /two nodes named \/n/,
  );
  refused(blob([BEGIN, "", BEGIN, "", END_NODE, END_NODE, END]), /in \/ has the name ''/);
  refused(blob([BEGIN, "", BEGIN, "a/b", END_NODE, END_NODE, END]), /has the name 'a\/b'/);
  // NOPs anywhere are fine.
  const nops = parseFdt(
    blob([
      NOP,
      BEGIN,
      "",
      NOP,
      PROP,
      0,
      0,
      NOP,
      BEGIN,
      "n",
      NOP,
      END_NODE,
      NOP,
      END_NODE,
      NOP,
      END,
    ]),
  );
  assert.equal(nops.root.children[0].name, "n");
});

Deno.test("names: unterminated, too long, out of range, empty", () => {
  const blob = (struct: (number | string | Uint8Array)[], strings = "a\0") =>
    rawBlob({ struct, strings });
  refused(
    blob([BEGIN, "", PROP, 0, 2, END_NODE, END]),
    /name offset 0x2 is outside the strings block/,
  );
  refused(blob([BEGIN, "", PROP, 0, 0, END_NODE, END], "ab"), /not NUL-terminated/);
  refused(blob([BEGIN, "", PROP, 0, 0, END_NODE, END], `${"p".repeat(256)}\0`), /within 255 bytes/);
  assert.equal(
    parseFdt(blob([BEGIN, "", PROP, 0, 0, END_NODE, END], `${"p".repeat(255)}\0`)).root
      .properties[0].name.length,
    255,
  );
  refused(blob([BEGIN, "", PROP, 0, 1, END_NODE, END], "a\0"), /has an empty name/);
  refused(
    blob([BEGIN, "", BEGIN, "x".repeat(256), END_NODE, END_NODE, END]),
    /node name .* within 255/,
  );
  // A node name running to the end of the structure block.
  const unterminated = new TextEncoder().encode("abcd");
  refused(blob([BEGIN, "", BEGIN, unterminated]), /node name .* not NUL-terminated/);
  refused(blob([BEGIN, "", PROP, 4]), /property at .* runs past the structure block/);
  refused(blob([BEGIN, "", PROP, 0x1000, 0, END_NODE, END]), /\(4096 bytes\) runs past/);
  refused(blob([BEGIN, "", PROP, 0, 0, PROP, 0, 0, END_NODE, END]), /two properties 'a' in \//);
});

Deno.test("nesting: 64 levels are read, 65 refused", () => {
  const nested = (depth: number) => [
    BEGIN,
    "",
    ...Array.from({ length: depth - 1 }, () => [BEGIN, "n"]).flat(),
    ...Array.from({ length: depth }, () => END_NODE),
    END,
  ];
  let node = parseFdt(rawBlob({ struct: nested(64) })).root;
  let depth = 1;
  while (node.children.length) [node, depth] = [node.children[0], depth + 1];
  assert.equal(depth, 64);
  refused(rawBlob({ struct: nested(65) }), /nested deeper than 64/);
});

Deno.test("random garbage and bit flips of a real blob: a tree or a KexecError, nothing else", async () => {
  const blob = await dtc(
    `/dts-v1/;\n/memreserve/ 0x1000 0x1000;\n/ { a = <1>; n { b = "x"; c; }; };`,
  );
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const input = blob.slice();
    for (let n = 1 + Math.floor(next() * 4); n > 0; n--) {
      input[Math.floor(next() * input.length)] ^= 1 << Math.floor(next() * 8);
    }
    try {
      parseFdt(input);
      accepted++;
    } catch (e) {
      assert.ok(e instanceof KexecError, `input ${i}: ${e}`);
    }
  }
  assert.ok(accepted > 0, "some flips (in values) keep the blob valid");
});
