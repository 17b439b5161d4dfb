/**
 * Byte shapes (fields, boundaries, magic numbers) of the binary formats the
 * targets mutate, taken from the library's own offset tables so that a new
 * field is fuzzed as soon as it is named there.
 *
 * @module
 */

import { SETUP_HEADER } from "../../../lib/arch/x86_64/setup_header.ts";
import { FDT_HEADER, FDT_MAGIC, FDT_TOKEN, fdtAlign } from "../../../lib/fdt/layout.ts";
import { ascii, type ByteField, type ByteShape, le } from "../mutate_bytes.ts";

// Widths of the setup header fields (boot.rst "The Real-Mode Kernel Header").
const SETUP_HEADER_WIDTHS: Record<keyof typeof SETUP_HEADER, 1 | 2 | 4 | 8> = {
  setupSects: 1,
  rootFlags: 2,
  syssize: 4,
  bootFlag: 2,
  jump: 2,
  jumpDisplacement: 1,
  header: 4,
  version: 2,
  typeOfLoader: 1,
  loadflags: 1,
  ramdiskImage: 4,
  ramdiskSize: 4,
  cmdLinePtr: 4,
  initrdAddrMax: 4,
  kernelAlignment: 4,
  relocatableKernel: 1,
  minAlignment: 1,
  xloadflags: 2,
  cmdlineSize: 4,
  hardwareSubarch: 4,
  hardwareSubarchData: 8,
  payloadOffset: 4,
  payloadLength: 4,
  setupData: 8,
  prefAddress: 8,
  initSize: 4,
  handoverOffset: 4,
  kernelInfoOffset: 4,
};

const SECTOR = 512;

/** Magic numbers of every kernel format detectImage knows, to graft onto each other. */
export const KERNEL_MAGICS: readonly Uint8Array[] = [
  le(0xaa55, 2),
  ascii("HdrS"),
  new Uint8Array([0xeb, 0x6a]),
  new Uint8Array([0xeb, 0x80]),
  new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]),
  ascii("MZ"),
  ascii("zimg"),
  ascii("ARM\x64"),
  new Uint8Array([0x1f, 0x8b, 0x08]),
  new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]),
  new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
  ascii("BZh9"),
  new Uint8Array([0x04, 0x22, 0x4d, 0x18]),
  new Uint8Array([0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]),
];

/** The bzImage setup header: every named field, sector and header boundaries. */
export const BZIMAGE_SHAPE: ByteShape = {
  fields: (Object.keys(SETUP_HEADER) as (keyof typeof SETUP_HEADER)[]).map((name) => ({
    offset: SETUP_HEADER[name],
    size: SETUP_HEADER_WIDTHS[name],
  })),
  boundaries: [
    0,
    SECTOR,
    2 * SECTOR,
    0x202 + 0x6a,
    0x202 + 0x7f,
    ...Array.from({ length: 64 }, (_, i) => (i + 1) * SECTOR),
  ],
  hotEnd: 0x280,
  dictionary: KERNEL_MAGICS,
  maxLength: 0x30000,
};

// ELF64 offsets (System V gABI "ELF Header", "Program Header", "Dynamic Section").
const E_IDENT_FIELDS: ByteField[] = [4, 5, 6, 7].map((offset) => ({ offset, size: 1 }));
const EHDR_FIELDS: ByteField[] = [
  { offset: 0x10, size: 2 }, // e_type
  { offset: 0x12, size: 2 }, // e_machine
  { offset: 0x20, size: 8 }, // e_phoff
  { offset: 0x28, size: 8 }, // e_shoff
  { offset: 0x34, size: 2 }, // e_ehsize
  { offset: 0x36, size: 2 }, // e_phentsize
  { offset: 0x38, size: 2 }, // e_phnum
];
const PHDR_FIELDS: ByteField[] = [
  { offset: 0x00, size: 4 }, // p_type
  { offset: 0x08, size: 8 }, // p_offset
  { offset: 0x10, size: 8 }, // p_vaddr
  { offset: 0x20, size: 8 }, // p_filesz
  { offset: 0x28, size: 8 }, // p_memsz
];
const PHDR_SIZE = 56;
const DYN_SIZE = 16;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;

/**
 * The shape of one ELF64 little-endian seed: its header, each program
 * header's fields, each dynamic entry's tag and value, and the ends of the
 * tables and of PT_INTERP as truncation points. Read from the seed itself.
 *
 * @example
 * ```ts
 * import { elfShape } from "./shapes.ts";
 * const exe = Deno.readFileSync(new URL("../seeds/elf-libdl.so.2", import.meta.url));
 * if (elfShape(exe).fields.length < 20) throw new Error("program headers not found");
 * ```
 */
