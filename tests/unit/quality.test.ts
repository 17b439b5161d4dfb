/**
 * The project's own standards as tests, so CI enforces them: formatting,
 * lint, and type checking of every module.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

function deno(...args: string[]): { ok: boolean; output: string } {
  const r = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const td = new TextDecoder();
  return { ok: r.success, output: td.decode(r.stdout) + td.decode(r.stderr) };
}

Deno.test("deno fmt --check is clean", () => {
  const r = deno("fmt", "--check");
  assert.ok(r.ok, r.output.slice(-3000));
});

Deno.test("deno lint is clean", () => {
  const r = deno("lint");
  assert.ok(r.ok, r.output.slice(-3000));
});

Deno.test("deno check passes for main.ts, lib/, tests/ and scripts/", () => {
  const r = deno("check", "main.ts", "lib/", "tests/", "scripts/");
  assert.ok(r.ok, r.output.slice(-3000));
});

Deno.test("deno doc --lint lib/mod.ts is clean (every export and what it references documented)", () => {
  const r = deno("doc", "--lint", "lib/mod.ts");
  assert.ok(r.ok, r.output.slice(-3000));
});
