/**
 * Debian's Xen hypervisor for the end-to-end test: `apt-get download
 * xen-hypervisor-4.17-amd64` into the test cache (never installed on the
 * host) and `dpkg -x` for the gzip'd `boot/xen-*.gz` as shipped.
 *
 * @module
 */

import { defaultCacheDir, TestAssetError } from "../../../scripts/fetch-test-assets.ts";

/** The package the test boots. */
export const XEN_PACKAGE = "xen-hypervisor-4.17-amd64";

/** The hypervisor file and where it came from. */
export interface XenAsset {
  /** `boot/xen-*.gz`. */
  xen: string;
  /** "<package> <version>". */
  source: string;
}

async function run(cmd: string, args: string[], cwd?: string) {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { ok: out.success, out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
}

function findXen(dir: string): string | undefined {
  try {
    const name = [...Deno.readDirSync(`${dir}/boot`)].map((e) => e.name)
      .find((n) => /^xen-.*\.gz$/.test(n));
    return name ? `${dir}/boot/${name}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Finds `xen-*.gz` in `cacheDir/xen/`, or downloads and unpacks the package
 * there. Throws a {@link TestAssetError} saying what failed.
 *
 * ```sh
 * deno run -A tests/e2e/multiboot/xen.ts   # fetch it into the test cache (what .ci/run does)
 * ```
 */
export async function ensureXen(cacheDir: string): Promise<XenAsset> {
  const show = await run("apt-cache", ["show", "--no-all-versions", XEN_PACKAGE]);
  const version = show.out.match(/^Version:\s*(\S+)/m)?.[1];
  if (!version) {
    throw new TestAssetError(
      `apt-cache does not know ${XEN_PACKAGE} (${show.err.trim() || "no Version line"}); ` +
        'run "apt-get update" as root',
    );
  }
  const source = `${XEN_PACKAGE} ${version}`;
  const dir = `${cacheDir}/xen/${XEN_PACKAGE}_${version.replaceAll(":", "%3a")}`;
  const cached = findXen(dir);
  if (cached) return { xen: cached, source };
  const tmp = `${dir}.download`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  const got = await run("apt-get", ["download", `${XEN_PACKAGE}=${version}`], tmp);
  const deb = [...Deno.readDirSync(tmp)].find((e) => e.name.endsWith(".deb"));
  if (!got.ok || !deb) {
    throw new TestAssetError(`apt-get download ${XEN_PACKAGE}=${version} failed:\n${got.err}`);
  }
  const unpacked = await run("dpkg", ["-x", `${tmp}/${deb.name}`, `${tmp}/root`]);
  if (!unpacked.ok || !findXen(`${tmp}/root`)) {
    throw new TestAssetError(`dpkg -x ${deb.name} gave no boot/xen-*.gz:\n${unpacked.err}`);
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(`${tmp}/root`, dir);
  await Deno.remove(tmp, { recursive: true });
  return { xen: findXen(dir)!, source };
}

if (import.meta.main) {
  try {
    const xen = await ensureXen(defaultCacheDir());
    console.log(`xen=${xen.xen}\nxenSource=${xen.source}`);
  } catch (err) {
    if (!(err instanceof TestAssetError)) throw err;
    console.error(`xen: ${err.message}`);
    Deno.exit(1);
  }
}