export function elfShape(seed: Uint8Array): ByteShape {
  const v = new DataView(seed.buffer, seed.byteOffset, seed.byteLength);
  const phoff = Number(v.getBigUint64(0x20, true));
  const phnum = v.getUint16(0x38, true);
  const fields: ByteField[] = [...E_IDENT_FIELDS, ...EHDR_FIELDS];
  const boundaries: number[] = [64, phoff, phoff + phnum * PHDR_SIZE];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * PHDR_SIZE;
    fields.push(...PHDR_FIELDS.map((f) => ({ offset: at + f.offset, size: f.size })));
    const type = v.getUint32(at, true);
    const offset = Number(v.getBigUint64(at + 0x08, true));
    const filesz = Number(v.getBigUint64(at + 0x20, true));
    if (type === PT_INTERP) boundaries.push(offset, offset + filesz - 1, offset + filesz);
    if (type === PT_DYNAMIC && offset + filesz <= seed.length) {
      boundaries.push(offset, offset + filesz);
      for (let d = offset; d + DYN_SIZE <= offset + filesz; d += DYN_SIZE) {
        fields.push({ offset: d, size: 8 }, { offset: d + 8, size: 8 });
      }
    }
  }
  return {
    fields,
    boundaries,
    hotEnd: phoff + phnum * PHDR_SIZE,
    dictionary: KERNEL_MAGICS,
    maxLength: 0x30000,
  };
}

// Devicetree Specification v0.4, chapter 5: tokens and the widths of header fields.
const FDT_TOKENS = Object.values(FDT_TOKEN);

function be32(value: number): Uint8Array {
  return new Uint8Array([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);
}

/** Magic, tokens and names device trees are made of, big-endian. */
export const FDT_DICTIONARY: readonly Uint8Array[] = [
  be32(FDT_MAGIC),
  ...FDT_TOKENS.map(be32),
  new Uint8Array(16),
  ascii("chosen\0"),
  ascii("linux,initrd-start\0"),
  ascii("#address-cells\0"),
  ascii("memory@40000000\0"),
];

/**
 * The shape of one device tree seed: every header field, every reservation
 * entry, every token with a property's len and nameoff, and the blocks' and
 * tokens' edges as truncation points. Read from the seed with the library's
 * header offsets; the seed must be a valid blob.
 *
 * @example
 * ```ts
 * import { fdtShape } from "./shapes.ts";
 * const dtb = Deno.readFileSync(new URL("../../fixtures/fdt-kexec-stale.dtb", import.meta.url));
 * const shape = fdtShape(dtb);
 * if (shape.littleEndian !== false || shape.fields.length < 100) throw new Error();
 * ```
 */
export function fdtShape(seed: Uint8Array): ByteShape {
  const v = new DataView(seed.buffer, seed.byteOffset, seed.byteLength);
  const fields: ByteField[] = Object.values(FDT_HEADER).map((offset) => ({ offset, size: 4 }));
  const rsvmap = v.getUint32(FDT_HEADER.offMemRsvmap);
  const struct = v.getUint32(FDT_HEADER.offDtStruct);
  const structEnd = struct + v.getUint32(FDT_HEADER.sizeDtStruct);
  const strings = v.getUint32(FDT_HEADER.offDtStrings);
  const boundaries = [
    rsvmap,
    struct,
    structEnd,
    strings,
    strings + v.getUint32(FDT_HEADER.sizeDtStrings),
  ];
  for (let at = rsvmap; v.getBigUint64(at + 8) !== 0n; at += 16) {
    fields.push({ offset: at, size: 8 }, { offset: at + 8, size: 8 });
  }
  for (let at = struct; at < structEnd;) {
    const token = v.getUint32(at);
    fields.push({ offset: at, size: 4 });
    boundaries.push(at);
    at += 4;
    if (token === FDT_TOKEN.BEGIN_NODE) at += fdtAlign(seed.subarray(at).indexOf(0) + 1);
    if (token === FDT_TOKEN.PROP) {
      fields.push({ offset: at, size: 4 }, { offset: at + 4, size: 4 });
      at += 8 + fdtAlign(v.getUint32(at));
    }
  }
  return {
    fields,
    boundaries,
    hotEnd: structEnd,
    dictionary: FDT_DICTIONARY,
    littleEndian: false,
    maxLength: 0x40000,
  };
}
