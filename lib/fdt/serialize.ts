/**
 * Writing a tree back to a version 17 blob (Devicetree Specification v0.4,
 * chapter 5).
 *
 * A parsed tree is written the way libfdt edits a blob in place
 * (scripts/dtc/libfdt/fdt_rw.c): the memory reservation block stays where it
 * was, the gaps between blocks keep their sizes, the structure and strings
 * blocks move only by what the blocks before them grew or shrank, new property
 * names are appended to the source's strings block, and FDT_NOP tokens,
 * padding bytes and shared name offsets stay as they were. When no block grew
 * or shrank, every block stays where it was (in whatever order the source had
 * them) and the bytes outside the blocks (gaps, free space) are the source's
 * too, so an unchanged tree gives back the identical blob. Otherwise
 * everything outside the blocks is zero. A tree that was not parsed, or whose
 * source blocks were out of order and changed size, is packed as libfdt's
 * fdt_open_into packs: header, reservations, structure, strings.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import {
  FDT_HEADER,
  FDT_HEADER_SIZE,
  FDT_LAST_COMP_VERSION,
  FDT_MAGIC,
  FDT_MAX_DEPTH,
  FDT_MAX_NAME,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_TAG_SIZE,
  FDT_TOKEN,
  FDT_VERSION,
  fdtAlign,
} from "./layout.ts";
import { type BlobOrigin, blobOrigin, type PropertyOrigin } from "./origin.ts";
import type { Fdt, FdtNode } from "./tree.ts";

/** How large the blob may and must be. */
export interface SerializeOptions {
  /**
   * Free bytes after the data: the blob is exactly that much larger than its
   * blocks. Default: the source's `totalsize` when the data still fits in it
   * (an unchanged tree comes back identical), else no free space.
   */
  readonly freeSpace?: number;
  /** Largest `totalsize` allowed (default 2^32 - 1, the most the header can say). */
  readonly maxTotalSize?: number;
}

const MAX_TOTALSIZE = 2 ** 32 - 1;

function fail(what: string): KexecError {
  return new KexecError(`device tree: ${what}`, {
    hint: "the edited tree cannot be written as a device tree blob",
  });
}

