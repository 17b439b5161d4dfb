/**
 * Builds the small test kernels of the end-to-end tests from Debian's kernel
 * source (package `linux-source-6.12`), cached by source version and config:
 *
 * - `x86_64-kexec-jump`: bzImage with CONFIG_KEXEC_JUMP (no Debian kernel has it);
 * - `arm64-kexec-file`: Image (and Image.gz) with CONFIG_KEXEC_FILE (Debian's
 *   arm64 kernels lack it), cross-compiled with `aarch64-linux-gnu-gcc`.
 *
 * Each is tinyconfig plus the fragments in tests/e2e/kernels/, merged with the
 * kernel's scripts/kconfig/merge_config.sh (see ./test-assets/kbuild.ts); every option a fragment asks for must be in
 * the final .config as written, or the build fails listing the ones Kconfig
 * dropped. The cache entry `<cache>/<name>-<key>/` holds the images, `config`,
 * `System.map` and `meta.json`; the key hashes the source version, the
 * fragments and this recipe. The cache is `$E2E_KBUILD_CACHE`, else
 * `.cache/kbuild` in the repository; worktrees may share one.
 *
 * ```sh
 * deno run -A scripts/build-test-kernel.ts            # both (minutes; -j2)
 * deno run -A scripts/build-test-kernel.ts aarch64 --jobs 4
 * ```
 *
 * Needs: linux-source-6.12 build-essential flex bison bc libelf-dev libssl-dev
 * gcc-aarch64-linux-gnu (apt).
 *
 * @module
 */

import {
  GUEST_ARCHES,
  type GuestArchName,
  isFile,
  parseGuestArch,
  run,
  TestAssetError,
  withLock,
} from "./test-assets/common.ts";
import { build, droppedOptions, parseKconfig, type TestKernelSpec } from "./test-assets/kbuild.ts";

export { droppedOptions, parseKconfig, type TestKernelSpec };

/** The test kernels by guest architecture. */
export const TEST_KERNELS: Record<GuestArchName, TestKernelSpec> = {
  x86_64: {
    arch: "x86_64",
    name: "x86_64-kexec-jump",
    makeArch: "x86_64",
    srcArch: "x86",
    crossCompile: "x86_64-linux-gnu-",
    fragments: ["common.config", "x86_64-kexec-jump.config"],
    target: "bzImage",
    outputs: { bzImage: "arch/x86/boot/bzImage" },
    image: "bzImage",
  },
  aarch64: {
    arch: "aarch64",
    name: "arm64-kexec-file",
    makeArch: "arm64",
    srcArch: "arm64",
    crossCompile: "aarch64-linux-gnu-",
    fragments: ["common.config", "arm64-kexec-file.config"],
    target: "Image.gz",
    outputs: { Image: "arch/arm64/boot/Image", "Image.gz": "arch/arm64/boot/Image.gz" },
    image: "Image",
  },
};

/** Debian's package of the kernel source, and where it puts the tarball. */
export const SOURCE_PACKAGE = "linux-source-6.12";
const SOURCE_TARBALL = `/usr/src/${SOURCE_PACKAGE}.tar.xz`;
/** Changes when the build procedure changes, so old cache entries are not reused. */
const RECIPE = "merge_config.sh -n tiny-base tiny arch-tiny fragments; v2";
const FRAGMENT_DIR = new URL("../tests/e2e/kernels/", import.meta.url).pathname;
const BUILD_PACKAGES =
  "build-essential flex bison bc libelf-dev libssl-dev gcc-aarch64-linux-gnu " + SOURCE_PACKAGE;

/** A built (cached) test kernel. */
export interface BuiltKernel {
  /** What was built. */
  spec: TestKernelSpec;
  /** The cache entry. */
  dir: string;
  /** The image a guest boots (bzImage, or the arm64 Image). */
  image: string;
  /** Every kept output by name (e.g. `Image.gz`). */
  files: Record<string, string>;
  /** The final .config. */
  config: string;
  /** `make kernelrelease`. */
  release: string;
  /** Version of the source package. */
  sourceVersion: string;
  /** Cache key. */
  key: string;
  /** Seconds the build took (configuration and compilation). */
  buildSeconds: number;
  /** CPU seconds the compilation used (independent of other load on the machine). */
  cpuSeconds?: number;
}

