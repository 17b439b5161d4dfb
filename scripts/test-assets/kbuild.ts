/**
 * The steps of a test kernel build (see scripts/build-test-kernel.ts): unpack
 * the source once per version, configure out of tree, check that no requested
 * option was dropped, compile, and publish the outputs atomically.
 *
 * Configuring is tinyconfig with our fragments: the kernel's `make tinyconfig`
 * is allnoconfig with kernel/configs/tiny-base.config, then tiny.config and
 * arch/<arch>/configs/tiny.config merged in. We hand all of those plus our
 * fragments to the kernel's scripts/kconfig/merge_config.sh with `-n`
 * (allnoconfig with the merged file as KCONFIG_ALLCONFIG), so an option that
 * only becomes visible through ours stays off unless asked for, where merging
 * after tinyconfig and running olddefconfig would turn on its default (a VT,
 * PS/2 mice, every initrd decompressor).
 *
 * @module
 */

import { findInPath, type GuestArchName, isFile, run, TestAssetError, withLock } from "./common.ts";

/** One test kernel: how it is configured and built. */
export interface TestKernelSpec {
  /** Guest architecture it boots on. */
  arch: GuestArchName;
  /** Name of the cache entry. */
  name: string;
  /** The kernel's ARCH=. */
  makeArch: string;
  /** Its directory under arch/ (SRCARCH). */
  srcArch: string;
  /** CROSS_COMPILE= when the host is another architecture. */
  crossCompile: string;
  /** Config fragments in tests/e2e/kernels/, merged in order. */
  fragments: string[];
  /** The make target. */
  target: string;
  /** Files kept from the build tree: name in the cache entry → path in the build tree. */
  outputs: Record<string, string>;
  /** Which output a guest boots. */
  image: string;
}

/**
 * The options a Kconfig file sets: `CONFIG_X=value` lines, and `n` for
 * `# CONFIG_X is not set`. Other comments and blank lines are ignored.
 *
 * @example
 * ```ts
 * import { parseKconfig } from "./kbuild.ts";
 * const c = parseKconfig('# a comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\n');
 * if (c.get("CONFIG_A") !== "y" || c.get("CONFIG_B") !== "n" || c.get("CONFIG_C") !== '"x y"') {
 *   throw new Error([...c].join());
 * }
 * ```
 */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const unset = line.match(/^# (CONFIG_\w+) is not set$/);
    if (unset) out.set(unset[1], "n");
    const set = line.match(/^(CONFIG_\w+)=(.*)$/);
    if (set) out.set(set[1], set[2]);
  }
  return out;
}

/**
 * The requested options the final configuration does not have as requested,
 * as `CONFIG_X=wanted (got …)` lines.
 *
 * @example
 * ```ts
 * import { droppedOptions, parseKconfig } from "./kbuild.ts";
 * const wanted = parseKconfig("CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\n");
 * const final = parseKconfig("CONFIG_A=y\n# CONFIG_B is not set\n");
 * const d = droppedOptions(wanted, final);
 * if (d.length !== 1 || d[0] !== "CONFIG_B=y (got: not set)") throw new Error(d.join());
 * ```
 */
export function droppedOptions(
  requested: Map<string, string>,
  final: Map<string, string>,
): string[] {
  const out: string[] = [];
  for (const [name, wanted] of requested) {
    const got = final.get(name) ?? "n";
    if (got !== wanted) out.push(`${name}=${wanted} (got: ${got === "n" ? "not set" : got})`);
  }
  return out;
}

/**
 * The CROSS_COMPILE prefix for `spec` on this host, or "" for a native build.
 *
 * @example
 * ```ts
 * import { crossPrefix } from "./kbuild.ts";
 * const spec = { arch: "aarch64", crossCompile: "aarch64-linux-gnu-" } as const;
 * const want = Deno.build.arch === "aarch64" ? "" : "aarch64-linux-gnu-";
 * if (crossPrefix(spec as never) !== want) throw new Error();
 * ```
 */
export function crossPrefix(spec: TestKernelSpec): string {
  return Deno.build.arch === spec.arch ? "" : spec.crossCompile;
}

