/**
 * The arm64 `Image` header (Documentation/arch/arm64/booting.rst, "Call the
 * kernel image"; arch/arm64/include/asm/image.h `struct arm64_image_header`):
 * 64 little-endian bytes at the start of every arm64 kernel, with or without
 * an EFI stub. Parsing is pure; the refusals a load needs (endianness, page
 * size) are in format_image.ts.
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import { hex } from "../../format.ts";

/** Byte offsets of `struct arm64_image_header` (arch/arm64/include/asm/image.h). */
export const ARM64_IMAGE_HEADER = {
  /** u32: executable code (a branch to `stext`; "MZ" when an EFI stub is built in). */
  code0: 0x00,
  /** u32: executable code. */
  code1: 0x04,
  /** u64: image load offset from a 2 MiB aligned base. */
  textOffset: 0x08,
  /** u64: effective image size (with BSS); 0 before Linux 3.17. */
  imageSize: 0x10,
  /** u64: kernel flags (ARM64_IMAGE_FLAG_*). */
  flags: 0x18,
  /** u32: "ARM\x64". */
  magic: 0x38,
  /** u32: offset of the PE header when an EFI stub is built in. */
  res5: 0x3c,
  /** Size of the header. */
  size: 0x40,
} as const;

/** `ARM64_IMAGE_MAGIC` "ARM\x64" read as a little-endian u32. */
export const ARM64_IMAGE_MAGIC = 0x644d5241;

/** The 2 MiB alignment of the Image's base (booting.rst; `MIN_KIMG_ALIGN`). */
export const ARM64_IMAGE_BASE_ALIGN = 0x200000;

/**
 * Largest `image_size` believed: far above any kernel (Debian's is about 40 MiB),
 * far below where the number could only come from a corrupt header.
 */
export const ARM64_IMAGE_SIZE_MAX = 2 ** 32;

/** arch/arm64/include/uapi/asm/setup.h COMMAND_LINE_SIZE, the NUL included. */
export const ARM64_COMMAND_LINE_SIZE = 2048;

// arch/arm64/include/asm/image.h: ARM64_IMAGE_FLAG_{BE,PAGE_SIZE,PHYS_BASE}_{SHIFT,MASK}.
const FLAG_BE_SHIFT = 0n;
const FLAG_PAGE_SIZE_SHIFT = 1n;
const FLAG_PHYS_BASE_SHIFT = 3n;
const PAGE_SIZE_BY_FIELD = [undefined, 0x1000, 0x4000, 0x10000] as const;
// "MZ": the first two bytes of code0 when the kernel has an EFI stub.
const MZ = 0x5a4d;

/** A parsed Image header. */
export interface Arm64ImageHeader {
  /** Load offset from the 2 MiB aligned base. */
  readonly textOffset: number;
  /** Bytes from the Image start the kernel needs, BSS included; 0 = not given (before 3.17). */
  readonly imageSize: number;
  /** The raw flags word. */
  readonly flags: bigint;
  /** Flags bit 0: the kernel is big-endian. */
  readonly bigEndian: boolean;
  /** Flags bits 1–2: the kernel's page size in bytes, or undefined when unspecified. */
  readonly pageSize?: 0x1000 | 0x4000 | 0x10000;
  /**
   * Flags bit 3: the kernel may sit anywhere in the 48-bit physical range
   * (true), or its base should be as close to the start of DRAM as possible,
   * since memory below it is not mapped (false).
   */
  readonly placeAnywhere: boolean;
  /** code0 starts with "MZ": the Image carries an EFI stub (a PE header at `res5`). */
  readonly efiStub: boolean;
}

/**
 * Parses the header of an arm64 Image. Throws a {@link KexecError} naming
 * `path` when `bytes` is shorter than the header, lacks the magic, or gives
 * an `image_size` or `text_offset` no kernel has.
 *
 * @example
 * ```ts
 * import { parseArm64ImageHeader } from "./image_header.ts";
 * const img = new Uint8Array(64);
 * const v = new DataView(img.buffer);
 * v.setBigUint64(0x10, 0x2000000n, true); // image_size
 * v.setBigUint64(0x18, 0b1010n, true); // 4K pages, anywhere
 * v.setUint32(0x38, 0x644d5241, true);
 * const h = parseArm64ImageHeader(img, "/boot/Image");
 * if (h.imageSize !== 0x2000000 || h.pageSize !== 4096 || !h.placeAnywhere || h.bigEndian) {
 *   throw new Error();
 * }
 * ```
 */
