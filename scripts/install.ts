/**
 * `deno task install` / `deno task uninstall`: puts the tool where its callers
 * look for `kexec`, and takes it away again.
 *
 * Under `--prefix` (default `/usr/local`):
 *
 * - `sbin/kexec`: the compiled executable when `dist/kexec` exists
 *   (`deno task compile`), else a launcher script that runs the bundle with
 *   this deno and the compiled executable's permissions;
 * - `lib/kexec-deno/kexec/`: the bundle, `main.js` and its chunks (launcher installs only);
 * - `lib/kexec-deno/initramfs.list`: what an initramfs needs for `kexec`, read
 *   by the initramfs-tools hook and the dracut module;
 * - `share/kexec-deno/initramfs-tools/hooks/kexec` and
 *   `share/kexec-deno/dracut/90kexec-deno/module-setup.sh` (from contrib/);
 * - `share/man/man8/kexec.8`;
 * - `lib/kexec-deno/manifest.json`: every file and directory this install
 *   created, with the files' SHA-256.
 *
 * Install refuses to replace a file it does not own (kexec-tools' own
 * `kexec`, say). Uninstall removes only what the manifest lists and only when
 * unchanged, then the directories it created if they are empty.
 *
 * ```sh
 * deno task install                      # as root: /usr/local/sbin/kexec
 * deno task install --prefix /tmp/x      # /tmp/x/sbin/kexec
 * deno task uninstall --prefix /tmp/x
 * ```
 *
 * @module
 */

import { TOOL_PERMISSIONS } from "./compile.ts";
import { sharedLibraryClosure } from "./mkinitramfs.ts";
import { bundleFiles } from "./bundle_files.ts";
import { LIBCRYPTO_SONAMES } from "../lib/sys/libcrypto.ts";

const REPO = new URL("../", import.meta.url).pathname;
const DEFAULT_PREFIX = "/usr/local";
/** Where the install keeps its own files, under the prefix. */
export const LIB_DIR = "lib/kexec-deno";
/** The manifest, under the prefix. */
export const MANIFEST = `${LIB_DIR}/manifest.json`;

/** One file to install: where, what, which mode. */
export interface InstallFile {
  /** Path relative to the prefix. */
  path: string;
  /** Host file to copy, or the content to write. */
  from: { file: string } | { text: string };
  /** Permission bits. */
  mode: number;
}

/** What {@link planInstall} needs to know. */
export interface InstallInputs {
  /** Absolute prefix, without a trailing slash. */
  prefix: string;
  /** The compiled executable, when there is one. */
  compiled?: string;
  /**
   * The bundle to install when there is no compiled executable: its entry
   * file, then its chunks (scripts/bundle_files.ts).
   */
  bundle?: readonly string[];
  /** The deno binary the launcher runs (the real binary, not a wrapper). */
  deno: string;
  /** The repository (for contrib/ and docs/). */
  repo: string;
  /**
   * Libraries kexec opens with dlopen when they are there (libcrypto, its
   * fast SHA-256): `{ host, guest }` paths, listed for the initramfs as programs.
   */
  dlopened?: readonly { host: string; guest: string }[];
}

/** The manifest written beside the installed files. */
export interface Manifest {
  /** Tool version. */
  version: string;
  /** The prefix installed into. */
  prefix: string;
  /** "compiled" or "launcher". */
  kind: "compiled" | "launcher";
  /** Files created, relative to the prefix, with their SHA-256. */
  files: { path: string; sha256: string }[];
  /** Directories created (relative), deepest last. */
  dirs: string[];
}

/**
 * The launcher script for a bundle install: deno with the compiled
 * executable's permissions, no config file lookup, no prompts, and a cache
 * directory that exists even in an initramfs.
 *
 * @example
 * ```ts
 * import { launcherText } from "./install.ts";
 * const s = launcherText("/usr/bin/deno", "/usr/local/lib/kexec-deno/kexec/main.js");
 * if (!s.startsWith("#!/bin/sh\n") || !s.includes("--allow-all") || !s.endsWith('main.js "$@"\n')) {
 *   throw new Error(s);
 * }
 * ```
 */
