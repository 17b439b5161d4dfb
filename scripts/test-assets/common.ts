/**
 * Pieces shared by the test-asset scripts (scripts/fetch-test-assets.ts,
 * scripts/build-test-kernel.ts): the error type that says how to fix a missing
 * asset, running commands, finding programs and the cache directories.
 *
 * @module
 */

/** Architectures the end-to-end guests can have (QEMU's names). */
export type GuestArchName = "x86_64" | "aarch64";

/** Every guest architecture, in the order the scripts handle them. */
export const GUEST_ARCHES: readonly GuestArchName[] = ["x86_64", "aarch64"];

/** A missing or broken test asset; the message says how to fix it. */
export class TestAssetError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TestAssetError";
  }
}

/**
 * Parses a guest architecture name; also accepts Debian's (`amd64`, `arm64`).
 *
 * @example
 * ```ts
 * import { parseGuestArch } from "./common.ts";
 * if (parseGuestArch("arm64") !== "aarch64" || parseGuestArch("x86_64") !== "x86_64") throw new Error();
 * ```
 */
export function parseGuestArch(name: string): GuestArchName {
  switch (name) {
    case "x86_64":
    case "amd64":
      return "x86_64";
    case "aarch64":
    case "arm64":
      return "aarch64";
  }
  throw new TestAssetError(`unknown guest architecture ${JSON.stringify(name)} (x86_64, aarch64)`);
}

/**
 * Default cache directory of the end-to-end assets: `$E2E_CACHE_DIR`, else
 * `.cache/e2e` in the repository.
 *
 * @example
 * ```ts
 * import { defaultCacheDir } from "./common.ts";
 * if (!defaultCacheDir().endsWith("e2e")) throw new Error(defaultCacheDir());
 * ```
 */
export function defaultCacheDir(): string {
  const fromEnv = Deno.env.get("E2E_CACHE_DIR");
  if (fromEnv) return fromEnv;
  return new URL("../../.cache/e2e", import.meta.url).pathname;
}

/** What a command printed and whether it exited 0. */
export interface RunResult {
  /** Exit status 0. */
  ok: boolean;
  /** Standard output. */
  out: string;
  /** Standard error (or "CMD: not found"). */
  err: string;
}

/**
 * Runs a command to completion, capturing its output; a missing program is a
 * failed result, not an exception.
 *
 * @example
 * ```ts
 * import { run } from "./common.ts";
 * const r = await run("sh", ["-c", "echo hi"]);
 * if (!r.ok || r.out !== "hi\n") throw new Error(JSON.stringify(r));
 * if ((await run("surely-not-a-command-xyz", [])).ok) throw new Error();
 * ```
 */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  try {
    const result = await new Deno.Command(cmd, {
      args,
      cwd: options.cwd,
      env: options.env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { ok: result.success, out: dec.decode(result.stdout), err: dec.decode(result.stderr) };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return { ok: false, out: "", err: `${cmd}: not found` };
    }
    throw err;
  }
}

/**
 * Finds an executable in `PATH`.
 *
 * @example
 * ```ts
 * import { findInPath } from "./common.ts";
 * if (findInPath("sh") === undefined) throw new Error("no sh in PATH");
 * if (findInPath("surely-not-a-command-xyz") !== undefined) throw new Error();
 * ```
 */
export function findInPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** True when running as root (apt-get install is possible). */
export function isRoot(): boolean {
  return Deno.uid?.() === 0;
}

/** True when `path` exists and is a regular file (symlinks followed). */
export function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** `apt-get install` of host packages, with one `apt-get update` and retry on failure. */
export async function aptInstall(packages: string[], log: (line: string) => void): Promise<void> {
  log(`apt-get install ${packages.join(" ")}`);
  let r = await run("apt-get", ["install", "-y", "--no-install-recommends", ...packages]);
  if (!r.ok) {
    log("apt-get update");
    await run("apt-get", ["update"]);
    r = await run("apt-get", ["install", "-y", "--no-install-recommends", ...packages]);
  }
  if (!r.ok) throw new TestAssetError(`apt-get install ${packages.join(" ")} failed:\n${r.err}`);
}

/**
 * The sentence that tells how to install a missing host package.
 *
 * @example
 * ```ts
 * import { fixHint } from "./common.ts";
 * if (!fixHint("qemu-system-arm").includes("apt-get install qemu-system-arm")) throw new Error();
 * ```
 */
export function fixHint(pkg: string): string {
  return `install it with "apt-get install ${pkg}" ` +
    `(or run "deno run -A scripts/fetch-test-assets.ts --install" as root)`;
}

/**
 * Runs `work` while holding an exclusive lock on `lockFile` (created if
 * needed), so test processes of several worktrees sharing a cache do not
 * fetch or build the same thing at the same time.
 *
 * @example
 * ```ts
 * import { withLock } from "./common.ts";
 * const file = await Deno.makeTempFile();
 * if (await withLock(file, () => Promise.resolve(7)) !== 7) throw new Error();
 * await Deno.remove(file);
 * ```
 */
export async function withLock<T>(lockFile: string, work: () => Promise<T>): Promise<T> {
  const file = await Deno.open(lockFile, { create: true, write: true });
  try {
    await file.lock(true);
    return await work();
  } finally {
    file.close();
  }
}
