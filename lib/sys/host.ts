/**
 * The real {@link System}: libc through FFI, files, procfs and sysfs.
 * Nothing else in the library touches the machine.
 *
 * @module
 */

import { type Arch, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2 } from "../abi.ts";
import type { SyscallNumbers } from "../arch/abi_types.ts";
import type { Sha256 } from "../bytes.ts";
import { KexecError } from "../errors.ts";
import { HostMemfd } from "./host_memfd.ts";
import { interfaceDown } from "./interface_down.ts";
import { describeErrno } from "./errno.ts";
import { cString, lastErrno, libc, libcExec, libcMemfd, libcMount } from "./libc.ts";
import { libcryptoSha256 } from "./libcrypto.ts";
import { openRegularFile } from "./open_file.ts";
import { processOutput } from "./process_output.ts";
import type { MemfdWriter, OpenedFile, Output, System } from "./system.ts";

export { openError } from "./open_error.ts";
export { processOutput } from "./process_output.ts";

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
    const c = libcMount();
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
    return openRegularFile(path, role);
  }

  mapFile(file: OpenedFile): Uint8Array {
    // Not MAP_POPULATE, although a load reads every page: the file may be a
    // hostile one larger than RAM (a sparse initrd), which must be refused by
    // its size before a page of it is read.
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
    const fd = libcMemfd().memfd_create(cString(name), MFD_CLOEXEC | MFD_ALLOW_SEALING);
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
      return await Promise.race([libcExec().sync().then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  setInterfaceDown(name: string): number {
    return interfaceDown(name);
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

  nativeSha256(): Sha256 | undefined {
    return libcryptoSha256();
  }

  kmsg(line: string): void {
    try {
      Deno.writeTextFileSync("/dev/kmsg", `${line}\n`, { append: true });
    } catch {
      // The banner is a courtesy; a missing /dev/kmsg must not stop an exec.
    }
  }
}
