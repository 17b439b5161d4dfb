/**
 * `mkinitramfs`: packs host files into a newc initramfs, adding for every
 * dynamically linked program its ELF interpreter and the closure of its
 * `DT_NEEDED` libraries, resolved on the host. See docs/initramfs.md.
 *
 * ```sh
 * deno run -A scripts/mkinitramfs.ts -o rescue.cpio \
 *   /bin/busybox "$(command -v deno)=/usr/bin/deno" dist/bundle/main.js=/usr/lib/kexec/main.js \
 *   init.sh=/init --chardev /dev/console=5:1 --symlink /bin/sh=busybox
 * ```
 *
 * As a module it offers the same pieces to the end-to-end harness.
 *
 * @module
 */

import { type CpioEntry, newcChunks } from "../lib/initramfs/cpio.ts";
import {
  defaultLibraryDirs,
  type ElfDynamicInfo,
  librarySearchDirs,
  readElfDynamic,
} from "../lib/elf/dynamic.ts";
import { KexecError } from "../lib/errors.ts";
import { isFile } from "./test-assets/common.ts";

/** A host file and the path it gets inside the archive. */
export interface Placement {
  /** Path on the host (inside the sysroot, if one is used). */
  host: string;
  /** Absolute path inside the initramfs. */
  guest: string;
}

/** How {@link sharedLibraryClosure} searches. */
export interface LibrarySearchOptions {
  /** Resolve absolute paths (interpreter, library directories) inside this directory. */
  sysroot?: string;
  /** Directories searched before RUNPATH and the system directories (like `LD_LIBRARY_PATH`). */
  extraDirs?: string[];
  /**
   * Directories standing in for ld.so.cache and the built-in defaults. Default:
   * the directories of `<sysroot>/etc/ld.so.conf`, then the loader's defaults.
   */
  systemDirs?: string[];
  /**
   * Sonames the program may `dlopen` at run time rather than link (kexec's
   * libcrypto, lib/sys/libcrypto.ts): each one found in the system
   * directories is packed with its own closure; one found nowhere is left out,
   * since the program runs without it.
   */
  dlopened?: readonly string[];
}

const ELF_PROBE_BYTES = 64;