export function launcherText(deno: string, bundle: string): string {
  return [
    "#!/bin/sh",
    "# kexec for Deno, installed by `deno task install`: the bundle, run by deno with the",
    "# permissions `deno task compile` bakes into the executable.",
    'DENO_DIR="${DENO_DIR:-${TMPDIR:-/tmp}/kexec-deno}" DENO_NO_UPDATE_CHECK=1',
    "export DENO_DIR DENO_NO_UPDATE_CHECK",
    `exec ${deno} run --quiet --no-config --no-prompt ${TOOL_PERMISSIONS.join(" ")} ${bundle} "$@"`,
    "",
  ].join("\n");
}

// Where the bundle's files go, relative to the prefix: one directory, the entry first.
function bundlePaths(inputs: InstallInputs): string[] {
  return (inputs.bundle ?? []).map((f) => `${LIB_DIR}/kexec/${f.slice(f.lastIndexOf("/") + 1)}`);
}

/**
 * The lines of `initramfs.list`: `exec HOST DEST` (a program, copied with
 * its libraries: initramfs-tools' `copy_exec`, dracut's `inst_binary`) and
 * `file HOST DEST` (copied as it is). In the initramfs the tool is
 * `/sbin/kexec`; deno and the bundle keep their paths, which the launcher names.
 *
 * @example
 * ```ts
 * import { initramfsList } from "./install.ts";
 * const c = initramfsList({ prefix: "/p", compiled: "x", deno: "/d", repo: "/r" });
 * if (!c.includes("exec /p/sbin/kexec /sbin/kexec\n")) throw new Error(c);
 * const b = initramfsList({ prefix: "/p", bundle: ["/b/main.js", "/b/chunk-A.js"], deno: "/d", repo: "/r" });
 * if (!b.includes("exec /d /d\n") || !b.includes("file /p/lib/kexec-deno/kexec/chunk-A.js")) throw new Error(b);
 * const lib = { host: "/usr/lib/libcrypto.so.3", guest: "/usr/lib/libcrypto.so.3" };
 * const l = initramfsList({ prefix: "/p", compiled: "x", deno: "/d", repo: "/r", dlopened: [lib] });
 * if (!l.includes("exec /usr/lib/libcrypto.so.3 /usr/lib/libcrypto.so.3\n")) throw new Error(l);
 * ```
 */
export function initramfsList(inputs: InstallInputs): string {
  const p = inputs.prefix;
  const lines = [
    "# What an initramfs needs for /sbin/kexec (kexec for Deno), written by `deno task install`.",
    "# KIND HOST-PATH INITRAMFS-PATH; exec: a program with its libraries, file: a plain copy.",
  ];
  if (inputs.compiled) {
    lines.push(`exec ${p}/sbin/kexec /sbin/kexec`);
  } else {
    lines.push(`exec ${inputs.deno} ${inputs.deno}`);
    for (const file of bundlePaths(inputs)) lines.push(`file ${p}/${file} ${p}/${file}`);
    lines.push(`file ${p}/sbin/kexec /sbin/kexec`);
  }
  for (const lib of inputs.dlopened ?? []) lines.push(`exec ${lib.host} ${lib.guest}`);
  return lines.join("\n") + "\n";
}

/**
 * Every file an install writes, in order.
 *
 * @example
 * ```ts
 * import { planInstall } from "./install.ts";
 * const files = planInstall({ prefix: "/p", bundle: ["/b/main.js"], deno: "/d", repo: "/r" });
 * const paths = files.map((f) => f.path);
 * if (paths[0] !== "sbin/kexec" || !paths.includes("lib/kexec-deno/kexec/main.js")) throw new Error();
 * if (!paths.includes("share/kexec-deno/dracut/90kexec-deno/module-setup.sh")) throw new Error();
 * ```
 */
