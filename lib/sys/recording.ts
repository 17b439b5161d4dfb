/**
 * A {@link System} made of virtual files and a kernel that records every call:
 * each kexec syscall, reboot, sync and interface change is kept with its exact
 * arguments and never reaches the machine. Unit tests, JSDoc examples and
 * library users who want to see what a load would pass use it.
 *
 * @example
 * ```ts
 * import { RecordingSystem } from "./recording.ts";
 * import { unloadKernel } from "../unload.ts";
 * import { silentReporter } from "../report.ts";
 * const sys = new RecordingSystem({ "/sys/kernel/kexec_loaded": "1\n" });
 * unloadKernel(sys, { crash: false, syscall: "auto" }, silentReporter);
 * if (sys.calls[0].op !== "kexec_file_load" || sys.readText("/sys/kernel/kexec_loaded") !== "0\n") {
 *   throw new Error("not unloaded");
 * }
 * ```
 *
 * @module
 */

import type { Arch } from "../abi.ts";
import { KEXEC_FILE_ON_CRASH, KEXEC_FILE_UNLOAD, KEXEC_ON_CRASH, PATHS } from "../abi.ts";
import { KexecError } from "../errors.ts";
import { concatBytes, type Sha256 } from "../bytes.ts";
import { Errno } from "./errno.ts";
import { openError } from "./open_error.ts";
import type { MemfdWriter, OpenedFile, Output, System } from "./system.ts";

/** One recorded side effect. */
export type RecordedCall =
  | {
    op: "kexec_file_load";
    kernelFd: number;
    initrdFd: number;
    cmdline: Uint8Array | null;
    flags: number;
  }
  | { op: "kexec_load"; entry: bigint; table: BigUint64Array; nr: number; flags: number }
  | { op: "reboot"; cmd: number }
  | { op: "probe_kexec_load_flags"; flags: number }
  | { op: "sync"; timeoutMs: number }
  | { op: "ifdown"; name: string }
  | { op: "kmsg"; line: string }
  | { op: "mount_private_sysfs" }
  | { op: "memfd"; name: string; size: number; parts: string[] };

/** How the recorded kernel answers. */
export interface KernelAnswers {
  /** Successive errnos of kexec_file_load (then 0). */
  fileLoadErrnos?: number[];
  /** Successive errnos of kexec_load (then 0). */
  loadErrnos?: number[];
  /** errno of the kexec_load flags probe (default EFAULT: flags accepted). */
  probeErrno?: number;
  /** errno of reboot (it "returns" only on failure; default EINVAL). */
  rebootErrno?: number;
  /** The machine runs with 5-level paging (default false). */
  fiveLevelPaging?: boolean;
  /** Whether sync completes within the timeout (default true). */
  syncCompletes?: boolean;
  /**
   * What a private sysfs mount brings: files that appear once
   * `mountPrivateSysfs` succeeds (as if sysfs were not mounted until then),
   * or the errno it fails with (default: it succeeds and adds nothing).
   */
  privateSysfs?: { files?: Record<string, VirtualFile>; errno?: number };
}

/**
 * Output kept in strings instead of written.
 *
 * @example
 * ```ts
 * import { CapturedOutput } from "./recording.ts";
 * const io = new CapturedOutput();
 * io.err("x");
 * if (io.stderr !== "x" || io.stdout !== "") throw new Error();
 * ```
 */
export class CapturedOutput implements Output {
  stdout = "";
  stderr = "";
  out(text: string): void {
    this.stdout += text;
  }
  err(text: string): void {
    this.stderr += text;
  }
}

/**
 * The side-effecting System methods, recording into `calls` and answering from
 * `kernel`; `state` holds the kexec_loaded files they update and the
 * kexec_load_limit_* files they spend. Like Linux ≥ 6.6 (kernel/kexec_core.c,
 * kexec_load_permitted), every load call, probe or not, spends one load of
 * its image type before anything else is checked, and a spent limit answers
 * EPERM.
 *
 * @example
 * ```ts
 * import { recordSyscalls, type RecordedCall } from "./recording.ts";
 * const calls: RecordedCall[] = [];
 * const k = recordSyscalls(calls, { fileLoadErrnos: [38] }, new Map());
 * if (k.kexecFileLoad(3, -1, null, 4) !== 38 || calls.length !== 1) throw new Error();
 * ```
 */
