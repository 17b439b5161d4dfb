/**
 * The minimal gzip wrapper: a gzip'd kernel resolves to the format inside,
 * corrupt data and inflation past the limit are refused naming the file.
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { architecture } from "../../lib/arch/mod.ts";
import { KexecError } from "../../lib/errors.ts";
import { GZIP } from "../../lib/image/gzip.ts";
import { resolveKernel } from "../../lib/image/registry.ts";
import { syntheticKernel } from "../fixtures/bzimage.ts";

const X86 = architecture("x86_64");

Deno.test("a gzip'd bzImage resolves to the bzImage, unwrapped, with a note", () => {
  const kernel = syntheticKernel();
  const r = resolveKernel(new Uint8Array(gzipSync(kernel)), "/k.gz", X86);
  assert.equal(r.format.name, "bzImage");
  assert.ok(r.unwrapped);
  assert.deepEqual(r.bytes, kernel);
  assert.match(r.notes[0], /^\/k\.gz: gzip: \d+ bytes inflated to \d+$/);
});

Deno.test("corrupt gzip data and inflation past the limit are refused with the file named", () => {
  const packed = new Uint8Array(gzipSync(new Uint8Array(1 << 20)));
  assert.throws(
    () => GZIP.unwrap(packed, "/bomb.gz", { maxImageBytes: 4096 }),
    (e: unknown) =>
      e instanceof KexecError && /\/bomb\.gz: gzip data inflates to more/.test(e.message),
  );
  const broken = packed.slice(0, 20);
  assert.throws(
    () => GZIP.unwrap(broken, "/cut.gz", { maxImageBytes: 1 << 21 }),
    (e: unknown) => e instanceof KexecError && /\/cut\.gz: gzip data is corrupt/.test(e.message),
  );
});
