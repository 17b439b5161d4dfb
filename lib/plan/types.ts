/**
 * What a load will pass to the kernel. Planning is pure: images, memory map and
 * options go in, a {@link LoadPlan} comes out; `--dry-run` prints it and
 * `lib/load.ts` hands it to the {@link System}.
 *
 * @module
 */

/** Which load syscall(s) may be used: `-a` (file first, then kexec_load), `-s`, `-c`. */
export type SyscallMode = "auto" | "file" | "load";

/** One `struct kexec_segment` to be: source bytes, destination and size. */
export interface Segment {
  /** What the segment holds: "kernel", "initrd", "boot_params", "purgatory", "elfcorehdr", … */
  readonly name: string;
  /** Source bytes (bufsz = buf.length). A view of a mapped file or a built buffer. */
  readonly buf: Uint8Array;
  /** Physical destination address (page-aligned). */
  readonly mem: number;
  /** Destination size (page-aligned, ≥ buf.length); the kernel zero-fills the tail. */
  readonly memsz: number;
}

/** A kexec_file_load call: file descriptors, command line and flags. */
export interface FileLoadPlan {
  /** Which call: kexec_file_load(2). */
  readonly syscall: "kexec_file_load";
  /** Kernel file (path for printing, fd for the call). */
  readonly kernel: { readonly path: string; readonly fd: number; readonly size: number };
  /** The initrd passed (a memfd when several were concatenated), or null. */
  readonly initrd: { readonly path: string; readonly fd: number; readonly size: number } | null;
  /** The initrd files the user gave, in order. */
  readonly initrdPaths: readonly string[];
  /** The command line as text (without the NUL). */
  readonly cmdline: string;
  /** The bytes passed: UTF-8 command line plus a terminating NUL; length = cmdline_len. */
  readonly cmdlineBytes: Uint8Array;
  /** KEXEC_FILE_* flags. */
  readonly flags: number;
  /** Lines explaining the plan (detected format, decisions), shown by -d and --dry-run. */
  readonly notes: readonly string[];
}

/** A kexec_load call: entry point, segments and flags (including the architecture field). */
export interface SegmentLoadPlan {
  /** Which call: kexec_load(2). */
  readonly syscall: "kexec_load";
  /** Physical address where execution starts (the purgatory). */
  readonly entry: number;
  /** Segments in the order they are passed. */
  readonly segments: readonly Segment[];
  /** KEXEC_* flags including the architecture in the high 16 bits. */
  readonly flags: number;
  /** The command line the new kernel gets, as text. */
  readonly cmdline: string;
  /** Lines explaining the plan (memory map used, placements), shown by -d and --dry-run. */
  readonly notes: readonly string[];
  /** Crash loads: the reserved region every segment and the entry must lie in (end exclusive). */
  readonly crashRegion?: { readonly start: number; readonly end: number };
  /** Total RAM of the machine in bytes (the kernel refuses segments above half of it). */
  readonly ramBytes?: number;
}

/** An unload through either syscall. */
export interface UnloadPlan {
  /** An unload (through either syscall). */
  readonly syscall: "unload";
  /** True for the crash image. */
  readonly crash: boolean;
}

/** Any plan. */
export type LoadPlan = FileLoadPlan | SegmentLoadPlan | UnloadPlan;
