/**
 * libc through `Deno.dlopen`, in groups each bound on first use, never at
 * import time: start-up cost is what a guest under emulation notices most.
 *
 * @module
 */

import { encodeRaw } from "../raw_text.ts";

// Bound in groups, each on first use: Deno compiles a call stub for every
// symbol bound, so a load that never creates a memfd or touches an interface
// does not pay for those (2 ms of the 6 ms all of them cost at once).

/** Files, mappings, errno and the raw syscall: every load and unload. */
const CORE = {
  // long syscall(long nr, ...): declared with a fixed arity of 6 arguments;
  // on x86_64 SysV and AArch64 variadic integers travel in the same registers
  // (System V AMD64 psABI; AAPCS64 as Linux uses it). Blocking, so errno is
  // read on the same thread.
  syscall: {
    parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
    result: "i64",
  },
  __errno_location: { parameters: [], result: "pointer" },
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  sysconf: { parameters: ["i32"], result: "i64" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Filling and sealing memfds (unwrapped kernels, composed initrds). */
const MEMFD = {
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  sendfile: { parameters: ["i32", "i32", "pointer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** What -e does before the reboot: sync, and network interfaces down. */
const EXEC = {
  // Runs on a worker thread so a sync that hangs on a dead network mount can
  // be abandoned after a timeout instead of hanging the tool.
  sync: { parameters: [], result: "void", nonblocking: true },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * A private mount namespace for reading sysfs when the caller has not
 * mounted it (man 2 unshare, man 2 mount). Both act on the calling thread,
 * which is the JS thread: only non-nonblocking calls and sync file reads
 * follow them.
 */
const MOUNT = {
  unshare: { parameters: ["i32"], result: "i32" },
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

// One group's symbols, bound by `Deno.dlopen` of libc on first use. The
// absolute soname is used so the lookup never depends on the working
// directory (denoland/deno#29246).
function group<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): () => Deno.DynamicLibrary<S>["symbols"] {
  let lib: Deno.DynamicLibrary<S> | undefined;
  return () => (lib ??= Deno.dlopen("libc.so.6", symbols)).symbols;
}

/**
 * libc's file, mapping and syscall functions, bound on first use.
 *
 * @example
 * ```ts
 * import { libc } from "./libc.ts";
 * // Harmless: the page size, through libc.
 * if (Number(libc().sysconf(30)) < 4096) throw new Error();
 * ```
 */
export const libc: () => Deno.DynamicLibrary<typeof CORE>["symbols"] = group(CORE);

/**
 * libc's memfd functions (memfd_create, sendfile, write, fcntl), bound on first use.
 *
 * @example
 * ```ts
 * import { libcMemfd } from "./libc.ts";
 * if (typeof libcMemfd().memfd_create !== "function") throw new Error();
 * ```
 */
export const libcMemfd: () => Deno.DynamicLibrary<typeof MEMFD>["symbols"] = group(MEMFD);

/**
 * libc's functions for -e (sync, socket, ioctl), bound on first use.
 *
 * @example
 * ```ts
 * import { libcExec } from "./libc.ts";
 * if (typeof libcExec().socket !== "function") throw new Error();
 * ```
 */
export const libcExec: () => Deno.DynamicLibrary<typeof EXEC>["symbols"] = group(EXEC);

/**
 * libc's unshare and mount, bound on first use.
 *
 * @example
 * ```ts
 * import { libcMount } from "./libc.ts";
 * if (typeof libcMount().unshare !== "function") throw new Error();
 * ```
 */
export const libcMount: () => Deno.DynamicLibrary<typeof MOUNT>["symbols"] = group(MOUNT);

/**
 * errno of the last failed libc call on this thread; call it right after the call.
 *
 * @example
 * ```ts
 * import { cString, lastErrno, libc } from "./libc.ts";
 * // open(2) of a missing file fails with ENOENT (2).
 * if (libc().open(cString("/nonexistent/kexec-doc-test"), 0, 0) !== -1 || lastErrno() !== 2) {
 *   throw new Error();
 * }
 * ```
 */
export function lastErrno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/**
 * NUL-terminated bytes of a path, for libc calls. Paths are raw strings
 * (lib/raw_text.ts): a file name that is not UTF-8 keeps its bytes.
 *
 * @example
 * ```ts
 * import { cString } from "./libc.ts";
 * const c = cString("/proc");
 * if (c.length !== 6 || c[5] !== 0) throw new Error();
 * ```
 */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = encodeRaw(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
