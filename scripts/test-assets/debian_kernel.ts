/**
 * Debian's kernel for a guest architecture: the package a meta-package
 * (`linux-image-amd64`, `linux-image-arm64`) depends on, resolved with
 * `apt-cache depends` at run time, fetched with `apt-get download`, its
 * `boot/` unpacked into `<kernelsDir>/<package>_<version>/`.
 *
 * @module
 */

import { aptOptions, type AptRoot, aptUpdate, ensureAptLists, kernelPackageFrom } from "./apt.ts";
import { isRoot, run, TestAssetError } from "./common.ts";

/** A guest kernel and where it came from. */
export interface KernelAsset {
  /** The kernel image (bzImage; arm64 Image, possibly gzip'd). */
  kernel: string;
  /** Where it came from: "<package> <version>", or the override variable's name. */
  kernelSource: string;
  /** The kernel's config file when known (boot/config-*). */
  kernelConfig?: string;
}

/** What {@link fetchDebianKernel} needs. */
export interface DebianKernelRequest {
  /** apt for the kernel's architecture. */
  root: AptRoot;
  /** e.g. `linux-image-amd64`. */
  metaPackage: string;
  /** Directory holding one unpacked directory per kernel package version. */
  kernelsDir: string;
  /** Environment variable that names another kernel file instead. */
  overrideEnv: string;
  /** May run `apt-get update` on the host's lists (as root). */
  install: boolean;
  /** Progress messages. */
  log: (line: string) => void;
}

async function kernelPackage(req: DebianKernelRequest) {
  await ensureAptLists(req.root, req.log);
  const depends = () => run("apt-cache", [...aptOptions(req.root), "depends", req.metaPackage]);
  let deps = await depends();
  let pkg = deps.ok ? kernelPackageFrom(deps.out) : undefined;
  if (!pkg && (req.root.stateDir || (req.install && isRoot()))) {
    await aptUpdate(req.root, req.log);
    deps = await depends();
    pkg = deps.ok ? kernelPackageFrom(deps.out) : undefined;
  }
  if (!pkg) {
    throw new TestAssetError(
      `apt-cache does not know ${req.metaPackage}, so the test kernel cannot be found ` +
        `(${deps.err.trim() || "no Depends line"}); run "apt-get update" as root, ` +
        `or set ${req.overrideEnv} to a kernel image`,
    );
  }
  const show = await run("apt-cache", [...aptOptions(req.root), "show", "--no-all-versions", pkg]);
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

function unpacked(dir: string, source: string): KernelAsset | undefined {
  const kernel = findBootFile(dir, "vmlinuz-");
  return kernel
    ? { kernel, kernelSource: source, kernelConfig: findBootFile(dir, "config-") }
    : undefined;
}

/**
 * Finds (in the cache) or fetches Debian's kernel; honours the override variable.
 *
 * @throws {TestAssetError} with the command that fixes the problem.
 */
export async function fetchDebianKernel(req: DebianKernelRequest): Promise<KernelAsset> {
  const override = Deno.env.get(req.overrideEnv);
  if (override) {
    try {
      Deno.statSync(override);
    } catch {
      throw new TestAssetError(`${req.overrideEnv}=${override}: no such file`);
    }
    return { kernel: override, kernelSource: req.overrideEnv };
  }
  const { pkg, version } = await kernelPackage(req);
  const source = `${pkg} ${version}`;
  const dir = `${req.kernelsDir}/${pkg}_${version.replaceAll(":", "%3a")}`;
  const cached = unpacked(dir, source);
  if (cached) return cached;
  const download = `${dir}.download`;
  await Deno.remove(download, { recursive: true }).catch(() => {});
  await Deno.mkdir(download, { recursive: true });
  req.log(`apt-get download ${pkg}=${version}${req.root.stateDir ? ` (${req.root.arch})` : ""}`);
  const got = await run(
    "apt-get",
    [...aptOptions(req.root), "download", `${pkg}=${version}`],
    { cwd: download },
  );
  const deb = [...Deno.readDirSync(download)].find((e) => e.name.endsWith(".deb"));
  if (!got.ok || !deb) {
    throw new TestAssetError(
      `apt-get download ${pkg}=${version} failed; the test kernel comes only from apt:\n` +
        got.err.trim(),
    );
  }
  // Only boot/ is needed; unpacking the modules as well would cost hundreds of megabytes.
  req.log(`unpacking boot/ of ${deb.name}`);
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
  return unpacked(dir, source)!;
}