/** A name's bytes (one byte per character) and its NUL. */
function nameBytes(name: string, what: string): Uint8Array {
  if (name.length > FDT_MAX_NAME) throw fail(`${what} '${name}' is longer than ${FDT_MAX_NAME}`);
  const bytes = new Uint8Array(name.length + 1);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0 || c > 0xff) throw fail(`${what} '${name}' has a character that is not one byte`);
    bytes[i] = c;
  }
  return bytes;
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  for (let i = haystack.indexOf(needle[0]); i >= 0; i = haystack.indexOf(needle[0], i + 1)) {
    if (i + needle.length > haystack.length) return -1;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** The strings block: the source's bytes as they were, then names it lacked. */
class StringTable {
  readonly #base: Uint8Array;
  readonly #added: Uint8Array[] = [];
  readonly #offsets = new Map<string, number>();
  size: number;

  constructor(base: Uint8Array) {
    this.#base = base;
    this.size = base.length;
  }

  /** Where `name` is (or now goes); a parsed name keeps its own offset. */
  offsetOf(name: string, origin: PropertyOrigin | undefined): number {
    if (origin?.name === name) return origin.nameoff;
    const known = this.#offsets.get(name);
    if (known !== undefined) return known;
    const bytes = nameBytes(name, "property name");
    if (name === "") throw fail("a property has an empty name");
    let offset = indexOfBytes(this.#base, bytes);
    if (offset < 0) {
      offset = this.size;
      this.#added.push(bytes);
      this.size += bytes.length;
    }
    this.#offsets.set(name, offset);
    return offset;
  }

  write(out: Uint8Array, at: number): void {
    out.set(this.#base, at);
    let next = at + this.#base.length;
    for (const bytes of this.#added) {
      out.set(bytes, next);
      next += bytes.length;
    }
  }
}

/** Writes the structure block, or (without `out`) only measures it. */
class StructWriter {
  at: number;
  readonly #out: Uint8Array | undefined;
  readonly #view: DataView | undefined;
  readonly #strings: StringTable;

  readonly #origin: BlobOrigin | undefined;

  constructor(strings: StringTable, origin: BlobOrigin | undefined, out?: Uint8Array, at = 0) {
    this.#strings = strings;
    this.#origin = origin;
    this.#out = out;
    this.#view = out && new DataView(out.buffer, out.byteOffset, out.byteLength);
    this.at = at;
  }

  #u32(value: number): void {
    this.#view?.setUint32(this.at, value);
    this.at += FDT_TAG_SIZE;
  }

  #nops(count: number): void {
    for (let i = 0; i < count; i++) this.#u32(FDT_TOKEN.NOP);
  }

  /** `bytes`, then `padding` when it is the right length, else zeros, to the next token. */
  #padded(bytes: Uint8Array, padding: Uint8Array | undefined): void {
    const end = this.at + fdtAlign(bytes.length);
    if (this.#out) {
      this.#out.set(bytes, this.at);
      const from = this.at + bytes.length;
      if (padding?.length === end - from) this.#out.set(padding, from);
      else this.#out.fill(0, from, end);
    }
    this.at = end;
  }

  node(node: FdtNode, depth: number): void {
    if (depth > FDT_MAX_DEPTH) {
      throw fail(`nodes nested deeper than ${FDT_MAX_DEPTH} (or in a cycle)`);
    }
    if (depth > 1 && (node.name === "" || node.name.includes("/"))) {
      throw fail(`a node is named '${node.name}'`);
    }
    const origin = this.#origin?.nodes.get(node);
    this.#nops(origin?.nopsBefore ?? 0);
    this.#u32(FDT_TOKEN.BEGIN_NODE);
    this.#padded(
      nameBytes(node.name, "node name"),
      origin?.name === node.name ? origin.padding : undefined,
    );
    const names = new Set<string>();
    for (const property of node.properties) {
      if (names.has(property.name)) {
        throw fail(`node '${node.name}' has two properties '${property.name}'`);
      }
      names.add(property.name);
      const from = this.#origin?.properties.get(property);
      this.#nops(from?.nopsBefore ?? 0);
      this.#u32(FDT_TOKEN.PROP);
      this.#u32(property.value.length);
      this.#u32(this.#strings.offsetOf(property.name, from));
      this.#padded(property.value, from?.value === property.value ? from.padding : undefined);
    }
    names.clear();
    for (const child of node.children) {
      if (names.has(child.name)) throw fail(`node '${node.name}' has two children '${child.name}'`);
      names.add(child.name);
      this.node(child, depth + 1);
    }
    this.#nops(origin?.nopsBeforeEnd ?? 0);
    this.#u32(FDT_TOKEN.END_NODE);
  }

  tree(fdt: Fdt): void {
    this.node(fdt.root, 1);
    this.#nops(this.#origin?.nopsBeforeEnd ?? 0);
    this.#u32(FDT_TOKEN.END);
  }
}

/** Block offsets and sizes of the blob to write. */
interface Layout {
  rsvmap: number;
  rsvmapSize: number;
  struct: number;
  structSize: number;
  strings: number;
  dataEnd: number;
  /** Every block where and as large as in the source. */
  unmoved: boolean;
}

function layout(
  origin: BlobOrigin | undefined,
  rsvmapSize: number,
  structSize: number,
  stringsSize: number,
): Layout {
  if (
    origin !== undefined && rsvmapSize === origin.rsvmap.size &&
    structSize === origin.struct.size && stringsSize === origin.strings.size
  ) {
    // Nothing grew or shrank: every block stays where it was, in whatever order.
    const { rsvmap, struct, strings } = origin;
    return {
      rsvmap: rsvmap.offset,
      rsvmapSize,
      struct: struct.offset,
      structSize,
      strings: strings.offset,
      dataEnd: Math.max(...[rsvmap, struct, strings].map((b) => b.offset + b.size)),
      unmoved: true,
    };
  }
  const inOrder = origin !== undefined &&
    origin.rsvmap.offset + origin.rsvmap.size <= origin.struct.offset &&
    origin.struct.offset + origin.struct.size <= origin.strings.offset;
  const rsvmap = inOrder ? origin.rsvmap.offset : FDT_HEADER_SIZE;
  const struct = rsvmap + rsvmapSize +
    (inOrder ? origin.struct.offset - origin.rsvmap.offset - origin.rsvmap.size : 0);
  const strings = struct + structSize +
    (inOrder ? origin.strings.offset - origin.struct.offset - origin.struct.size : 0);
  const dataEnd = strings + stringsSize;
  return { rsvmap, rsvmapSize, struct, structSize, strings, dataEnd, unmoved: false };
}

