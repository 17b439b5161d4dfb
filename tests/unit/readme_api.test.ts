/**
 * README's "Library use" names the library as lib/mod.ts exports it: every
 * exported function, class and constant is named there, and every name the
 * section gives is an export (a value, or a type lib/mod.ts re-exports).
 */

import assert from "node:assert/strict";
import * as mod from "../../lib/mod.ts";

const README = Deno.readTextFileSync(new URL("../../README.md", import.meta.url));
const MOD = Deno.readTextFileSync(new URL("../../lib/mod.ts", import.meta.url));

function librarySection(): string {
  const start = README.indexOf("\n## Library use\n");
  assert.ok(start >= 0, "README has a Library use section");
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

// Every name lib/mod.ts exports, values and types, as its export lists spell them.
function exportedNames(): Set<string> {
  const names = new Set<string>();
  const code = MOD.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  for (const [, list] of code.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of list.split(",")) {
      const words = item.trim().replace(/^type\s+/, "").split(/\s+as\s+/);
      if (words[0]) names.add(words.at(-1)!.trim());
    }
  }
  return names;
}

Deno.test("README's Library use names every function, class and constant lib/mod.ts exports", () => {
  const section = librarySection();
  const missing = Object.keys(mod).filter((name) => !section.includes(`\`${name}\``));
  assert.deepEqual(missing, []);
});

Deno.test("every name in README's export table is something lib/mod.ts exports", () => {
  const section = librarySection();
  const table = section.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| group"));
  assert.ok(table.length > 5, "the export table");
  const names = new Set(table.flatMap((row) => {
    const cell = row.split("|")[2] ?? "";
    return [...cell.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)].map((m) => m[1]);
  }));
  const exported = exportedNames();
  for (const name of Object.keys(mod)) assert.ok(exported.has(name), `parser sees ${name}`);
  const unknown = [...names].filter((n) =>
    !exported.has(n) && !["hint", "syscall", "errno", "exitCode"].includes(n)
  );
  assert.deepEqual(unknown, []);
  // The example imports only exports.
  const imports = /import \{([^}]*)\} from "jsr:@kexec\/deno"/.exec(section);
  assert.ok(imports, "the example imports the package");
  for (const name of imports[1].split(",").map((s) => s.trim()).filter(Boolean)) {
    assert.ok(name in mod, name);
  }
});
