/**
 * Names inside an archive: how a path given by the caller becomes the name a
 * newc header carries, and which paths the kernel would not unpack.
 *
 * @example
 * ```ts
 * import { archivePath } from "./archive_path.ts";
 * if (archivePath("./init") !== "init") throw new Error();
 * ```
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { NEWC_TRAILER_NAME, PATH_MAX } from "./newc_header.ts";

const encoder = new TextEncoder();

/**
 * Normalises an archive path: drops leading "/" and "./", collapses repeated
 * slashes and a trailing slash. Refuses empty paths, NUL bytes and "..".
 *
 * @example
 * ```ts
 * import { archivePath } from "./archive_path.ts";
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
