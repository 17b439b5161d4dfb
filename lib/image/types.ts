/**
 * The image-format extension point for wrappers: content that holds a kernel
 * (compression, EFI zboot, a Unified Kernel Image). A wrapper is probed by
 * content and unwrapped to the image inside, which is probed again until an
 * architecture's native format (lib/arch/types.ts `KernelFormat`) matches.
 *
 * Wrappers are pure and synchronous: they point at the bytes inside (a view
 * of the mapped file) or at compressed bytes and their codec; the registry
 * inflates those, streamed into an {@link ImageStore} (a memfd on a real
 * machine), so no kernel passes through the JS heap.
 *
 * @module
 */

/** Compressions the registry inflates (lib/image/decompress.ts). */
export type Codec = "gzip" | "zstd" | "xz";

/** Compressed bytes inside a wrapper: the registry inflates them. */
export interface CompressedPayload {
  /** The compression. */
  readonly codec: Codec;
  /** The compressed bytes (a view of the wrapper's bytes). */
  readonly data: Uint8Array;
}

/** A part a wrapper carries besides the kernel (a UKI's `.ucode` or `.initrd`). */
export interface EmbeddedPart {
  /** Where it came from, for notes ("vmlinuz.efi:.initrd"). */
  readonly name: string;
  /** Its bytes (a view of the wrapper's bytes). */
  readonly bytes: Uint8Array;
}

/** What unwrapping one layer gives. */
export interface Unwrapped {
  /** The image inside: a view of the wrapper's bytes, or compressed bytes to inflate. */
  readonly kernel: Uint8Array | CompressedPayload;
  /** Initrds carried by the wrapper, in the order the kernel must get them. */
  readonly initrds?: readonly EmbeddedPart[];
  /** A command line carried by the wrapper (a UKI's `.cmdline`), as bytes. */
  readonly cmdline?: Uint8Array;
  /** One line saying what was done ("gzip-compressed, 8.2 MiB"). */
  readonly note: string;
}

/** Limits and choices that apply while unwrapping. */
export interface UnwrapOptions {
  /** Largest image any layer may produce (against decompression bombs). */
  readonly maxImageBytes: number;
  /** Multi-profile UKIs: the profile to use (default 0, as systemd-stub). */
  readonly ukiProfile?: number;
}

/** A format that wraps another image. */
export interface WrapperFormat {
  /** Name in messages and notes ("gzip", "EFI zboot", "UKI"). */
  readonly name: string;
  /** Names `-t/--type` accepts for it. */
  readonly typeNames: readonly string[];
  /** Cheap, side-effect-free content check; never throws. */
  probe(bytes: Uint8Array): boolean;
  /** Unwraps one layer; throws a KexecError naming `path` when it cannot. */
  unwrap(bytes: Uint8Array, path: string, options: UnwrapOptions): Unwrapped;
}

/** Where inflated images are streamed (see lib/image/store.ts). */
export interface ImageStore {
  /** A new sink named `name` (a memfd name on a real machine). */
  create(name: string): ImageSink;
}

/** One inflated image being written. */
export interface ImageSink {
  /** Appends bytes. */
  write(chunk: Uint8Array): void;
  /** Ends the image; returns its bytes (a read-only mapping on a real machine). */
  finish(): Uint8Array;
  /** Drops it after a failure. */
  discard(): void;
}
