/**
 * What the parser remembers about the bytes each part of a tree came from, so
 * that serialising an unchanged tree gives back the identical blob: block
 * places and sizes, the blob itself (gaps and free space), FDT_NOP tokens
 * (Linux overwrites a consumed `rng-seed` with them, drivers/of/fdt.c
 * early_init_dt_scan_chosen), each property's name offset (dtc and libfdt share
 * string tails, so several names can live in one string), and padding bytes
 * (libfdt leaves old bytes in the padding when a value shrinks in place).
 *
 * Records are kept beside the tree, keyed by its objects, so the public types
 * stay plain data and an edit cannot leave a stale record behind: a record is
 * used only while the name (and, for padding, the very value array) it was
 * taken from is still there.
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
  /** The strings block's bytes (a view, the one every PropertyOrigin of the tree holds). */
  readonly stringsBytes: Uint8Array;
  /** FDT_NOP tokens between the root's FDT_END_NODE and FDT_END. */
  readonly nopsBeforeEnd: number;
}

/** The source of a parsed property. */
export interface PropertyOrigin {
  /** FDT_NOP tokens just before its FDT_PROP. */
  readonly nopsBefore: number;
  /** Its name when parsed. */
  readonly name: string;
  /** The source strings block (a view), which `nameoff` points into. */
  readonly strings: Uint8Array;
  /** Where that name starts in the source strings block. */
  readonly nameoff: number;
  /** Its value when parsed (compared by identity). */
  readonly value: Uint8Array;
  /** The bytes after that value up to the next token. */
  readonly padding: Uint8Array;
}

/** The source of a parsed node. */
export interface NodeOrigin {
  /** FDT_NOP tokens just before its FDT_BEGIN_NODE. */
  readonly nopsBefore: number;
  /** Its name when parsed. */
  readonly name: string;
  /** The bytes after that name's NUL up to the next token. */
  readonly padding: Uint8Array;
  /** FDT_NOP tokens just before its FDT_END_NODE. */
  readonly nopsBeforeEnd: number;
}

const blobs = new WeakMap<object, BlobOrigin>();
const properties = new WeakMap<object, PropertyOrigin>();
const nodes = new WeakMap<object, NodeOrigin>();

/**
 * Records where a tree came from and returns the tree.
 *
 * @example
 * ```ts
 * import { blobOrigin, rememberBlob } from "./origin.ts";
 * const span = { offset: 0x28, size: 0 };
 * const fdt = rememberBlob({}, {
 *   blob: new Uint8Array(64), rsvmap: span, struct: span, strings: span,
 *   stringsBytes: new Uint8Array(0), nopsBeforeEnd: 0,
 * });
 * if (blobOrigin(fdt)?.blob.length !== 64) throw new Error();
 * ```
 */
export function rememberBlob<T extends object>(fdt: T, origin: BlobOrigin): T {
  blobs.set(fdt, origin);
  return fdt;
}

/**
 * Records where a property came from and returns the property.
 *
 * @example
 * ```ts
 * import { propertyOrigin, rememberProperty } from "./origin.ts";
 * const value = new Uint8Array(3);
 * const p = rememberProperty({ name: "a", value }, {
 *   nopsBefore: 1, name: "a", strings: new Uint8Array([0x61, 0]), nameoff: 0, value,
 *   padding: new Uint8Array(1),
 * });
 * if (propertyOrigin(p)?.nopsBefore !== 1) throw new Error();
 * ```
 */
export function rememberProperty<T extends object>(property: T, origin: PropertyOrigin): T {
  properties.set(property, origin);
  return property;
}

/**
 * Records where a node came from and returns the node.
 *
 * @example
 * ```ts
 * import { nodeOrigin, rememberNode } from "./origin.ts";
 * const n = rememberNode({ name: "" }, {
 *   nopsBefore: 0, name: "", padding: new Uint8Array(3), nopsBeforeEnd: 2,
 * });
 * if (nodeOrigin(n)?.nopsBeforeEnd !== 2) throw new Error();
 * ```
 */
export function rememberNode<T extends object>(node: T, origin: NodeOrigin): T {
  nodes.set(node, origin);
  return node;
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

/**
 * Where a property came from, if it was parsed.
 *
 * @example
 * ```ts
 * import { propertyOrigin } from "./origin.ts";
 * if (propertyOrigin({}) !== undefined) throw new Error();
 * ```
 */
export function propertyOrigin(property: object): PropertyOrigin | undefined {
  return properties.get(property);
}

/**
 * Where a node came from, if it was parsed.
 *
 * @example
 * ```ts
 * import { nodeOrigin } from "./origin.ts";
 * if (nodeOrigin({}) !== undefined) throw new Error();
 * ```
 */
export function nodeOrigin(node: object): NodeOrigin | undefined {
  return nodes.get(node);
}

/**
 * Gives `to` the records of `from` (for copies of a tree) and returns `to`.
 *
 * @example
 * ```ts
 * import { copyOrigin, nodeOrigin, rememberNode } from "./origin.ts";
 * const a = rememberNode({}, { nopsBefore: 1, name: "x", padding: new Uint8Array(), nopsBeforeEnd: 0 });
 * const b = copyOrigin(a, {});
 * if (nodeOrigin(b)?.nopsBefore !== 1) throw new Error();
 * ```
 */
export function copyOrigin<T extends object>(from: object, to: T): T {
  const blob = blobs.get(from);
  if (blob) blobs.set(to, blob);
  const property = properties.get(from);
  if (property) properties.set(to, property);
  const node = nodes.get(from);
  if (node) nodes.set(to, node);
  return to;
}
