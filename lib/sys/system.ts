/**
 * The edge between the pure core and the machine. Everything that touches FFI,
 * files, procfs or sysfs goes through a {@link System}; the real one is
 * `lib/sys/host.ts`, unit tests pass a fake that records every call.
 *
 * @module
 */

import type { Arch } from "../abi.ts";
import type { Sha256 } from "../bytes.ts";

/** A file opened read-only and close-on-exec, checked to be a non-empty regular file. */
export interface OpenedFile {
  /** Path as given by the user (or a name such as `memfd:initrd`). */
  readonly path: string;
  /** The real file descriptor, as passed to kexec_file_load. */
  readonly fd: number;
  /** Size in bytes. */
  readonly size: number;
  /** Permission bits (`st_mode & 0o7777`), when the System knows them. */
  readonly mode?: number;
}

/**
 * A memfd being filled (see {@link System.createMemfd}): the way unwrapped
 * kernels and composed initrds reach both syscalls without a temporary file
 * and without their bytes passing through the JS heap.
 */
export interface MemfdWriter {
  /** Bytes written so far. */
  readonly size: number;
  /** Appends bytes (a mapping or a small built buffer; the kernel copies them). */
  write(bytes: Uint8Array): void;
  /** Appends a whole opened file, copied inside the kernel (sendfile). */
  append(file: OpenedFile): void;
  /**
   * Seals the memfd against any change and returns it as an opened file, to
   * map with {@link System.mapFile} or pass to kexec_file_load; close it with
   * {@link System.close}.
   */
  seal(): OpenedFile;
  /** Closes it unsealed, after a failure. */
  discard(): void;
}

/** Where the command writes: stdout for results (`--json`, `--dry-run`), stderr for the rest. */
export interface Output {
  /** Writes text to stdout (no newline added). */
  out(text: string): void;
  /** Writes text to stderr (no newline added). */
  err(text: string): void;
}

/**
 * The machine as the library sees it. Methods that are system calls return the
 * errno (0 on success) rather than throwing, because callers decide on errno
 * (fallback, diagnosis); methods that open files throw a {@link KexecError}
 * naming the file.
 */
export interface System {
  /** Architecture of the running kernel. */
  readonly arch: Arch;
  /** Page size of the running kernel (segment alignment). */
  readonly pageSize: number;
  /** Output streams. */
  readonly io: Output;

  /** Text of a procfs/sysfs/config file, or undefined when missing or unreadable. */
  readText(path: string): string | undefined;
  /**
   * Up to `maxBytes` bytes of a file from byte `offset` (default 0; a bigint
   * for offsets beyond 2^53, which /proc/kcore has), or undefined when missing
   * or unreadable.
   */
  readBytes(path: string, maxBytes: number, offset?: number | bigint): Uint8Array | undefined;
  /** Names in a directory, or undefined when missing. */
  listDir(path: string): string[] | undefined;
  /**
   * Mounts sysfs read-only at /sys in a mount namespace private to this
   * process, for a caller (an initramfs) that has none mounted: nobody else
   * sees the mount, and the files this System reads afterwards come from it.
   * Returns 0 or the errno.
   */
  mountPrivateSysfs(): number;

  /**
   * Opens a kernel or initrd: read-only, close-on-exec, must be a non-empty
   * regular file. `role` names it in errors ("kernel", "initrd").
   * Throws a KexecError (exit 255) naming the file and the problem.
   */
  openFile(path: string, role: string): OpenedFile;
  /** Maps a whole opened file read-only; the bytes are never copied into the JS heap. */
  mapFile(file: OpenedFile): Uint8Array;
  /**
   * Creates an empty memfd (close-on-exec, sealable) named `name` in
   * /proc/self/fd, to be filled and sealed. Throws a KexecError when memfds
   * are unavailable.
   */
  createMemfd(name: string): MemfdWriter;
  /** Closes a file opened by this System. */
  close(file: OpenedFile): void;

  /** The address the kernel will read `bytes` from (for kexec_segment.buf). */
  addressOf(bytes: Uint8Array): bigint;

  /** kexec_file_load(2). Returns 0 or the errno. */
  kexecFileLoad(
    kernelFd: number,
    initrdFd: number,
    cmdline: Uint8Array | null,
    flags: number,
  ): number;
  /**
   * kexec_load(2) with a prepared `struct kexec_segment` table (4 u64 per
   * segment). `keepAlive` holds every buffer the table points into until the
   * call returns. Returns 0 or the errno.
   */
  kexecLoad(
    entry: bigint,
    table: BigUint64Array,
    nrSegments: number,
    flags: number,
    keepAlive: readonly Uint8Array[],
  ): number;
  /**
   * Asks whether kexec_load accepts `flags` without loading anything: one
   * segment at a NULL table, so the kernel fails with EFAULT copying the table
   * when it accepts the flags, and EINVAL when it does not (kernel/kexec.c
   * checks flags, then copies the table, before acting). Returns the errno.
   */
  probeKexecLoadFlags(flags: number): number;
  /** reboot(LINUX_REBOOT_MAGIC1, MAGIC2, cmd). Returns only on failure: the errno. */
  reboot(cmd: number): number;
  /** sync(2) in a worker thread; resolves true when done, false after `timeoutMs`. */
  sync(timeoutMs: number): Promise<boolean>;
  /** Clears IFF_UP on one network interface. Returns 0 or the errno. */
  setInterfaceDown(name: string): number;
  /**
   * Whether the running kernel hands out user addresses above 2^47 when asked
   * (x86_64: 5-level paging, so the next kernel must support it, XLF_5LEVEL;
   * arm64: 52-bit virtual addresses). Architectures interpret it.
   */
  fiveLevelPaging(): boolean;
  /** `n` bytes from getrandom(2). */
  random(n: number): Uint8Array;
  /**
   * A SHA-256 the machine provides natively (its libcrypto), or undefined:
   * the caller then uses lib/plan/sha256.ts. It reads mappings in place.
   */
  nativeSha256(): Sha256 | undefined;
  /** Writes one line to the kernel log (/dev/kmsg); best effort. */
  kmsg(line: string): void;
}
