/**
 * The Flattened Devicetree (DTB) binary layout, written down once: header
 * field offsets, structure block tokens, alignments and the limits this
 * library holds blobs to. Devicetree Specification v0.4, chapter 5
 * "Flattened Devicetree (DTB) Format"; the names follow libfdt's fdt.h
 * (scripts/dtc/libfdt/fdt.h in Linux). Every field is big-endian.
 *
 * @module
 */

/** `magic`, the first header field (spec 5.2). */
export const FDT_MAGIC = 0xd00dfeed;

/** Header field offsets (spec 5.2 "Header"); each field is a big-endian u32. */
export const FDT_HEADER = {
  /** 0xd00dfeed. */
  magic: 0x00,
  /** Size of the whole blob: header, blocks, gaps and free space at the end. */
  totalsize: 0x04,
  /** Offset of the structure block. */
  offDtStruct: 0x08,
  /** Offset of the strings block. */
  offDtStrings: 0x0c,
  /** Offset of the memory reservation block (8-byte aligned). */
  offMemRsvmap: 0x10,
  /** Format version: 17. */
  version: 0x14,
  /** Oldest version this blob is compatible with: 16. */
  lastCompVersion: 0x18,
  /** Physical ID of the boot CPU. */
  bootCpuidPhys: 0x1c,
  /** Bytes in the strings block. */
  sizeDtStrings: 0x20,
  /** Bytes in the structure block (version 17). */
  sizeDtStruct: 0x24,
} as const;

/** Bytes of a version 17 header (spec 5.2). */
export const FDT_HEADER_SIZE = 0x28;

/** The version this library reads and writes (spec 5.1 "Versioning"). */
export const FDT_VERSION = 17;

/** `last_comp_version` of a version 17 blob: it is compatible with version 16 (spec 5.2). */
export const FDT_LAST_COMP_VERSION = 16;

/** Structure block tokens (spec 5.4.1 "Lexical structure"); big-endian u32 each. */
export const FDT_TOKEN = {
  /** Start of a node; followed by its NUL-terminated unit name, zero-padded to 4. */
  BEGIN_NODE: 0x1,
  /** End of a node. */
  END_NODE: 0x2,
  /** A property: u32 len, u32 nameoff, then len value bytes zero-padded to 4. */
  PROP: 0x3,
  /** Ignored; what a property or node becomes when it is overwritten in place. */
  NOP: 0x4,
  /** End of the structure block; exactly once, last. */
  END: 0x9,
} as const;

/** Bytes of a token (spec 5.4.1: every token is 4-byte aligned). */
export const FDT_TAG_SIZE = 4;

/** Bytes after FDT_PROP before the value: len and nameoff (spec 5.4.1). */
export const FDT_PROP_HEADER_SIZE = 8;

/** Bytes of one memory reservation entry: u64 address, u64 size (spec 5.3.2). */
export const FDT_RESERVE_ENTRY_SIZE = 16;

/** Alignment of the memory reservation block (spec 5.6 "Alignment"). */
export const FDT_RSVMAP_ALIGN = 8;

/** Alignment of the structure block and of every token in it (spec 5.6). */
export const FDT_STRUCT_ALIGN = 4;

/**
 * Deepest node nesting accepted (the root is depth 1). Linux unflattens at
 * most this deep (drivers/of/fdt.c, FDT_MAX_DEPTH 64) and ignores deeper
 * nodes, so a deeper blob is broken, and the bound keeps work on hostile
 * input linear.
 */
export const FDT_MAX_DEPTH = 64;

/**
 * Longest node or property name accepted, in bytes. The spec allows 31
 * characters for property names and 31 plus a unit address for nodes (spec
 * 2.2.1, 2.2.4); Linux shows every node and property as a file under
 * /proc/device-tree, where a name cannot be longer than NAME_MAX (255).
 */
export const FDT_MAX_NAME = 255;

/**
 * `n` rounded up to the 4-byte token alignment.
 *
 * @example
 * ```ts
 * import { fdtAlign } from "./layout.ts";
 * if (fdtAlign(5) !== 8 || fdtAlign(8) !== 8 || fdtAlign(0) !== 0) throw new Error();
 * ```
 */
export function fdtAlign(n: number): number {
  return Math.ceil(n / FDT_STRUCT_ALIGN) * FDT_STRUCT_ALIGN;
}
