/**
 * The entries a newc archive holds: regular files (in memory or streamed),
 * directories, symbolic links and device nodes, with the metadata common to
 * all of them.
 *
 * @example
 * ```ts
 * import type { CpioEntry } from "./cpio_entry.ts";
 * const console: CpioEntry = { type: "chardev", path: "/dev/console", major: 5, minor: 1 };
 * if (console.type !== "chardev") throw new Error();
 * ```
 *
 * @module
 */

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