export function parseArm64ImageHeader(bytes: Uint8Array, path: string): Arm64ImageHeader {
  const bad = (what: string) =>
    new KexecError(`kernel ${path}: ${what}`, {
      hint: "give an arm64 Image (Debian's vmlinuz, arch/arm64/boot/Image or Image.gz)",
    });
  if (bytes.length < ARM64_IMAGE_HEADER.size) {
    throw bad(
      `${bytes.length} bytes is shorter than the ${ARM64_IMAGE_HEADER.size}-byte arm64 Image header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, ARM64_IMAGE_HEADER.size);
  if (view.getUint32(ARM64_IMAGE_HEADER.magic, true) !== ARM64_IMAGE_MAGIC) {
    throw bad('no "ARM\\x64" magic at 0x38: not an arm64 Image');
  }
  const textOffset = view.getBigUint64(ARM64_IMAGE_HEADER.textOffset, true);
  const imageSize = view.getBigUint64(ARM64_IMAGE_HEADER.imageSize, true);
  const flags = view.getBigUint64(ARM64_IMAGE_HEADER.flags, true);
  // booting.rst: the Image sits text_offset bytes above a 2 MiB aligned base.
  if (textOffset >= BigInt(ARM64_IMAGE_BASE_ALIGN)) {
    throw bad(`text_offset ${hex(textOffset)} is not below 2 MiB: the header is corrupt`);
  }
  if (imageSize > BigInt(ARM64_IMAGE_SIZE_MAX)) {
    throw bad(`image_size ${hex(imageSize)} is beyond 4 GiB: the header is corrupt`);
  }
  const field = (shift: bigint, mask: bigint) => Number((flags >> shift) & mask);
  return {
    textOffset: Number(textOffset),
    imageSize: Number(imageSize),
    flags,
    bigEndian: field(FLAG_BE_SHIFT, 1n) === 1,
    pageSize: PAGE_SIZE_BY_FIELD[field(FLAG_PAGE_SIZE_SHIFT, 3n)],
    placeAnywhere: field(FLAG_PHYS_BASE_SHIFT, 1n) === 1,
    efiStub: view.getUint16(ARM64_IMAGE_HEADER.code0, true) === MZ,
  };
}

/**
 * A page size as people write it: "4K", "16K", "64K".
 *
 * @example
 * ```ts
 * import { pageSizeName } from "./image_header.ts";
 * if (pageSizeName(0x10000) !== "64K" || pageSizeName(undefined) !== "unspecified") throw new Error();
 * ```
 */
export function pageSizeName(size: number | undefined): string {
  return size === undefined ? "unspecified" : `${size / 1024}K`;
}

/**
 * One line describing a parsed header, for `-d` and `--dry-run`.
 *
 * @example
 * ```ts
 * import { describeArm64ImageHeader } from "./image_header.ts";
 * const line = describeArm64ImageHeader({
 *   textOffset: 0, imageSize: 0x2aa0000, flags: 0xan, bigEndian: false, pageSize: 4096,
 *   placeAnywhere: true, efiStub: true,
 * });
 * if (!line.includes("image_size 0x2aa0000") || !line.includes("EFI stub")) throw new Error(line);
 * ```
 */
export function describeArm64ImageHeader(h: Arm64ImageHeader): string {
  return `arm64 Image${h.efiStub ? " with EFI stub" : ""}: ` +
    `${h.bigEndian ? "big" : "little"}-endian, ${pageSizeName(h.pageSize)} pages, ` +
    `text_offset ${hex(h.textOffset)}, image_size ${hex(h.imageSize)}, ` +
    (h.placeAnywhere
      ? "may be placed anywhere"
      : "base as close to the start of RAM as possible (flags bit 3 clear)");
}
