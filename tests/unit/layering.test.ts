/**
 * The house rules of lib/ as a test: architectures are named only in
 * lib/arch/<arch>/, and a lower layer never imports a higher one.
 */

import assert from "node:assert/strict";

const LIB = new URL("../../lib/", import.meta.url).pathname;

function* sources(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const path = `${dir}${e.name}`;
    if (e.isDirectory) yield* sources(`${path}/`);
    else if (e.name.endsWith(".ts")) yield path.slice(LIB.length);
  }
}

// Relative import specifiers of a module, resolved to paths under lib/.
function imports(file: string): string[] {
  const text = Deno.readTextFileSync(LIB + file);
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const specs = [...code.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)].map((m) => m[1]);
  return specs.map((s) => new URL(s, `file://${LIB}${file}`).pathname.slice(LIB.length));
}

const FILES = [...sources(LIB)];
const ARCH_DIRS = ["arch/x86_64/", "arch/arm64/"];

Deno.test("only lib/arch/<arch>/ itself, the registry and the public API import an architecture's folder", () => {
  const bad = FILES.flatMap((f) =>
    imports(f)
      .filter((i) => ARCH_DIRS.some((d) => i.startsWith(d)))
      .filter(() => !ARCH_DIRS.some((d) => f.startsWith(d)))
      .filter(() => !["arch/mod.ts", "arch/abi.ts", "mod.ts"].includes(f))
      .map((i) => `${f} → ${i}`)
  );
  assert.deepEqual(bad, []);
});

Deno.test("architecture names appear in code only in lib/arch/ (and the Arch type, ELF names, a test double)", () => {
  const allowed = ["abi.ts", "image/magic.ts", "sys/recording.ts"];
  const bad = FILES.filter((f) => !f.startsWith("arch/") && !allowed.includes(f)).filter((f) => {
    const code = Deno.readTextFileSync(LIB + f)
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    return /"(x86_64|aarch64|arm64)"/.test(code);
  });
  assert.deepEqual(bad, []);
});

// Lower layers first; a module may import its own layer and those before it.
const LAYERS: readonly (readonly string[])[] = [
  ["abi.ts", "errors.ts", "format.ts", "bytes.ts", "raw_text.ts"],
  ["sys/", "report.ts"],
  [
    "memory/",
    "elf/",
    "initramfs/",
    "fdt/",
    "cmdline.ts",
    "facts.ts",
    "load_limits.ts",
    "plan/",
    "crash/",
  ],
  ["arch/"],
  ["image/"],
  ["diagnose.ts", "kjump.ts", "load.ts", "load/", "unload.ts", "exec.ts", "status.ts"],
  ["cli/"],
  ["mod.ts"],
];

function layerOf(file: string): number {
  const i = LAYERS.findIndex((l) =>
    l.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p))
  );
  if (i < 0) throw new Error(`lib/${file} has no layer in this test; add it`);
  return i;
}

Deno.test("a lower layer never imports a higher one (lib/arch/abi*.ts is a leaf table anyone may read)", () => {
  const leaves = ["arch/abi.ts", "arch/abi_types.ts"];
  const bad = FILES.flatMap((f) =>
    imports(f)
      .filter((i) => !leaves.includes(i) && layerOf(i) > layerOf(f))
      .map((i) => `${f} → ${i}`)
  );
  assert.deepEqual(bad, []);
});
