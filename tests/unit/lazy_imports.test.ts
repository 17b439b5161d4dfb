/**
 * What each command evaluates before it runs: the static import closure of
 * main.ts (all that `--version`, `--help` and `-S` ever evaluate), and of the
 * modules run.ts imports for an unload and for a load. Hashing (node:crypto),
 * decompression (node:zlib, the xz decoder), the kexec_load planners,
 * purgatory and crash planning are reached only through `import()`, so that
 * a command that does not need them never loads them.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

// Static import and re-export specifiers of a module; type-only ones are erased
// by the compiler and never evaluated, and `import()` is lazy by definition.
function staticImports(file: string): string[] {
  const code = Deno.readTextFileSync(ROOT + file)
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const specs: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*"([^"]+)"/gm;
  for (const m of code.matchAll(statement)) {
    if (m[2]) continue; // import type / export type
    const names = m[3];
    // `import { type A, type B } from` is erased too.
    const braced = names.match(/^\{([\s\S]*)\}$/);
    if (braced && braced[1].split(",").every((n) => /^\s*(type\s+\S+.*)?\s*$/.test(n))) continue;
    specs.push(m[4]);
  }
  for (const m of code.matchAll(/^\s*import\s+"([^"]+)"/gm)) specs.push(m[1]);
  return specs.map((s) =>
    s.startsWith(".") ? new URL(s, `file://${ROOT}${file}`).pathname.slice(ROOT.length) : s
  );
}

function closure(entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (f.endsWith(".ts")) todo.push(...staticImports(f));
  }
  return seen;
}

// Modules no command may evaluate before it knows it needs them.
const HEAVY: readonly RegExp[] = [
  /^node:crypto$/,
  /^node:zlib$/,
  /^xz-decompress$/,
  /^lib\/image\/decompress\.ts$/,
  /^lib\/plan\/sha256\.ts$/,
  /purgatory/,
  /plan_load\.ts$/,
  /^lib\/arch\/x86_64\/bzimage\.ts$/,
  /^lib\/arch\/arm64\/plan_image\.ts$/,
  /^lib\/crash\//,
  /jump_back/,
];

function heavyIn(modules: Set<string>): string[] {
  return [...modules].filter((m) => HEAVY.some((h) => h.test(m))).sort();
}

Deno.test("the closure walk sees through to the heavy modules a planner imports", () => {
  // The checks below are worth something only if the walk finds what they forbid.
  const planner = closure(["lib/arch/x86_64/plan_load.ts"]);
  assert.ok(planner.has("lib/arch/x86_64/bzimage.ts") && planner.has("lib/crash/sources.ts"));
  assert.ok(heavyIn(planner).length > 0);
});

Deno.test("no kexec_load planner evaluates node:crypto: load.ts hands them the machine's SHA-256", () => {
  // libcrypto through FFI when the machine has it (lib/sys/libcrypto.ts);
  // node:crypto only behind load.ts's import() when it has not.
  const planners = closure([
    "lib/arch/x86_64/plan_load.ts",
    "lib/arch/x86_64/multiboot/plan_load.ts",
    "lib/arch/arm64/plan_load.ts",
  ]);
  assert.deepEqual([...planners].filter((m) => /sha256\.ts$|^node:crypto$/.test(m)), []);
});

Deno.test("--version, --help and -S evaluate no hashing, decompression, planner or crash module", () => {
  assert.deepEqual(heavyIn(closure(["main.ts"])), []);
});

Deno.test("-u evaluates nothing heavy either", () => {
  assert.deepEqual(heavyIn(closure(["main.ts", "lib/unload.ts"])), []);
});

Deno.test("-s -l (kexec_file_load) evaluates no hashing, decompression, planner or crash module", () => {
  // run.ts's load(): cmdline.ts and load.ts; an uncompressed kernel and a
  // single initrd take no further import.
  assert.deepEqual(heavyIn(closure(["main.ts", "lib/cmdline.ts", "lib/load.ts"])), []);
});

Deno.test("the bundle the `bundle` task builds has no static import of a built-in module", async (t) => {
  // A static `import … from "node:…"` in what a command evaluates before its
  // first line starts Deno's Node compatibility layer, the largest part of
  // --version's start-up. deno bundle adds one (node:module, for a require()
  // shim) when a CommonJS package in the graph calls require();
  // --platform=browser honours xz-decompress's own "browser" field
  // (stream/web: false; Deno has the web streams built in).
  const { taskArgs } = await import("../e2e/harness/tool.ts");
  const { bundleFiles, chunkImports } = await import("../../scripts/bundle_files.ts");
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: taskArgs(config.tasks.bundle, dir),
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const files = bundleFiles(`${dir}/main.js`);
    const text = (f: string) => Deno.readTextFileSync(f);
    await t.step("no file of it imports a built-in module statically", () => {
      const staticBuiltins = files.flatMap((f) =>
        text(f).split("\n").filter((l) => /^import\b.*\bfrom\s*"node:/.test(l))
      );
      assert.deepEqual(staticBuiltins, []);
      // The lazy ones are still there, behind import().
      assert.ok(files.some((f) => /import\("node:crypto"\)/.test(text(f))));
    });
    await t.step("it is split: main.js statically loads no planner, hash or decompressor", () => {
      // What main.js evaluates before its first line: itself and the chunks
      // its static imports name, transitively (import() calls load later).
      const evaluated = new Set(["main.js"]);
      const todo = ["main.js"];
      while (todo.length) {
        const code = text(`${dir}/${todo.pop()}`).replace(/\bimport\s*\(\s*"[^"]*"\s*\)/g, "");
        for (const name of chunkImports(code)) {
          if (!evaluated.has(name)) evaluated.add(name), todo.push(name);
        }
      }
      assert.ok(evaluated.size < files.length, `${evaluated.size} of ${files.length} files`);
      const heavy = [...evaluated].filter((n) =>
        /function (planBzImage64|planArm64Image|planCrashBzImage64|inflate)\b|node:crypto|node:zlib/
          .test(text(`${dir}/${n}`))
      );
      assert.deepEqual(heavy, []);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
