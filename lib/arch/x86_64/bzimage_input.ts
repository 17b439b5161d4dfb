/**
 * What {@link planBzImage64} of bzimage.ts takes: the kernel, initrd,
 * command line and memory map with the running machine's facts, and the hook
 * through which a crash load adds its own segments.
 *
 * @example
 * ```ts
 * import { RNG_SEED_SIZE } from "./bzimage_input.ts";
 * if (RNG_SEED_SIZE !== 32) throw new Error();
 * ```
 *
 * @module
 */

import type { Sha256 } from "../../bytes.ts";
import type { Direction } from "../../memory/allocator.ts";
import type { MemoryRange } from "../../memory/types.ts";
import type { Segment } from "../../plan/types.ts";
import type { EfiFirmware } from "./efi.ts";
import type { X86KernelImage } from "./kernel_image.ts";

/** Bytes of the RNG_SEED setup_data payload (as kexec-tools and the kernel's loader). */
export const RNG_SEED_SIZE = 32;

/** A segment the caller adds, such as a crash load's elfcorehdr. */
export interface ExtraSegmentRequest {
  /** The segment's name in tables and notes. */
  readonly name: string;
  /** The bytes (bufsz = buf.length). */
  readonly buf: Uint8Array;
  /** Bytes reserved at the destination, ≥ buf.length; default buf.length (page-rounded). */
  readonly memsz?: number;
  /** Start alignment (power of two); default the page size. */
  readonly align?: number;
  /** Default "top-down". */
  readonly direction?: Direction;
  /**
   * Leave it out of the purgatory's digest check, for a segment the kernel
   * rewrites after load (an elfcorehdr with KEXEC_UPDATE_ELFCOREHDR).
   */
  readonly unverified?: boolean;
}

/** What an {@link ExtraSegmentsHook} may change once its segments are placed. */
export interface ExtraSegmentsResult {
  /** Replaces the command line, e.g. with `elfcorehdr=0x…` added; still length-checked. */
  readonly cmdline?: string;
  /** Replaces the map given to the new kernel as e820, e.g. the crash map minus elfcorehdr. */
  readonly memoryMap?: readonly MemoryRange[];
  /** Lines added to the plan's notes. */
  readonly notes?: readonly string[];
}

/**
 * Called before anything else is placed. `place` puts one segment inside
 * `placeable` (within --mem-min/--mem-max) and returns it with its address.
 */
export type ExtraSegmentsHook = (
  place: (request: ExtraSegmentRequest) => Segment,
) => ExtraSegmentsResult | void;

/** Everything a bzImage kexec_load plan depends on. */
export interface BzImagePlanInput {
  /** The bzImage file (a read-only mapping; only viewed, never copied). */
  readonly kernel: Uint8Array;
  /**
   * The kernel as placed and entered; default: the bzImage in `kernel`
   * ({@link bzImageKernel}). An ELF vmlinux passes its own (vmlinux.ts).
   */
  readonly image?: X86KernelImage;
  /** The kernel's path, for messages. */
  readonly kernelPath: string;
  /** The initrd (already concatenated if several), or null. */
  readonly initrd: Uint8Array | null;
  /** The command line as the user resolved it. */
  readonly cmdline: string;
  /** The map passed to the new kernel as e820. */
  readonly memoryMap: readonly MemoryRange[];
  /** Where `memoryMap` came from, for the notes. */
  readonly memoryMapSource?: string;
  /** Where segments may go (its RAM ranges); default: the RAM of `memoryMap`. */
  readonly placeable?: readonly MemoryRange[];
  /** --mem-min: lowest address for any segment. */
  readonly memMin?: number;
  /** --mem-max: highest address for any segment (inclusive). */
  readonly memMax?: number;
  /** The running kernel's /sys/kernel/boot_params/data (see boot_params.ts for what is used). */
  readonly runningBootParams?: Uint8Array;
  /** ACPI RSDP address (e.g. ACPI20= of /sys/firmware/efi/systab); overrides the running value. */
  readonly acpiRsdpAddr?: number;
  /** The EFI sysfs files, when the machine has them: EFI is then handed over (efi.ts). */
  readonly efi?: EfiFirmware;
  /** `screen_info` for a firmware framebuffer (screen_info.ts), with its note. */
  readonly screenInfo?: { readonly bytes?: Uint8Array; readonly note: string };
  /** The running kernel uses 5-level paging: the new one must set XLF_5LEVEL. */
  readonly fiveLevelPaging?: boolean;
  /** 32 random bytes for the RNG_SEED setup_data. */
  readonly rngSeed: Uint8Array;
  /**
   * Let the purgatory check each segment's SHA-256 before the jump, hashing
   * with this function; absent with -i (no check).
   */
  readonly verify?: Sha256;
  /** Page size of the running kernel. */
  readonly pageSize: number;
  /** KEXEC_* low bits chosen by the caller (e.g. KEXEC_ON_CRASH); the arch is ORed in. */
  readonly flags: number;
  /** Hook for extra segments (crash: elfcorehdr). */
  readonly extraSegments?: ExtraSegmentsHook;
}
