/**
 * The real {@link System}: libc through FFI, files, procfs and sysfs.
 * Nothing else in the library touches the machine.
 *
 * @module
 */

import { type Arch, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2 } from "../abi.ts";
import type { SyscallNumbers } from "../arch/abi_types.ts";
import { KexecError } from "../errors.ts";
import { describeErrno, Errno } from "./errno.ts";
import { cString, lastErrno, libc } from "./libc.ts";
import type { MemfdWriter, OpenedFile, Output, System } from "./system.ts";

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

// mmap(2) and memfd.
const PROT_READ = 1;
const MAP_PRIVATE = 2;
const MAP_FAILED = 0xffffffffffffffffn;
const PROT_NONE = 0;
const MAP_ANONYMOUS = 0x20;
// Top of the 4-level user address space (2^47) and a hint well above it.
const FOUR_LEVEL_USER_LIMIT = 1n << 47n;
const FIVE_LEVEL_HINT = 1n << 52n;
const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
const F_SEAL_ALL = 0x1 | 0x2 | 0x4 | 0x8; // SEAL, SHRINK, GROW, WRITE
// sendfile(2) moves at most this much per call.
const SENDFILE_MAX = 0x7ffff000;

// Network interface flags (include/uapi/linux/sockios.h, if.h); struct ifreq is 40 bytes.
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;
const IFREQ_FLAGS_OFFSET = 16;
const IFF_UP = 0x1;

const _SC_PAGESIZE = 30;

// unshare(2) and mount(2): include/uapi/linux/sched.h, include/uapi/linux/mount.h.
const CLONE_NEWNS = 0x00020000;
const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_REC = 0x4000;
const MS_PRIVATE = 0x40000;

// Holds the buffers of the last kexec_load so the collector cannot free them mid-call.
let _lastKeepAlive: readonly Uint8Array[] = [];

function ptrValue(p: Deno.PointerValue): bigint {
  return p === null ? 0n : BigInt(Deno.UnsafePointer.value(p));
}

/**
 * The error for a kernel or initrd that cannot be opened, naming the file and
 * what to do (shared with test doubles so they fail the same way).
 *
 * @example
 * ```ts
 * import { openError } from "./host.ts";
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

/** Standard output and error of the process. */
export const processOutput: Output = {
  out: (text) => writeAll(Deno.stdout, text),
  err: (text) => writeAll(Deno.stderr, text),
};

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

/**
 * The machine this process runs on.
 *
 * @example
 * ```ts
 * import { HostSystem } from "./host.ts";
 * // Reading is harmless; nothing here calls a kexec syscall.
 * import { hostArchAbi } from "../arch/abi.ts";
 * const sys = new HostSystem(hostArchAbi());
 * if (sys.pageSize < 4096 || sys.readText("/proc/self/status") === undefined) throw new Error();
 * ```
 */
export class HostSystem implements System {
  /** Architecture of the running kernel. */
  readonly arch: Arch;
  /** Output streams (stdout/stderr). */
  readonly io: Output;
  #pageSize = 0;
  #privateSysfs = false;

  #syscalls: SyscallNumbers;

  /**
   * Binds to the running machine, whose architecture's ABI the caller gives
   * (`hostArchAbi()` of lib/arch/abi.ts).
   */
  constructor(abi: { name: Arch; syscalls: SyscallNumbers }, io: Output = processOutput) {
    this.arch = abi.name;
    this.#syscalls = abi.syscalls;
    this.io = io;
  }

  /** Page size of the running kernel, asked once. */
  get pageSize(): number {
    if (this.#pageSize === 0) {
      const v = Number(libc().sysconf(_SC_PAGESIZE));
      this.#pageSize = v > 0 ? v : 4096;
    }
    return this.#pageSize;
  }

  readText(path: string): string | undefined {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  }

  readBytes(path: string, maxBytes: number, offset: number | bigint = 0): Uint8Array | undefined {
    let file: Deno.FsFile | undefined;
    try {
      file = Deno.openSync(path, { read: true });
      if (offset) file.seekSync(offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(maxBytes);
      let n = 0;
      while (n < maxBytes) {
        const got = file.readSync(buf.subarray(n));
        if (got === null || got === 0) break;
        n += got;
      }
      return buf.subarray(0, n);
    } catch {
      return undefined;
    } finally {
      file?.close();
    }
  }

  listDir(path: string): string[] | undefined {
    try {
      return [...Deno.readDirSync(path)].map((e) => e.name);
    } catch {
      return undefined;
    }
  }

  mountPrivateSysfs(): number {
    if (this.#privateSysfs) return 0;
    const c = libc();
    // The namespace belongs to the calling thread, the JS thread, which also
    // makes every later sync read and FFI call (man 2 unshare: CLONE_NEWNS
    // implies CLONE_FS, allowed in a multi-threaded process).
    if (c.unshare(CLONE_NEWNS) !== 0) return lastErrno();
    // Its mounts start as copies that may still share propagation with the
    // caller's; make them private first so the sysfs mount stays ours
    // (Documentation/filesystems/sharedsubtree.rst).
    if (c.mount(null, cString("/"), null, BigInt(MS_REC | MS_PRIVATE), null) !== 0) {
      return lastErrno();
    }
    const flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (c.mount(cString("sysfs"), cString("/sys"), cString("sysfs"), BigInt(flags), null) !== 0) {
      return lastErrno();
    }
    this.#privateSysfs = true;
    return 0;
  }

  openFile(path: string, role: string): OpenedFile {
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

  mapFile(file: OpenedFile): Uint8Array {
    const p = libc().mmap(null, BigInt(file.size), PROT_READ, MAP_PRIVATE, file.fd, 0n);
    if (p === null || ptrValue(p) === MAP_FAILED) {
      const errno = lastErrno();
      throw new KexecError(`cannot map ${file.path}: ${describeErrno(errno)}`, {
        syscall: "mmap",
        errno,
        hint: "the machine may be short of address space or memory",
      });
    }
    return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, file.size));
  }

  #memfd(name: string): number {
    const fd = libc().memfd_create(cString(name), MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
      const errno = lastErrno();
      throw new KexecError(`memfd_create failed: ${describeErrno(errno)}`, {
        syscall: "memfd_create",
        errno,
        hint: "the kernel needs CONFIG_MEMFD_CREATE",
      });
    }
    return fd;
  }

