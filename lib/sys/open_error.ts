/**
 * The error for a kernel or initrd path that cannot be opened, shared by the
 * host and its test doubles.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { describeErrno, Errno } from "./errno.ts";

/**
 * The error for a kernel or initrd that cannot be opened, naming the file and
 * what to do (shared with test doubles so they fail the same way).
 *
 * @example
 * ```ts
 * import { openError } from "./open_error.ts";
 * const e = openError("initrd", "/boot/x", 2);
 * if (e.message !== "cannot open initrd /boot/x: ENOENT (No such file or directory)") {
 *   throw new Error(e.message);
 * }
 * ```
 */
export function openError(role: string, path: string, errno: number): KexecError {
  const hints: Record<number, string> = {
    [Errno.ENOENT]: "check the path",
    [Errno.EACCES]: "run as root or fix the file's permissions",
    [Errno.ELOOP]: "the path contains a symbolic link loop",
    [Errno.ENOTDIR]: "a component of the path is not a directory",
    [Errno.ENAMETOOLONG]: "shorten the path",
  };
  return new KexecError(`cannot open ${role} ${path}: ${describeErrno(errno)}`, {
    hint: hints[errno] ?? "check the path and permissions",
    syscall: "open",
    errno,
  });
}
