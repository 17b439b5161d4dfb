/**
 * The user space of a guest whose architecture is not the host's, fetched
 * without installing anything: a sysroot unpacked (`dpkg -x`) from Debian
 * packages of that architecture (a static busybox, glibc and the libraries
 * deno and makedumpfile need, makedumpfile itself), and deno for that
 * architecture from npm (the platform package the `deno` package lists as an
 * optional dependency, at the host deno's version).
 *
 * @module
 */

import { readElfDynamic } from "../../lib/elf/dynamic.ts";
import {
  aptDownload,
  type AptRoot,
  aptVersions,
  dependencyClosure,
  ensureAptLists,
} from "./apt.ts";
import { findInPath, isFile, run, TestAssetError } from "./common.ts";

/** Debian packages whose files (and dependencies' files) make up the sysroot. */
export const SYSROOT_PACKAGES = ["busybox-static", "libc6", "libgcc-s1", "makedumpfile"];
/** Dependencies left out: interpreters and configuration the guests never run. */
const SKIPPED_DEPENDENCY = /^(perl|perl-base|perl-modules-.*|libperl.*|debconf|debconf-2\.0)$/;
const STAMP = ".e2e-packages";

/** Programs of a foreign sysroot, as the guests use them. */
export interface ForeignUserland {
  /** Root the guest programs' interpreters and libraries are resolved in. */
  sysroot: string;
  /** Statically linked busybox. */
  busybox: string;
  /** makedumpfile (dynamically linked against the sysroot). */
  makedumpfile: string;
}

/**
 * The stamp text recording which package versions a sysroot was unpacked from.
 *
 * @example
 * ```ts
 * import { stampText } from "./foreign_userland.ts";
 * const s = stampText(new Map([["zlib1g", "1:1.2"], ["libc6", "2.36"]]));
 * if (s !== "libc6=2.36\nzlib1g=1:1.2\n") throw new Error(s);
 * ```
 */
export function stampText(versions: Map<string, string>): string {
  return [...versions].map(([p, v]) => `${p}=${v}\n`).sort().join("");
}

async function currentStamp(root: AptRoot, sysroot: string): Promise<boolean> {
  let stamp: string;
  try {
    stamp = await Deno.readTextFile(`${sysroot}/${STAMP}`);
  } catch {
    return false;
  }
  const packages = stamp.split("\n").filter(Boolean).map((l) => l.slice(0, l.indexOf("=")));
  try {
    return stampText(await aptVersions(root, packages)) === stamp;
  } catch {
    return false; // a package left the lists: unpack anew
  }
}

function expectStatic(path: string, machine: number): void {
  let info;
  try {
    info = readElfDynamic(Deno.readFileSync(path), path);
  } catch (err) {
    throw new TestAssetError(`${path}: not a usable ELF file (${(err as Error).message})`);
  }
  if (info.machine !== machine || info.interpreter !== undefined) {
    throw new TestAssetError(`${path}: expected a static ELF for machine ${machine}`);
  }
}

/**
 * Finds or unpacks the sysroot of a foreign architecture under `dir`.
 *
 * @throws {TestAssetError} when apt cannot provide a package.
 */
export async function ensureSysroot(
  root: AptRoot,
  dir: string,
  machine: number,
  log: (line: string) => void,
): Promise<ForeignUserland> {
  await ensureAptLists(root, log);
  const sysroot = `${dir}/sysroot`;
  const userland = {
    sysroot,
    busybox: `${sysroot}/bin/busybox`,
    makedumpfile: `${sysroot}/usr/bin/makedumpfile`,
  };
  if (await currentStamp(root, sysroot)) return userland;
  const packages = await dependencyClosure(
    root,
    SYSROOT_PACKAGES,
    (p) => SKIPPED_DEPENDENCY.test(p),
  );
  const { debs, versions } = await aptDownload(root, packages, `${dir}/debs`, log);
  const tmp = `${sysroot}.unpack`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  log(`dpkg -x ${debs.length} packages into ${sysroot}`);
  for (const deb of debs) {
    const r = await run("dpkg", ["-x", deb, tmp]);
    if (!r.ok) throw new TestAssetError(`dpkg -x ${deb} failed:\n${r.err.trim()}`);
  }
  await Deno.writeTextFile(`${tmp}/${STAMP}`, stampText(versions));
  await Deno.remove(sysroot, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, sysroot);
  await Deno.remove(`${dir}/debs`, { recursive: true });
  expectStatic(userland.busybox, machine);
  if (!isFile(userland.makedumpfile)) {
    throw new TestAssetError(`the makedumpfile package gave no ${userland.makedumpfile}`);
  }
  return userland;
}

/**
 * The npm package with deno's binary for a platform, from the `deno`
 * package's `optionalDependencies` (e.g. `@deno/linux-arm64-glibc`).
 *
 * @example
 * ```ts
 * import { denoPlatformPackage } from "./foreign_userland.ts";
 * const deps = { "@deno/linux-x64-glibc": "2.9.6", "@deno/linux-arm64-glibc": "2.9.6" };
 * if (denoPlatformPackage(deps, "linux-arm64") !== "@deno/linux-arm64-glibc") throw new Error();
 * ```
 */
export function denoPlatformPackage(
  optionalDependencies: Record<string, string>,
  platform: string,
): string | undefined {
  const names = Object.keys(optionalDependencies).filter((n) => n.includes(platform));
  return names.find((n) => n.endsWith("-glibc")) ?? names.find((n) => !n.includes("musl"));
}

/**
 * Finds or fetches deno `version` for an npm `platform` (e.g. "linux-arm64")
 * into `dir/<version>/deno`, with `npm pack` (npm checks the registry's integrity hash).
 *
 * @throws {TestAssetError} when npm is missing or the package cannot be fetched.
 */
export async function ensureNpmDeno(
  dir: string,
  platform: string,
  version: string,
  log: (line: string) => void,
): Promise<string> {
  const target = `${dir}/${version}/deno`;
  if (isFile(target)) return target;
  if (!findInPath("npm")) {
    throw new TestAssetError(
      `npm not found; it fetches deno for the ${platform} guests: install it with ` +
        `"apt-get install npm"`,
    );
  }
  const view = await run("npm", ["view", `deno@${version}`, "optionalDependencies", "--json"]);
  let pkg: string | undefined;
  try {
    pkg = denoPlatformPackage(JSON.parse(view.out), platform);
  } catch {
    pkg = undefined;
  }
  if (!view.ok || !pkg) {
    throw new TestAssetError(
      `npm view deno@${version} names no ${platform} package:\n${view.err.trim() || view.out}`,
    );
  }
  const tmp = `${dir}/${version}.download`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  log(`npm pack ${pkg}@${version}`);
  const pack = await run("npm", ["pack", "--silent", `${pkg}@${version}`], { cwd: tmp });
  const tgz = [...Deno.readDirSync(tmp)].find((e) => e.name.endsWith(".tgz"));
  if (!pack.ok || !tgz) {
    throw new TestAssetError(`npm pack ${pkg}@${version} failed:\n${pack.err.trim()}`);
  }
  const untar = await run("tar", ["-xzf", tgz.name, "package/deno"], { cwd: tmp });
  if (!untar.ok) throw new TestAssetError(`${tgz.name} has no package/deno:\n${untar.err}`);
  await Deno.chmod(`${tmp}/package/deno`, 0o755);
  await Deno.mkdir(`${dir}/${version}`, { recursive: true });
  await Deno.rename(`${tmp}/package/deno`, target);
  await Deno.remove(tmp, { recursive: true });
  return target;
}