export function recordSyscalls(
  calls: RecordedCall[],
  kernel: KernelAnswers,
  state: Map<string, string>,
) {
  const fileErrnos = [...(kernel.fileLoadErrnos ?? [])];
  const loadErrnos = [...(kernel.loadErrnos ?? [])];
  const setLoaded = (crash: boolean, v: boolean) =>
    state.set(crash ? PATHS.kexecCrashLoaded : PATHS.kexecLoaded, v ? "1\n" : "0\n");
  // False when the image type's limit is spent; otherwise spends one load.
  const permitted = (crash: boolean): boolean => {
    const path = crash ? PATHS.kexecLoadLimitPanic : PATHS.kexecLoadLimitReboot;
    const left = Number(state.get(path)?.trim());
    if (!Number.isInteger(left) || left < 0) return true;
    if (left === 0) return false;
    state.set(path, `${left - 1}\n`);
    return true;
  };
  return {
    kexecFileLoad(kernelFd: number, initrdFd: number, cmdline: Uint8Array | null, flags: number) {
      calls.push({
        op: "kexec_file_load",
        kernelFd,
        initrdFd,
        cmdline: cmdline ? cmdline.slice() : null,
        flags,
      });
      if (!permitted((flags & KEXEC_FILE_ON_CRASH) !== 0)) return Errno.EPERM;
      const errno = fileErrnos.shift() ?? 0;
      if (errno === 0 && state.has(PATHS.kexecLoaded)) {
        setLoaded((flags & KEXEC_FILE_ON_CRASH) !== 0, (flags & KEXEC_FILE_UNLOAD) === 0);
      }
      return errno;
    },
    kexecLoad(entry: bigint, table: BigUint64Array, nr: number, flags: number) {
      calls.push({ op: "kexec_load", entry, table: table.slice(), nr, flags });
      if (!permitted((flags & KEXEC_ON_CRASH) !== 0)) return Errno.EPERM;
      const errno = loadErrnos.shift() ?? 0;
      if (errno === 0 && state.has(PATHS.kexecLoaded)) {
        setLoaded((flags & KEXEC_ON_CRASH) !== 0, nr > 0);
      }
      return errno;
    },
    probeKexecLoadFlags(flags: number) {
      calls.push({ op: "probe_kexec_load_flags", flags });
      if (!permitted((flags & KEXEC_ON_CRASH) !== 0)) return Errno.EPERM;
      return kernel.probeErrno ?? Errno.EFAULT;
    },
    reboot(cmd: number) {
      calls.push({ op: "reboot", cmd });
      return kernel.rebootErrno ?? Errno.EINVAL;
    },
    sync(timeoutMs: number) {
      calls.push({ op: "sync", timeoutMs });
      return Promise.resolve(kernel.syncCompletes ?? true);
    },
    setInterfaceDown(name: string) {
      calls.push({ op: "ifdown", name });
      return 0;
    },
    kmsg(line: string) {
      calls.push({ op: "kmsg", line });
    },
  };
}

/** A virtual file: text, bytes, or a directory listing. */
export type VirtualFile = string | Uint8Array | { dir: string[] };

/**
 * A machine made of a virtual file tree and a kernel that records calls.
 *
 * @example
 * ```ts
 * import { RecordingSystem } from "./recording.ts";
 * const sys = new RecordingSystem({ "/boot/k": new Uint8Array(8) });
 * const f = sys.openFile("/boot/k", "kernel");
 * if (f.size !== 8 || sys.fds.get(f.fd) !== "/boot/k") throw new Error();
 * ```
 */
export class RecordingSystem implements System {
  readonly arch: Arch;
  readonly pageSize = 4096;
  readonly io = new CapturedOutput();
  readonly calls: RecordedCall[] = [];
  readonly files: Map<string, VirtualFile>;
  /** Open file descriptors → paths. */
  readonly fds = new Map<number, string>();
  #nextFd = 3;
  #sys: ReturnType<typeof recordSyscalls>;
  #state = new Map<string, string>();
  #fiveLevelPaging: boolean;
  #privateSysfs: KernelAnswers["privateSysfs"];

  constructor(
    files: Record<string, VirtualFile> = {},
    kernel: KernelAnswers = {},
    arch: Arch = "x86_64",
  ) {
    this.arch = arch;
    this.#fiveLevelPaging = kernel.fiveLevelPaging ?? false;
    this.#privateSysfs = kernel.privateSysfs;
    this.files = new Map(Object.entries(files));
    for (
      const p of [
        PATHS.kexecLoaded,
        PATHS.kexecCrashLoaded,
        PATHS.kexecLoadLimitReboot,
        PATHS.kexecLoadLimitPanic,
      ]
    ) {
      const v = this.files.get(p);
      if (typeof v === "string") this.#state.set(p, v);
    }
    this.#sys = recordSyscalls(this.calls, kernel, this.#state);
  }

  get stdout(): string {
    return this.io.stdout;
  }
  get stderr(): string {
    return this.io.stderr;
  }

