/**
 * Writer for the "newc" cpio format, the format Linux unpacks as an initramfs
 * (Linux `Documentation/driver-api/early-userspace/buffer-format.rst`).
 *
 * The writer never needs a whole archive in memory: {@link newcChunks} yields
 * headers, padding and the file contents as separate chunks, and file contents
 * may themselves arrive as a stream of chunks with a declared size. Pipe the
 * chunks into a file, a pipe or a memfd. For small archives built from bytes
 * already in memory, {@link newcArchive} returns one `Uint8Array`.
 *
 * Several newc archives concatenated into one initrd are unpacked in order by
 * the kernel, later entries replacing earlier ones; this is how extra files can
 * be appended to an existing initrd.
 *
 * @example
 * ```ts
 * import { newcArchive } from "./cpio.ts";
 * const archive = newcArchive([
 *   { type: "file", path: "/init", data: new TextEncoder().encode("#!/bin/sh\n"), mode: 0o755 },
 *   { type: "symlink", path: "/bin/sh", target: "busybox" },
 *   { type: "chardev", path: "/dev/console", major: 5, minor: 1 },
 * ]);
 * // Every newc header starts with the ASCII magic "070701".
 * if (new TextDecoder().decode(archive.subarray(0, 6)) !== "070701") throw new Error("magic");
 * ```
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { KexecError } from "../errors.ts";

/** Metadata common to every kind of entry. */
export interface CpioEntryBase {
  /**
   * Path inside the archive. A leading "/" or "./" is dropped (the kernel
   * unpacks relative to the root of the initramfs); ".." is refused.
   */
  path: string;
  /** Permission bits (`0o7777` at most); the file-type bits come from `type`. */
  mode?: number;
  /** Owner user id; 0 unless given. */
  uid?: number;
  /** Owner group id; 0 unless given. */
  gid?: number;
  /** Modification time in seconds since the epoch; 0 unless given, for reproducible archives. */
  mtime?: number;
}

/** A regular file whose whole content is in memory. */
export interface CpioFileBytes extends CpioEntryBase {
  /** A regular file. */
  type: "file";
  /** The file's content. */
  data: Uint8Array;
}

/**
 * A regular file whose content is streamed. `size` goes into the header before
 * any data is read, so the chunks must add up to exactly `size` bytes.
 */
