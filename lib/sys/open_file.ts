/**
 * Opening a kernel or initrd file for kexec: open(2) without blocking or
 * taking a terminal, then statx(2) to refuse anything but a non-empty regular
 * file before it is mapped or passed to the kernel.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { describeErrno } from "./errno.ts";
import { cString, lastErrno, libc } from "./libc.ts";
import { openError } from "./open_error.ts";
import type { OpenedFile } from "./system.ts";

// open(2) flags; identical on x86_64 and aarch64 (asm-generic/fcntl.h).
const O_RDONLY = 0;
const O_NOCTTY = 0o400;
// Never block on a FIFO given as a kernel path.
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

// statx(2): include/uapi/linux/stat.h. struct statx is the same on every arch.
const AT_EMPTY_PATH = 0x1000;
const STATX_TYPE = 0x1;
const STATX_SIZE = 0x200;
const STATX_BUF_SIZE = 256;
const STATX_MODE_OFFSET = 0x1c; // __u16 stx_mode
const STATX_SIZE_OFFSET = 0x28; // __u64 stx_size
const S_IFMT = 0o170000;
const FILE_TYPES: Record<number, string> = {
  0o100000: "regular file",
  0o040000: "directory",
  0o010000: "FIFO",
  0o020000: "character device",
  0o060000: "block device",
  0o140000: "socket",
  0o120000: "symbolic link",
};
const S_IFREG = 0o100000;

/**
 * Opens `path` read-only and checks that it is a non-empty regular file;
 * `role` ("kernel", "initrd") names it in errors.
 *
 * @example
 * ```ts
 * import { openRegularFile } from "./open_file.ts";
 * import { libc } from "./libc.ts";
 * const file = openRegularFile(Deno.execPath(), "kernel");
 * libc().close(file.fd);
 * if (file.size === 0) throw new Error();
 * ```
 */
export function openRegularFile(path: string, role: string): OpenedFile {
  const c = libc();
  const fd = c.open(cString(path), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
  if (fd < 0) throw openError(role, path, lastErrno());
  const stx = new Uint8Array(STATX_BUF_SIZE);
  if (c.statx(fd, cString(""), AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, stx) !== 0) {
    const errno = lastErrno();
    c.close(fd);
    throw new KexecError(`cannot stat ${role} ${path}: ${describeErrno(errno)}`, {
      syscall: "statx",
      errno,
    });
  }
  const view = new DataView(stx.buffer);
  const type = view.getUint16(STATX_MODE_OFFSET, true) & S_IFMT;
  const size = Number(view.getBigUint64(STATX_SIZE_OFFSET, true));
  if (type !== S_IFREG) {
    c.close(fd);
    const what = FILE_TYPES[type] ?? "special file";
    throw new KexecError(`${role} ${path} is a ${what}, not a regular file`, {
      hint: `give the path of the ${role} image file itself`,
    });
  }
  if (size === 0) {
    c.close(fd);
    throw new KexecError(`${role} ${path} is empty`, {
      hint: `the ${role} file was probably truncated; check the path`,
    });
  }
  return { path, fd, size, mode: view.getUint16(STATX_MODE_OFFSET, true) & 0o7777 };
}
