/**
 * The stateful newc encoder: numbers inodes, emits missing parent
 * directories, and turns each {@link CpioEntry} into its header bytes
 * (st_mode from the entry type and permissions, inode(7)).
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { KexecError } from "../errors.ts";
import { archivePath } from "./archive_path.ts";
import type { CpioEntry } from "./cpio_entry.ts";
import {
  blankFields,
  encodeHeader,
  type HeaderFields,
  NEWC_TRAILER_NAME,
  newcPadding,
  PATH_MAX,
} from "./newc_header.ts";

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

const encoder = new TextEncoder();

function contentSize(entry: CpioEntry): number {
  if (entry.type === "file") return "data" in entry ? entry.data.length : entry.size;
  if (entry.type === "symlink") return encoder.encode(entry.target).length;
  return 0;
}

/**
 * Low-level, stateful newc encoder: it numbers inodes and remembers which
 * directories exist. Most callers want `newcChunks` or
 * `newcArchive` (cpio.ts); use this class to drive the output yourself.
 *
 * For each entry write {@link NewcEncoder.header}'s bytes, then (regular files)
 * exactly the file's bytes and `newcPadding(size)`; finish with
 * {@link NewcEncoder.trailer}. Symlink targets are part of the header chunk.
 *
 * @example
 * ```ts
 * import { NewcEncoder } from "./newc_encoder.ts";
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

/**
 * The parts as one array. A lone part is returned as is: most entries are a
 * single header.
 *
 * @example
 * ```ts
 * import { concat } from "./newc_encoder.ts";
 * const one = new Uint8Array(2);
 * if (concat([one]) !== one || concat([one, one]).length !== 4) throw new Error();
 * ```
 */
export function concat(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}
