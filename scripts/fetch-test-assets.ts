/**
 * Test assets for the QEMU end-to-end tests, fetched from apt only and cached:
 *
 * - a Debian kernel: the package `linux-image-amd64` depends on (resolved with
 *   `apt-cache depends` at run time), fetched with `apt-get download`, its
 *   `boot/` unpacked with `dpkg-deb` into `.cache/e2e/kernel/<package>_<version>/`;
 * - `qemu-system-x86_64` (package qemu-system-x86) and a static busybox
 *   (package busybox-static), which must be installed.
 *
 * A missing asset is an error with the command that fixes it, never a skip.
 *
 * ```sh
 * deno run -A scripts/fetch-test-assets.ts            # fetch the kernel, check the rest
 * deno run -A scripts/fetch-test-assets.ts --install  # as root: apt-get install what is missing
 * ```
 *
 * `E2E_KERNEL=/path/to/bzImage` uses that kernel instead; `E2E_CACHE_DIR` moves the cache.
 *
 * @module
 */

import { readElfDynamic } from "../lib/elf/dynamic.ts";

/** Paths of everything a guest run needs from the host. */
export interface TestAssets {
  /** The test kernel (bzImage). */
  kernel: string;
  /** Where it came from: "<package> <version>", or "E2E_KERNEL". */
  kernelSource: string;
  /** The kernel's config file when known (boot/config-*). */
  kernelConfig?: string;
  /** `qemu-system-x86_64`. */
  qemu: string;
  /** A statically linked busybox. */
  busybox: string;
}

/** Options of {@link ensureTestAssets}. */
export interface AssetOptions {
  /** Cache directory; default `$E2E_CACHE_DIR` or `<repo>/.cache/e2e`. */
  cacheDir?: string;
  /** Run `apt-get install` (and `apt-get update`) for missing packages; needs root. */
  install?: boolean;
  /** Progress messages. */
  log?: (line: string) => void;
}

/** The kernel meta-package whose dependency is the test kernel. */
export const KERNEL_META_PACKAGE = "linux-image-amd64";
const QEMU_PACKAGE = "qemu-system-x86";
const BUSYBOX_PACKAGE = "busybox-static";
const BUSYBOX_CANDIDATES = ["/bin/busybox", "/usr/bin/busybox"];

/** A missing or broken test asset; the message says how to fix it. */
export class TestAssetError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TestAssetError";
  }
}

/**
 * Default cache directory: `$E2E_CACHE_DIR`, else `.cache/e2e` in the repository.
 *
 * @example
 * ```ts
 * import { defaultCacheDir } from "./fetch-test-assets.ts";
 * if (!defaultCacheDir().endsWith("e2e")) throw new Error(defaultCacheDir());
 * ```
 */
export function defaultCacheDir(): string {
  const fromEnv = Deno.env.get("E2E_CACHE_DIR");
  if (fromEnv) return fromEnv;
  return new URL("../.cache/e2e", import.meta.url).pathname;
}

