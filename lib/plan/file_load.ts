/**
 * Planning a kexec_file_load call: which fds, which flags, which bytes of
 * command line. Pure; the files are already open.
 *
 * @module
 */

import {
  KEXEC_FILE_DEBUG,
  KEXEC_FILE_FORCE_DTB,
  KEXEC_FILE_NO_CMA,
  KEXEC_FILE_NO_INITRAMFS,
  KEXEC_FILE_ON_CRASH,
  KEXEC_FILE_UNLOAD,
  KEXEC_ON_CRASH,
} from "../abi.ts";
import { cmdlineBytes } from "../cmdline.ts";
import type { OpenedFile } from "../sys/system.ts";
import type { FileLoadPlan } from "./types.ts";

/** Inputs of {@link planFileLoad}. */
export interface FileLoadInput {
  /** The kernel file (a memfd when it was unwrapped). */
  readonly kernel: OpenedFile;
  /** The initrd to pass (a memfd when several were concatenated), or null. */
  readonly initrd: OpenedFile | null;
  /** The initrd paths the user gave, for printing. */
  readonly initrdPaths: readonly string[];
  /** The resolved command line (without NUL). */
  readonly cmdline: string;
  /** Load the crash image. */
  readonly crash: boolean;
  /** --no-cma. */
  readonly noCma?: boolean;
  /** --force-dtb. */
  readonly forceDtb?: boolean;
  /** Lines explaining earlier decisions, carried into the plan. */
  readonly notes?: readonly string[];
}

/**
 * Plans a kexec_file_load: `NO_INITRAMFS` when there is no initrd (otherwise
 * the kernel reads fd −1 and fails with EBADF), `ON_CRASH` for `-p`, and the
 * command line NUL-terminated with its length counting the NUL.
 *
 * @example
 * ```ts
 * import { planFileLoad } from "./file_load.ts";
 * const plan = planFileLoad({
 *   kernel: { path: "/boot/vmlinuz", fd: 3, size: 100 },
 *   initrd: null,
 *   initrdPaths: [],
 *   cmdline: "quiet",
 *   crash: true,
 * });
 * if (plan.flags !== 0x6 || plan.cmdlineBytes.length !== 6) throw new Error("wrong plan");
 * ```
 */
export function planFileLoad(input: FileLoadInput): FileLoadPlan {
  let flags = 0;
  if (input.crash) flags |= KEXEC_FILE_ON_CRASH;
  if (!input.initrd) flags |= KEXEC_FILE_NO_INITRAMFS;
  if (input.noCma) flags |= KEXEC_FILE_NO_CMA;
  if (input.forceDtb) flags |= KEXEC_FILE_FORCE_DTB;
  const f = (file: OpenedFile) => ({ path: file.path, fd: file.fd, size: file.size });
  return {
    syscall: "kexec_file_load",
    kernel: f(input.kernel),
    initrd: input.initrd ? f(input.initrd) : null,
    initrdPaths: [...input.initrdPaths],
    cmdline: input.cmdline,
    cmdlineBytes: cmdlineBytes(input.cmdline),
    flags,
    notes: [...(input.notes ?? [])],
  };
}

/**
 * The kexec_file_load flags of an unload (fds −1, no command line).
 *
 * @example
 * ```ts
 * import { fileUnloadFlags } from "./file_load.ts";
 * if (fileUnloadFlags(false) !== 0x1 || fileUnloadFlags(true) !== 0x3) throw new Error();
 * ```
 */
export function fileUnloadFlags(crash: boolean): number {
  return KEXEC_FILE_UNLOAD | (crash ? KEXEC_FILE_ON_CRASH : 0);
}

/**
 * The kexec_load flags of an unload (nr_segments 0), architecture bits included.
 *
 * @example
 * ```ts
 * import { segmentUnloadFlags } from "./file_load.ts";
 * if (segmentUnloadFlags(true, 0x3e0000) !== 0x3e0001) throw new Error();
 * ```
 */
export function segmentUnloadFlags(crash: boolean, archBits: number): number {
  return (crash ? KEXEC_ON_CRASH : 0) | archBits;
}

/**
 * Names of the KEXEC_FILE_* bits set in `flags`, for printing.
 *
 * @example
 * ```ts
 * import { describeFileFlags } from "./file_load.ts";
 * if (describeFileFlags(0x6).join("|") !== "KEXEC_FILE_ON_CRASH|KEXEC_FILE_NO_INITRAMFS") {
 *   throw new Error();
 * }
 * ```
 */
export function describeFileFlags(flags: number): string[] {
  const names: [number, string][] = [
    [KEXEC_FILE_UNLOAD, "KEXEC_FILE_UNLOAD"],
    [KEXEC_FILE_ON_CRASH, "KEXEC_FILE_ON_CRASH"],
    [KEXEC_FILE_NO_INITRAMFS, "KEXEC_FILE_NO_INITRAMFS"],
    [KEXEC_FILE_DEBUG, "KEXEC_FILE_DEBUG"],
    [KEXEC_FILE_NO_CMA, "KEXEC_FILE_NO_CMA"],
    [KEXEC_FILE_FORCE_DTB, "KEXEC_FILE_FORCE_DTB"],
  ];
  return names.filter(([bit]) => flags & bit).map(([, name]) => name);
}