function totalSize(
  dataEnd: number,
  origin: BlobOrigin | undefined,
  options: SerializeOptions,
): number {
  const { freeSpace } = options;
  const max = Math.min(options.maxTotalSize ?? MAX_TOTALSIZE, MAX_TOTALSIZE);
  if (freeSpace !== undefined && (!Number.isSafeInteger(freeSpace) || freeSpace < 0)) {
    throw fail(`free space ${freeSpace} is not a size`);
  }
  const total = freeSpace !== undefined
    ? dataEnd + freeSpace
    // Keep the room the source had, unless that breaks the limit.
    : Math.max(origin?.blob.length ?? 0, dataEnd) <= max
    ? Math.max(origin?.blob.length ?? 0, dataEnd)
    : dataEnd;
  if (total <= max) return total;
  throw new KexecError(
    `device tree: ${dataEnd} bytes${freeSpace ? ` and ${freeSpace} bytes of free space` : ""} ` +
      `exceed the limit of ${max} bytes`,
    {
      hint:
        "the device tree is too large to hand to the next kernel; give a smaller one with --dtb",
    },
  );
}

/**
 * Writes `fdt` as a version 17 blob (see the module description for where
 * the blocks go). `totalsize` is the data's end plus `freeSpace` when given;
 * otherwise the source blob's when the data still fits (its spare room is
 * given up before `maxTotalSize` is exceeded). A blob that cannot fit in
 * `maxTotalSize` is a {@link KexecError}.
 *
 * @example
 * ```ts
 * import { parseFdt } from "./parse.ts";
 * import { serializeFdt } from "./serialize.ts";
 * import { emptyFdt, setProperty } from "./tree.ts";
 * const tree = emptyFdt();
 * tree.reservations.push({ address: 0x48000000, size: 0x1000 });
 * setProperty(tree.root, "model", new TextEncoder().encode("demo\0"));
 * const blob = serializeFdt(tree, { freeSpace: 0x1000 });
 * const again = serializeFdt(parseFdt(blob));
 * if (again.length !== blob.length || !again.every((b, i) => b === blob[i])) throw new Error();
 * if (new DataView(blob.buffer).getUint32(4) !== blob.length) throw new Error("totalsize");
 * ```
 */
export function serializeFdt(fdt: Fdt, options: SerializeOptions = {}): Uint8Array {
  const origin = blobOrigin(fdt);
  const strings = new StringTable(origin?.stringsBytes ?? new Uint8Array(0));
  const measure = new StructWriter(strings, origin);
  measure.tree(fdt);
  const rsvmapSize = (fdt.reservations.length + 1) * FDT_RESERVE_ENTRY_SIZE;
  const at = layout(origin, rsvmapSize, measure.at, strings.size);
  const total = totalSize(at.dataEnd, origin, options);

  const out = new Uint8Array(total);
  if (origin && at.unmoved) out.set(origin.blob.subarray(0, Math.min(total, origin.blob.length)));
  const view = new DataView(out.buffer);
  const header: [number, number][] = [
    [FDT_HEADER.magic, FDT_MAGIC],
    [FDT_HEADER.totalsize, total],
    [FDT_HEADER.offDtStruct, at.struct],
    [FDT_HEADER.offDtStrings, at.strings],
    [FDT_HEADER.offMemRsvmap, at.rsvmap],
    [FDT_HEADER.version, FDT_VERSION],
    [FDT_HEADER.lastCompVersion, FDT_LAST_COMP_VERSION],
    [FDT_HEADER.bootCpuidPhys, fdt.bootCpuidPhys],
    [FDT_HEADER.sizeDtStrings, strings.size],
    [FDT_HEADER.sizeDtStruct, at.structSize],
  ];
  for (const [offset, value] of header) view.setUint32(offset, value);
  fdt.reservations.forEach((r, i) => {
    for (const [what, v] of [["address", r.address], ["size", r.size]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw fail(`reservation ${i} has ${what} ${v}`);
    }
    if (r.size === 0) throw fail(`reservation ${i} has size 0, which would end the list`);
    view.setBigUint64(at.rsvmap + i * FDT_RESERVE_ENTRY_SIZE, BigInt(r.address));
    view.setBigUint64(at.rsvmap + i * FDT_RESERVE_ENTRY_SIZE + 8, BigInt(r.size));
  });
  view.setBigUint64(at.rsvmap + rsvmapSize - FDT_RESERVE_ENTRY_SIZE, 0n);
  view.setBigUint64(at.rsvmap + rsvmapSize - 8, 0n);
  new StructWriter(strings, origin, out, at.struct).tree(fdt);
  strings.write(out, at.strings);
  return out;
}
