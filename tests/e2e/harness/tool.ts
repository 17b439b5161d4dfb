/**
 * Builds the tool under test for the guests, once per test process:
 *
 * - default: `deno bundle` of main.ts (the `bundle` task of deno.json, with the
 *   output directory redirected): a code-split bundle whose entry file is run
 *   in the guest by the `deno` binary behind a `/sbin/kexec` launcher script;
 * - with `DENORT_BIN` set: `deno compile` with the arguments of
 *   scripts/compile.ts (the `compile` task: same flags and permissions as
 *   shipped), and `/sbin/kexec` is that binary.
 *
 * @module
 */

import { basename } from "node:path";
import { compileArgs } from "../../../scripts/compile.ts";

/** The tool as it goes into the guest. */
export type ToolBuild =
  | {
    kind: "bundle";
    /** The bundle's entry file (its chunks beside it: scripts/bundle_files.ts). */
    script: string;
    /** The test-only entry (tests/e2e/tool/corrupt_main.ts), bundled the same way into its own directory. */
    testScript: string;
    /** The deno binary that runs it (the one running the tests). */
    deno: string;
  }
  | {
    kind: "compiled";
    /** The self-contained binary. */
    binary: string;
    /** The test-only entry, compiled the same way. */
    testBinary: string;
  };

/** The test-only entry point built beside the tool (never shipped). */
export const TEST_ENTRY = "tests/e2e/tool/corrupt_main.ts";

const REPO = new URL("../../../", import.meta.url).pathname;

/**
 * The argument list of a deno.json task with its `--output` (a file) or
 * `--outdir` (a directory) replaced, so the harness builds exactly what the
 * task builds. Refuses tasks that use shell syntax.
 *
 * @example
 * ```ts
 * import { taskArgs } from "./tool.ts";
 * const args = taskArgs("deno bundle --platform=deno --output=dist/kexec.js main.ts", "/tmp/k.js");
 * if (args.join(" ") !== "bundle --platform=deno --output=/tmp/k.js main.ts") throw new Error();
 * const split = taskArgs("deno bundle --code-splitting --outdir=dist/kexec main.ts", "/tmp/k");
 * if (split.join(" ") !== "bundle --code-splitting --outdir=/tmp/k main.ts") throw new Error();
 * ```
 */
export function taskArgs(task: string, output: string): string[] {
  if (/[|&;<>$`"'\\]/.test(task)) throw new Error(`task uses shell syntax: ${task}`);
  const words = task.trim().split(/\s+/);
  if (words[0] !== "deno") throw new Error(`task does not start with deno: ${task}`);
  let replaced = false;
  const args = words.slice(1).flatMap((w, i, all) => {
    const flag = /^(--output|--outdir)=/.exec(w)?.[1];
    if (flag) {
      replaced = true;
      return [`${flag}=${output}`];
    }
    if ((w === "--output" || w === "-o" || w === "--outdir") && i + 1 < all.length) {
      replaced = true;
      all[i + 1] = output;
    }
    return [w];
  });
  if (!replaced) throw new Error(`task has no --output or --outdir: ${task}`);
  return args;
}

async function task(name: string): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`));
  const value = config.tasks?.[name];
  const text = typeof value === "string" ? value : value?.command;
  if (typeof text !== "string") throw new Error(`deno.json has no "${name}" task`);
  return text;
}

/**
 * Builds the tool into `dir` (created if needed). Throws with the compiler's
 * output when the build fails, e.g. while main.ts is missing or broken.
 * `bundleOnly` ignores `DENORT_BIN` (the bundle runs on any architecture's deno).
 *
 * @example
 * ```ts
 * import { buildTool } from "./tool.ts";
 * const dir = await Deno.makeTempDir();
 * const tool = await buildTool(dir);
 * const built = tool.kind === "bundle" ? tool.script : tool.binary;
 * if ((await Deno.stat(built)).size === 0) throw new Error("empty build");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function buildTool(
  dir: string,
  options: { bundleOnly?: boolean } = {},
): Promise<ToolBuild> {
  await Deno.mkdir(dir, { recursive: true });
  const denort = Deno.env.get("DENORT_BIN");
  // A compiled tool is for the host's architecture; other guests run the bundle.
  const compiled = denort !== undefined && denort !== "" && !options.bundleOnly;
  // A compiled tool is one file; a bundle is a directory per entry.
  const output = `${dir}/kexec`;
  const testOutput = `${dir}/kexec-test-corrupt`;
  const args = compiled ? compileArgs(output) : taskArgs(await task("bundle"), output);
  await build(args);
  await build(
    withEntry(compiled ? compileArgs(testOutput) : taskArgs(await task("bundle"), testOutput)),
  );
  return compiled ? { kind: "compiled", binary: output, testBinary: testOutput } : {
    kind: "bundle",
    script: `${output}/main.js`,
    testScript: `${testOutput}/${basename(TEST_ENTRY).replace(/\.ts$/, ".js")}`,
    deno: Deno.execPath(),
  };
}

/**
 * A task's arguments with its entry point (main.ts) replaced by the test-only entry.
 *
 * @example
 * ```ts
 * import { withEntry } from "./tool.ts";
 * const args = withEntry(["bundle", "--output=/tmp/t.js", "main.ts"]);
 * if (args[2] !== "tests/e2e/tool/corrupt_main.ts") throw new Error(args.join(" "));
 * ```
 */
export function withEntry(args: readonly string[]): string[] {
  if (args[args.length - 1] !== "main.ts") throw new Error(`no main.ts entry: ${args.join(" ")}`);
  return [...args.slice(0, -1), TEST_ENTRY];
}

async function build(args: readonly string[]): Promise<void> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!result.success) {
    const dec = new TextDecoder();
    throw new Error(
      `building the tool (deno ${args.join(" ")}) failed:\n` +
        dec.decode(result.stdout) + dec.decode(result.stderr),
    );
  }
}
