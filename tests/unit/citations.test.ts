/**
 * Comments, messages and documents cite primary sources (kernel Documentation/
 * and source paths, specifications, kexec-tools and systemd sources, man
 * pages), never the team's handbook notes: those live outside the repository,
 * so a reader of the code or of a printed message could not follow such a
 * reference (issue 16).
 *
 * Run alone: `deno test -A tests/unit/citations.test.ts`.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const SELF = "tests/unit/citations.test.ts";

// The handbook's file names, spelled in pieces so that no line of this file
// reads as a citation (it is skipped by the scan anyway).
const NOTE_NAMES = [
  "x86_64-boot",
  "arm64-boot",
  "crash",
  "kexec-abi",
  "formats",
  "cli-compat",
  "guests",
  "observed[\\w-]*",
  "user-needs",
];
const NOTE_CITATION = new RegExp(
  [
    // A note by file name: "crash.md", "(x86_64-boot.md §4)"; not "arm64-crash.md".
    `(?<![\\w-])(?:${NOTE_NAMES.join("|")})\\.md\\b`,
    // The notes' directory, however it is reached: "../shared/reference", "/work/shared".
    `${["shared", "reference"].join("/")}`,
    `/work/${"shared"}\\b`,
    // The notes by what they are called.
    `\\b${"hand"}book\\b`,
    `\\bthe ${"reference"}(?:'s|\\s+(?:says|notes|recommends|states|handbook))\\b`,
  ].join("|"),
  "i",
);

// Never scanned: tool state and build output, if the fallback walk meets them.
const SKIPPED_DIRS = new Set([".git", ".cache", "dist", "node_modules"]);

function* walk(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(new URL(dir || ".", ROOT))) {
    if (entry.isDirectory && !SKIPPED_DIRS.has(entry.name)) yield* walk(`${dir}${entry.name}/`);
    if (entry.isFile) yield `${dir}${entry.name}`;
  }
}

/** Every file git tracks; without git (an unpacked tarball), every file under the root. */
function repositoryFiles(): string[] {
  let files: string[];
  try {
    const out = new Deno.Command("git", {
      args: ["ls-files", "-z"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    if (!out.success) throw new Error("not a git checkout");
    files = new TextDecoder().decode(out.stdout).split("\0").filter((f) => f !== "");
  } catch {
    files = [...walk("")];
  }
  return files.filter((f) => f !== SELF).sort();
}

/** `path:line: text` for every line that cites a handbook note; binary files are skipped. */
function noteCitations(path: string): string[] {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(new URL(path, ROOT));
  } catch {
    return []; // tracked but deleted in the work tree
  }
  if (bytes.subarray(0, 8192).includes(0)) return [];
  return new TextDecoder().decode(bytes).split("\n").flatMap((line, i) =>
    NOTE_CITATION.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : []
  );
}

Deno.test("the citation pattern catches the forms the notes were cited in", () => {
  const md = (name: string) => `${name}.md`;
  const dir = ["shared", "reference"].join("/");
  for (
    const cited of [
      `(${md("x86_64-boot")} §4)`,
      `(no 640K backup segment; ${md("crash")} §3.2)`,
      `see ${dir}/${md("kexec-abi")}.`,
      `(../../../${dir}/${md("x86_64-boot")} §8)`,
      `/work/${"shared"}/${"reference"}/README.md`,
      `(${md("observed-in-guests")}).`,
      `(${md("observed")})`,
      `${md("formats")}, ${md("cli-compat")} and ${md("user-needs")}`,
      `${md("arm64-boot")} §2`,
      `${md("guests")}`,
      `the ${"reference"}'s recommended kexec_load limit`,
      `as the ${"hand"}book says`,
    ]
  ) {
    assert.ok(NOTE_CITATION.test(cited), cited);
  }
  for (
    const fine of [
      "PURGATORY.md",
      "tests/e2e/README.md",
      "docs/initramfs.md",
      "kdump.rst",
      "arm64-crash.md",
      "tests/e2e/cases/arm64-boot.sh",
      "every reference to the page is RIP-relative",
      "the hand-made reference blob",
      "Documentation/admin-guide/kdump/kdump.rst",
    ]
  ) {
    assert.ok(!NOTE_CITATION.test(fine), fine);
  }
});

Deno.test("no tracked file of the repository cites the handbook notes", () => {
  const files = repositoryFiles();
  // The scan really reached the code, the documents and the CI script.
  for (
    const expected of [
      "main.ts",
      "lib/abi.ts",
      "lib/arch/x86_64/PURGATORY.md",
      "README.md",
      "docs/kexec.8",
      "tests/e2e/README.md",
      ".ci/run",
    ]
  ) {
    assert.ok(files.includes(expected), `${expected} was not scanned`);
  }
  const hits = files.flatMap(noteCitations);
  assert.deepEqual(
    hits,
    [],
    "cite the primary source (kernel Documentation/ or source file, a specification, " +
      "kexec-tools or systemd source, a man page) instead of a handbook note:\n" +
      hits.join("\n"),
  );
});
