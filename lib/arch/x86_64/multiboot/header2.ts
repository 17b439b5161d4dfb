/**
 * The Multiboot2 header: Multiboot2 Specification 2.0, 3.1 "OS image
 * format". A 64-bit aligned header within the first 32768 bytes: magic
 * 0xE85250D6, architecture, header length and checksum (the four sum to
 * zero), then 8-byte aligned tags `{u16 type; u16 flags; u32 size}` up to an
 * end tag. A tag whose flags lack bit 0 ("optional") is a requirement: a
 * boot loader that cannot honour it must refuse the image (3.1.3).
 *
 * @module
 */

import { KexecError } from "../../../errors.ts";
import { hex } from "../../../format.ts";

/** Header magic (3.1.2). */
export const MULTIBOOT2_HEADER_MAGIC = 0xe85250d6;
/** EAX at the kernel's entry (3.3 "I386 machine state"). */
export const MULTIBOOT2_BOOTLOADER_MAGIC = 0x36d76289;
/** The header lies within this many leading bytes (3.1.1). */
export const MULTIBOOT2_SEARCH = 32768;
/** Header and tag alignment. */
export const MULTIBOOT2_ALIGN = 8;
/** `architecture` of a 32-bit (protected mode) i386 image. */
export const MULTIBOOT2_ARCH_I386 = 0;

/** Fixed part of the header (3.1.2). */
export const MB2_HEADER = {
  magic: 0,
  architecture: 4,
  headerLength: 8,
  checksum: 12,
  /** First tag. */
  size: 16,
} as const;

/** Every header tag starts with this (3.1.3 "General tag structure"). */
export const MB2_HEADER_TAG = { type: 0, flags: 2, size: 4, length: 8 } as const;

/** Tag flags bit 0: the boot loader may ignore the tag. */
export const MB2_TAG_OPTIONAL = 1;

/** Header tag types (3.1.3-3.1.13). */
export const MB2_HEADER_TAG_TYPE = {
  END: 0,
  INFORMATION_REQUEST: 1,
  ADDRESS: 2,
  ENTRY_ADDRESS: 3,
  CONSOLE_FLAGS: 4,
  FRAMEBUFFER: 5,
  MODULE_ALIGN: 6,
  EFI_BS: 7,
  ENTRY_ADDRESS_EFI32: 8,
  ENTRY_ADDRESS_EFI64: 9,
  RELOCATABLE: 10,
} as const;

/** Size of each tag type with fixed fields (the information request is 8 + 4n). */
const TAG_SIZE: Readonly<Record<number, number>> = {
  0: 8,
  2: 24,
  3: 12,
  4: 12,
  5: 20,
  6: 8,
  7: 8,
  8: 12,
  9: 12,
  10: 24,
};

/** Console flags bit 0: a console must be present and described (3.1.8). */
const CONSOLE_REQUIRED = 1;

/** Relocatable tag `preference` (3.1.13). */
export type LoadPreference = "none" | "low" | "high";

/** The relocatable header tag: where the image may be loaded instead of its link address. */
export interface Mb2Relocatable {
  readonly minAddr: number;
  readonly maxAddr: number;
  readonly align: number;
  readonly preference: LoadPreference;
}

/** The address tag (3.1.5): load fields for images that are not ELF. */
export interface Mb2AddressFields {
  readonly headerAddr: number;
  readonly loadAddr: number;
  readonly loadEndAddr: number;
  readonly bssEndAddr: number;
}

/** One information request type and whether the image insists on it. */
export interface Mb2Request {
  readonly type: number;
  readonly required: boolean;
}

/** A found and checked Multiboot2 header. */
export interface Multiboot2Header {
  /** File offset of the magic. */
  readonly offset: number;
  /** Information tag types the image asks for (3.1.4). */
  readonly requests: readonly Mb2Request[];
  readonly addresses?: Mb2AddressFields;
  /** The i386 entry address tag (3.1.6), overriding the ELF entry. */
  readonly entryAddr?: number;
  readonly relocatable?: Mb2Relocatable;
  /** Optional tags this loader does not honour, for the notes ("EFI boot services"). */
  readonly ignored: readonly string[];
}

