/**
 * The first step of `deno task test`: makes sure everything the tests need is
 * on the machine, so a fresh Debian machine needs no other command.
 *
 * 1. Host packages (apt): missing ones are installed with `apt-get install`
 *    when running as root; otherwise the step fails with the exact command.
 * 2. The guests' assets: Debian's kernels (amd64, arm64), the arm64 user
 *    space and deno (scripts/fetch-test-assets.ts), Debian's Xen for the
 *    Multiboot test (tests/e2e/multiboot/xen.ts), Debian's initramfs-tools and
 *    dracut unpacked into the cache for the contrib/ tests, never installed
 *    (scripts/test-assets/initramfs_generators.ts).
 * 3. The two test kernels built from linux-source-6.12, once: cached in
 *    `$E2E_KBUILD_CACHE`, else `.cache/kbuild` (scripts/build-test-kernel.ts).
 *
 * Each step prints how long it took. Everything is cached: a second run takes
 * seconds.
 *
 * ```sh
 * deno run -A scripts/test-setup.ts            # all of it (what `deno task test` runs)
 * deno run -A scripts/test-setup.ts --unit     # only the packages the unit tests need
 * deno run -A scripts/test-setup.ts --list     # print the package list and exit
 * ```
 *
 * @module
 */

import { findInPath, GUEST_ARCHES, isRoot, run, TestAssetError } from "./test-assets/common.ts";

/** A host package the tests need, and why. */
export interface HostPackage {
  /** Debian package name. */
  name: string;
  /** What needs it. */
  why: string;
  /** Needed by the unit tests too (else only by the end-to-end tests). */
  unit?: boolean;
  /** A program that stands for the package: when it is in PATH, the package is not needed. */
  command?: string;
}

/** Every host package the tests use. */
export const HOST_PACKAGES: readonly HostPackage[] = [
  { name: "binutils", why: "as, ld, objcopy, objdump: purgatory drift, samples", unit: true },
  { name: "binutils-aarch64-linux-gnu", why: "the arm64 purgatory's drift test", unit: true },
  { name: "qemu-user", why: "runs the arm64 purgatory's bytes", unit: true },
  { name: "device-tree-compiler", why: "dtc: device tree tests", unit: true },
  { name: "xz-utils", why: "xz kernel samples", unit: true },
  { name: "zstd", why: "zstd kernel samples", unit: true },
  { name: "cpio", why: "reads the archives the tests write", unit: true },
  { name: "systemd-boot-efi", why: "the UKI stub for UKI samples", unit: true },
  { name: "busybox-static", why: "the guests' user space", unit: true },
  { name: "openssl", why: "libcrypto: the SHA-256 kexec_load uses, host and guests", unit: true },
  { name: "ca-certificates", why: "apt and npm over https" },
  { name: "npm", why: "fetches deno for the arm64 guests (npm pack)", command: "npm" },
  { name: "qemu-system-x86", why: "x86_64 guests" },
  { name: "qemu-system-arm", why: "arm64 guests" },
  { name: "ovmf", why: "x86_64 UEFI guests" },
  { name: "qemu-efi-aarch64", why: "arm64 UEFI guests" },
  { name: "makedumpfile", why: "reads /proc/vmcore in the crash kernels" },
  { name: "kmod", why: "depmod for the initramfs-tools image test" },
  { name: "linux-source-6.12", why: "the two test kernels" },
  { name: "build-essential", why: "builds the x86_64 test kernel" },
  { name: "gcc-aarch64-linux-gnu", why: "builds the arm64 test kernel" },
  { name: "flex", why: "kernel build" },
  { name: "bison", why: "kernel build" },
  { name: "bc", why: "kernel build" },
  { name: "libelf-dev", why: "kernel build" },
  { name: "libssl-dev", why: "kernel build" },
];

/**
 * The packages of `wanted` that dpkg does not list as installed, from the
 * output of `dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n'`.
 *
 * @example
 * ```ts
 * import { missingFrom } from "./test-setup.ts";
 * const out = "cpio ii \nzstd un \n";
 * const missing = missingFrom(["cpio", "zstd", "bc"], out);
 * if (missing.join(" ") !== "zstd bc") throw new Error(missing.join(" "));
 * ```
 */
export function missingFrom(wanted: readonly string[], dpkgQueryOut: string): string[] {
  const installed = new Set<string>();
  for (const line of dpkgQueryOut.split("\n")) {
    const [name, status] = line.trim().split(/\s+/);
    // "ii" = wanted install, installed; an architecture suffix (pkg:amd64) is dropped.
    if (name && status === "ii") installed.add(name.replace(/:.*/, ""));
  }
  return wanted.filter((p) => !installed.has(p));
}

