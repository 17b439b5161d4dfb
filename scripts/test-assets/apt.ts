/**
 * Debian packages for the test guests, through apt only: the host's apt for
 * the host architecture, and for another architecture a private apt state
 * (`-oAPT::Architecture=arm64` with private lists and cache directories under
 * the e2e cache), so the host's dpkg architectures are never changed. Packages
 * are fetched with `apt-get download` and unpacked with `dpkg-deb`/`dpkg -x`.
 *
 * @module
 */

import { isRoot, run, TestAssetError } from "./common.ts";

/** How apt is called for one Debian architecture. */
export interface AptRoot {
  /** Debian architecture name, e.g. "amd64" or "arm64". */
  arch: string;
  /** Private apt state (lists and cache) for a foreign architecture; undefined: the host's. */
  stateDir?: string;
}

/**
 * The `-o` options that point apt at a root's architecture and private state.
 *
 * @example
 * ```ts
 * import { aptOptions } from "./apt.ts";
 * if (aptOptions({ arch: "amd64" }).length !== 0) throw new Error();
 * const o = aptOptions({ arch: "arm64", stateDir: "/c/apt" });
 * if (!o.includes("-oAPT::Architecture=arm64") || !o.includes("-oDir::State::Lists=/c/apt/lists")) {
 *   throw new Error(o.join(" "));
 * }
 * ```
 */
export function aptOptions(root: AptRoot): string[] {
  if (!root.stateDir) return [];
  return [
    `-oAPT::Architecture=${root.arch}`,
    `-oAPT::Architectures=${root.arch}`,
    `-oDir::State::Lists=${root.stateDir}/lists`,
    `-oDir::Cache=${root.stateDir}/cache`,
    // Keep apt's binary caches (some images turn them off) so each query does not re-read the lists.
    "-oDir::Cache::pkgcache=pkgcache.bin",
    "-oDir::Cache::srcpkgcache=srcpkgcache.bin",
    // Downloads land in our own directories; apt's _apt user may not be able to write there.
    "-oAPT::Sandbox::User=root",
  ];
}

function hasLists(root: AptRoot): boolean {
  try {
    return [...Deno.readDirSync(`${root.stateDir}/lists`)].some((e) => e.name.includes("Packages"));
  } catch {
    return false;
  }
}

/**
 * Runs `apt-get update`: for a private root always allowed (it writes only
 * its own directories); for the host's apt only as root.
 */
export async function aptUpdate(root: AptRoot, log: (line: string) => void): Promise<void> {
  if (root.stateDir) {
    for (const dir of ["lists/partial", "cache/archives/partial"]) {
      await Deno.mkdir(`${root.stateDir}/${dir}`, { recursive: true });
    }
  } else if (!isRoot()) {
    throw new TestAssetError('the host\'s package lists need "apt-get update" (as root)');
  }
  log(`apt-get update${root.stateDir ? ` (${root.arch} lists in ${root.stateDir})` : ""}`);
  const r = await run("apt-get", [...aptOptions(root), "-q", "update"]);
  if (!r.ok) throw new TestAssetError(`apt-get update for ${root.arch} failed:\n${r.err.trim()}`);
}

/** Makes sure a private root has package lists (fetching them once). */
export async function ensureAptLists(root: AptRoot, log: (line: string) => void): Promise<void> {
  if (root.stateDir && !hasLists(root)) await aptUpdate(root, log);
}

/**
 * The package a meta-package such as `linux-image-arm64` depends on, from
 * `apt-cache depends` output.
 *
 * @example
 * ```ts
 * import { kernelPackageFrom } from "./apt.ts";
 * const out = "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n";
 * if (kernelPackageFrom(out) !== "linux-image-6.1.0-56-amd64") throw new Error();
 * ```
 */
export function kernelPackageFrom(aptCacheDepends: string): string | undefined {
  return aptCacheDepends.match(/^\s*Depends:\s*(linux-image-[^\s<>]+)\s*$/m)?.[1];
}

/**
 * Real package names each package of an `apt-cache depends` output depends on
 * (the first of alternatives; virtual packages left out), by package.
 *
 * @example
 * ```ts
 * import { dependsFrom } from "./apt.ts";
 * const out = "a\n  Depends: b\n |Depends: c\n  Depends: d\n  Depends: <perl:any>\n    perl\nb\n";
 * const deps = dependsFrom(out);
 * if (deps.get("a")?.join(" ") !== "b c" || deps.get("b")?.length !== 0) throw new Error();
 * ```
 */