/**
 * Checks that the build tools are installed; throws with the apt-get command otherwise.
 *
 * @example
 * ```ts
 * import { checkBuildTools } from "./kbuild.ts";
 * const path = Deno.env.get("PATH") ?? "";
 * Deno.env.set("PATH", "");
 * let message = "";
 * try {
 *   checkBuildTools({ arch: "x86_64", crossCompile: "" } as never, "build-essential");
 * } catch (e) {
 *   message = (e as Error).message;
 * } finally {
 *   Deno.env.set("PATH", path);
 * }
 * if (!message.includes("apt-get install build-essential")) throw new Error(message);
 * ```
 */
export function checkBuildTools(spec: TestKernelSpec, packages: string): void {
  const tools = ["make", "gcc", "flex", "bison", "bc", "perl", `${crossPrefix(spec)}gcc`];
  const missing = tools.filter((t) => !findInPath(t));
  if (missing.length > 0) {
    throw new TestAssetError(
      `building ${spec.name} needs ${missing.join(", ")}: apt-get install ${packages}`,
    );
  }
}

/** Where a build goes. */
export interface BuildEntry {
  /** Source package version. */
  sourceVersion: string;
  /** Fragment names and texts. */
  fragments: [string, string][];
  /** Cache key. */
  key: string;
  /** Final cache entry directory. */
  dir: string;
  /** Cache root. */
  cacheDir: string;
  /** Debian package of the source, e.g. linux-source-6.12. */
  sourcePackage: string;
  /** The source tarball. */
  tarball: string;
}

/** How to build. */
export interface BuildSettings {
  /** make -j. */
  jobs: number;
  /** Progress messages. */
  log: (line: string) => void;
  /** Packages to name when a tool is missing. */
  packages: string;
}