const TAG_NAMES: Readonly<Record<number, string>> = {
  4: "console flags",
  5: "framebuffer",
  7: "EFI boot services",
  8: "EFI i386 entry address",
  9: "EFI amd64 entry address",
};

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | bytes[at + 1] << 8 | bytes[at + 2] << 16 | bytes[at + 3] << 24) >>> 0;
}

function u16(bytes: Uint8Array, at: number): number {
  return bytes[at] | bytes[at + 1] << 8;
}

/**
 * File offset of the first Multiboot2 header (magic and valid checksum) in
 * the first 32768 bytes, or undefined.
 *
 * @example
 * ```ts
 * import { findMultiboot2Header } from "./header2.ts";
 * const img = new Uint8Array(64);
 * const v = new DataView(img.buffer);
 * v.setUint32(8, 0xe85250d6, true);
 * v.setUint32(16, 24, true);
 * v.setUint32(20, -(0xe85250d6 + 24) >>> 0, true);
 * if (findMultiboot2Header(img) !== 8) throw new Error();
 * ```
 */
export function findMultiboot2Header(bytes: Uint8Array): number | undefined {
  const end = Math.min(bytes.length, MULTIBOOT2_SEARCH) - MB2_HEADER.size;
  for (let at = 0; at <= end; at += MULTIBOOT2_ALIGN) {
    if (u32(bytes, at) !== MULTIBOOT2_HEADER_MAGIC) continue;
    const sum = MULTIBOOT2_HEADER_MAGIC + u32(bytes, at + MB2_HEADER.architecture) +
      u32(bytes, at + MB2_HEADER.headerLength) + u32(bytes, at + MB2_HEADER.checksum);
    if (sum % 2 ** 32 === 0) return at;
  }
  return undefined;
}

/**
 * Finds and checks the Multiboot2 header of `bytes` (the kernel at `path`)
 * and its tags. Throws a {@link KexecError} naming the file when there is no
 * header, it is not for i386, a tag is malformed or runs past the header, or
 * a required tag cannot be honoured: EFI boot services and the EFI entry
 * points (boot services ended when the running kernel started), a console or
 * framebuffer (kexec sets no video mode), or a tag type the specification
 * does not define.
 *
 * @example
 * ```ts
 * import { parseMultiboot2Header } from "./header2.ts";
 * const img = new Uint8Array(64);
 * const v = new DataView(img.buffer);
 * v.setUint32(0, 0xe85250d6, true);
 * v.setUint32(8, 40, true); // header_length
 * v.setUint32(12, -(0xe85250d6 + 40) >>> 0, true);
 * v.setUint16(16, 1, true); // information request, required
 * v.setUint32(20, 12, true);
 * v.setUint32(24, 6, true); // memory map
 * v.setUint32(36, 8, true); // end tag at 32 (after 4 bytes of padding)
 * const h = parseMultiboot2Header(img, "k");
 * if (h.requests[0].type !== 6 || !h.requests[0].required) throw new Error();
 * ```
 */