  createMemfd(name: string): MemfdWriter {
    return new HostMemfd(this.#memfd(name), name);
  }

  close(file: OpenedFile): void {
    libc().close(file.fd);
  }

  addressOf(bytes: Uint8Array): bigint {
    if (bytes.length === 0) return 0n;
    return ptrValue(Deno.UnsafePointer.of(bytes as Uint8Array<ArrayBuffer>));
  }

  #syscall(nr: number, ...args: bigint[]): number {
    const a = [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6) as [
      bigint,
      bigint,
      bigint,
      bigint,
      bigint,
      bigint,
    ];
    const r = libc().syscall(BigInt(nr), ...a);
    return r === -1n ? lastErrno() : 0;
  }

  kexecFileLoad(
    kernelFd: number,
    initrdFd: number,
    cmdline: Uint8Array | null,
    flags: number,
  ): number {
    const len = cmdline ? BigInt(cmdline.length) : 0n;
    const ptr = cmdline ? this.addressOf(cmdline) : 0n;
    return this.#syscall(
      this.#syscalls.kexec_file_load,
      BigInt(kernelFd),
      BigInt(initrdFd),
      len,
      ptr,
      BigInt(flags >>> 0),
    );
  }

  kexecLoad(
    entry: bigint,
    table: BigUint64Array,
    nrSegments: number,
    flags: number,
    keepAlive: readonly Uint8Array[],
  ): number {
    const ptr = nrSegments === 0 ? 0n : ptrValue(
      Deno.UnsafePointer.of(table as BigUint64Array<ArrayBuffer>),
    );
    const errno = this.#syscall(
      this.#syscalls.kexec_load,
      entry,
      BigInt(nrSegments),
      ptr,
      BigInt(flags >>> 0),
    );
    // The kernel copied every buffer during the call; only now may they go.
    _lastKeepAlive = keepAlive;
    return errno;
  }

  probeKexecLoadFlags(flags: number): number {
    // nr_segments 1 with a NULL table: never reaches the load itself.
    return this.#syscall(this.#syscalls.kexec_load, 0n, 1n, 0n, BigInt(flags >>> 0));
  }

  reboot(cmd: number): number {
    return this.#syscall(
      this.#syscalls.reboot,
      BigInt(LINUX_REBOOT_MAGIC1),
      BigInt(LINUX_REBOOT_MAGIC2),
      BigInt(cmd >>> 0),
      0n,
    );
  }

  async sync(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([libc().sync().then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  setInterfaceDown(name: string): number {
    const c = libc();
    const sock = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return lastErrno();
    try {
      const ifr = new Uint8Array(IFREQ_SIZE);
      const nameBytes = new TextEncoder().encode(name);
      if (nameBytes.length >= IFNAMSIZ) return Errno.EINVAL;
      ifr.set(nameBytes);
      if (c.ioctl(sock, BigInt(SIOCGIFFLAGS), ifr) !== 0) return lastErrno();
      const view = new DataView(ifr.buffer);
      const flags = view.getUint16(IFREQ_FLAGS_OFFSET, true);
      if ((flags & IFF_UP) === 0) return 0;
      view.setUint16(IFREQ_FLAGS_OFFSET, flags & ~IFF_UP, true);
      if (c.ioctl(sock, BigInt(SIOCSIFFLAGS), ifr) !== 0) return lastErrno();
      return 0;
    } finally {
      c.close(sock);
    }
  }

  fiveLevelPaging(): boolean {
    // Linux hands out user addresses above 47 bits only when the hint asks for
    // them and the kernel runs with 5-level paging
    // (Documentation/arch/x86/x86_64/5level-paging.rst).
    const c = libc();
    const p = c.mmap(
      Deno.UnsafePointer.create(FIVE_LEVEL_HINT),
      BigInt(this.pageSize),
      PROT_NONE,
      MAP_PRIVATE | MAP_ANONYMOUS,
      -1,
      0n,
    );
    const addr = ptrValue(p);
    if (p === null || addr === MAP_FAILED) return false;
    c.munmap(p, BigInt(this.pageSize));
    return addr >= FOUR_LEVEL_USER_LIMIT;
  }

  random(n: number): Uint8Array {
    return crypto.getRandomValues(new Uint8Array(n));
  }

  kmsg(line: string): void {
    try {
      Deno.writeTextFileSync("/dev/kmsg", `${line}\n`, { append: true });
    } catch {
      // The banner is a courtesy; a missing /dev/kmsg must not stop an exec.
    }
  }
}

/** A memfd of the host being filled: write(2) and sendfile(2) into it, then F_ADD_SEALS. */
class HostMemfd implements MemfdWriter {
  size = 0;
  #fd: number;
  #name: string;
  #open = true;

  constructor(fd: number, name: string) {
    this.#fd = fd;
    this.#name = name;
  }

  write(bytes: Uint8Array): void {
    const c = libc();
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
    const c = libc();
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
    if (libc().fcntl(this.#fd, F_ADD_SEALS, F_SEAL_ALL) !== 0) {
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