/** Random-access reader over a host file, for {@link readElfDynamic}. */
function readElfFile(path: string): ElfDynamicInfo {
  const file = Deno.openSync(path);
  try {
    return readElfDynamic((offset, length) => {
      const buf = new Uint8Array(length);
      file.seekSync(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < length) {
        const n = file.readSync(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      return buf.subarray(0, got);
    }, path);
  } finally {
    file.close();
  }
}

/** True when the file starts with the ELF magic (scripts and data are packed as they are). */
function isElf(path: string): boolean {
  const file = Deno.openSync(path);
  try {
    const head = new Uint8Array(ELF_PROBE_BYTES);
    const n = file.readSync(head) ?? 0;
    return n >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
  } finally {
    file.close();
  }
}

function inRoot(sysroot: string | undefined, path: string): string {
  return sysroot ? `${sysroot.replace(/\/+$/, "")}${path}` : path;
}

function dirname(path: string): string {
  const at = path.lastIndexOf("/");
  return at <= 0 ? "/" : path.slice(0, at);
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Directories listed by `ld.so.conf` (following `include` lines with `*`
 * patterns), as the host's loader cache would search them. Missing files give
 * an empty list.
 *
 * @example
 * ```ts
 * import { ldSoConfDirs } from "./mkinitramfs.ts";
 * const dirs = ldSoConfDirs();
 * if (!Array.isArray(dirs) || dirs.some((d) => !d.startsWith("/"))) throw new Error(String(dirs));
 * ```
 */
export function ldSoConfDirs(sysroot?: string, confPath = "/etc/ld.so.conf"): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    let text: string;
    try {
      text = Deno.readTextFileSync(inRoot(sysroot, path));
    } catch {
      return;
    }
    for (const raw of text.split("\n")) {
      const line = raw.replace(/#.*/, "").trim();
      if (line === "") continue;
      const include = line.match(/^include\s+(.+)$/);
      if (!include) {
        if (line.startsWith("/")) out.push(line.replace(/\/+$/, "") || "/");
        continue;
      }
      for (const pattern of include[1].split(/\s+/)) {
        const absolute = pattern.startsWith("/") ? pattern : `${dirname(path)}/${pattern}`;
        for (const match of globFiles(sysroot, absolute)) visit(match);
      }
    }
  };
  visit(confPath);
  return out;
}

/** Expands a `*`/`?` pattern in the last path component only, sorted like the loader does. */
function globFiles(sysroot: string | undefined, pattern: string): string[] {
  const dir = dirname(pattern);
  const name = basename(pattern);
  if (!/[*?]/.test(name)) return [pattern];
  const re = new RegExp(
    "^" + name.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".") +
      "$",
  );
  try {
    return [...Deno.readDirSync(inRoot(sysroot, dir))]
      .filter((e) => re.test(e.name))
      .map((e) => `${dir}/${e.name}`)
      .sort();
  } catch {
    return [];
  }
}

/**
 * The files a dynamically linked program needs besides itself: its ELF
 * interpreter at the exact `PT_INTERP` path, and every library of the
 * `DT_NEEDED` closure. Libraries keep the host path when it is one of the
 * loader's default directories (an initramfs has no ld.so.cache); otherwise
 * they go to the first default directory. Each candidate must have the
 * program's machine type, as the loader also requires. Returns an empty list
 * for static programs and non-ELF files.
 *
 * @throws {KexecError} when a needed library is found nowhere.
 *
 * @example
 * ```ts
 * import { sharedLibraryClosure } from "./mkinitramfs.ts";
 * const libs = sharedLibraryClosure(Deno.execPath());
 * if (!libs.some((p) => p.guest.endsWith("/libc.so.6"))) throw new Error(JSON.stringify(libs));
 * ```
 */
export function sharedLibraryClosure(
  program: string,
  options: LibrarySearchOptions = {},
): Placement[] {
  if (!isElf(program)) return [];
  const root = options.sysroot;
  const top = readElfFile(program);
  const defaults = defaultLibraryDirs(top.machine);
  const systemDirs = options.systemDirs ?? [...ldSoConfDirs(root), ...defaults];
  const placements: Placement[] = [];
  // Names the interpreter itself satisfies (libc lists ld-linux as DT_NEEDED).
  const provided = new Set<string>();
  if (top.interpreter) {
    const host = inRoot(root, top.interpreter);
    if (!isFile(host)) {
      throw new KexecError(`${program}: its ELF interpreter ${top.interpreter} is missing`, {
        hint: root ? `is ${root} a complete sysroot?` : "is the program built for this system?",
      });
    }
    placements.push({ host, guest: top.interpreter });
    provided.add(basename(top.interpreter));
    const soname = readElfFile(host).soname;
    if (soname) provided.add(soname);
  }

  const queue: { info: ElfDynamicInfo; origin: string; path: string }[] = [
    { info: top, origin: dirname(program), path: program },
  ];
  const place = (name: string, found: FoundLibrary) => {
    provided.add(name);
    const guestDir = defaults.includes(found.dir) ? found.dir : defaults[0];
    placements.push({ host: found.host, guest: `${guestDir}/${name}` });
    queue.push({ info: found.info, origin: found.dir, path: found.host });
  };
  for (const name of options.dlopened ?? []) {
    const found = provided.has(name) ? undefined : findLibrary(name, systemDirs, root, top.machine);
    if (found) place(name, found);
  }
  while (queue.length > 0) {
    const { info, origin, path } = queue.shift()!;
    const dirs = librarySearchDirs(info, origin, options.extraDirs ?? [], systemDirs);
    for (const name of info.needed) {
      if (provided.has(name)) continue;
      const found = findLibrary(name, dirs, root, top.machine);
      if (!found) {
        throw new KexecError(`${path}: shared library ${name} not found`, {
          hint: `searched ${dirs.join(":")}${root ? ` inside ${root}` : ""}; add --lib-path`,
        });
      }
      place(name, found);
    }
  }
  return placements;
}

/** A library file found for a soname: its host path, directory and dynamic section. */
interface FoundLibrary {
  host: string;
  dir: string;
  info: ElfDynamicInfo;
}

function findLibrary(
  name: string,
  dirs: string[],
  root: string | undefined,
  machine: number,
): FoundLibrary | undefined {
  if (name.includes("/")) {
    const host = inRoot(root, name);
    return isFile(host) ? { host, dir: dirname(name), info: readElfFile(host) } : undefined;
  }
  for (const dir of dirs) {
    const host = inRoot(root, `${dir}/${name}`);
    if (!isFile(host)) continue;
    let info: ElfDynamicInfo;
    try {
      info = readElfFile(host);
    } catch {
      continue; // Not ELF64 (a linker script, a 32-bit library): the loader skips it too.
    }
    if (info.machine === machine) return { host, dir, info };
  }
  return undefined;
}

/**
 * An archive entry for a host file, following symlinks, keeping its
 * permission bits; the content is read in chunks while the archive is written.
 *
 * @example
 * ```ts
 * import { hostFileEntry } from "./mkinitramfs.ts";
 * const entry = await hostFileEntry(Deno.execPath(), "/usr/bin/deno");
 * if (entry.type !== "file" || !("size" in entry) || entry.size < 1000) throw new Error();
 * if ((entry.mode! & 0o111) === 0) throw new Error("deno should be executable");
 * ```
 */
export async function hostFileEntry(
  host: string,
  guest: string,
  mode?: number,
): Promise<CpioEntry> {
  const info = await Deno.stat(host);
  if (!info.isFile) throw new KexecError(`${host}: not a regular file`);
  return {
    type: "file",
    path: guest,
    size: info.size,
    mode: mode ?? (info.mode ?? 0o644) & 0o7777,
    chunks: readChunks(host),
  };
}

async function* readChunks(path: string): AsyncGenerator<Uint8Array> {
  // Opened only when the writer reaches this entry, so many entries do not hold many descriptors.
  using file = await Deno.open(path);
  for await (const chunk of file.readable) yield chunk;
}

/**
 * Streams `entries` as a newc archive into `output` (a path, or "-" for stdout).
 * Returns the number of bytes written.
 *
 * @example
 * ```ts
 * import { writeArchive } from "./mkinitramfs.ts";
 * const out = await Deno.makeTempFile();
 * const size = await writeArchive([{ type: "directory", path: "/tmp" }], out);
 * if (size !== (await Deno.stat(out)).size) throw new Error("size");
 * await Deno.remove(out);
 * ```
 */
export async function writeArchive(
  entries: Iterable<CpioEntry> | AsyncIterable<CpioEntry>,
  output: string,
): Promise<number> {
  const file = output === "-"
    ? Deno.stdout
    : await Deno.open(output, { write: true, create: true, truncate: true });
  let written = 0;
  try {
    for await (const chunk of newcChunks(entries)) {
      let at = 0;
      while (at < chunk.length) at += await file.write(chunk.subarray(at));
      written += chunk.length;
    }
  } finally {
    if (output !== "-") file.close();
  }
  return written;
}

/** A file argument `HOST[=GUEST]`, with its libraries. */
export interface PackRequest {
  /** Files to pack: host path and guest path. */
  files: Placement[];
  /** Directories to create. */
  directories: string[];
  /** Symlinks: guest path and target. */
  symlinks: { path: string; target: string }[];
  /** Character devices: guest path, major, minor. */
  chardevs: { path: string; major: number; minor: number }[];
  /** Resolve shared libraries of ELF files (default true). */
  libraries: boolean;
  /** Library search settings. */
  search: LibrarySearchOptions;
}

/**
 * Everything a {@link PackRequest} puts into the archive, in order: directories,
 * files with their libraries (each library once), symlinks, devices.
 *
 * @example
 * ```ts
 * import { planPack } from "./mkinitramfs.ts";
 * const plan = planPack({
 *   files: [{ host: Deno.execPath(), guest: "/usr/bin/deno" }],
 *   directories: ["/proc"], symlinks: [], chardevs: [], libraries: true, search: {},
 * });
 * const guests = plan.files.map((f) => f.guest);
 * if (guests[0] !== "/usr/bin/deno" || !guests.some((g) => g.includes("ld-linux"))) {
 *   throw new Error(guests.join(" "));
 * }
 * ```
 */
export function planPack(request: PackRequest): PackRequest {
  const files: Placement[] = [];
  const seen = new Set<string>();
  const add = (p: Placement) => {
    if (seen.has(p.guest)) return;
    seen.add(p.guest);
    files.push(p);
  };
  for (const file of request.files) {
    add(file);
    if (request.libraries) {
      for (const lib of sharedLibraryClosure(file.host, request.search)) add(lib);
    }
  }
  return { ...request, files };
}

/** Archive entries for a planned {@link PackRequest}. */
async function* packEntries(plan: PackRequest): AsyncGenerator<CpioEntry> {
  for (const path of plan.directories) yield { type: "directory", path };
  for (const file of plan.files) {
    // The kernel runs /init only when it is executable; a script fresh from an editor is not.
    yield await hostFileEntry(file.host, file.guest, file.guest === "/init" ? 0o755 : undefined);
  }
  for (const link of plan.symlinks) yield { type: "symlink", path: link.path, target: link.target };
  for (const dev of plan.chardevs) yield { type: "chardev", ...dev };
}

const USAGE = `Usage: mkinitramfs.ts -o OUTPUT [options] HOST[=GUEST]...

Packs host files into a newc (cpio) initramfs. For every dynamically linked
ELF program, its interpreter and shared libraries are packed too.

  HOST[=GUEST]            a host file (symlinks followed) placed at GUEST (default: HOST);
                          permissions are kept, except that /init is always 0755
  -o, --output FILE       archive to write ("-" for stdout); uncompressed
  --dir PATH              create a directory (repeatable)
  --symlink PATH=TARGET   create a symbolic link (repeatable)
  --chardev PATH=MAJ:MIN  create a character device, e.g. /dev/console=5:1 (repeatable)
  --no-libs               do not add interpreters and shared libraries
  --lib-path DIR          search DIR first for libraries (repeatable)
  --sysroot DIR           resolve interpreters and libraries inside DIR
  --list                  print GUEST <- HOST lines instead of writing
  -h, --help              this text
`;

function splitPair(arg: string, option: string): [string, string] {
  const at = arg.indexOf("=");
  if (at <= 0 || at === arg.length - 1) {
    throw new KexecError(`${option}: expected NAME=VALUE, got ${JSON.stringify(arg)}`);
  }
  return [arg.slice(0, at), arg.slice(at + 1)];
}

/**
 * Parses the command line of the script.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./mkinitramfs.ts";
 * const a = parseArgs(["-o", "x.cpio", "/bin/busybox", "init.sh=/init", "--chardev", "/dev/console=5:1"]);
 * if (a.output !== "x.cpio" || a.request.files[1].guest !== "/init") throw new Error();
 * if (a.request.chardevs[0].minor !== 1) throw new Error();
 * ```
 */
export function parseArgs(args: string[]): {
  output?: string;
  list: boolean;
  help: boolean;
  request: PackRequest;
} {
  const request: PackRequest = {
    files: [],
    directories: [],
    symlinks: [],
    chardevs: [],
    libraries: true,
    search: {},
  };
  let output: string | undefined;
  let list = false;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new KexecError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case "-o":
      case "--output":
        output = value();
        break;
      case "--dir":
        request.directories.push(value());
        break;
      case "--symlink": {
        const [path, target] = splitPair(value(), arg);
        request.symlinks.push({ path, target });
        break;
      }
      case "--chardev": {
        const [path, numbers] = splitPair(value(), arg);
        const m = numbers.match(/^(\d+):(\d+)$/);
        if (!m) throw new KexecError(`--chardev ${path}: expected MAJOR:MINOR, got ${numbers}`);
        request.chardevs.push({ path, major: Number(m[1]), minor: Number(m[2]) });
        break;
      }
      case "--no-libs":
        request.libraries = false;
        break;
      case "--lib-path":
        (request.search.extraDirs ??= []).push(value());
        break;
      case "--sysroot":
        request.search.sysroot = value();
        break;
      case "--list":
        list = true;
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default: {
        if (arg.startsWith("-")) {
          throw new KexecError(`unknown option ${arg}`, { hint: "see --help" });
        }
        const at = arg.indexOf("=");
        const host = at < 0 ? arg : arg.slice(0, at);
        const guest = at < 0 ? arg : arg.slice(at + 1);
        if (!guest.startsWith("/")) {
          throw new KexecError(`${arg}: the path inside the archive must be absolute`, {
            hint: `write ${host}=/${guest.replace(/^\.?\//, "")}`,
          });
        }
        request.files.push({ host, guest });
      }
    }
  }
  return { output, list, help, request };
}

/** Runs the command line; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const parsed = parseArgs(args);
    if (parsed.help) {
      console.log(USAGE);
      return 0;
    }
    const plan = planPack(parsed.request);
    if (parsed.list) {
      for (const f of plan.files) console.log(`${f.guest} <- ${f.host}`);
      return 0;
    }
    if (!parsed.output) {
      throw new KexecError("no output file", { hint: "give -o FILE (or -o - for stdout)" });
    }
    const size = await writeArchive(packEntries(plan), parsed.output);
    if (parsed.output !== "-") console.error(`mkinitramfs: wrote ${parsed.output} (${size} bytes)`);
    return 0;
  } catch (err) {
    if (err instanceof KexecError) {
      console.error(`mkinitramfs: ${err.message}${err.hint ? ` (hint: ${err.hint})` : ""}`);
      return 1;
    }
    if (err instanceof Deno.errors.BrokenPipe) return 1; // the reader of stdout went away
    if (err instanceof Deno.errors.NotFound) {
      console.error(`mkinitramfs: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