/**
 * The command a user who is not root runs to install `missing`.
 *
 * @example
 * ```ts
 * import { installCommand } from "./test-setup.ts";
 * if (installCommand(["qemu-system-x86"]) !==
 *   "sudo apt-get install -y --no-install-recommends qemu-system-x86") throw new Error();
 * ```
 */
export function installCommand(missing: readonly string[]): string {
  return `sudo apt-get install -y --no-install-recommends ${missing.join(" ")}`;
}

async function missingPackages(names: readonly string[]): Promise<string[]> {
  const r = await run("dpkg-query", ["-W", "-f=${Package} ${db:Status-Abbrev}\\n", ...names]);
  if (!r.ok && r.out === "" && r.err.includes("not found")) {
    throw new TestAssetError(
      "dpkg-query not found: the tests expect a Debian system; install by hand: " +
        names.join(" "),
    );
  }
  return missingFrom(names, r.out);
}

/** Installs the missing host packages (as root) or fails with the command to run. */
export async function ensureHostPackages(
  packages: readonly HostPackage[],
  log: (line: string) => void,
): Promise<void> {
  // npm may come with another nodejs than Debian's (whose package conflicts with npm).
  const names = packages.filter((p) => !(p.command && findInPath(p.command))).map((p) => p.name);
  const missing = await missingPackages(names);
  if (missing.length === 0) return;
  if (!isRoot()) {
    throw new TestAssetError(
      `missing packages: ${missing.join(", ")}; run as root, or install them:\n  ` +
        installCommand(missing),
    );
  }
  log(`apt-get update`);
  const update = await run("apt-get", ["update", "-qq"], {
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
  if (!update.ok) log(`apt-get update failed (trying the cached lists):\n${update.err.trim()}`);
  log(`apt-get install ${missing.join(" ")}`);
  const install = await run(
    "apt-get",
    ["install", "-y", "-qq", "--no-install-recommends", ...missing],
    { env: { DEBIAN_FRONTEND: "noninteractive" } },
  );
  const still = await missingPackages(names);
  if (!install.ok || still.length > 0) {
    throw new TestAssetError(
      `apt-get install ${missing.join(" ")} failed:\n${install.err.trim()}`,
    );
  }
}

async function timed<T>(
  what: string,
  log: (line: string) => void,
  work: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const result = await work();
  log(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

/** Everything `deno task test` needs; `unitOnly` stops after the unit tests' packages. */
export async function setUpTests(
  options: { unitOnly?: boolean; log?: (line: string) => void } = {},
): Promise<void> {
  const log = options.log ?? ((l: string) => console.error(`test-setup: ${l}`));
  const packages = options.unitOnly ? HOST_PACKAGES.filter((p) => p.unit) : HOST_PACKAGES;
  await timed("host packages", log, () => ensureHostPackages(packages, log));
  if (options.unitOnly) return;
  const install = isRoot();
  const { ensureTestAssets, locateUefiFirmware, defaultCacheDir } = await import(
    "./fetch-test-assets.ts"
  );
  for (const arch of GUEST_ARCHES) {
    await timed(`${arch} guest assets`, log, async () => {
      await ensureTestAssets({ arch, install, log });
      await locateUefiFirmware(arch, { install, log });
    });
  }
  const { ensureXen } = await import("../tests/e2e/multiboot/xen.ts");
  await timed("Xen (Multiboot test)", log, () => ensureXen(defaultCacheDir()));
  const { ensureInitramfsGenerators } = await import("./test-assets/initramfs_generators.ts");
  await timed(
    "initramfs-tools and dracut (unpacked, not installed)",
    log,
    () => ensureInitramfsGenerators(defaultCacheDir(), log),
  );
  const { ensureTestKernel } = await import("./build-test-kernel.ts");
  for (const arch of GUEST_ARCHES) {
    await timed(`${arch} test kernel`, log, () => ensureTestKernel(arch, { log }));
  }
}

if (import.meta.main) {
  const args = new Set(Deno.args);
  if (args.has("--list")) {
    for (const p of HOST_PACKAGES) console.log(`${p.name.padEnd(28)} ${p.why}`);
    Deno.exit(0);
  }
  const started = performance.now();
  try {
    await setUpTests({ unitOnly: args.has("--unit") });
    console.error(
      `test-setup: ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (err) {
    if (!(err instanceof TestAssetError)) throw err;
    console.error(`test-setup: ${err.message}`);
    Deno.exit(1);
  }
}
