/**
 * `deno task compile`: one executable, `dist/kexec`, with the tool's
 * permissions baked in and no prompts. `deno compile` embeds the `denort`
 * runtime, which it downloads for the running deno's version; where that
 * download is impossible, `DENORT_BIN=/path/to/denort` names a copy, and this
 * script says so instead of failing with a network error.
 *
 * ```sh
 * deno task compile                            # dist/kexec
 * DENORT_BIN=/opt/denort deno task compile     # offline, with a denort of the same version
 * deno task compile --output /tmp/kexec
 * ```
 *
 * @module
 */

/**
 * What the tool may do: everything. It needs libc through FFI (the syscalls,
 * open, mmap, memfd), kernels and initrds, /proc (iomem, cmdline, self/status),
 * /sys (kexec_loaded, firmware/memmap) and /dev/kmsg; Deno 2 refuses to read
 * /proc, /sys and /dev without `--allow-all` ("Requires all access to
 * /proc/iomem"), so narrower flags would give an executable that loads
 * nothing. The launcher that `deno task install` writes runs the bundle with
 * the same flags.
 */
export const TOOL_PERMISSIONS: readonly string[] = ["--allow-all"];

/**
 * The `deno` arguments that compile `entry` into `output`.
 *
 * @example
 * ```ts
 * import { compileArgs } from "./compile.ts";
 * const args = compileArgs("dist/kexec");
 * if (args[0] !== "compile" || args.at(-1) !== "main.ts" || !args.includes("--no-prompt")) {
 *   throw new Error(args.join(" "));
 * }
 * ```
 */
export function compileArgs(output: string, entry = "main.ts"): string[] {
  return ["compile", ...TOOL_PERMISSIONS, "--no-prompt", `--output=${output}`, entry];
}

/** The target triple deno names its runtime archives by, for this machine. */
export function denortTarget(): string {
  return Deno.build.target;
}

/**
 * True when `deno compile`'s error output says it could not fetch denort.
 *
 * @example
 * ```ts
 * import { isDenortDownloadFailure } from "./compile.ts";
 * const err = "error: Writing deno compile executable ...\n  0: Setting up base binary.\n" +
 *   "  1: error sending request for url (https://example/denort-x.zip): dns error";
 * if (!isDenortDownloadFailure(err)) throw new Error();
 * if (isDenortDownloadFailure("error: Module not found")) throw new Error();
 * ```
 */
export function isDenortDownloadFailure(stderr: string): boolean {
  return /Setting up base binary|denort|error sending request/i.test(stderr);
}

/**
 * What to do when denort cannot be downloaded.
 *
 * @example
 * ```ts
 * import { denortHelp } from "./compile.ts";
 * const text = denortHelp("2.9.6", "x86_64-unknown-linux-gnu");
 * if (!text.includes("DENORT_BIN=") || !text.includes("denort-x86_64-unknown-linux-gnu.zip")) {
 *   throw new Error(text);
 * }
 * ```
 */
export function denortHelp(version: string, target: string): string {
  return [
    `deno compile needs denort ${version} for ${target} (the runtime it puts into the`,
    "executable) and could not download it. On a machine that can, get the archive",
    `denort-${target}.zip of deno ${version} from deno's release downloads, unzip it,`,
    "copy the denort binary here and run:",
    "",
    "  DENORT_BIN=/path/to/denort deno task compile",
    "",
    "Everything else works without it: `deno task bundle` writes dist/bundle/ (what the",
    "tests run), `deno task install` installs deno and the bundle behind a launcher with",
    "the same permissions, and `deno task initramfs` packs them.",
  ].join("\n");
}

async function main(args: string[]): Promise<number> {
  let output = "dist/kexec";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--output" || args[i] === "-o") output = args[++i] ?? output;
    else if (args[i].startsWith("--output=")) output = args[i].slice("--output=".length);
    else {
      console.error(`compile: unknown argument ${args[i]} (use --output FILE)`);
      return 1;
    }
  }
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) {
    try {
      if (!Deno.statSync(denort).isFile) throw new Error();
    } catch {
      console.error(`compile: DENORT_BIN=${denort} is not a file`);
      return 1;
    }
  }
  const repo = new URL("../", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: compileArgs(output),
    cwd: repo,
    env: { NO_COLOR: "1" },
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const { code, stderr } = await child.output();
  const text = new TextDecoder().decode(stderr);
  if (code === 0) {
    Deno.stderr.writeSync(stderr);
    console.error(`compile: wrote ${output}`);
    return 0;
  }
  if (!denort && isDenortDownloadFailure(text)) {
    const reason = text.split("\n").find((l) => /error sending request|dns|connect/i.test(l));
    console.error(`compile: ${reason?.trim() ?? "denort download failed"}\n`);
    console.error(denortHelp(Deno.version.deno, denortTarget()));
    return 1;
  }
  Deno.stderr.writeSync(stderr);
  return code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