export function parseMultiboot2Header(bytes: Uint8Array, path: string): Multiboot2Header {
  const offset = findMultiboot2Header(bytes);
  if (offset === undefined) {
    throw new KexecError(`kernel ${path} has no Multiboot2 header in its first 32768 bytes`, {
      hint: "give a Multiboot2 kernel, or drop -t multiboot2-x86",
    });
  }
  const fail = (what: string, hint = "the image's Multiboot2 header is malformed") =>
    new KexecError(`kernel ${path}: Multiboot2 header at ${hex(offset)} ${what}`, { hint });
  const architecture = u32(bytes, offset + MB2_HEADER.architecture);
  if (architecture !== MULTIBOOT2_ARCH_I386) {
    throw fail(
      `is for architecture ${architecture}, not i386 (0)`,
      "give a Multiboot2 image built for x86",
    );
  }
  const length = u32(bytes, offset + MB2_HEADER.headerLength);
  const end = offset + length;
  if (length < MB2_HEADER.size + TAG_SIZE[0] || end > bytes.length) {
    throw fail(`has header_length ${length}, which does not fit the file`);
  }
  const requests: Mb2Request[] = [];
  const ignored: string[] = [];
  let addresses: Mb2AddressFields | undefined;
  let entryAddr: number | undefined;
  let relocatable: Mb2Relocatable | undefined;
  let at = offset + MB2_HEADER.size;
  for (;;) {
    if (at + MB2_HEADER_TAG.length > end) throw fail("has no end tag");
    const type = u16(bytes, at + MB2_HEADER_TAG.type);
    const required = (u16(bytes, at + MB2_HEADER_TAG.flags) & MB2_TAG_OPTIONAL) === 0;
    const size = u32(bytes, at + MB2_HEADER_TAG.size);
    const where = `tag type ${type} at ${hex(at)}`;
    if (size < MB2_HEADER_TAG.length || at + size > end) {
      throw fail(`has ${where} of size ${size}, past the header's end`);
    }
    const fixed = TAG_SIZE[type];
    if (
      type === MB2_HEADER_TAG_TYPE.INFORMATION_REQUEST ? size % 4 !== 0 : fixed !== undefined &&
        size !== fixed
    ) {
      throw fail(`has ${where} of size ${size}`);
    }
    const field = (n: number) => u32(bytes, at + MB2_HEADER_TAG.length + 4 * n);
    switch (type) {
      case MB2_HEADER_TAG_TYPE.END:
        return { offset, requests, addresses, entryAddr, relocatable, ignored };
      case MB2_HEADER_TAG_TYPE.INFORMATION_REQUEST:
        for (let i = 0; i < (size - MB2_HEADER_TAG.length) / 4; i++) {
          requests.push({ type: field(i), required });
        }
        break;
      case MB2_HEADER_TAG_TYPE.ADDRESS:
        addresses = {
          headerAddr: field(0),
          loadAddr: field(1),
          loadEndAddr: field(2),
          bssEndAddr: field(3),
        };
        break;
      case MB2_HEADER_TAG_TYPE.ENTRY_ADDRESS:
        entryAddr = field(0);
        break;
      case MB2_HEADER_TAG_TYPE.MODULE_ALIGN:
        break; // modules are always page-aligned here
      case MB2_HEADER_TAG_TYPE.RELOCATABLE:
        relocatable = readRelocatable(field, fail);
        break;
      case MB2_HEADER_TAG_TYPE.CONSOLE_FLAGS:
        if (required && (field(0) & CONSOLE_REQUIRED)) throw cannotHonour(fail, type);
        ignored.push(TAG_NAMES[type]);
        break;
      default:
        if (required) throw cannotHonour(fail, type);
        ignored.push(TAG_NAMES[type] ?? `type ${type}`);
    }
    at += Math.ceil(size / MULTIBOOT2_ALIGN) * MULTIBOOT2_ALIGN;
  }
}

function readRelocatable(
  field: (n: number) => number,
  fail: (what: string) => KexecError,
): Mb2Relocatable {
  const [minAddr, maxAddr, align, preference] = [field(0), field(1), field(2), field(3)];
  const names: readonly LoadPreference[] = ["none", "low", "high"];
  if (preference >= names.length) throw fail(`has relocatable preference ${preference}`);
  if (align !== 0 && (align & (align - 1)) !== 0) {
    throw fail(`has relocatable alignment ${hex(align)}, not a power of two`);
  }
  if (maxAddr < minAddr) {
    throw fail(`has relocatable range ${hex(minAddr)}-${hex(maxAddr)} that ends before it starts`);
  }
  return { minAddr, maxAddr, align, preference: names[preference] };
}

function cannotHonour(fail: (what: string, hint?: string) => KexecError, type: number) {
  const name = TAG_NAMES[type];
  if (type === 7 || type === 8 || type === 9) {
    return fail(
      `requires ${name} (tag type ${type}), which exist only while EFI boot services run; ` +
        "kexec starts the kernel after they ended",
      "mark the tag optional in the image (Xen does), or boot it from the EFI boot loader",
    );
  }
  if (name) {
    return fail(
      `requires a ${name} (tag type ${type}), which kexec cannot set up`,
      "mark the tag optional in the image, or boot it from a firmware boot loader",
    );
  }
  return fail(
    `requires header tag type ${type}, which the Multiboot2 specification does not define`,
    "this loader knows header tags 0-10",
  );
}