/** The unpacked source tree of `version`, unpacked once (under a lock) and shared. */
async function sourceTree(entry: BuildEntry, log: (l: string) => void): Promise<string> {
  const base = `${entry.cacheDir}/src/${entry.sourcePackage}_${
    entry.sourceVersion.replaceAll(":", "%3a")
  }`;
  const tree = `${base}/${entry.sourcePackage}`;
  await Deno.mkdir(`${entry.cacheDir}/src`, { recursive: true });
  await withLock(`${base}.lock`, async () => {
    if (isFile(`${base}/.unpacked`)) return;
    const started = performance.now();
    log(`unpacking ${entry.tarball} into ${base}`);
    const tmp = `${base}.unpack`;
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    await Deno.mkdir(tmp, { recursive: true });
    const r = await run("tar", ["-xJf", entry.tarball, "-C", tmp]);
    if (!r.ok || !isFile(`${tmp}/${entry.sourcePackage}/Makefile`)) {
      throw new TestAssetError(`unpacking ${entry.tarball} failed:\n${r.err.trim()}`);
    }
    await Deno.writeTextFile(`${tmp}/.unpacked`, `${entry.sourceVersion}\n`);
    await Deno.remove(base, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, base);
    log(`unpacked in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });
  return tree;
}

async function tail(path: string, lines: number): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/**
 * CPU seconds (user + system) of the children from the shell's `times`
 * output (its second line), e.g. `1m2.5s 0m7.5s` gives 70.
 *
 * @example
 * ```ts
 * import { childCpuSeconds } from "./kbuild.ts";
 * if (childCpuSeconds("0m0.01s 0m0.00s\n1m2.5s 0m7.5s\n") !== 70) throw new Error();
 * ```
 */
export function childCpuSeconds(times: string): number {
  const line = times.trim().split("\n")[1] ?? "";
  let total = 0;
  for (const m of line.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return Math.round(total);
}

/**
 * Runs one step with its output appended to `logFile`; returns the CPU
 * seconds it used (load-independent, unlike wall time on a shared machine).
 * Throws with the log's tail when it fails.
 */
async function step(
  what: string,
  cmd: string[],
  cwd: string,
  env: Record<string, string>,
  logFile: string,
): Promise<number> {
  await Deno.writeTextFile(logFile, `\n$ ${cmd.join(" ")}\n`, { append: true });
  const script = '"$@" >>"$E2E_STEP_LOG" 2>&1; rc=$?; times; exit $rc';
  const r = await run("sh", ["-c", script, "sh", ...cmd], {
    cwd,
    env: { ...env, E2E_STEP_LOG: logFile },
  });
  if (!r.ok) {
    throw new TestAssetError(
      `${what} failed (${cmd.join(" ")}); last lines of ${logFile}:\n${await tail(logFile, 40)}`,
    );
  }
  return childCpuSeconds(r.out);
}

/** Builds `spec` into `entry.dir`. */
export async function build(
  spec: TestKernelSpec,
  entry: BuildEntry,
  settings: BuildSettings,
): Promise<void> {
  checkBuildTools(spec, settings.packages);
  const { log } = settings;
  const tree = await sourceTree(entry, log);
  const started = performance.now();
  const work = `${entry.dir}.build`;
  const out = `${work}/obj`;
  await Deno.remove(work, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  const logFile = `${work}/build.log`;
  const env: Record<string, string> = {
    ARCH: spec.makeArch,
    CROSS_COMPILE: crossPrefix(spec),
    KBUILD_BUILD_USER: "e2e",
    KBUILD_BUILD_HOST: "kbuild",
  };
  const make = ["make", `O=${out}`, `ARCH=${env.ARCH}`, `CROSS_COMPILE=${env.CROSS_COMPILE}`];
  const fragmentFiles: string[] = [];
  for (const [name, text] of entry.fragments) {
    await Deno.writeTextFile(`${work}/${name}`, text);
    fragmentFiles.push(`${work}/${name}`);
  }
  log(`${spec.name}: configuring (tinyconfig + ${spec.fragments.join(" + ")}); log ${logFile}`);
  const tiny = ["kernel/configs/tiny-base.config", "kernel/configs/tiny.config"];
  if (isFile(`${tree}/arch/${spec.srcArch}/configs/tiny.config`)) {
    tiny.push(`arch/${spec.srcArch}/configs/tiny.config`);
  }
  await step(
    "merge_config.sh",
    ["scripts/kconfig/merge_config.sh", "-n", "-O", out, ...tiny, ...fragmentFiles],
    tree,
    env,
    logFile,
  );
  const requested = new Map<string, string>();
  for (const [, text] of entry.fragments) {
    for (const [k, v] of parseKconfig(text)) requested.set(k, v);
  }
  const dropped = droppedOptions(
    requested,
    parseKconfig(await Deno.readTextFile(`${out}/.config`)),
  );
  if (dropped.length > 0) {
    throw new TestAssetError(
      `${spec.name}: Kconfig dropped ${dropped.length} requested option(s) ` +
        `(a dependency is missing from tests/e2e/kernels/${spec.fragments.join(", ")}):\n  ` +
        dropped.join("\n  ") + `\nfinal config: ${out}/.config`,
    );
  }
  log(`${spec.name}: make -j${settings.jobs} ${spec.target}`);
  const cpuSeconds = await step(
    "make",
    [...make, `-j${settings.jobs}`, spec.target],
    tree,
    env,
    logFile,
  );
  const release = (await run(make[0], [...make.slice(1), "-s", "kernelrelease"], { cwd: tree }))
    .out.trim();
  const buildSeconds = Math.round((performance.now() - started) / 1000);
  const publish = `${work}/entry`;
  await Deno.mkdir(publish);
  for (const [name, path] of Object.entries(spec.outputs)) {
    await Deno.copyFile(`${out}/${path}`, `${publish}/${name}`);
  }
  await Deno.copyFile(`${out}/.config`, `${publish}/config`);
  await Deno.copyFile(`${out}/System.map`, `${publish}/System.map`);
  await Deno.copyFile(logFile, `${publish}/build.log`);
  await Deno.writeTextFile(
    `${publish}/meta.json`,
    JSON.stringify(
      {
        name: spec.name,
        arch: spec.arch,
        sourcePackage: entry.sourcePackage,
        sourceVersion: entry.sourceVersion,
        key: entry.key,
        fragments: spec.fragments,
        release,
        jobs: settings.jobs,
        buildSeconds,
        cpuSeconds,
        builtAt: new Date().toISOString(),
      },
      null,
      2,
    ) + "\n",
  );
  await Deno.remove(entry.dir, { recursive: true }).catch(() => {});
  await Deno.rename(publish, entry.dir);
  if (Deno.env.get("E2E_KBUILD_KEEP") !== "1") await Deno.remove(work, { recursive: true });
  log(
    `${spec.name}: ${release} built in ${buildSeconds} s (compiling used ${cpuSeconds} s of CPU) ` +
      `into ${entry.dir}`,
  );
}
