/**
 * Test assets for the QEMU end-to-end tests, fetched from apt (and deno for
 * foreign guests from npm) only, and cached under `.cache/e2e/`:
 *
 * - Debian's kernel for each guest architecture: the package `linux-image-amd64`
 *   or `linux-image-arm64` depends on (resolved with `apt-cache depends` at run
 *   time), fetched with `apt-get download`, its `boot/` unpacked into
 *   `kernel/<package>_<version>/` (x86_64) or `aarch64/kernel/…`;
 * - QEMU (packages qemu-system-x86, qemu-system-arm), which must be installed;
 * - the guest user space. For the host's architecture: the host's static busybox
 *   (package busybox-static), deno (the one running the tests) with the host's
 *   libraries, and makedumpfile if installed. For another architecture: a sysroot
 *   unpacked from that architecture's Debian packages (busybox-static, libc6,
 *   makedumpfile and their libraries) through a private apt state
 *   (`aarch64/apt/`, the host's dpkg architectures are not touched), and deno
 *   of the host's version from npm (`@deno/linux-arm64-glibc`).
 *
 * A missing asset is an error with the command that fixes it, never a skip.
 *
 * ```sh
 * deno run -A scripts/fetch-test-assets.ts                  # all architectures
 * deno run -A scripts/fetch-test-assets.ts --arch aarch64   # one
 * deno run -A scripts/fetch-test-assets.ts --install        # as root: apt-get install what is missing
 * deno run -A scripts/fetch-test-assets.ts --test-kernels   # also build the test kernels (minutes)
 * ```
 *
 * `E2E_KERNEL=/path/to/bzImage` and `E2E_KERNEL_AARCH64=/path/to/Image` use
 * other kernels; `E2E_CACHE_DIR` moves the cache.
 *
 * @module
 */

import { EM_AARCH64, EM_X86_64, readElfDynamic } from "../lib/elf/dynamic.ts";
import type { AptRoot } from "./test-assets/apt.ts";
import {
  aptInstall,
  defaultCacheDir,
  findInPath,
  fixHint,
  GUEST_ARCHES,
  type GuestArchName,
  isFile,
  isRoot,
  parseGuestArch,
  TestAssetError,
} from "./test-assets/common.ts";
import { fetchDebianKernel, type KernelAsset } from "./test-assets/debian_kernel.ts";
import { ensureNpmDeno, ensureSysroot } from "./test-assets/foreign_userland.ts";

export { defaultCacheDir, findInPath, type GuestArchName, TestAssetError };
export { kernelPackageFrom } from "./test-assets/apt.ts";

/** Paths of everything a guest run needs from the host. */
export interface TestAssets extends KernelAsset {
  /** The guest architecture. */
  arch: GuestArchName;
  /** `qemu-system-x86_64` or `qemu-system-aarch64`. */
  qemu: string;
  /** A statically linked busybox of the guest architecture. */
  busybox: string;
  /** The deno binary that runs the bundled tool in the guest. */
  deno: string;
  /** Where the guest programs' interpreter and libraries are found; undefined: the host's root. */
  sysroot?: string;
  /** makedumpfile of the guest architecture; undefined when the host has none installed. */
  makedumpfile?: string;
}

/** Options of {@link ensureTestAssets}. */
export interface AssetOptions {
  /** Guest architecture (default x86_64). */
  arch?: GuestArchName;
  /** Cache directory; default `$E2E_CACHE_DIR` or `<repo>/.cache/e2e`. */
  cacheDir?: string;
  /** Run `apt-get install` (and `apt-get update`) for missing packages; needs root. */
  install?: boolean;
  /** Progress messages. */
  log?: (line: string) => void;
}

/** What differs between the guest architectures' assets. */
interface ArchAssets {
  debianArch: string;
  machine: number;
  qemu: string;
  qemuPackage: string;
  kernelMetaPackage: string;
  kernelOverrideEnv: string;
  npmPlatform: string;
  uefi: { package: string; code: string; vars: string };
}

const ARCH_ASSETS: Record<GuestArchName, ArchAssets> = {
  x86_64: {
    debianArch: "amd64",
    machine: EM_X86_64,
    qemu: "qemu-system-x86_64",
    qemuPackage: "qemu-system-x86",
    kernelMetaPackage: "linux-image-amd64",
    kernelOverrideEnv: "E2E_KERNEL",
    npmPlatform: "linux-x64",
    uefi: {
      package: "ovmf",
      code: "/usr/share/OVMF/OVMF_CODE_4M.fd",
      vars: "/usr/share/OVMF/OVMF_VARS_4M.fd",
    },
  },
  aarch64: {
    debianArch: "arm64",
    machine: EM_AARCH64,
    qemu: "qemu-system-aarch64",
    qemuPackage: "qemu-system-arm",
    kernelMetaPackage: "linux-image-arm64",
    kernelOverrideEnv: "E2E_KERNEL_AARCH64",
    npmPlatform: "linux-arm64",
    uefi: {
      package: "qemu-efi-aarch64",
      code: "/usr/share/AAVMF/AAVMF_CODE.fd",
      vars: "/usr/share/AAVMF/AAVMF_VARS.fd",
    },
  },
};

/** The kernel meta-package whose dependency is the x86_64 test kernel. */
export const KERNEL_META_PACKAGE = ARCH_ASSETS.x86_64.kernelMetaPackage;
const BUSYBOX_PACKAGE = "busybox-static";
const BUSYBOX_CANDIDATES = ["/bin/busybox", "/usr/bin/busybox"];
const MAKEDUMPFILE_CANDIDATES = ["/usr/bin/makedumpfile", "/usr/sbin/makedumpfile"];

