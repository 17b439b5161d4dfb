/**
 * The Multiboot (version 1) header: Multiboot Specification 0.6.96, 3.1
 * "OS image format". A 32-bit aligned header within the first 8192 bytes of
 * the image: magic 0x1BADB002, flags, checksum (the three sum to zero), then
 * the address fields when flags bit 16 is set (the "a.out kludge", for images
 * that are not ELF) and the video fields when bit 2 is set.
 *
 * @module
 */

import { KexecError } from "../../../errors.ts";
import { hex } from "../../../format.ts";

/** Header magic (3.1.2 "The magic fields of Multiboot header"). */
export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** EAX at the kernel's entry (3.2 "Machine state"). */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** The header lies within this many leading bytes (3.1.1). */
export const MULTIBOOT_SEARCH = 8192;
/** Header alignment. */
export const MULTIBOOT_HEADER_ALIGN = 4;

/** Header field offsets (3.1.1 "The layout of Multiboot header"). */
export const MB1_HEADER = {
  magic: 0,
  flags: 4,
  checksum: 8,
  /** Address fields, valid with {@link MB1_FLAG.AOUT_KLUDGE}. */
  headerAddr: 12,
  loadAddr: 16,
  loadEndAddr: 20,
  bssEndAddr: 24,
  entryAddr: 28,
  /** Graphics fields, valid with {@link MB1_FLAG.VIDEO_MODE}. */
  modeType: 32,
  width: 36,
  height: 40,
  depth: 44,
  /** Bytes up to the end of the address fields / of the video fields. */
  sizeWithAddresses: 32,
  sizeWithVideo: 48,
} as const;

/** Header flags (3.1.2). Bits 0-15 are requirements; 16-31 optional features. */
export const MB1_FLAG = {
  /** Modules must be page-aligned. */
  PAGE_ALIGN: 1 << 0,
  /** mem_lower/mem_upper (and a memory map if there is one) must be passed. */
  MEMORY_INFO: 1 << 1,
  /** Video mode information must be passed. */
  VIDEO_MODE: 1 << 2,
  /** The address fields are valid (the image need not be ELF). */
  AOUT_KLUDGE: 1 << 16,
} as const;

/** Requirement bits this loader meets: page-aligned modules and memory information. */
const SUPPORTED_REQUIRED = MB1_FLAG.PAGE_ALIGN | MB1_FLAG.MEMORY_INFO;
const REQUIRED_MASK = 0xffff;

/** The address fields (flags bit 16), as physical addresses. */
export interface Mb1AddressFields {
  readonly headerAddr: number;
  readonly loadAddr: number;
  readonly loadEndAddr: number;
  readonly bssEndAddr: number;
  readonly entryAddr: number;
}

/** A found and checked Multiboot header. */
export interface Multiboot1Header {
  /** File offset of the magic. */
  readonly offset: number;
  readonly flags: number;
  /** Present when flags bit 16 is set. */
  readonly addresses?: Mb1AddressFields;
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | bytes[at + 1] << 8 | bytes[at + 2] << 16 | bytes[at + 3] << 24) >>> 0;
}

/**
 * File offset of the first Multiboot header (magic and valid checksum) in the
 * first 8192 bytes, or undefined.
 *
 * @example
 * ```ts
 * import { findMultiboot1Header } from "./header1.ts";
 * const img = new Uint8Array(64);
 * const v = new DataView(img.buffer);
 * v.setUint32(8, 0x1badb002, true);
 * v.setUint32(12, 0x3, true);
 * v.setUint32(16, -(0x1badb002 + 3) >>> 0, true);
 * if (findMultiboot1Header(img) !== 8) throw new Error();
 * ```
 */
export function findMultiboot1Header(bytes: Uint8Array): number | undefined {
  const end = Math.min(bytes.length, MULTIBOOT_SEARCH) - MB1_HEADER.checksum - 4;
  for (let at = 0; at <= end; at += MULTIBOOT_HEADER_ALIGN) {
    if (u32(bytes, at) !== MULTIBOOT_HEADER_MAGIC) continue;
    const sum = MULTIBOOT_HEADER_MAGIC + u32(bytes, at + MB1_HEADER.flags) +
      u32(bytes, at + MB1_HEADER.checksum);
    if (sum % 2 ** 32 === 0) return at;
  }
  return undefined;
}

/**
 * Finds and checks the Multiboot header of `bytes` (the kernel at `path`).
 * Throws a {@link KexecError} naming the file when there is none, when it
 * requires something this loader cannot give (video mode information, or a
 * requirement bit the specification does not define), or when its address
 * fields are inconsistent or point outside the file.
 *
 * @example
 * ```ts
 * import { parseMultiboot1Header } from "./header1.ts";
 * const img = new Uint8Array(64);
 * const v = new DataView(img.buffer);
 * v.setUint32(0, 0x1badb002, true);
 * v.setUint32(4, 0x4, true); // video mode information required
 * v.setUint32(8, -(0x1badb002 + 4) >>> 0, true);
 * let message = "";
 * try { parseMultiboot1Header(img, "k"); } catch (e) { message = (e as Error).message; }
 * if (!message.includes("video")) throw new Error(message);
 * ```
 */
export function parseMultiboot1Header(bytes: Uint8Array, path: string): Multiboot1Header {
  const offset = findMultiboot1Header(bytes);
  if (offset === undefined) {
    throw new KexecError(`kernel ${path} has no Multiboot header in its first 8192 bytes`, {
      hint: "give a Multiboot kernel, or drop -t multiboot-x86",
    });
  }
  const flags = u32(bytes, offset + MB1_HEADER.flags);
  const fail = (what: string, hint: string) =>
    new KexecError(`kernel ${path}: Multiboot header at ${hex(offset)} ${what}`, { hint });
  if (flags & MB1_FLAG.VIDEO_MODE) {
    throw fail(
      "requires video mode information (flags bit 2), which kexec cannot give",
      "build the kernel without MULTIBOOT_VIDEO_MODE, or boot it from a firmware boot loader",
    );
  }
  const unknown = flags & REQUIRED_MASK & ~SUPPORTED_REQUIRED & ~MB1_FLAG.VIDEO_MODE;
  if (unknown) {
    throw fail(
      `requires features this loader does not know (flags ${hex(unknown)})`,
      "bits 0-15 are requirements; the Multiboot 0.6.96 specification defines only bits 0-2",
    );
  }
  if (!(flags & MB1_FLAG.AOUT_KLUDGE)) return { offset, flags };
  if (offset + MB1_HEADER.sizeWithAddresses > bytes.length) {
    throw fail("is cut off before its address fields", "the file is truncated");
  }
  const addresses = {
    headerAddr: u32(bytes, offset + MB1_HEADER.headerAddr),
    loadAddr: u32(bytes, offset + MB1_HEADER.loadAddr),
    loadEndAddr: u32(bytes, offset + MB1_HEADER.loadEndAddr),
    bssEndAddr: u32(bytes, offset + MB1_HEADER.bssEndAddr),
    entryAddr: u32(bytes, offset + MB1_HEADER.entryAddr),
  };
  return { offset, flags, addresses };
}
