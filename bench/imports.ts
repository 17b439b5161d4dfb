/**
 * Where start-up time goes (part of `deno task bench`, or alone with
 * `deno run -A bench/imports.ts`): the cost of evaluating one module graph in
 * a fresh Deno process, measured inside it (performance.now() around one
 * dynamic import, median of fresh processes), and the size of each graph.
 * The rows are the pieces a command may load: built-in modules the tool
 * uses, and the entry points each action of run.ts imports.
 *
 * @module
 */

import { median, ms, table } from "./support/measure.ts";

const REPO = new URL("../", import.meta.url).href;

/** Specifier, label, and code run on the imported module `m` inside the timing. */
const PIECES: readonly [string, string, string?][] = [
  [
    `${REPO}lib/sys/libcrypto.ts`,
    "libcrypto by dlopen (SHA-256; kexec_load only)",
    "m.libcryptoSha256()",
  ],
  ["node:crypto", "node:crypto (SHA-256 without libcrypto)"],
  ["node:zlib", "node:zlib (gzip, zstd; compressed kernels only)"],
  ["xz-decompress", "xz-decompress (npm; xz kernels only)"],
  [`${REPO}lib/cli/run.ts`, "lib/cli/run.ts (what main.ts evaluates: --version, --help)"],
  [`${REPO}lib/load.ts`, "lib/load.ts (+ the kexec_file_load path)"],
  [`${REPO}lib/unload.ts`, "lib/unload.ts (-u)"],
  [`${REPO}lib/arch/x86_64/plan_load.ts`, "x86_64 kexec_load planner (+ purgatory)"],
  [`${REPO}lib/cli/render.ts`, "lib/cli/render.ts (--dry-run output)"],
];

async function importMs(specifier: string, then = ""): Promise<number> {
  const code =
    `const t = performance.now(); const m = await import(${JSON.stringify(specifier)}); ` +
    `${then}; console.log(performance.now() - t);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", `${new URL("../deno.json", import.meta.url).pathname}`, code],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`${specifier}: ${new TextDecoder().decode(out.stderr)}`);
  return Number(new TextDecoder().decode(out.stdout).trim());
}

/** The import-cost table (median of `runs` fresh processes per row). */
export async function importTable(runs = 7): Promise<string> {
  const rows: string[][] = [];
  for (const [specifier, label, then] of PIECES) {
    await importMs(specifier, then); // compile cache warm
    const t: number[] = [];
    for (let i = 0; i < runs; i++) t.push(await importMs(specifier, then));
    rows.push([label, ms(median(t)), ms(Math.min(...t))]);
  }
  return table(["module graph", "import ms (median)", "best ms"], rows);
}

if (import.meta.main) console.log(await importTable());