async function run(
  cmd: string,
  args: string[],
  cwd?: string,
): Promise<{ ok: boolean; out: string; err: string }> {
  try {
    const result = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
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
 * import { findInPath } from "./fetch-test-assets.ts";
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

function isRoot(): boolean {
  return Deno.uid?.() === 0;
}

async function aptInstall(packages: string[], log: (line: string) => void): Promise<void> {
  log(`apt-get install ${packages.join(" ")}`);
  let r = await run("apt-get", ["install", "-y", "--no-install-recommends", ...packages]);
  if (!r.ok) {
    log("apt-get update");
    await run("apt-get", ["update"]);
    r = await run("apt-get", ["install", "-y", "--no-install-recommends", ...packages]);
  }
  if (!r.ok) throw new TestAssetError(`apt-get install ${packages.join(" ")} failed:\n${r.err}`);
}

function fixHint(pkg: string): string {
  return `install it with "apt-get install ${pkg}" ` +
    `(or run "deno run -A scripts/fetch-test-assets.ts --install" as root)`;
}

async function locateQemu(options: AssetOptions, log: (l: string) => void): Promise<string> {
  let qemu = findInPath("qemu-system-x86_64");
  if (!qemu && options.install && isRoot()) {
    await aptInstall([QEMU_PACKAGE], log);
    qemu = findInPath("qemu-system-x86_64");
  }
  if (!qemu) {
    throw new TestAssetError(
      `qemu-system-x86_64 not found in PATH; the end-to-end tests need it: ${
        fixHint(QEMU_PACKAGE)
      }`,
    );
  }
  return qemu;
}

function staticBusybox(): string | undefined {
  for (const path of BUSYBOX_CANDIDATES) {
    try {
      if (readElfDynamic(Deno.readFileSync(path), path).interpreter === undefined) return path;
    } catch {
      // missing or not ELF64
    }
  }
  return undefined;
}

async function locateBusybox(options: AssetOptions, log: (l: string) => void): Promise<string> {
  let busybox = staticBusybox();
  if (!busybox && options.install && isRoot()) {
    await aptInstall([BUSYBOX_PACKAGE], log);
    busybox = staticBusybox();
  }
  if (!busybox) {
    throw new TestAssetError(
      `no statically linked busybox at ${BUSYBOX_CANDIDATES.join(" or ")}; ` +
        `the guests need one: ${fixHint(BUSYBOX_PACKAGE)}`,
    );
  }
  return busybox;
}

/**
 * The package `linux-image-amd64` depends on, e.g. `linux-image-6.1.0-56-amd64`,
 * from `apt-cache depends` output.
 *
 * @example
 * ```ts
 * import { kernelPackageFrom } from "./fetch-test-assets.ts";
 * const out = "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n";
 * if (kernelPackageFrom(out) !== "linux-image-6.1.0-56-amd64") throw new Error();
 * ```
 */
export function kernelPackageFrom(aptCacheDepends: string): string | undefined {
  return aptCacheDepends.match(/^\s*Depends:\s*(linux-image-[^\s<>]+)\s*$/m)?.[1];
}

async function aptKernelPackage(options: AssetOptions, log: (l: string) => void) {
  let deps = await run("apt-cache", ["depends", KERNEL_META_PACKAGE]);
  let pkg = deps.ok ? kernelPackageFrom(deps.out) : undefined;
  if (!pkg && options.install && isRoot()) {
    log("apt-get update");
    await run("apt-get", ["update"]);
    deps = await run("apt-cache", ["depends", KERNEL_META_PACKAGE]);
    pkg = deps.ok ? kernelPackageFrom(deps.out) : undefined;
  }
  if (!pkg) {
    throw new TestAssetError(
      `apt-cache does not know ${KERNEL_META_PACKAGE}, so the test kernel cannot be found ` +
        `(${deps.err.trim() || "no Depends line"}); run "apt-get update" as root, ` +
        `or set E2E_KERNEL to a bzImage`,
    );
  }
  const show = await run("apt-cache", ["show", "--no-all-versions", pkg]);
  const version = show.out.match(/^Version:\s*(\S+)/m)?.[1];
  if (!version) throw new TestAssetError(`apt-cache show ${pkg} gave no version:\n${show.err}`);
  return { pkg, version };
}

function findBootFile(dir: string, prefix: string): string | undefined {
  try {
    const name = [...Deno.readDirSync(`${dir}/boot`)].map((e) => e.name).sort()
      .find((n) => n.startsWith(prefix));
    return name ? `${dir}/boot/${name}` : undefined;
  } catch {
    return undefined;
  }
}

async function fetchKernel(
  cacheDir: string,
  options: AssetOptions,
  log: (l: string) => void,
): Promise<Pick<TestAssets, "kernel" | "kernelSource" | "kernelConfig">> {
  const override = Deno.env.get("E2E_KERNEL");
  if (override) {
    try {
      Deno.statSync(override);
    } catch {
      throw new TestAssetError(`E2E_KERNEL=${override}: no such file`);
    }
    return { kernel: override, kernelSource: "E2E_KERNEL" };
  }
  const { pkg, version } = await aptKernelPackage(options, log);
  const dir = `${cacheDir}/kernel/${pkg}_${version.replaceAll(":", "%3a")}`;
  const cached = findBootFile(dir, "vmlinuz-");
  if (cached) {
    return {
      kernel: cached,
      kernelSource: `${pkg} ${version}`,
      kernelConfig: findBootFile(dir, "config-"),
    };
  }
  const download = `${dir}.download`;
  await Deno.remove(download, { recursive: true }).catch(() => {});
  await Deno.mkdir(download, { recursive: true });
  log(`apt-get download ${pkg}=${version}`);
  const got = await run("apt-get", ["download", `${pkg}=${version}`], download);
  const deb = [...Deno.readDirSync(download)].find((e) => e.name.endsWith(".deb"));
  if (!got.ok || !deb) {
    throw new TestAssetError(
      `apt-get download ${pkg}=${version} failed; the test kernel comes only from apt:\n` +
        got.err.trim(),
    );
  }
  // Only boot/ is needed; unpacking the modules as well would cost hundreds of megabytes.
  log(`unpacking boot/ of ${deb.name}`);
  const tmp = `${dir}.unpack`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  const unpack = await run("sh", [
    "-c",
    'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "./boot/*"',
    "sh",
    `${download}/${deb.name}`,
    tmp,
  ]);
  if (!unpack.ok || !findBootFile(tmp, "vmlinuz-")) {
    throw new TestAssetError(`unpacking ${deb.name} gave no boot/vmlinuz-*:\n${unpack.err}`);
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, dir);
  await Deno.remove(download, { recursive: true });
  return {
    kernel: findBootFile(dir, "vmlinuz-")!,
    kernelSource: `${pkg} ${version}`,
    kernelConfig: findBootFile(dir, "config-"),
  };
}

/**
 * Finds or fetches every test asset; idempotent and cached.
 *
 * @throws {TestAssetError} naming what is missing and how to get it.
 *
 * @example
 * ```ts
 * import { ensureTestAssets, TestAssetError } from "./fetch-test-assets.ts";
 * // With an empty PATH nothing can be found: the error says what to install.
 * const path = Deno.env.get("PATH") ?? "";
 * Deno.env.set("PATH", "");
 * try {
 *   await ensureTestAssets();
 *   throw new Error("expected a failure");
 * } catch (err) {
 *   if (!(err instanceof TestAssetError) || !err.message.includes("apt-get install")) throw err;
 * } finally {
 *   Deno.env.set("PATH", path);
 * }
 * ```
 */
export async function ensureTestAssets(options: AssetOptions = {}): Promise<TestAssets> {
  const log = options.log ?? (() => {});
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const qemu = await locateQemu(options, log);
  const busybox = await locateBusybox(options, log);
  await Deno.mkdir(cacheDir, { recursive: true });
  const kernel = await fetchKernel(cacheDir, options, log);
  return { qemu, busybox, ...kernel };
}

if (import.meta.main) {
  const install = Deno.args.includes("--install");
  try {
    const assets = await ensureTestAssets({ install, log: (l) => console.error(`assets: ${l}`) });
    for (const [key, value] of Object.entries(assets)) console.log(`${key}=${value}`);
  } catch (err) {
    if (!(err instanceof TestAssetError)) throw err;
    console.error(`fetch-test-assets: ${err.message}`);
    Deno.exit(1);
  }
}
