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

import { KexecError } from "../errors.ts";
import type { CpioEntry } from "./cpio_entry.ts";
import { concat, NewcEncoder, type NewcOptions } from "./newc_encoder.ts";
import { newcPadding } from "./newc_header.ts";

export { archivePath } from "./archive_path.ts";
export type {
  CpioDevice,
  CpioDirectory,
  CpioEntry,
  CpioEntryBase,
  CpioFileBytes,
  CpioFileStream,
  CpioSymlink,
} from "./cpio_entry.ts";
export { NewcEncoder, type NewcOptions } from "./newc_encoder.ts";
export { NEWC_HEADER_SIZE, newcPadding } from "./newc_header.ts";

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
