/**
 * The image-format extension point for wrappers: content that holds a kernel
 * (compression, EFI zboot, a Unified Kernel Image). A wrapper is probed by
 * content and unwrapped to the image inside, which is probed again until an
 * architecture's native format (lib/arch/types.ts `KernelFormat`) matches.
 *
 * @module
 */

/** A part a wrapper carries besides the kernel (a UKI's `.ucode` or `.initrd`). */
export interface EmbeddedPart {
  /** Where it came from, for notes ("vmlinuz.efi:.initrd"). */
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** What unwrapping one layer gives. */
export interface Unwrapped {
  /** The image inside. */
  readonly kernel: Uint8Array;
  /** Initrds carried by the wrapper, in the order the kernel must get them. */
  readonly initrds?: readonly EmbeddedPart[];
  /** A command line carried by the wrapper (a UKI's `.cmdline`), as bytes. */
  readonly cmdline?: Uint8Array;
  /** One line saying what was done ("gzip: 9.1 MiB → 31.5 MiB"). */
  readonly note: string;
}

/** Limits and choices that apply while unwrapping. */
export interface UnwrapOptions {
  /** Largest image any layer may produce (against decompression bombs). */
  readonly maxImageBytes: number;
  /** Multi-profile UKIs: the profile to use (default 0). */
  readonly ukiProfile?: number;
}

/** A format that wraps another image. */
export interface WrapperFormat {
  /** Name in messages and notes ("gzip", "EFI zboot", "UKI"). */
  readonly name: string;
  /** Names `-t/--type` accepts for it. */
  readonly typeNames: readonly string[];
  /** Cheap, side-effect-free content check. */
  probe(bytes: Uint8Array): boolean;
  /** Unwraps one layer; throws a KexecError naming `path` when it cannot. */
  unwrap(bytes: Uint8Array, path: string, options: UnwrapOptions): Unwrapped;
}