export function planInstall(inputs: InstallInputs): InstallFile[] {
  if (/\s/.test(inputs.prefix) || /\s/.test(inputs.deno)) {
    throw new InstallError(`paths with white space are not supported: ${inputs.prefix}`);
  }
  const files: InstallFile[] = [];
  if (inputs.compiled) {
    files.push({ path: "sbin/kexec", from: { file: inputs.compiled }, mode: 0o755 });
  } else {
    if (!inputs.bundle?.length) {
      throw new InstallError("nothing to install: no executable, no bundle");
    }
    const paths = bundlePaths(inputs);
    files.push({
      path: "sbin/kexec",
      from: { text: launcherText(inputs.deno, `${inputs.prefix}/${paths[0]}`) },
      mode: 0o755,
    });
    inputs.bundle.forEach((file, i) => {
      files.push({ path: paths[i], from: { file }, mode: 0o644 });
    });
  }
  files.push({
    path: `${LIB_DIR}/initramfs.list`,
    from: { text: initramfsList(inputs) },
    mode: 0o644,
  });
  files.push({
    path: "share/kexec-deno/initramfs-tools/hooks/kexec",
    from: { file: `${inputs.repo}/contrib/initramfs-tools/hooks/kexec` },
    mode: 0o755,
  });
  files.push({
    path: "share/kexec-deno/dracut/90kexec-deno/module-setup.sh",
    from: { file: `${inputs.repo}/contrib/dracut/90kexec-deno/module-setup.sh` },
    mode: 0o755,
  });
  files.push({
    path: "share/man/man8/kexec.8",
    from: { file: `${inputs.repo}/docs/kexec.8` },
    mode: 0o644,
  });
  return files;
}

/** An install or uninstall that cannot go on; the message says why. */
export class InstallError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "InstallError";
  }
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function fileSha256(path: string): Promise<string | undefined> {
  try {
    return await sha256(await Deno.readFile(path));
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads the manifest under `prefix`, or undefined when there is none. */
export function readManifest(prefix: string): Manifest | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(`${prefix}/${MANIFEST}`));
  } catch {
    return undefined;
  }
}

/**
 * Installs under `inputs.prefix` and writes the manifest. A previous install
 * of this tool there is removed first; any other file in the way stops the
 * install before anything is written.
 */
