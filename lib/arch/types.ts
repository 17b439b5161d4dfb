/**
 * The architecture extension point. An architecture (`lib/arch/<arch>/mod.ts`)
 * is its ABI plus the native kernel formats it boots; each format checks an
 * image before any system call and plans its kexec_load. The model is the
 * kernel's own `struct kexec_file_ops` (include/linux/kexec.h): one table per
 * format per architecture, probed in order.
 *
 * A format is a light descriptor: its probe and checks read a header; the
 * planner behind {@link KernelFormat.planSegments} (boot parameters,
 * purgatory, digests, device trees, crash headers) is imported only when a
 * kexec_load is planned, so commands that never plan one never load it.
 *
 * @module
 */

import type { Sha256 } from "../bytes.ts";
import type { HostFacts } from "../facts.ts";
import type { MemoryRange } from "../memory/types.ts";
import type { Segment, SegmentLoadPlan } from "../plan/types.ts";
import type { System } from "../sys/system.ts";
import type { ArchAbi } from "./abi_types.ts";
import type { ArchCli } from "./cli.ts";

/** Which load syscalls a command line and image fit, and why (see {@link KernelFormat.check}). */
export interface ImageCheck {
  /** Lines for -d and --dry-run. */
  readonly notes: readonly string[];
  /** The command line fits kexec_file_load's limit. */
  readonly fitsFileLoad: boolean;
  /** The command line fits kexec_load's limit. */
  readonly fitsSegmentLoad: boolean;
  /** Longest command line (bytes, without NUL) for each syscall, when known. */
  readonly fileLoadMax?: number;
  /** Longest command line for kexec_load, when known. */
  readonly segmentLoadMax?: number;
  /**
   * Why the kernel's own file loader would refuse this image (so the tool
   * does not ask it, which would free a loaded crash kernel first), if it would.
   */
  readonly fileLoaderRefusal?: string;
}

/** What a format's {@link KernelFormat.check} looks at. */
export interface ImageCheckInput {
  /** The native image (a mapping of the file, or the unwrapped bytes). */
  readonly bytes: Uint8Array;
  /** Names the image in messages. */
  readonly path: string;
  /** Length of the command line in bytes, without the NUL. */
  readonly cmdlineLength: number;
  /** See {@link System.fiveLevelPaging}. */
  readonly wideUserAddresses: boolean;
  /** Page size of the running kernel. */
  readonly pageSize: number;
}

/** A `--module "FILE ARGS"` (Multiboot): the file's bytes and the string passed with it. */
export interface KernelModule {
  /** FILE, for notes and messages. */
  readonly path: string;
  /** The whole argument as given ("FILE ARGS"). */
  readonly cmdline: string;
  /** The file's bytes (a read-only mapping). */
  readonly bytes: Uint8Array;
}

/** Inputs common to every kexec_load planner. */
export interface SegmentLoadInput {
  /** The kernel's path, for messages. */
  readonly kernelPath: string;
  /** The kernel image's bytes (a read-only mapping, or unwrapped bytes). */
  readonly kernel: Uint8Array;
  /** The initrd's bytes (a mapping; concatenated when several), or null. */
  readonly initrd: Uint8Array | null;
  /** The command line the new kernel gets (a raw string, lib/raw_text.ts). */
  readonly cmdline: string;
  /** Plan a crash (kdump) kernel. */
  readonly crash: boolean;
  /**
   * Let the purgatory check each segment's SHA-256 before the jump, hashing
   * with this function; absent with -i (no check).
   */
  readonly verify?: Sha256;
  /** --mem-min: the lowest address a segment may use. */
  readonly memMin?: number;
  /** --mem-max: the highest address a segment may use. */
  readonly memMax?: number;
  /** Load with KEXEC_PRESERVE_CONTEXT (kexec jump). */
  readonly preserveContext?: boolean;
  /** --dtb: a device tree file's bytes, for formats that take one ({@link KernelFormat.deviceTree}). */
  readonly dtb?: Uint8Array;
  /** --module, in order, for formats that take modules ({@link KernelFormat.takesModules}). */
  readonly modules?: readonly KernelModule[];
  /** The --dtb file's name, for messages. */
  readonly dtbPath?: string;
  /** What the running kernel shows (/proc, /sys), read once. */
  readonly facts: HostFacts;
}

/** A kernel format an architecture boots natively (after any unwrapping). */
export interface KernelFormat {
  /** Name in messages and notes ("bzImage"). */
  readonly name: string;
  /** Names `-t/--type` accepts for it (kexec-tools' loader names among them). */
  readonly typeNames: readonly string[];
  /** Cheap, side-effect-free content check. */
  probe(bytes: Uint8Array): boolean;
  /** One line saying what the image is ("x86 bzImage, boot protocol 2.15"). */
  describe(bytes: Uint8Array): string;
  /**
   * Checks made before any system call (header sanity, command line limits);
   * rejects with a KexecError naming the file when the image cannot be
   * booted. Asynchronous so that a format may import a heavier reader first.
   */
  check(input: ImageCheckInput): Promise<ImageCheck>;
  /**
   * True when kexec_file_load takes this format; otherwise why it does not
   * (auto mode then goes straight to kexec_load).
   */
  readonly fileLoad: true | string;
  /** The format boots with `--module`s (Multiboot); others refuse them. */
  readonly takesModules?: boolean;
  /**
   * The kernel boots with a device tree the loader builds, so `--dtb` may
   * replace the running one (kexec_load only: kexec_file_load builds its own).
   */
  readonly deviceTree?: true;
  /**
   * Reads what the plan needs through `sys` and plans a kexec_load (pure
   * planners inside, imported on the first call).
   */
  planSegments(sys: System, input: SegmentLoadInput): Promise<SegmentLoadPlan>;
}

/** What planning a jump-back helper needs. */
export interface JumpBackHelperInput {
  /** Where to return to: the kexec_jump_back_entry= the previous kernel passed. */
  readonly entry: number;
  /** RAM the running kernel owns (/proc/iomem System RAM); the helper must stay inside it. */
  readonly ram: readonly MemoryRange[];
  /** Page size of the running kernel. */
  readonly pageSize: number;
}

/** The jump-back helper image: kexec_load's entry and segments. */
export interface JumpBackHelperPlan {
  /** Physical address execution starts at. */
  readonly entry: number;
  /** The segments, in the order they are passed. */
  readonly segments: readonly Segment[];
  /** Lines for -d and --dry-run. */
  readonly notes: readonly string[];
}

/**
 * Kexec jump (KEXEC_PRESERVE_CONTEXT, CONFIG_KEXEC_JUMP) where the kernel has
 * it. Loading with preserve-context is the formats' business
 * ({@link SegmentLoadInput.preserveContext}); this is the way back.
 */
export interface KexecJump {
  /** The image a kjumped kernel loads so that its `kexec -e` returns (imported on first use). */
  planJumpBackHelper(input: JumpBackHelperInput): Promise<JumpBackHelperPlan>;
}

/** An architecture whose Linux has no kexec jump, and why (one line for a refusal). */
export interface NoKexecJump {
  /** Why there is no kexec jump here. */
  readonly unsupported: string;
}

/** An architecture: its ABI, the kernel formats it boots (in probe order), its kexec-tools options. */
export interface Architecture extends ArchAbi {
  /** The native kernel formats, in probe order. */
  readonly formats: readonly KernelFormat[];
  /** What kexec-tools' architecture options do here. */
  readonly cli: ArchCli;
  /** Kexec jump, or why Linux has none here. */
  readonly kexecJump: KexecJump | NoKexecJump;
}