/**
 * The kernel build cache: `$E2E_KBUILD_CACHE`, else `.cache/kbuild` in the repository.
 *
 * @example
 * ```ts
 * import { kbuildCacheDir } from "./build-test-kernel.ts";
 * if (!kbuildCacheDir().startsWith("/")) throw new Error(kbuildCacheDir());
 * ```
 */
export function kbuildCacheDir(): string {
  return Deno.env.get("E2E_KBUILD_CACHE") ||
    new URL("../.cache/kbuild", import.meta.url).pathname;
}

/**
 * The cache key of a build: a hash of the recipe, the source version, the
 * architecture and every fragment's name and text.
 *
 * @example
 * ```ts
 * import { cacheKey } from "./build-test-kernel.ts";
 * const a = await cacheKey("6.12.1-1", "arm64", [["f.config", "CONFIG_A=y\n"]]);
 * const b = await cacheKey("6.12.2-1", "arm64", [["f.config", "CONFIG_A=y\n"]]);
 * if (a === b || a.length !== 16) throw new Error(`${a} ${b}`);
 * ```
 */
export async function cacheKey(
  sourceVersion: string,
  makeArch: string,
  fragments: [string, string][],
): Promise<string> {
  const text = JSON.stringify([RECIPE, sourceVersion, makeArch, fragments]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")
    .slice(0, 16);
}

async function installedSourceVersion(): Promise<string> {
  const r = await run("dpkg-query", ["-W", "-f=${Version}", SOURCE_PACKAGE]);
  if (!r.ok || !r.out.trim() || !isFile(SOURCE_TARBALL)) {
    throw new TestAssetError(
      `${SOURCE_PACKAGE} is not installed (no ${SOURCE_TARBALL}); the test kernels are built ` +
        `from it: apt-get install ${BUILD_PACKAGES}`,
    );
  }
  return r.out.trim();
}

async function entryFor(spec: TestKernelSpec) {
  const sourceVersion = await installedSourceVersion();
  const fragments: [string, string][] = [];
  for (const name of spec.fragments) {
    fragments.push([name, await Deno.readTextFile(`${FRAGMENT_DIR}${name}`)]);
  }
  const key = await cacheKey(sourceVersion, spec.makeArch, fragments);
  return { sourceVersion, fragments, key, dir: `${kbuildCacheDir()}/${spec.name}-${key}` };
}

async function readEntry(spec: TestKernelSpec, dir: string): Promise<BuiltKernel | undefined> {
  let meta;
  try {
    meta = JSON.parse(await Deno.readTextFile(`${dir}/meta.json`));
  } catch {
    return undefined;
  }
  const files = Object.fromEntries(Object.keys(spec.outputs).map((n) => [n, `${dir}/${n}`]));
  if (!Object.values(files).every(isFile)) return undefined;
  return {
    spec,
    dir,
    image: files[spec.image],
    files,
    config: `${dir}/config`,
    release: meta.release,
    sourceVersion: meta.sourceVersion,
    key: meta.key,
    buildSeconds: meta.buildSeconds,
    cpuSeconds: meta.cpuSeconds,
  };
}

/**
 * The cached test kernel of `arch`.
 *
 * @throws {TestAssetError} when it is not built, with the command that builds it.
 *
 * @example
 * ```ts
 * import { findTestKernel } from "./build-test-kernel.ts";
 * import { TestAssetError } from "./test-assets/common.ts";
 * const cache = Deno.env.get("E2E_KBUILD_CACHE");
 * Deno.env.set("E2E_KBUILD_CACHE", await Deno.makeTempDir());
 * try {
 *   await findTestKernel("aarch64");
 *   throw new Error("an empty cache has no kernel");
 * } catch (err) {
 *   // Not built (the message names build-test-kernel.ts), or no linux-source-6.12 to key it by.
 *   if (!(err instanceof TestAssetError)) throw err;
 * } finally {
 *   if (cache === undefined) Deno.env.delete("E2E_KBUILD_CACHE");
 *   else Deno.env.set("E2E_KBUILD_CACHE", cache);
 * }
 * ```
 */
export async function findTestKernel(arch: GuestArchName): Promise<BuiltKernel> {
  const spec = TEST_KERNELS[arch];
  const entry = await entryFor(spec);
  const built = await readEntry(spec, entry.dir);
  if (built) return built;
  throw new TestAssetError(
    `test kernel ${spec.name} (${SOURCE_PACKAGE} ${entry.sourceVersion}, key ${entry.key}) ` +
      `is not built in ${kbuildCacheDir()}: run "deno run -A scripts/build-test-kernel.ts ${arch}" ` +
      `(a few minutes; set E2E_KBUILD_CACHE to share a cache between worktrees)`,
  );
}

/** Options of {@link ensureTestKernel}. */
export interface BuildOptions {
  /** make -j (default `$E2E_KBUILD_JOBS` or 2). */
  jobs?: number;
  /** Rebuild even when cached. */
  force?: boolean;
  /** Progress messages. */
  log?: (line: string) => void;
}

/**
 * The cached test kernel of `arch`, built first if needed (minutes).
 *
 * @throws {TestAssetError} naming missing tools, dropped options or the failed step and its log.
 */
export async function ensureTestKernel(
  arch: GuestArchName,
  options: BuildOptions = {},
): Promise<BuiltKernel> {
  const spec = TEST_KERNELS[arch];
  const log = options.log ?? (() => {});
  const entry = await entryFor(spec);
  await Deno.mkdir(kbuildCacheDir(), { recursive: true });
  return await withLock(`${entry.dir}.lock`, async () => {
    if (!options.force) {
      const cached = await readEntry(spec, entry.dir);
      if (cached) return cached;
    }
    await build(spec, {
      ...entry,
      cacheDir: kbuildCacheDir(),
      sourcePackage: SOURCE_PACKAGE,
      tarball: SOURCE_TARBALL,
    }, {
      jobs: options.jobs ?? Number(Deno.env.get("E2E_KBUILD_JOBS") || 2),
      log,
      packages: BUILD_PACKAGES,
    });
    return (await readEntry(spec, entry.dir))!;
  });
}

if (import.meta.main) {
  const arches: GuestArchName[] = [];
  let jobs: number | undefined;
  let force = false;
  try {
    for (let i = 0; i < Deno.args.length; i++) {
      const arg = Deno.args[i];
      if (arg === "--jobs" || arg === "-j") jobs = Number(Deno.args[++i]);
      else if (arg === "--force") force = true;
      else if (arg === "all") arches.push(...GUEST_ARCHES);
      else arches.push(parseGuestArch(arg));
    }
    for (const arch of arches.length > 0 ? [...new Set(arches)] : GUEST_ARCHES) {
      const started = performance.now();
      const built = await ensureTestKernel(arch, {
        jobs,
        force,
        log: (l) => console.error(`build-test-kernel: ${l}`),
      });
      console.log(`${arch}.image=${built.image}`);
      for (const [name, path] of Object.entries(built.files)) {
        console.log(`${arch}.${name}=${path}`);
      }
      console.log(`${arch}.config=${built.config}`);
      console.log(`${arch}.release=${built.release}`);
      console.error(
        `build-test-kernel: ${built.spec.name} ready (${
          ((performance.now() - started) / 1000).toFixed(1)
        } s now; built in ${built.buildSeconds} s, ${built.cpuSeconds ?? "?"} s of CPU)`,
      );
    }
  } catch (err) {
    if (!(err instanceof TestAssetError)) throw err;
    console.error(`build-test-kernel: ${err.message}`);
    Deno.exit(1);
  }
}