export interface CpioFileStream extends CpioEntryBase {
  /** A regular file. */
  type: "file";
  /** Length of the content in bytes. */
  size: number;
  /** The content, in order; sync or async (for example `Deno.FsFile.readable`). */
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

/** A directory. Missing parents of any entry are created automatically unless disabled. */
export interface CpioDirectory extends CpioEntryBase {
  /** A directory. */
  type: "directory";
}

/** A symbolic link pointing at `target` (stored verbatim, relative or absolute). */
export interface CpioSymlink extends CpioEntryBase {
  /** A symbolic link. */
  type: "symlink";
  /** What the link points to. */
  target: string;
}

/** A character or block device node, such as `/dev/console` (character 5:1). */
export interface CpioDevice extends CpioEntryBase {
  /** A character or a block device. */
  type: "chardev" | "blockdev";
  /** Device major number. */
  major: number;
  /** Device minor number. */
  minor: number;
}

/** Anything the writer can put into an archive. */
export type CpioEntry = CpioFileBytes | CpioFileStream | CpioDirectory | CpioSymlink | CpioDevice;

/** Options of {@link NewcEncoder} and the functions built on it. */
export interface NewcOptions {
  /**
   * Emit a directory entry (mode 0755) for every missing parent directory
   * before an entry that needs it. The kernel does not create parents itself:
   * a file whose directory is missing is silently dropped. Default true.
   */
  createParents?: boolean;
  /** Inode number of the first entry; each entry gets the next one. Default 1. */
  firstInode?: number;
}

// newc header: the 6-byte magic, then thirteen fields of 8 ASCII hex digits each,
// then the NUL-terminated name, padded so that header+name is a multiple of 4;
// the data follows, padded to a multiple of 4 (buffer-format.rst, "newc").
const NEWC_MAGIC = "070701";
const NEWC_FIELD_DIGITS = 8;
const NEWC_FIELDS = [
  "ino",
  "mode",
  "uid",
  "gid",
  "nlink",
  "mtime",
  "filesize",
  "devmajor",
  "devminor",
  "rdevmajor",
  "rdevminor",
  "namesize",
  "check",
] as const;
/** Length of a newc header before the name: magic + 13 fields. */
export const NEWC_HEADER_SIZE = NEWC_MAGIC.length + NEWC_FIELDS.length * NEWC_FIELD_DIGITS;
const NEWC_ALIGN = 4;
const NEWC_TRAILER_NAME = "TRAILER!!!";
const NEWC_FIELD_MAX = 0xffff_ffff;
// The kernel's unpacker (init/initramfs.c do_header) silently skips an entry
// whose name, NUL included, or whose symlink target is longer than PATH_MAX.
const PATH_MAX = 4096;

// File-type bits of st_mode (inode(7)).
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const PERMISSION_MASK = 0o7777;

const DEFAULT_PERMISSIONS: Record<CpioEntry["type"], number> = {
  file: 0o644,
  directory: 0o755,
  symlink: 0o777,
  chardev: 0o600,
  blockdev: 0o600,
};

const TYPE_BITS: Record<CpioEntry["type"], number> = {
  file: S_IFREG,
  directory: S_IFDIR,
  symlink: S_IFLNK,
  chardev: S_IFCHR,
  blockdev: S_IFBLK,
};

type HeaderFields = Record<(typeof NEWC_FIELDS)[number], number>;

const encoder = new TextEncoder();

/**
 * Normalises an archive path: drops leading "/" and "./", collapses repeated
 * slashes and a trailing slash. Refuses empty paths, NUL bytes and "..".
 *
 * @example
 * ```ts
 * import { archivePath } from "./cpio.ts";
 * if (archivePath("/usr//lib/") !== "usr/lib") throw new Error("not normalised");
 * ```
 */
export function archivePath(path: string): string {
  if (path.includes("\0")) {
    throw new KexecError(`archive path ${JSON.stringify(path)} contains NUL`);
  }
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    throw new KexecError(`archive path ${JSON.stringify(path)} contains ".."`, {
      hint: "give the path the file should have inside the initramfs",
    });
  }
  if (parts.length === 0) {
    throw new KexecError(`archive path ${JSON.stringify(path)} names the root`, {
      hint: "the root directory exists already; give a path below it",
    });
  }
  const name = parts.join("/");
  // The kernel never creates an entry of that name, nor anything below it.
  if (parts[0] === NEWC_TRAILER_NAME) {
    throw new KexecError(
      `archive path ${JSON.stringify(path)} starts with the end-of-archive marker`,
      { hint: "the kernel would not create it, and cpio tools stop reading there; rename it" },
    );
  }
  const length = encoder.encode(name).length;
  if (length + 1 > PATH_MAX) {
    throw new KexecError(
      `archive path ${JSON.stringify(name.slice(0, 40))}… is ${length} bytes; the kernel ` +
        `unpacks names of at most ${PATH_MAX - 1}`,
      { hint: "the kernel would skip the entry silently; shorten the path" },
    );
  }
  return name;
}

/**
 * Bytes of the data padding that must follow `size` bytes of file content.
 *
 * @example
 * ```ts
 * import { newcPadding } from "./cpio.ts";
 * if (newcPadding(5).length !== 3 || newcPadding(8).length !== 0) throw new Error("padding");
 * ```
 */
export function newcPadding(size: number): Uint8Array {
  return new Uint8Array((NEWC_ALIGN - (size % NEWC_ALIGN)) % NEWC_ALIGN);
}

function checkField(name: string, value: number, path: string): void {
  if (!Number.isInteger(value) || value < 0 || value > NEWC_FIELD_MAX) {
    throw new KexecError(
      `archive entry ${path}: ${name} ${value} does not fit a newc header (0..0xffffffff)`,
    );
  }
}

