/**
 * The shapes of a load: what the caller asks for ({@link LoadRequest}), each
 * system call made ({@link Attempt}) and what came of it ({@link LoadResult}).
 * Kept apart from lib/load.ts so that the modules a load is made of share
 * them without importing the whole of it.
 *
 * @module
 */

import type { LoadPlan, SyscallMode } from "../plan/types.ts";

/** What to load and how. */
export interface LoadRequest {
  /** Kernel image path. */
  readonly kernel: string;
  /** Initrd paths, concatenated in order (after any initrd the image embeds). */
  readonly initrds: readonly string[];
  /**
   * The resolved command line (see `resolveCmdline`), a raw string: bytes that
   * are not UTF-8 are carried as U+DC80..U+DCFF and reach the kernel unchanged
   * (lib/raw_text.ts; `decodeRaw` makes one from bytes); undefined when the
   * user gave none: the image's embedded one (a UKI's `.cmdline`) is used, else "".
   */
  readonly cmdline?: string;
  /** `--module "FILE ARGS"` arguments, in order (Multiboot kernels only). */
  readonly modules?: readonly string[];
  /** `--extra-file HOST[:GUEST]`: files added to the initrd as a newc archive. */
  readonly extraFiles?: readonly { readonly host: string; readonly guest: string }[];
  /** `--uki-profile N`: the profile of a multi-profile UKI (default 0). */
  readonly ukiProfile?: number;
  /** Load the crash (kdump) image. */
  readonly crash: boolean;
  /** Which syscall(s) may be used. */
  readonly syscall: SyscallMode;
  /** Plan and print only. */
  readonly dryRun?: boolean;
  /** Explain every step (never changes what is sent). */
  readonly debug?: boolean;
  /** Skip the purgatory SHA-256 check (kexec_load). */
  readonly noChecks?: boolean;
  /** KEXEC_FILE_NO_CMA. */
  readonly noCma?: boolean;
  /** KEXEC_FILE_FORCE_DTB. */
  readonly forceDtb?: boolean;
  /** --mem-min: the lowest address a segment may use (kexec_load). */
  readonly memMin?: number;
  /** --mem-max: the highest address a segment may use (kexec_load). */
  readonly memMax?: number;
  /** -t TYPE. */
  readonly type?: string;
  /** --load-preserve-context: KEXEC_PRESERVE_CONTEXT (kexec_load only). */
  readonly preserveContext?: boolean;
  /** --dtb: the device tree the new kernel gets (kexec_load of a format that takes one). */
  readonly dtb?: string;
}

/** One system call made (or, for a dry run, that would be made). */
export interface Attempt {
  /** The syscall. */
  readonly syscall: "kexec_file_load" | "kexec_load";
  /** The flags it was given. */
  readonly flags: number;
  /** 0 on success. */
  readonly errno: number;
}

/** What {@link loadKernel} did. */
export interface LoadResult {
  /** The syscall that loaded the image; undefined for a dry run. */
  readonly used?: "kexec_file_load" | "kexec_load";
  /** The plans built, in the order they would be tried. */
  readonly plans: readonly LoadPlan[];
  /** The calls made, in order. */
  readonly attempts: readonly Attempt[];
  /** Lockdown ruled kexec_load out (auto mode then never falls back). */
  readonly locked: boolean;
}