  readText(path: string): string | undefined {
    if (this.#state.has(path)) return this.#state.get(path);
    const f = this.files.get(path);
    if (typeof f === "string") return f;
    if (f instanceof Uint8Array) return new TextDecoder().decode(f);
    return undefined;
  }
  readBytes(path: string, maxBytes: number, offset: number | bigint = 0): Uint8Array | undefined {
    const f = this.files.get(path);
    const bytes = typeof f === "string" ? new TextEncoder().encode(f) : f;
    if (!(bytes instanceof Uint8Array)) return undefined;
    const at = Number(offset);
    return bytes.subarray(Math.min(at, bytes.length), at + maxBytes);
  }
  listDir(path: string): string[] | undefined {
    const f = this.files.get(path);
    return f && typeof f === "object" && "dir" in f ? [...f.dir] : undefined;
  }
  mountPrivateSysfs(): number {
    this.calls.push({ op: "mount_private_sysfs" });
    const errno = this.#privateSysfs?.errno ?? 0;
    if (errno !== 0) return errno;
    for (const [path, file] of Object.entries(this.#privateSysfs?.files ?? {})) {
      this.files.set(path, file);
      if (
        typeof file === "string" && (path === PATHS.kexecLoaded || path === PATHS.kexecCrashLoaded)
      ) {
        this.#state.set(path, file);
      }
    }
    return 0;
  }
  openFile(path: string, role: string): OpenedFile {
    const f = this.files.get(path);
    if (f === undefined) throw openError(role, path, Errno.ENOENT);
    if (typeof f === "object" && "dir" in f) {
      throw new KexecError(`${role} ${path} is a directory, not a regular file`);
    }
    const size = typeof f === "string" ? new TextEncoder().encode(f).length : f.length;
    if (size === 0) throw new KexecError(`${role} ${path} is empty`);
    const fd = this.#nextFd++;
    this.fds.set(fd, path);
    return { path, fd, size };
  }
  mapFile(file: OpenedFile): Uint8Array {
    const f = this.files.get(file.path);
    if (f instanceof Uint8Array) return f;
    if (typeof f === "string") return new TextEncoder().encode(f);
    return new Uint8Array(file.size);
  }
  createMemfd(name: string): MemfdWriter {
    const chunks: Uint8Array[] = [];
    const parts: string[] = [];
    const fd = this.#nextFd++;
    let open = true;
    const writer = {
      size: 0,
      write: (bytes: Uint8Array) => {
        if (!open) throw new Error(`memfd ${name} is sealed or discarded`);
        chunks.push(bytes.slice());
        parts.push(`${bytes.length} bytes`);
        writer.size += bytes.length;
      },
      append: (file: OpenedFile) => {
        writer.write(this.mapFile(file));
        parts[parts.length - 1] = file.path;
      },
      seal: (): OpenedFile => {
        open = false;
        const bytes = concatBytes(chunks);
        let path = `memfd:${name}`;
        if (this.files.has(path)) path += `#${fd}`;
        this.calls.push({ op: "memfd", name, size: bytes.length, parts });
        this.files.set(path, bytes);
        this.fds.set(fd, path);
        return { path, fd, size: bytes.length };
      },
      discard: () => {
        open = false;
      },
    };
    return writer;
  }
  close(file: OpenedFile): void {
    this.fds.delete(file.fd);
  }
  addressOf(bytes: Uint8Array): bigint {
    // Deterministic stand-in addresses: 0x7f00_0000_0000 + length, so tables are
    // assertable; an empty buffer has no address, as on the host.
    return bytes.length === 0 ? 0n : 0x7f0000000000n + BigInt(bytes.length);
  }
  kexecFileLoad(kernelFd: number, initrdFd: number, cmdline: Uint8Array | null, flags: number) {
    return this.#sys.kexecFileLoad(kernelFd, initrdFd, cmdline, flags);
  }
  kexecLoad(entry: bigint, table: BigUint64Array, nr: number, flags: number) {
    return this.#sys.kexecLoad(entry, table, nr, flags);
  }
  probeKexecLoadFlags(flags: number) {
    return this.#sys.probeKexecLoadFlags(flags);
  }
  reboot(cmd: number) {
    return this.#sys.reboot(cmd);
  }
  sync(timeoutMs: number) {
    return this.#sys.sync(timeoutMs);
  }
  setInterfaceDown(name: string) {
    return this.#sys.setInterfaceDown(name);
  }
  random(n: number): Uint8Array {
    return new Uint8Array(n).fill(0xa5);
  }
  /** None: planners hash with lib/plan/sha256.ts, as on a machine without libcrypto. */
  nativeSha256(): Sha256 | undefined {
    return undefined;
  }
  fiveLevelPaging(): boolean {
    return this.#fiveLevelPaging;
  }
  kmsg(line: string): void {
    this.#sys.kmsg(line);
  }
  /** Recorded calls of one kind. */
  callsOf<K extends RecordedCall["op"]>(op: K): Extract<RecordedCall, { op: K }>[] {
    return this.calls.filter((c) => c.op === op) as Extract<RecordedCall, { op: K }>[];
  }
}
