import assert from "node:assert/strict";
import { KexecError } from "../../lib/errors.ts";
import { encodeCmdline } from "../../lib/arch/x86_64/cmdline.ts";

Deno.test("cmdline: 2046 characters fit a kernel with cmdline_size 2047, 2047 do not", () => {
  const ok = encodeCmdline("a".repeat(2046), 2047, "/k");
  assert.equal(ok.length, 2047);
  assert.equal(ok[2046], 0);
  assert.throws(
    () => encodeCmdline("a".repeat(2047), 2047, "/k"),
    (e: unknown) =>
      e instanceof KexecError &&
      e.message ===
        "command line is 2047 bytes; kernel /k accepts at most 2046 (cmdline_size 2047 minus the terminating NUL)" &&
      /shorten it by 1 bytes/.test(e.hint ?? ""),
  );
});

Deno.test("cmdline: the limit counts UTF-8 bytes, and follows the kernel's cmdline_size", () => {
  // "é" is two bytes: 127 of them = 254 bytes fit 255, 128 = 256 do not.
  assert.equal(encodeCmdline("é".repeat(127), 256, "/k").length, 255);
  assert.throws(() => encodeCmdline("é".repeat(128), 256, "/k"), /is 256 bytes.*at most 255/);
  assert.deepEqual([...encodeCmdline("", 2047, "/k")], [0]);
});

Deno.test("cmdline: an embedded NUL is refused", () => {
  assert.throws(
    () => encodeCmdline("root=/dev/sda\0 quiet", 2047, "/k"),
    (e: unknown) => e instanceof KexecError && /NUL byte at offset 13/.test(e.message),
  );
});