function encodeHeader(fields: HeaderFields, name: string): Uint8Array {
  const nameBytes = encoder.encode(name);
  const namesize = nameBytes.length + 1; // the NUL terminator counts
  const all: HeaderFields = { ...fields, namesize };
  let text = NEWC_MAGIC;
  for (const field of NEWC_FIELDS) {
    checkField(field, all[field], name);
    text += all[field].toString(16).padStart(NEWC_FIELD_DIGITS, "0");
  }
  const unpadded = NEWC_HEADER_SIZE + namesize;
  const out = new Uint8Array(unpadded + newcPadding(unpadded).length);
  out.set(encoder.encode(text), 0);
  out.set(nameBytes, NEWC_HEADER_SIZE);
  return out;
}

function contentSize(entry: CpioEntry): number {
  if (entry.type === "file") return "data" in entry ? entry.data.length : entry.size;
  if (entry.type === "symlink") return encoder.encode(entry.target).length;
  return 0;
}

/**
 * Low-level, stateful newc encoder: it numbers inodes and remembers which
 * directories exist. Most callers want {@link newcChunks} or
 * {@link newcArchive}; use this class to drive the output yourself.
 *
 * For each entry write {@link NewcEncoder.header}'s bytes, then (regular files)
 * exactly the file's bytes and `newcPadding(size)`; finish with
 * {@link NewcEncoder.trailer}. Symlink targets are part of the header chunk.
 *
 * @example
 * ```ts
 * import { NewcEncoder } from "./cpio.ts";
 * const enc = new NewcEncoder();
 * const header = enc.header({ type: "file", path: "etc/hostname", size: 5, chunks: [] });
 * // The parent "etc" was emitted first, so the header chunk holds two headers.
 * const text = new TextDecoder().decode(header);
 * if (!text.includes("etc\0") || !text.includes("etc/hostname\0")) throw new Error(text);
 * ```
 */
export class NewcEncoder {
  #nextInode: number;
  #createParents: boolean;
  #directories = new Set<string>();
  #finished = false;

  /** Starts an archive. */
  constructor(options: NewcOptions = {}) {
    this.#nextInode = options.firstInode ?? 1;
    this.#createParents = options.createParents ?? true;
  }

