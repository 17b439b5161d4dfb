/**
 * Reading a flattened device tree blob into a tree (Devicetree Specification
 * v0.4, chapter 5), strictly: every offset, size, token, name and nesting
 * level is checked, every failure is a {@link KexecError} that says what is
 * wrong and where, and the work is linear in the blob's size whatever it holds.
 *
 * The blob is not copied: property values are views into it.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { hex } from "../format.ts";
import {
  FDT_HEADER,
  FDT_HEADER_SIZE,
  FDT_MAGIC,
  FDT_MAX_DEPTH,
  FDT_MAX_NAME,
  FDT_PROP_HEADER_SIZE,
  FDT_RESERVE_ENTRY_SIZE,
  FDT_RSVMAP_ALIGN,
  FDT_STRUCT_ALIGN,
  FDT_TAG_SIZE,
  FDT_TOKEN,
  FDT_VERSION,
  fdtAlign,
} from "./layout.ts";
import { type BlockSpan, type NodeOrigin, type PropertyOrigin, rememberBlob } from "./origin.ts";
import type { Fdt, FdtNode, FdtReservation } from "./tree.ts";

const GARBAGE_HINT = "give a flattened device tree blob (.dtb), such as one compiled by dtc " +
  "or /sys/firmware/fdt";
const TRUNCATED_HINT = "the file is cut short; copy the device tree again";

type Fail = (what: string, hint?: string) => KexecError;

/** Names are kept one character per byte, so that any name round-trips unchanged. */
function byteString(bytes: Uint8Array): string {
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** The bytes from `from` to `to` unless they are all zero (the usual padding). */
function nonZero(blob: Uint8Array, from: number, to: number): Uint8Array | undefined {
  for (let i = from; i < to; i++) if (blob[i] !== 0) return blob.subarray(from, to);
  return undefined;
}

function checkBlock(
  fail: Fail,
  what: string,
  offset: number,
  size: number,
  align: number,
  totalsize: number,
): BlockSpan {
  if (offset < FDT_HEADER_SIZE || offset % align !== 0 || offset + size > totalsize) {
    throw fail(
      `${what} at ${hex(offset)} (${size} bytes) is not inside the blob of ${totalsize} bytes ` +
        `after the header${align > 1 ? `, ${align}-byte aligned` : ""}`,
    );
  }
  return { offset, size };
}

function readReservations(
  view: DataView,
  offset: number,
  totalsize: number,
  fail: Fail,
): { reservations: FdtReservation[]; span: BlockSpan } {
  const reservations: FdtReservation[] = [];
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  for (let at = offset;; at += FDT_RESERVE_ENTRY_SIZE) {
    if (at + FDT_RESERVE_ENTRY_SIZE > totalsize) {
      throw fail(`memory reservation block at ${hex(offset)} has no terminating entry`);
    }
    const address = view.getBigUint64(at);
    const size = view.getBigUint64(at + 8);
    if (size === 0n) {
      if (address !== 0n) {
        // libfdt and drivers/of/fdt.c stop at the first zero size; the spec ends the list at 0, 0.
        throw fail(`memory reservation entry ${reservations.length} at ${hex(address)} has size 0`);
      }
      return { reservations, span: { offset, size: at + FDT_RESERVE_ENTRY_SIZE - offset } };
    }
    if (address + size > max) {
      throw fail(
        `memory reservation entry ${reservations.length} (${hex(address)}, ${hex(size)}) ` +
          "ends beyond any physical address",
      );
    }
    reservations.push({ address: Number(address), size: Number(size) });
  }
}

function checkOverlaps(fail: Fail, blocks: [string, BlockSpan][]): void {
  for (let i = 0; i < blocks.length; i++) {
    for (let j = i + 1; j < blocks.length; j++) {
      const [a, x] = blocks[i];
      const [b, y] = blocks[j];
      if (
        x.size > 0 && y.size > 0 && x.offset < y.offset + y.size && y.offset < x.offset + x.size
      ) {
        throw fail(`the ${a} and the ${b} overlap`);
      }
    }
  }
}

/** A node whose FDT_END_NODE has not been read yet. */
interface OpenNode {
  readonly node: FdtNode;
  readonly path: string;
  readonly nopsBefore: number;
  readonly padding: Uint8Array | undefined;
  readonly propertyNames: Set<string>;
  readonly childNames: Set<string>;
}

/** The tree of a structure block, and where each of its parts came from. */
interface Structure {
  readonly root: FdtNode;
  readonly nopsBeforeEnd: number;
  readonly properties: Map<object, PropertyOrigin>;
  readonly nodes: Map<object, NodeOrigin>;
}

function readStructure(
  blob: Uint8Array,
  struct: BlockSpan,
  strings: BlockSpan,
  fail: Fail,
): Structure {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const end = struct.offset + struct.size;
  const where = (at: number) => `structure block offset ${hex(at - struct.offset)}`;
  const names = new Map<number, string>();
  const propertyName = (nameoff: number, at: number): string => {
    const known = names.get(nameoff);
    if (known !== undefined) return known;
    if (nameoff >= strings.size) {
      throw fail(
        `property at ${where(at)}: name offset ${hex(nameoff)} is outside the strings block`,
      );
    }
    const from = strings.offset + nameoff;
    const limit = Math.min(strings.offset + strings.size, from + FDT_MAX_NAME + 1);
    const nul = blob.subarray(from, limit).indexOf(0);
    if (nul < 0) {
      throw fail(
        `property at ${where(at)}: its name at strings offset ${hex(nameoff)} is not ` +
          `NUL-terminated within ${FDT_MAX_NAME} bytes or the strings block`,
      );
    }
    if (nul === 0) throw fail(`property at ${where(at)} has an empty name`);
    const name = byteString(blob.subarray(from, from + nul));
    names.set(nameoff, name);
    return name;
  };

  const properties = new Map<object, PropertyOrigin>();
  const nodes = new Map<object, NodeOrigin>();
  const stack: OpenNode[] = [];
  let root: FdtNode | undefined;
  let nops = 0;
  for (let at = struct.offset;;) {
    if (at + FDT_TAG_SIZE > end) throw fail(`the structure block ends without FDT_END`);
    const tokenAt = at;
    const token = view.getUint32(at);
    at += FDT_TAG_SIZE;
    if (token === FDT_TOKEN.NOP) {
      nops++;
    } else if (token === FDT_TOKEN.BEGIN_NODE) {
      const parent = stack.at(-1);
      if (root !== undefined && parent === undefined) {
        throw fail(`a second root node at ${where(tokenAt)}`);
      }
      if (stack.length >= FDT_MAX_DEPTH) {
        throw fail(`nodes nested deeper than ${FDT_MAX_DEPTH} at ${where(tokenAt)}`);
      }
      const nul = blob.subarray(at, Math.min(end, at + FDT_MAX_NAME + 1)).indexOf(0);
      if (nul < 0) {
        throw fail(
          `node name at ${where(at)} is not NUL-terminated within ${FDT_MAX_NAME} bytes ` +
            "or the structure block",
        );
      }
      const name = byteString(blob.subarray(at, at + nul));
      const padded = at + fdtAlign(nul + 1);
      if (padded > end) throw fail(`node name at ${where(at)} runs past the structure block`);
      const node: FdtNode = { name, properties: [], children: [] };
      let path = "/";
      if (parent !== undefined) {
        path = `${parent.path === "/" ? "" : parent.path}/${name}`;
        if (name === "" || name.includes("/")) {
          throw fail(`node at ${where(tokenAt)} in ${parent.path} has the name '${name}'`);
        }
        if (parent.childNames.has(name)) throw fail(`two nodes named ${path}`);
        parent.childNames.add(name);
        parent.node.children.push(node);
      } else {
        root = node;
      }
      const padding = nonZero(blob, at + nul + 1, padded);
      stack.push({
        node,
        path,
        nopsBefore: nops,
        padding,
        propertyNames: new Set(),
        childNames: new Set(),
      });
      nops = 0;
      at = padded;
    } else if (token === FDT_TOKEN.PROP) {
      const open = stack.at(-1);
      if (open === undefined) throw fail(`a property outside any node at ${where(tokenAt)}`);
      if (open.node.children.length > 0) {
        // The spec puts properties first; libfdt and the kernel would not see this one.
        throw fail(`a property after a child node of ${open.path} at ${where(tokenAt)}`);
      }
      if (at + FDT_PROP_HEADER_SIZE > end) {
        throw fail(`property at ${where(tokenAt)} runs past the structure block`);
      }
      const len = view.getUint32(at);
      const nameoff = view.getUint32(at + 4);
      const valueAt = at + FDT_PROP_HEADER_SIZE;
      const padded = valueAt + fdtAlign(len);
      if (padded > end) {
        throw fail(`property at ${where(tokenAt)} (${len} bytes) runs past the structure block`);
      }
      const name = propertyName(nameoff, tokenAt);
      if (open.propertyNames.has(name)) throw fail(`two properties '${name}' in ${open.path}`);
      open.propertyNames.add(name);
      const value = blob.subarray(valueAt, valueAt + len);
      const padding = nonZero(blob, valueAt + len, padded);
      const property = { name, value };
      open.node.properties.push(property);
      properties.set(property, { nopsBefore: nops, name, nameoff, value, padding });
      nops = 0;
      at = padded;
    } else if (token === FDT_TOKEN.END_NODE) {
      const open = stack.pop();
      if (open === undefined) throw fail(`FDT_END_NODE outside any node at ${where(tokenAt)}`);
      nodes.set(open.node, {
        nopsBefore: open.nopsBefore,
        name: open.node.name,
        padding: open.padding,
        nopsBeforeEnd: nops,
      });
      nops = 0;
    } else if (token === FDT_TOKEN.END) {
      if (root === undefined) throw fail(`FDT_END at ${where(tokenAt)} before any node`);
      const open = stack.at(-1);
      if (open !== undefined) {
        throw fail(`FDT_END at ${where(tokenAt)} inside ${open.path} (${stack.length} open nodes)`);
      }
      if (at !== end) throw fail(`${end - at} bytes after FDT_END in the structure block`);
      return { root, nopsBeforeEnd: nops, properties, nodes };
    } else {
      throw fail(`unknown token ${hex(token)} at ${where(tokenAt)}`);
    }
  }
}

/**
 * Parses a device tree blob. `path` names it in error messages (a file name,
 * `/sys/firmware/fdt`). Bytes after the header's `totalsize` are ignored.
 *
 * Accepted: blobs compatible with version 17 (spec 5.1), blocks inside the
 * blob, aligned and not overlapping each other or the header, a reservation
 * list ending in 0, 0, a structure block of exactly one root node followed by
 * FDT_END, properties before child nodes, no two properties or children of a
 * node with one name, names NUL-terminated within 255 bytes, nesting at most
 * 64 deep. FDT_NOP tokens may appear between any two tokens.
 *
 * @example
 * ```ts
 * import { parseFdt } from "./parse.ts";
 * import { serializeFdt } from "./serialize.ts";
 * import { emptyFdt, findNode, setProperty } from "./tree.ts";
 * import { KexecError } from "../errors.ts";
 * const tree = emptyFdt();
 * setProperty(tree.root, "model", new TextEncoder().encode("demo\0"));
 * tree.root.children.push({ name: "chosen", properties: [], children: [] });
 * const blob = serializeFdt(tree);
 * const fdt = parseFdt(blob, "demo.dtb");
 * if (findNode(fdt, "/chosen") === undefined || fdt.root.properties[0].value.length !== 5) {
 *   throw new Error();
 * }
 * let refused = false;
 * try { parseFdt(blob.subarray(0, blob.length - 1), "demo.dtb"); } catch (e) {
 *   refused = e instanceof KexecError && e.message.includes("truncated");
 * }
 * if (!refused) throw new Error("a truncated blob was accepted");
 * ```
 */
export function parseFdt(bytes: Uint8Array, path = "(blob)"): Fdt {
  const fail: Fail = (what, hint = GARBAGE_HINT) =>
    new KexecError(`device tree ${path}: ${what}`, { hint });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < FDT_HEADER_SIZE) {
    const magic = bytes.length >= 4 && view.getUint32(0) === FDT_MAGIC;
    throw fail(
      `${bytes.length} bytes is too short for the ${FDT_HEADER_SIZE}-byte header`,
      magic ? TRUNCATED_HINT : GARBAGE_HINT,
    );
  }
  const u32 = (offset: number) => view.getUint32(offset);
  const magic = u32(FDT_HEADER.magic);
  if (magic !== FDT_MAGIC) throw fail(`no magic 0xd00dfeed at offset 0 (found ${hex(magic)})`);
  const totalsize = u32(FDT_HEADER.totalsize);
  if (totalsize > bytes.length) {
    throw fail(
      `the header gives totalsize ${totalsize} but there are ${bytes.length} bytes: truncated`,
      TRUNCATED_HINT,
    );
  }
  if (totalsize < FDT_HEADER_SIZE) throw fail(`totalsize ${totalsize} is smaller than the header`);
  const version = u32(FDT_HEADER.version);
  const lastCompVersion = u32(FDT_HEADER.lastCompVersion);
  if (version < FDT_VERSION || lastCompVersion > FDT_VERSION) {
    throw fail(
      `format version ${version} (compatible back to ${lastCompVersion}) cannot be read ` +
        `as version ${FDT_VERSION}`,
      "recompile it with a current dtc",
    );
  }
  const rsvmapOffset = u32(FDT_HEADER.offMemRsvmap);
  checkBlock(fail, "memory reservation block", rsvmapOffset, 0, FDT_RSVMAP_ALIGN, totalsize);
  const struct = checkBlock(
    fail,
    "structure block",
    u32(FDT_HEADER.offDtStruct),
    u32(FDT_HEADER.sizeDtStruct),
    FDT_STRUCT_ALIGN,
    totalsize,
  );
  const strings = checkBlock(
    fail,
    "strings block",
    u32(FDT_HEADER.offDtStrings),
    u32(FDT_HEADER.sizeDtStrings),
    1,
    totalsize,
  );
  const { reservations, span: rsvmap } = readReservations(view, rsvmapOffset, totalsize, fail);
  checkOverlaps(fail, [
    ["header", { offset: 0, size: FDT_HEADER_SIZE }],
    ["memory reservation block", rsvmap],
    ["structure block", struct],
    ["strings block", strings],
  ]);
  const blob = bytes.subarray(0, totalsize);
  const stringsBytes = blob.subarray(strings.offset, strings.offset + strings.size);
  const { root, ...parts } = readStructure(blob, struct, strings, fail);
  const fdt: Fdt = {
    root,
    reservations,
    bootCpuidPhys: u32(FDT_HEADER.bootCpuidPhys),
    version,
    lastCompVersion,
  };
  return rememberBlob(fdt, { blob, rsvmap, struct, strings, stringsBytes, ...parts });
}
