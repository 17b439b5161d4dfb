/**
 * What the benchmarks run on, cached under `.cache/bench/`: Debian's
 * kexec-tools (the installed package's /sbin/kexec, or else fetched with
 * `apt-get download` with its Xen libraries and unpacked with `dpkg -x`,
 * never installed), random initrds of fixed sizes,
 * and the tool bundled by the `bundle` task of deno.json (main.ts, and the
 * benchmark entry bench/tool/recorded_main.ts built the same way).
 *
 * @module
 */

import { aptDownload, dependencyClosure } from "../../scripts/test-assets/apt.ts";
import { isFile, run, TestAssetError } from "../../scripts/test-assets/common.ts";
import { taskArgs } from "../../tests/e2e/harness/tool.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/** `.cache/bench` (or `$BENCH_CACHE_DIR`). */
export function benchCacheDir(): string {
  return Deno.env.get("BENCH_CACHE_DIR") ?? `${REPO}.cache/bench`;
}

/** Debian's kexec-tools, unpacked. */
export interface KexecTools {
  /** The `kexec` binary. */
  readonly binary: string;
  /** The unpacked packages' root (its libraries for a guest). */
  readonly root: string;
  /** Library directories inside {@link root}. */
  readonly libDirs: readonly string[];
  /** Package version. */
  readonly version: string;
}

// Packages kexec-tools needs that every Debian system (and the guest, through deno's closure) has.
const BASE_PACKAGE = /^(libc6|libgcc-s1|debconf|debconf-2\.0|cdebconf|perl.*|libperl.*)$/;

/**
 * Debian's kexec-tools for the host's architecture, with the libraries it
 * links (libxenmisc, ...), from apt into the cache.
 */
export async function ensureKexecTools(log: (line: string) => void): Promise<KexecTools> {
  const dir = `${benchCacheDir()}/kexec-tools`;
  const root = `${dir}/root`;
  const stamp = `${root}/.bench-packages`;
  const result = (version: string): KexecTools => ({
    binary: `${root}/sbin/kexec`,
    root,
    libDirs: [`${root}/lib/x86_64-linux-gnu`, `${root}/usr/lib/x86_64-linux-gnu`],
    version,
  });
  // The installed package first (Debian's /sbin/kexec), as users have it.
  const installed = await run("dpkg-query", ["-W", "-f=${Version}", "kexec-tools"]);
  if (installed.ok && isFile("/usr/sbin/kexec")) {
    return {
      binary: "/usr/sbin/kexec",
      root: "/",
      libDirs: ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"],
      version: installed.out.trim(),
    };
  }
  if (isFile(stamp) && isFile(`${root}/sbin/kexec`)) {
    const version = Deno.readTextFileSync(stamp).match(/^kexec-tools=(\S+)$/m)?.[1] ?? "?";
    return result(version);
  }
  const apt = { arch: "amd64" };
  const packages = await dependencyClosure(apt, ["kexec-tools"], (p) => BASE_PACKAGE.test(p));
  const { debs, versions } = await aptDownload(apt, packages, `${dir}/debs`, log);
  const tmp = `${root}.unpack`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  for (const deb of debs) {
    const r = await run("dpkg", ["-x", deb, tmp]);
    if (!r.ok) throw new TestAssetError(`dpkg -x ${deb} failed:\n${r.err.trim()}`);
  }
  const lines = [...versions].map(([p, v]) => `${p}=${v}`).join("\n");
  await Deno.writeTextFile(`${tmp}/.bench-packages`, `${lines}\n`);
  await Deno.remove(root, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, root);
  await Deno.remove(`${dir}/debs`, { recursive: true });
  log(`kexec-tools: ${packages.join(", ")} unpacked into ${root}`);
  return result(versions.get("kexec-tools") ?? "?");
}

/**
 * A file of `bytes` random bytes in the cache (made once).
 */
export async function ensureRandomFile(name: string, bytes: number): Promise<string> {
  const path = `${benchCacheDir()}/${name}`;
  try {
    if ((await Deno.stat(path)).size === bytes) return path;
  } catch {
    // made below
  }
  await Deno.mkdir(benchCacheDir(), { recursive: true });
  const tmp = `${path}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    // 1 MiB of fresh randomness, then each further MiB derived from it with a counter:
    // distinct pages, written quickly.
    const block = new Uint8Array(1 << 20);
    for (let at = 0; at < block.length; at += 65536) {
      crypto.getRandomValues(block.subarray(at, at + 65536));
    }
    const words = new Uint32Array(block.buffer);
    for (let done = 0; done < bytes;) {
      const chunk = block.subarray(0, Math.min(block.length, bytes - done));
      for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
      done += chunk.length;
      for (let i = 0; i < words.length; i += 1024) words[i]++;
    }
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
  return path;
}

/** The bundles a benchmark runs. */
export interface Bundles {
  /** main.ts, bundled by the `bundle` task. */
  readonly tool: string;
  /** bench/tool/recorded_main.ts, bundled the same way. */
  readonly recorded: string;
}

/**
 * Bundles main.ts and the recorded-syscall entry into `dir` with the
 * `bundle` task's own arguments.
 */
export async function buildBundles(dir: string): Promise<Bundles> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`));
  const task: string = typeof config.tasks.bundle === "string"
    ? config.tasks.bundle
    : config.tasks.bundle.command;
  await Deno.mkdir(dir, { recursive: true });
  const build = async (entry: string, output: string) => {
    const args = taskArgs(task, output);
    if (args[args.length - 1] !== "main.ts") throw new Error(`bundle task has no main.ts: ${task}`);
    args[args.length - 1] = entry;
    const r = await run(Deno.execPath(), args, { cwd: REPO, env: { NO_COLOR: "1" } });
    if (!r.ok) throw new Error(`deno ${args.join(" ")} failed:\n${r.out}${r.err}`);
    // A code-split bundle per entry: its entry file is what deno runs.
    return `${output}/${entry.slice(entry.lastIndexOf("/") + 1).replace(/\.ts$/, ".js")}`;
  };
  return {
    tool: await build("main.ts", `${dir}/kexec`),
    recorded: await build("bench/tool/recorded_main.ts", `${dir}/kexec-recorded`),
  };
}
