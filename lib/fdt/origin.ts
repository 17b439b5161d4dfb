/**
 * What the parser remembers about the bytes each part of a tree came from, so
 * that serialising an unchanged tree gives back the identical blob: block
 * places and sizes, the blob itself (gaps and free space), FDT_NOP tokens
 * (Linux overwrites a consumed `rng-seed` with them, drivers/of/fdt.c
 * early_init_dt_scan_chosen), each property's name offset (dtc and libfdt share
 * string tails, so several names can live in one string), and padding bytes
 * (libfdt leaves old bytes in the padding when a value shrinks in place).
 *
 * Records are kept beside the tree (one record per tree, holding maps keyed
 * by its property and node objects), so the public types stay plain data and
 * an edit cannot leave a stale record behind: a record is used only while the
 * name (and, for padding, the very value array) it was taken from is still
 * there. Plain maps, not a WeakMap per object: V8 makes every WeakMap entry
 * costly, and a tree's records live exactly as long as the tree does.
 *
 * @module
 */

/** Where a block lay in the source blob. */
export interface BlockSpan {
  /** Offset from the start of the blob. */
  readonly offset: number;
  /** Bytes. */
  readonly size: number;
}

/** The source of a parsed tree. */
export interface BlobOrigin {
  /** The source blob: `totalsize` bytes, a view (not a copy). */
  readonly blob: Uint8Array;
  /** The memory reservation block, terminating entry included. */
  readonly rsvmap: BlockSpan;
  /** The structure block. */
  readonly struct: BlockSpan;
  /** The strings block. */
  readonly strings: BlockSpan;
  /** The strings block's bytes (a view): the start of the strings block written back. */
  readonly stringsBytes: Uint8Array;
  /** FDT_NOP tokens between the root's FDT_END_NODE and FDT_END. */
  readonly nopsBeforeEnd: number;
  /** Where each property of the tree came from. */
  readonly properties: Map<object, PropertyOrigin>;
  /** Where each node of the tree came from. */
  readonly nodes: Map<object, NodeOrigin>;
}

/** The source of a parsed property. */
export interface PropertyOrigin {
  /** FDT_NOP tokens just before its FDT_PROP. */
  readonly nopsBefore: number;
  /** Its name when parsed. */
  readonly name: string;
  /** Where that name starts in the source strings block. */
  readonly nameoff: number;
  /** Its value when parsed (compared by identity). */
  readonly value: Uint8Array;
  /** The bytes after that value up to the next token; undefined when they are zeros. */
  readonly padding: Uint8Array | undefined;
}

/** The source of a parsed node. */
export interface NodeOrigin {
  /** FDT_NOP tokens just before its FDT_BEGIN_NODE. */
  readonly nopsBefore: number;
  /** Its name when parsed. */
  readonly name: string;
  /** The bytes after that name's NUL up to the next token; undefined when they are zeros. */
  readonly padding: Uint8Array | undefined;
  /** FDT_NOP tokens just before its FDT_END_NODE. */
  readonly nopsBeforeEnd: number;
}

const blobs = new WeakMap<object, BlobOrigin>();

/**
 * Records where a tree came from and returns the tree.
 *
 * @example
 * ```ts
 * import { blobOrigin, rememberBlob } from "./origin.ts";
 * const span = { offset: 0x28, size: 0 };
 * const fdt = rememberBlob({}, {
 *   blob: new Uint8Array(64), rsvmap: span, struct: span, strings: span,
 *   stringsBytes: new Uint8Array(0), nopsBeforeEnd: 0, properties: new Map(), nodes: new Map(),
 * });
 * if (blobOrigin(fdt)?.blob.length !== 64) throw new Error();
 * ```
 */
export function rememberBlob<T extends object>(fdt: T, origin: BlobOrigin): T {
  blobs.set(fdt, origin);
  return fdt;
}

/**
 * Where a tree came from, if it was parsed.
 *
 * @example
 * ```ts
 * import { blobOrigin } from "./origin.ts";
 * if (blobOrigin({}) !== undefined) throw new Error();
 * ```
 */
export function blobOrigin(fdt: object): BlobOrigin | undefined {
  return blobs.get(fdt);
}
