/**
 * The files of a code-split bundle (`deno bundle --code-splitting`, the
 * `bundle` task): an entry file and the chunks it loads. The tool ships as
 * such a directory because a command evaluates only the chunks it imports:
 * `--version` evaluates 18 of its 53 files, 133 of 437 KB
 * (BENCHMARKS.md). Whoever copies the bundle (install, the rescue image, the
 * e2e guests) copies exactly these files, so chunks left in `dist/` by an
 * earlier build never travel.
 *
 * @module
 */

import { basename, dirname } from "node:path";

// deno bundle's output refers to its chunks by relative specifiers in static
// imports (`from "./chunk-X.js"`) and in import() calls (`import("./x-Y.js")`).
const CHUNK_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)"\.\/([^"/]+\.js)"/g;

/**
 * The relative chunk names one bundle file imports, in order of appearance.
 *
 * @example
 * ```ts
 * import { chunkImports } from "./bundle_files.ts";
 * const text = 'import { a } from "./chunk-A1.js";\nconst m = await import("./load-B2.js");';
 * if (chunkImports(text).join() !== "chunk-A1.js,load-B2.js") throw new Error();
 * ```
 */
export function chunkImports(text: string): string[] {
  return [...new Set([...text.matchAll(CHUNK_SPECIFIER)].map((m) => m[1]))];
}

/**
 * The entry file of a code-split bundle and every chunk it can load,
 * transitively: absolute host paths, the entry first. Throws when a chunk it
 * names is missing.
 *
 * @example
 * ```ts
 * import { bundleFiles } from "./bundle_files.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/main.js`, 'import "./chunk-A.js";\nimport("./lazy-B.js");');
 * Deno.writeTextFileSync(`${dir}/chunk-A.js`, "export const a = 1;");
 * Deno.writeTextFileSync(`${dir}/lazy-B.js`, 'import "./chunk-A.js";');
 * Deno.writeTextFileSync(`${dir}/stale-C.js`, "");
 * const names = bundleFiles(`${dir}/main.js`).map((p) => p.slice(dir.length + 1));
 * if (names.join() !== "main.js,chunk-A.js,lazy-B.js") throw new Error(names.join());
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function bundleFiles(entry: string): string[] {
  const dir = dirname(entry);
  const files = [entry];
  const seen = new Set([basename(entry)]);
  for (let i = 0; i < files.length; i++) {
    for (const name of chunkImports(Deno.readTextFileSync(files[i]))) {
      if (seen.has(name)) continue;
      seen.add(name);
      files.push(`${dir}/${name}`);
    }
  }
  return files;
}

/**
 * Where a code-split bundle goes in an image: its entry file at `guestEntry`,
 * each chunk beside it under its own name.
 *
 * @example
 * ```ts
 * import { bundlePlacements } from "./bundle_files.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/main.js`, 'import "./chunk-A.js";');
 * Deno.writeTextFileSync(`${dir}/chunk-A.js`, "");
 * const p = bundlePlacements(`${dir}/main.js`, "/usr/lib/kexec/main.js");
 * if (p.map((x) => x.guest).join() !== "/usr/lib/kexec/main.js,/usr/lib/kexec/chunk-A.js") {
 *   throw new Error(JSON.stringify(p));
 * }
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function bundlePlacements(
  entry: string,
  guestEntry: string,
): { host: string; guest: string }[] {
  const guestDir = dirname(guestEntry);
  return bundleFiles(entry).map((host) => ({
    host,
    guest: host === entry ? guestEntry : `${guestDir}/${basename(host)}`,
  }));
}
