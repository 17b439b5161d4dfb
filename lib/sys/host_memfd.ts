/**
 * A memfd being filled on the host: write(2) and sendfile(2) into it, then
 * F_ADD_SEALS so that it cannot change once handed to kexec_file_load.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { describeErrno, Errno } from "./errno.ts";
import { lastErrno, libc, libcMemfd } from "./libc.ts";
import type { MemfdWriter, OpenedFile } from "./system.ts";

const F_ADD_SEALS = 1033;
const F_SEAL_ALL = 0x1 | 0x2 | 0x4 | 0x8; // SEAL, SHRINK, GROW, WRITE
// sendfile(2) moves at most this much per call.
const SENDFILE_MAX = 0x7ffff000;

/** A memfd of the host being filled: write(2) and sendfile(2) into it, then F_ADD_SEALS. */
export class HostMemfd implements MemfdWriter {
  size = 0;
  #fd: number;
  #name: string;
  #open = true;

  constructor(fd: number, name: string) {
    this.#fd = fd;
    this.#name = name;
  }

  write(bytes: Uint8Array): void {
    const c = libcMemfd();
    let rest = bytes;
    while (rest.length > 0) {
      const n = Number(c.write(this.#fd, rest as Uint8Array<ArrayBuffer>, BigInt(rest.length)));
      if (n <= 0) {
        throw this.#fail(
          "write",
          n < 0 ? lastErrno() : Errno.EIO,
          "the machine may be short of memory",
        );
      }
      rest = rest.subarray(n);
      this.size += n;
    }
  }

  append(file: OpenedFile): void {
    const c = libcMemfd();
    const offset = new BigInt64Array(1);
    const offsetPtr = Deno.UnsafePointer.of(offset);
    let left = file.size;
    while (left > 0) {
      const n = Number(
        c.sendfile(this.#fd, file.fd, offsetPtr, BigInt(Math.min(left, SENDFILE_MAX))),
      );
      if (n <= 0) {
        const errno = n < 0 ? lastErrno() : Errno.EIO;
        this.discard();
        throw new KexecError(
          `cannot copy ${file.path} into memfd ${this.#name}: ${describeErrno(errno)}`,
          { syscall: "sendfile", errno, hint: "the file may have shrunk while reading it" },
        );
      }
      left -= n;
      this.size += n;
    }
  }

  seal(): OpenedFile {
    if (libcMemfd().fcntl(this.#fd, F_ADD_SEALS, F_SEAL_ALL) !== 0) {
      throw this.#fail("fcntl", lastErrno(), "the kernel cannot seal memfds");
    }
    this.#open = false;
    return { path: `memfd:${this.#name}`, fd: this.#fd, size: this.size };
  }

  discard(): void {
    if (this.#open) libc().close(this.#fd);
    this.#open = false;
  }

  #fail(syscall: string, errno: number, hint: string): KexecError {
    this.discard();
    return new KexecError(`cannot fill memfd ${this.#name}: ${describeErrno(errno)}`, {
      syscall,
      errno,
      hint,
    });
  }
}