  /**
   * Header bytes for `entry`, preceded by headers of missing parent
   * directories. For a regular file, the content must follow; for a symlink
   * the target is included here.
   */
  header(entry: CpioEntry): Uint8Array {
    if (this.#finished) throw new KexecError("newc archive: entry added after the trailer");
    const path = archivePath(entry.path);
    const parts: Uint8Array[] = [];
    if (this.#createParents) {
      const segments = path.split("/");
      for (let i = 1; i < segments.length; i++) {
        const dir = segments.slice(0, i).join("/");
        if (!this.#directories.has(dir)) parts.push(this.#directoryHeader(dir));
      }
    }
    parts.push(this.#entryHeader(entry, path));
    return concat(parts);
  }

  /** The closing `TRAILER!!!` entry. No entry may follow it. */
  trailer(): Uint8Array {
    this.#finished = true;
    return encodeHeader(
      { ...blankFields(), nlink: 1 },
      NEWC_TRAILER_NAME,
    );
  }

  #directoryHeader(dir: string): Uint8Array {
    this.#directories.add(dir);
    return encodeHeader(
      { ...blankFields(), ino: this.#nextInode++, mode: S_IFDIR | 0o755, nlink: 2 },
      dir,
    );
  }

  #entryHeader(entry: CpioEntry, path: string): Uint8Array {
    const permissions = entry.mode ?? DEFAULT_PERMISSIONS[entry.type];
    if (!Number.isInteger(permissions) || (permissions & ~PERMISSION_MASK) !== 0) {
      throw new KexecError(
        `archive entry ${path}: mode 0o${permissions.toString(8)} has bits beyond 0o7777`,
        { hint: "give permission bits only; the entry type sets the file type" },
      );
    }
    const size = contentSize(entry);
    const isDevice = entry.type === "chardev" || entry.type === "blockdev";
    const fields: HeaderFields = {
      ...blankFields(),
      ino: this.#nextInode++,
      mode: TYPE_BITS[entry.type] | permissions,
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      nlink: entry.type === "directory" ? 2 : 1,
      mtime: entry.mtime ?? 0,
      filesize: size,
      rdevmajor: isDevice ? entry.major : 0,
      rdevminor: isDevice ? entry.minor : 0,
    };
    if (entry.type === "directory") this.#directories.add(path);
    const header = encodeHeader(fields, path);
    if (entry.type !== "symlink") return header;
    const target = encoder.encode(entry.target);
    if (target.length === 0) throw new KexecError(`archive entry ${path}: empty symlink target`);
    if (target.length > PATH_MAX) {
      throw new KexecError(
        `archive entry ${path}: symlink target of ${target.length} bytes; the kernel unpacks ` +
          `targets of at most ${PATH_MAX}`,
        { hint: "the kernel would skip the link silently" },
      );
    }
    return concat([header, target, newcPadding(target.length)]);
  }
}

function blankFields(): HeaderFields {
  return {
    ino: 0,
    mode: 0,
    uid: 0,
    gid: 0,
    nlink: 0,
    mtime: 0,
    filesize: 0,
    devmajor: 0,
    devminor: 0,
    rdevmajor: 0,
    rdevminor: 0,
    namesize: 0,
    check: 0,
  };
}

// A lone part is returned as is: most entries are a single header.
function concat(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}

function sizeMismatch(path: string, declared: number, got: number): KexecError {
  return new KexecError(
    `archive entry ${path}: declared ${declared} bytes but its content had ${got}`,
    { hint: "the file changed while the archive was written; build the archive again" },
  );
}

/**
 * Streams a complete newc archive (entries, then the trailer) as chunks.
 * File contents are passed through as they arrive, never copied into one
 * buffer, so archives far larger than memory can be written.
 *
 * @example
 * ```ts
 * import { newcChunks } from "./cpio.ts";
 * async function* content() {
 *   yield new Uint8Array([1, 2]);
 *   yield new Uint8Array([3]);
 * }
 * let total = 0;
 * for await (const chunk of newcChunks([{ type: "file", path: "data", size: 3, chunks: content() }])) {
 *   total += chunk.length;
 * }
 * // Whole archive is a multiple of 4 bytes.
 * if (total % 4 !== 0) throw new Error(`length ${total}`);
 * ```
 */
export async function* newcChunks(
  entries: Iterable<CpioEntry> | AsyncIterable<CpioEntry>,
  options: NewcOptions = {},
): AsyncGenerator<Uint8Array> {
  const enc = new NewcEncoder(options);
  for await (const entry of entries) {
    yield enc.header(entry);
    if (entry.type !== "file") continue;
    if ("data" in entry) {
      if (entry.data.length > 0) yield entry.data;
      yield newcPadding(entry.data.length);
      continue;
    }
    let got = 0;
    for await (const chunk of entry.chunks) {
      got += chunk.length;
      if (got > entry.size) throw sizeMismatch(entry.path, entry.size, got);
      if (chunk.length > 0) yield chunk;
    }
    if (got !== entry.size) throw sizeMismatch(entry.path, entry.size, got);
    yield newcPadding(entry.size);
  }
  yield enc.trailer();
}

/**
 * Builds a whole newc archive in memory. Streamed files must use synchronous
 * iterables here; use {@link newcChunks} for asynchronous sources or large files.
 *
 * @example
 * ```ts
 * import { newcArchive } from "./cpio.ts";
 * const bytes = newcArchive([{ type: "file", path: "/etc/motd", data: new Uint8Array(3) }]);
 * const text = new TextDecoder().decode(bytes);
 * if (!text.includes("etc/motd\0") || !text.includes("TRAILER!!!\0")) throw new Error(text);
 * ```
 */
export function newcArchive(entries: Iterable<CpioEntry>, options: NewcOptions = {}): Uint8Array {
  const enc = new NewcEncoder(options);
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    parts.push(enc.header(entry));
    if (entry.type !== "file") continue;
    if ("data" in entry) {
      parts.push(entry.data, newcPadding(entry.data.length));
      continue;
    }
    if (!(Symbol.iterator in entry.chunks)) {
      throw new KexecError(`archive entry ${entry.path}: asynchronous content`, {
        hint: "use newcChunks() for streamed files",
      });
    }
    let got = 0;
    for (const chunk of entry.chunks) {
      got += chunk.length;
      parts.push(chunk);
    }
    if (got !== entry.size) throw sizeMismatch(entry.path, entry.size, got);
    parts.push(newcPadding(entry.size));
  }
  parts.push(enc.trailer());
  return concat(parts);
}