/** True when guests of `arch` run the host's own binaries. */
function isNative(arch: GuestArchName): boolean {
  return Deno.build.arch === arch;
}

async function locateQemu(
  spec: ArchAssets,
  options: AssetOptions,
  log: (l: string) => void,
): Promise<string> {
  let qemu = findInPath(spec.qemu);
  if (!qemu && options.install && isRoot()) {
    await aptInstall([spec.qemuPackage], log);
    qemu = findInPath(spec.qemu);
  }
  if (!qemu) {
    throw new TestAssetError(
      `${spec.qemu} not found in PATH; the end-to-end tests need it: ${fixHint(spec.qemuPackage)}`,
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

async function hostUserland(options: AssetOptions, log: (l: string) => void) {
  const busybox = await locateBusybox(options, log);
  let makedumpfile = MAKEDUMPFILE_CANDIDATES.find(isFile);
  if (!makedumpfile && options.install && isRoot()) {
    await aptInstall(["makedumpfile"], log);
    makedumpfile = MAKEDUMPFILE_CANDIDATES.find(isFile);
  }
  return { busybox, deno: Deno.execPath(), makedumpfile, sysroot: undefined };
}

async function foreignUserland(spec: ArchAssets, archDir: string, log: (l: string) => void) {
  const root: AptRoot = { arch: spec.debianArch, stateDir: `${archDir}/apt` };
  const userland = await ensureSysroot(root, archDir, spec.machine, log);
  const deno = await ensureNpmDeno(`${archDir}/deno`, spec.npmPlatform, Deno.version.deno, log);
  return { ...userland, deno };
}

/**
 * The UEFI firmware of a guest architecture (code and a variable store to
 * copy): OVMF for x86_64, AAVMF (package qemu-efi-aarch64) for aarch64.
 *
 * @throws {TestAssetError} when the firmware package is not installed.
 */
export async function locateUefiFirmware(
  arch: GuestArchName,
  options: AssetOptions = {},
): Promise<{ code: string; vars: string }> {
  const { uefi } = ARCH_ASSETS[arch];
  const present = () => isFile(uefi.code) && isFile(uefi.vars);
  if (!present() && options.install && isRoot()) {
    await aptInstall([uefi.package], options.log ?? (() => {}));
  }
  if (!present()) {
    throw new TestAssetError(
      `UEFI firmware ${uefi.code} / ${uefi.vars} not found; UEFI guests of ${arch} need it: ` +
        fixHint(uefi.package),
    );
  }
  return { code: uefi.code, vars: uefi.vars };
}

/**
 * Finds or fetches every test asset of one guest architecture; idempotent and cached.
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
  const arch = options.arch ?? "x86_64";
  const spec = ARCH_ASSETS[arch];
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const qemu = await locateQemu(spec, options, log);
  // The x86_64 layout predates the other architectures: its files sit at the top.
  const archDir = arch === "x86_64" ? cacheDir : `${cacheDir}/${arch}`;
  await Deno.mkdir(archDir, { recursive: true });
  const userland = isNative(arch)
    ? await hostUserland(options, log)
    : await foreignUserland(spec, archDir, log);
  const kernel = await fetchDebianKernel({
    root: isNative(arch)
      ? { arch: spec.debianArch }
      : { arch: spec.debianArch, stateDir: `${archDir}/apt` },
    metaPackage: spec.kernelMetaPackage,
    kernelsDir: `${archDir}/kernel`,
    overrideEnv: spec.kernelOverrideEnv,
    install: options.install ?? false,
    log,
  });
  return { arch, qemu, ...userland, ...kernel };
}

function parseCli(args: string[]): { arches: GuestArchName[]; install: boolean; kernels: boolean } {
  const arches: GuestArchName[] = [];
  let install = false;
  let kernels = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--install") install = true;
    else if (arg === "--test-kernels") kernels = true;
    else if (arg === "--arch" || arg.startsWith("--arch=")) {
      const value = arg === "--arch" ? args[++i] ?? "" : arg.slice("--arch=".length);
      arches.push(...(value === "all" ? GUEST_ARCHES : [parseGuestArch(value)]));
    } else {
      throw new TestAssetError(
        `unknown argument ${arg} (use --arch x86_64|aarch64|all, --install, --test-kernels)`,
      );
    }
  }
  return { arches: arches.length > 0 ? [...new Set(arches)] : [...GUEST_ARCHES], install, kernels };
}

if (import.meta.main) {
  try {
    const { arches, install, kernels } = parseCli(Deno.args);
    const log = (l: string) => console.error(`assets: ${l}`);
    for (const arch of arches) {
      const started = performance.now();
      const assets = await ensureTestAssets({ arch, install, log });
      for (const [key, value] of Object.entries(assets)) console.log(`${arch}.${key}=${value}`);
      if (arch === "aarch64") {
        const uefi = await locateUefiFirmware(arch, { install, log });
        console.log(`${arch}.uefi=${uefi.code}`);
      }
      log(`${arch}: ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      if (kernels) {
        const { ensureTestKernel } = await import("./build-test-kernel.ts");
        const built = await ensureTestKernel(arch, { log });
        console.log(`${arch}.testKernel=${built.image}`);
      }
    }
  } catch (err) {
    if (!(err instanceof TestAssetError)) throw err;
    console.error(`fetch-test-assets: ${err.message}`);
    Deno.exit(1);
  }
}
