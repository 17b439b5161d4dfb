/**
 * errno numbers (asm-generic, shared by x86_64 and aarch64) with their names
 * and glibc texts, so messages can say `EPERM (Operation not permitted)`.
 *
 * @module
 */

/** Known errno values by name. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ELOOP: 40,
  ENODATA: 61,
  ENOPKG: 65,
  EBADMSG: 74,
  ELIBBAD: 80,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EADDRNOTAVAIL: 99,
  ENOKEY: 126,
  EKEYREJECTED: 129,
} as const;

/** An errno name such as `"EPERM"`. */
export type ErrnoName = keyof typeof Errno;

const TEXTS: Record<number, string> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  3: "No such process",
  4: "Interrupted system call",
  5: "Input/output error",
  6: "No such device or address",
  7: "Argument list too long",
  8: "Exec format error",
  9: "Bad file descriptor",
  11: "Resource temporarily unavailable",
  12: "Cannot allocate memory",
  13: "Permission denied",
  14: "Bad address",
  16: "Device or resource busy",
  17: "File exists",
  19: "No such device",
  20: "Not a directory",
  21: "Is a directory",
  22: "Invalid argument",
  23: "Too many open files in system",
  24: "Too many open files",
  26: "Text file busy",
  27: "File too large",
  28: "No space left on device",
  29: "Illegal seek",
  30: "Read-only file system",
  34: "Numerical result out of range",
  36: "File name too long",
  38: "Function not implemented",
  40: "Too many levels of symbolic links",
  61: "No data available",
  65: "Package not installed",
  74: "Bad message",
  80: "Accessing a corrupted shared library",
  90: "Message too long",
  95: "Operation not supported",
  99: "Cannot assign requested address",
  126: "Required key not available",
  129: "Key was rejected by service",
};

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Errno).map(([name, value]) => [value, name]),
);

/**
 * The symbolic name of an errno value (`"E?"` followed by the number when unknown).
 *
 * @example
 * ```ts
 * import { errnoName } from "./errno.ts";
 * if (errnoName(1) !== "EPERM" || errnoName(4242) !== "E4242") throw new Error();
 * ```
 */
export function errnoName(errno: number): string {
  return NAMES[errno] ?? `E${errno}`;
}

/**
 * `NAME (text)` for an errno, as every message of the tool prints it.
 *
 * @example
 * ```ts
 * import { describeErrno } from "./errno.ts";
 * if (describeErrno(22) !== "EINVAL (Invalid argument)") throw new Error();
 * ```
 */
export function describeErrno(errno: number): string {
  const text = TEXTS[errno];
  return text ? `${errnoName(errno)} (${text})` : `${errnoName(errno)} (errno ${errno})`;
}
