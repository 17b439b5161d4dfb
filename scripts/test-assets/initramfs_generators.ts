/**
 * Debian's own initramfs generators for the tests of contrib/: initramfs-tools
 * (`mkinitramfs`, `lsinitramfs`, `hook-functions`, with klibc-utils and
 * linux-base that it calls) and dracut (`dracut`, `lsinitrd`, its modules).
 * The two conflict as Debian packages and installing either would hook into
 * the host's kernel updates, so neither is installed: their packages are
 * fetched with `apt-get download` and unpacked with `dpkg -x` into one private
 * root in the test cache, with the merged-/usr layout of the host (bin, sbin
 * and lib moved under usr/). The tests lay that root over /usr and /etc in a
 * private mount namespace (tests/e2e/contrib_initramfs.test.ts).
 *
 * @module
 */

import { aptDownload } from "./apt.ts";
import { run, TestAssetError, withLock } from "./common.ts";

/** The packages unpacked, in order. */
export const GENERATOR_PACKAGES = [
  "initramfs-tools-core",
  "klibc-utils",
  "libklibc",
  "linux-base",
  "dracut-core",
] as const;

/** The unpacked generators. */
export interface InitramfsGenerators {
  /** Root holding usr/ and etc/ of the packages. */
  root: string;
  /** "package version" of each, for logs. */
  sources: string[];
}

function isDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

async function hostDebianArch(): Promise<string> {
  const r = await run("dpkg", ["--print-architecture"]);
  if (!r.ok) throw new TestAssetError(`dpkg --print-architecture failed: ${r.err.trim()}`);
  return r.out.trim();
}

/** Moves top-level bin, sbin, lib* of an unpacked root under usr/, as on a merged-/usr host. */
async function mergeUsr(root: string): Promise<void> {
  for (const entry of [...Deno.readDirSync(root)]) {
    if (!entry.isDirectory || !/^(bin|sbin|lib\w*)$/.test(entry.name)) continue;
    await Deno.mkdir(`${root}/usr/${entry.name}`, { recursive: true });
    const r = await run("cp", ["-a", `${root}/${entry.name}/.`, `${root}/usr/${entry.name}/`]);
    if (!r.ok) throw new TestAssetError(`merging ${entry.name} into usr/: ${r.err.trim()}`);
    await Deno.remove(`${root}/${entry.name}`, { recursive: true });
  }
}

/**
 * Finds or unpacks the generators under `cacheDir/initramfs-generators/`.
 *
 * @throws {TestAssetError} when apt cannot fetch a package.
 */
export async function ensureInitramfsGenerators(
  cacheDir: string,
  log: (line: string) => void = () => {},
): Promise<InitramfsGenerators> {
  const base = `${cacheDir}/initramfs-generators`;
  await Deno.mkdir(base, { recursive: true });
  return await withLock(`${base}/.lock`, async () => {
    const current = `${base}/current.json`;
    try {
      const cached = JSON.parse(await Deno.readTextFile(current)) as InitramfsGenerators;
      if (isDir(`${cached.root}/usr/sbin`) && isDir(`${cached.root}/usr/lib/dracut`)) return cached;
    } catch {
      // not unpacked yet
    }
    const arch = await hostDebianArch();
    const download = `${base}/download`;
    const { debs, versions } = await aptDownload({ arch }, [...GENERATOR_PACKAGES], download, log);
    const sources = GENERATOR_PACKAGES.map((p) => `${p} ${versions.get(p)}`);
    const key = sources.join(" ").replace(/[^A-Za-z0-9.+~-]+/g, "_").slice(0, 180);
    const root = `${base}/${key}`;
    await Deno.remove(root, { recursive: true }).catch(() => {});
    await Deno.mkdir(root, { recursive: true });
    for (const deb of debs) {
      const r = await run("dpkg", ["-x", deb, root]);
      if (!r.ok) throw new TestAssetError(`dpkg -x ${deb} failed: ${r.err.trim()}`);
    }
    await mergeUsr(root);
    // Mount points the tests bind over: the kernel modules directory and /boot.
    await Deno.mkdir(`${root}/usr/lib/modules`, { recursive: true });
    await Deno.remove(download, { recursive: true });
    const result: InitramfsGenerators = { root, sources };
    await Deno.writeTextFile(current, JSON.stringify(result) + "\n");
    log(`unpacked ${sources.join(", ")} into ${root}`);
    return result;
  });
}