export async function install(
  inputs: InstallInputs,
  version: string,
  log: (line: string) => void = () => {},
): Promise<Manifest> {
  const prefix = inputs.prefix;
  const files = planInstall(inputs);
  const previous = readManifest(prefix);
  const owned = new Set(previous?.files.map((f) => f.path) ?? []);
  const foreign = files.filter((f) => !owned.has(f.path) && exists(`${prefix}/${f.path}`));
  if (foreign.length > 0) {
    throw new InstallError(
      `${foreign.map((f) => `${prefix}/${f.path}`).join(", ")} exist${
        foreign.length === 1 ? "s" : ""
      } and ${foreign.length === 1 ? "was" : "were"} not installed by this tool; ` +
        "remove or move them, or choose another --prefix",
    );
  }
  if (previous) await uninstall(prefix, log);
  const dirs: string[] = [];
  const manifest: Manifest = {
    version,
    prefix,
    kind: inputs.compiled ? "compiled" : "launcher",
    files: [],
    dirs,
  };
  const makeDirs = async (relative: string) => {
    const parts = relative.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (exists(`${prefix}/${dir}`)) continue;
      await Deno.mkdir(`${prefix}/${dir}`, { mode: 0o755 });
      dirs.push(dir);
    }
  };
  if (!exists(prefix)) {
    await Deno.mkdir(prefix, { recursive: true });
    dirs.push(".");
  }
  for (const file of [...files, { path: MANIFEST }]) await makeDirs(file.path);
  for (const file of files) {
    const bytes: Uint8Array<ArrayBuffer> = "file" in file.from
      ? await Deno.readFile(file.from.file)
      : new TextEncoder().encode(file.from.text);
    const target = `${prefix}/${file.path}`;
    await Deno.writeFile(target, bytes, { mode: file.mode, createNew: true });
    await Deno.chmod(target, file.mode);
    manifest.files.push({ path: file.path, sha256: await sha256(bytes) });
    log(`installed ${target}`);
  }
  await Deno.writeTextFile(`${prefix}/${MANIFEST}`, JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

/**
 * Removes what the manifest under `prefix` lists: each file only when its
 * content is what was installed, then the directories the install created,
 * deepest first, only when empty. Returns the paths left in place.
 */
export async function uninstall(
  prefix: string,
  log: (line: string) => void = () => {},
): Promise<string[]> {
  const manifest = readManifest(prefix);
  if (!manifest) {
    throw new InstallError(`no ${prefix}/${MANIFEST}: nothing was installed there by this tool`);
  }
  const kept: string[] = [];
  for (const file of manifest.files) {
    const path = `${prefix}/${file.path}`;
    const now = await fileSha256(path);
    if (now === undefined) continue;
    if (now !== file.sha256) {
      kept.push(path);
      log(`kept ${path}: changed since it was installed`);
      continue;
    }
    await Deno.remove(path);
    log(`removed ${path}`);
  }
  await Deno.remove(`${prefix}/${MANIFEST}`);
  for (const dir of [...manifest.dirs].reverse()) {
    try {
      await Deno.remove(dir === "." ? prefix : `${prefix}/${dir}`);
    } catch {
      // not empty: something else lives there now
    }
  }
  return kept;
}

function isElf(path: string): boolean {
  try {
    const head = Deno.readFileSync(path).subarray(0, 4);
    return head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
  } catch {
    return false;
  }
}

// The `bundle` task into `outdir`; returns the bundle's files, the entry first.
async function buildBundle(outdir: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`));
  const words = String(config.tasks.bundle).split(/\s+/).slice(1)
    .map((w) => (w.startsWith("--outdir=") ? `--outdir=${outdir}` : w));
  const r = await new Deno.Command(Deno.execPath(), {
    args: words,
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!r.success) {
    throw new InstallError(`deno bundle failed:\n${new TextDecoder().decode(r.stderr)}`);
  }
  return bundleFiles(`${outdir}/main.js`);
}

async function main(args: string[]): Promise<number> {
  let prefix = DEFAULT_PREFIX;
  let remove = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--prefix") prefix = args[++i] ?? "";
    else if (arg.startsWith("--prefix=")) prefix = arg.slice("--prefix=".length);
    else if (arg === "--uninstall") remove = true;
    else {
      console.error(`install: unknown argument ${arg} (use --prefix DIR, --uninstall)`);
      return 1;
    }
  }
  if (!prefix.startsWith("/")) prefix = `${Deno.cwd()}/${prefix}`;
  prefix = prefix.replace(/\/+$/, "") || "/";
  const log = (l: string) => console.error(`install: ${l}`);
  try {
    if (remove) {
      const kept = await uninstall(prefix, log);
      if (kept.length > 0) log(`left ${kept.length} changed file(s) in place`);
      return 0;
    }
    const compiled = isElf(`${REPO}dist/kexec`) ? `${REPO}dist/kexec` : undefined;
    let bundle: string[] | undefined;
    let tmp: string | undefined;
    if (!compiled) {
      tmp = await Deno.makeTempDir({ prefix: "kexec-install-" });
      bundle = await buildBundle(`${tmp}/kexec`);
      log(`no dist/kexec (deno task compile): installing deno ${Deno.version.deno} + the bundle`);
    }
    const { VERSION } = await import("../lib/cli/help.ts");
    try {
      const deno = Deno.execPath();
      const dlopened = sharedLibraryClosure(compiled ?? deno, { dlopened: LIBCRYPTO_SONAMES })
        .filter((l) => LIBCRYPTO_SONAMES.some((name) => l.guest.endsWith(`/${name}`)));
      await install({ prefix, compiled, bundle, deno, repo: REPO, dlopened }, VERSION, log);
    } finally {
      if (tmp) await Deno.remove(tmp, { recursive: true });
    }
    log(`done: ${prefix}/sbin/kexec; remove with: deno task uninstall --prefix ${prefix}`);
    return 0;
  } catch (err) {
    if (err instanceof InstallError) {
      console.error(`install: ${err.message}`);
      return 1;
    }
    if (err instanceof Deno.errors.AlreadyExists) {
      console.error(`install: ${err.message} (not installed by this tool: move it away)`);
      return 1;
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      console.error(`install: ${err.message} (run as root, or give --prefix DIR)`);
      return 1;
    }
    throw err;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
