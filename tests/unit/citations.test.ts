/**
 * Comments, messages and documents cite primary sources (kernel Documentation/
 * and source paths, specifications, kexec-tools and systemd sources), never
 * the team's handbook notes: those live outside the repository, so a reader of
 * the code or of a printed message could not follow such a reference (issue 16).
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

// The handbook's file names, spelled in pieces so this file does not cite them.
const NOTE_NAMES = [
  "x86_64-boot",
  "crash",
  "kexec-abi",
  "formats",
  "cli-compat",
  "observed-in-guests",
  "user-needs",
];
const NOTE_CITATION = new RegExp(
  `(?<![\\w-])(?:${NOTE_NAMES.join("|")})\\.md\\b|${["shared", "reference"].join("/")}`,
);

// What is scanned: the program, its tests, scripts and benchmarks, and every
// Markdown file of the repository.
const SCANNED_ROOTS = ["main.ts", "lib/", "scripts/", "tests/", "bench/", "docs/"];
const SKIPPED_DIRS = new Set([".git", ".cache", "dist", "node_modules"]);

function* walk(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(new URL(dir || ".", ROOT))) {
    if (entry.isDirectory && !SKIPPED_DIRS.has(entry.name)) yield* walk(`${dir}${entry.name}/`);
    if (entry.isFile) yield `${dir}${entry.name}`;
  }
}

function scannedFiles(): string[] {
  return [...walk("")]
    .filter((f) => f.endsWith(".md") || SCANNED_ROOTS.some((r) => f === r || f.startsWith(r)))
    .sort();
}

/** `path:line: text` for every line that cites a handbook note; binary files are skipped. */
function noteCitations(path: string): string[] {
  const bytes = Deno.readFileSync(new URL(path, ROOT));
  if (bytes.subarray(0, 8192).includes(0)) return [];
  return new TextDecoder().decode(bytes).split("\n").flatMap((line, i) =>
    NOTE_CITATION.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : []
  );
}

Deno.test("the citation pattern catches the forms the notes were cited in", () => {
  const md = (name: string) => `${name}.md`;
  for (
    const cited of [
      `(${md("x86_64-boot")} §4)`,
      `(no 640K backup segment; ${md("crash")} §3.2)`,
      `see ${["shared", "reference"].join("/")}/${md("kexec-abi")}.`,
      `(${md("observed-in-guests")}).`,
      `${md("formats")}, ${md("cli-compat")} and ${md("user-needs")}`,
    ]
  ) {
    assert.ok(NOTE_CITATION.test(cited), cited);
  }
  for (const fine of ["PURGATORY.md", "tests/e2e/README.md", "kdump.rst", "arm64-crash.md"]) {
    assert.ok(!NOTE_CITATION.test(fine), fine);
  }
});

Deno.test("no file of the repository cites the handbook notes", () => {
  const files = scannedFiles();
  // The walk really reached the code and the documents.
  for (const expected of ["main.ts", "lib/abi.ts", "lib/arch/x86_64/PURGATORY.md", "README.md"]) {
    assert.ok(files.includes(expected), `${expected} was not scanned`);
  }
  const hits = files.flatMap(noteCitations);
  assert.deepEqual(
    hits,
    [],
    "cite the primary source (kernel Documentation/ or source file, a specification, " +
      "kexec-tools or systemd source) instead of a handbook note:\n" + hits.join("\n"),
  );
});
