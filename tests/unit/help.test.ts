/** --help and the man page come from the option table and stay in sync with it. */

import assert from "node:assert/strict";
import { helpText, manPage } from "../../lib/cli/help.ts";
import { OPTIONS } from "../../lib/cli/options.ts";

Deno.test("--help lists every visible option and fits 100 columns", () => {
  const text = helpText();
  for (const spec of OPTIONS.filter((o) => !o.hidden)) {
    for (const long of spec.long) assert.ok(text.includes(`--${long}`), long);
    if (spec.short) assert.ok(text.includes(`-${spec.short},`), spec.short);
  }
  for (const line of text.split("\n")) assert.ok(line.length <= 100, line);
});

Deno.test("--help also names every kexec-tools compatibility option (kexec(8) details them)", () => {
  const text = helpText();
  const compat = OPTIONS.filter((o) => o.group === "compat");
  assert.ok(compat.length > 0);
  for (const spec of compat) {
    for (const long of spec.long) assert.match(text, new RegExp(`--${long}[ =:\n]`), long);
  }
  // Only the help and help-usage rows stay out of --help.
  const unnamed = OPTIONS.filter((o) => o.hidden && o.group !== "compat")
    .flatMap((o) => o.long)
    .filter((l) => !text.includes(`--${l}`));
  assert.deepEqual(unnamed, []);
});

Deno.test("the man page lists every option, hidden ones too", () => {
  const page = manPage();
  for (const spec of OPTIONS) {
    for (const long of spec.long) {
      assert.ok(page.includes(`\\-\\-${long.replaceAll("-", "\\-")}`), long);
    }
  }
});

Deno.test("docs/kexec.8 is the generated man page (run 'deno task man')", () => {
  const file = Deno.readTextFileSync(new URL("../../docs/kexec.8", import.meta.url));
  assert.equal(file, manPage());
});