export function dependsFrom(aptCacheDepends: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  let current: string[] | undefined;
  let alternative = false;
  for (const line of aptCacheDepends.split("\n")) {
    if (/^\S/.test(line)) {
      current = [];
      deps.set(line.trim(), current);
      alternative = false;
      continue;
    }
    const m = line.match(/^\s*(\|?)Depends:\s*(\S+)/);
    if (!m || !current) continue;
    // "|Depends: x" is followed by its alternative "Depends: y": only the first counts.
    if (!alternative && !m[2].startsWith("<")) current.push(m[2].replace(/:any$/, ""));
    alternative = m[1] === "|";
  }
  return deps;
}

/**
 * The packages `roots` need, following `Depends` (first alternatives, no
 * virtual packages) and leaving out names `skip` accepts and their own dependencies.
 */
export async function dependencyClosure(
  root: AptRoot,
  roots: string[],
  skip: (pkg: string) => boolean,
): Promise<string[]> {
  const seen = new Set<string>();
  let level = roots.filter((p) => !skip(p));
  while (level.length > 0) {
    for (const p of level) seen.add(p);
    const r = await run("apt-cache", [...aptOptions(root), "depends", ...level]);
    if (!r.ok) {
      throw new TestAssetError(`apt-cache depends ${level.join(" ")} failed:\n${r.err.trim()}`);
    }
    const next = new Set<string>();
    for (const deps of dependsFrom(r.out).values()) {
      for (const d of deps) if (!seen.has(d) && !skip(d)) next.add(d);
    }
    level = [...next];
  }
  return [...seen].sort();
}

/**
 * Candidate versions from `apt-cache show --no-all-versions` output.
 *
 * @example
 * ```ts
 * import { versionsFrom } from "./apt.ts";
 * const v = versionsFrom("Package: libc6\nVersion: 2.36-9\n\nPackage: zlib1g\nVersion: 1:1.2.13\n");
 * if (v.get("zlib1g") !== "1:1.2.13" || v.size !== 2) throw new Error();
 * ```
 */
export function versionsFrom(aptCacheShow: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const block of aptCacheShow.split(/\n\n+/)) {
    const pkg = block.match(/^Package:\s*(\S+)/m)?.[1];
    const version = block.match(/^Version:\s*(\S+)/m)?.[1];
    if (pkg && version && !out.has(pkg)) out.set(pkg, version);
  }
  return out;
}

/** The candidate version of each package; throws naming the packages apt does not know. */
export async function aptVersions(root: AptRoot, packages: string[]): Promise<Map<string, string>> {
  const r = await run("apt-cache", [...aptOptions(root), "show", "--no-all-versions", ...packages]);
  const versions = versionsFrom(r.out);
  const unknown = packages.filter((p) => !versions.has(p));
  if (unknown.length > 0) {
    throw new TestAssetError(
      `apt does not know ${unknown.join(", ")} for ${root.arch}` +
        `${root.stateDir ? ` (lists in ${root.stateDir})` : ""}: ${r.err.trim() || "no Version"}`,
    );
  }
  return versions;
}

/**
 * `apt-get download PKG=VERSION…` into `dir`; returns the .deb paths. With a
 * private root whose lists went stale (a version left the mirror), the lists
 * are updated and the versions resolved again, once.
 */
export async function aptDownload(
  root: AptRoot,
  packages: string[],
  dir: string,
  log: (line: string) => void,
): Promise<{ debs: string[]; versions: Map<string, string> }> {
  for (let attempt = 0;; attempt++) {
    const versions = await aptVersions(root, packages);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(dir, { recursive: true });
    const specs = packages.map((p) => `${p}=${versions.get(p)}`);
    log(`apt-get download (${root.arch}) ${specs.join(" ")}`);
    const got = await run("apt-get", [...aptOptions(root), "-q", "download", ...specs], {
      cwd: dir,
    });
    const debs = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".deb"))
      .map((e) => `${dir}/${e.name}`).sort();
    if (got.ok && debs.length === packages.length) return { debs, versions };
    if (attempt === 0 && root.stateDir) {
      await aptUpdate(root, log);
      continue;
    }
    throw new TestAssetError(
      `apt-get download ${specs.join(" ")} failed; test assets come only from apt:\n` +
        got.err.trim(),
    );
  }
}
