/**
 * A device tree as data: nodes with ordered properties and children, the
 * memory reservation entries and the header fields that are not layout
 * (Devicetree Specification v0.4, chapter 5). Parsed by parse.ts, written by
 * serialize.ts; this file holds the types and the node and property helpers.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { blobOrigin, type NodeOrigin, type PropertyOrigin, rememberBlob } from "./origin.ts";
import { FDT_LAST_COMP_VERSION, FDT_MAX_DEPTH, FDT_VERSION } from "./layout.ts";

/** A property: a name and its raw value bytes (big-endian cells, strings, bytes). */
export interface FdtProperty {
  /** Property name, one character per byte. */
  name: string;
  /**
   * Value bytes. A parsed property's value is a view into the parsed blob,
   * not a copy: change it by assigning a new array, never by writing into it.
   */
  value: Uint8Array;
}

/** A node: its unit name, its properties in order, then its children in order. */
export interface FdtNode {
  /** Unit name with the unit address (`memory@40000000`); "" for the root. */
  name: string;
  /** Properties in blob order (a blob lists them before the children). */
  properties: FdtProperty[];
  /** Child nodes in blob order. */
  children: FdtNode[];
}

/** One memory reservation entry (`/memreserve/`): memory the next kernel must not use. */
export interface FdtReservation {
  /** Physical start address. */
  address: number;
  /** Size in bytes (never 0: a zero size ends the list). */
  size: number;
}

/** A whole device tree. */
export interface Fdt {
  /** The root node. */
  root: FdtNode;
  /** The memory reservation block, in order, without its terminating entry. */
  reservations: FdtReservation[];
  /** `boot_cpuid_phys` of the header. */
  bootCpuidPhys: number;
  /** `version` as read (serializeFdt always writes 17). */
  readonly version: number;
  /** `last_comp_version` as read (serializeFdt always writes 16). */
  readonly lastCompVersion: number;
}

/**
 * A tree with an empty root and nothing else, as a version 17 blob would hold it.
 *
 * @example
 * ```ts
 * import { emptyFdt } from "./tree.ts";
 * const fdt = emptyFdt();
 * if (fdt.root.name !== "" || fdt.reservations.length !== 0 || fdt.version !== 17) {
 *   throw new Error();
 * }
 * ```
 */
export function emptyFdt(): Fdt {
  return {
    root: { name: "", properties: [], children: [] },
    reservations: [],
    bootCpuidPhys: 0,
    version: FDT_VERSION,
    lastCompVersion: FDT_LAST_COMP_VERSION,
  };
}

/**
 * A copy of `fdt` whose nodes, property lists and reservations can be edited
 * without touching `fdt`. Value bytes are shared (they are replaced, never
 * written into), and what the parser remembered about the source blob comes
 * along, so an edited copy still serialises in the source's layout.
 *
 * @example
 * ```ts
 * import { cloneFdt, emptyFdt, setProperty } from "./tree.ts";
 * const a = emptyFdt();
 * const b = cloneFdt(a);
 * setProperty(b.root, "model", new Uint8Array([0x61, 0]));
 * if (a.root.properties.length !== 0 || b.root.properties.length !== 1) throw new Error();
 * ```
 */
export function cloneFdt(fdt: Fdt): Fdt {
  const origin = blobOrigin(fdt);
  const properties = new Map<object, PropertyOrigin>();
  const nodes = new Map<object, NodeOrigin>();
  const cloneNode = (node: FdtNode, depth: number): FdtNode => {
    if (depth > FDT_MAX_DEPTH) {
      throw new KexecError(
        `device tree: nodes nested deeper than ${FDT_MAX_DEPTH} (or in a cycle)`,
      );
    }
    const copy: FdtNode = {
      name: node.name,
      properties: node.properties.map((p) => {
        const property = { name: p.name, value: p.value };
        const from = origin?.properties.get(p);
        if (from) properties.set(property, from);
        return property;
      }),
      children: node.children.map((c) => cloneNode(c, depth + 1)),
    };
    const from = origin?.nodes.get(node);
    if (from) nodes.set(copy, from);
    return copy;
  };
  const copy: Fdt = {
    root: cloneNode(fdt.root, 1),
    reservations: fdt.reservations.map((r) => ({ address: r.address, size: r.size })),
    bootCpuidPhys: fdt.bootCpuidPhys,
    version: fdt.version,
    lastCompVersion: fdt.lastCompVersion,
  };
  return origin ? rememberBlob(copy, { ...origin, properties, nodes }) : copy;
}

/**
 * Whether `node` answers to the path component `name`: the same name, or,
 * when `name` has no unit address, the same name before the `@` (so
 * `/memory` finds `memory@40000000`, as libfdt's fdt_path_offset does).
 */
function nameMatches(nodeName: string, name: string): boolean {
  if (nodeName === name) return true;
  return !name.includes("@") && nodeName.startsWith(`${name}@`);
}

/**
 * The child of `node` named `name` (an exact match first, then libfdt's
 * match without the unit address), or undefined.
 *
 * @example
 * ```ts
 * import { childNamed, emptyFdt } from "./tree.ts";
 * const fdt = emptyFdt();
 * fdt.root.children.push({ name: "memory@40000000", properties: [], children: [] });
 * if (childNamed(fdt.root, "memory")?.name !== "memory@40000000") throw new Error();
 * if (childNamed(fdt.root, "memory@0") !== undefined) throw new Error();
 * ```
 */
export function childNamed(node: FdtNode, name: string): FdtNode | undefined {
  return node.children.find((c) => c.name === name) ??
    node.children.find((c) => nameMatches(c.name, name));
}

/**
 * The node at an absolute path such as `/chosen` or `/cpus/cpu@0`, or
 * undefined. `/` is the root.
 *
 * @example
 * ```ts
 * import { emptyFdt, type FdtNode, findNode } from "./tree.ts";
 * const fdt = emptyFdt();
 * const cpus: FdtNode = { name: "cpus", properties: [], children: [] };
 * cpus.children.push({ name: "cpu@0", properties: [], children: [] });
 * fdt.root.children.push(cpus);
 * if (findNode(fdt, "/cpus/cpu")?.name !== "cpu@0" || findNode(fdt, "/") !== fdt.root) {
 *   throw new Error();
 * }
 * if (findNode(fdt, "/chosen") !== undefined) throw new Error();
 * ```
 */
export function findNode(fdt: Fdt, path: string): FdtNode | undefined {
  if (!path.startsWith("/")) {
    throw new KexecError(`device tree path '${path}' is not absolute`, {
      hint: "paths start at the root, e.g. /chosen",
    });
  }
  let node: FdtNode | undefined = fdt.root;
  for (const part of path.split("/").filter((p) => p !== "")) {
    node = childNamed(node, part);
    if (node === undefined) return undefined;
  }
  return node;
}

/**
 * Appends a new, empty child named `name` to `node` and returns it; a child of
 * that exact name must not exist.
 *
 * @example
 * ```ts
 * import { addChild, emptyFdt, findNode } from "./tree.ts";
 * const fdt = emptyFdt();
 * const chosen = addChild(fdt.root, "chosen");
 * if (findNode(fdt, "/chosen") !== chosen) throw new Error();
 * ```
 */
export function addChild(node: FdtNode, name: string): FdtNode {
  if (name === "" || name.includes("/") || name.includes("\0")) {
    throw new KexecError(`device tree: '${name}' is not a node name`);
  }
  if (node.children.some((c) => c.name === name)) {
    throw new KexecError(`device tree: node '${node.name}' already has a child '${name}'`);
  }
  const child: FdtNode = { name, properties: [], children: [] };
  node.children.push(child);
  return child;
}

/**
 * The property of `node` named `name`, or undefined.
 *
 * @example
 * ```ts
 * import { emptyFdt, getProperty } from "./tree.ts";
 * const fdt = emptyFdt();
 * fdt.root.properties.push({ name: "model", value: new Uint8Array([0x61, 0]) });
 * if (getProperty(fdt.root, "model")?.value.length !== 2) throw new Error();
 * ```
 */
export function getProperty(node: FdtNode, name: string): FdtProperty | undefined {
  return node.properties.find((p) => p.name === name);
}

/**
 * Sets property `name` of `node` to `value`: an existing property keeps its
 * place and gets the new value, a new one goes after the others (as libfdt's
 * fdt_setprop does). Returns the property.
 *
 * @example
 * ```ts
 * import { emptyFdt, setProperty } from "./tree.ts";
 * const fdt = emptyFdt();
 * setProperty(fdt.root, "a", new Uint8Array([1]));
 * setProperty(fdt.root, "b", new Uint8Array([2]));
 * setProperty(fdt.root, "a", new Uint8Array([3]));
 * if (fdt.root.properties.map((p) => `${p.name}=${p.value[0]}`).join() !== "a=3,b=2") {
 *   throw new Error();
 * }
 * ```
 */
export function setProperty(node: FdtNode, name: string, value: Uint8Array): FdtProperty {
  if (name === "" || name.includes("\0")) {
    throw new KexecError(`device tree: '${name}' is not a property name`);
  }
  const existing = getProperty(node, name);
  if (existing) {
    existing.value = value;
    return existing;
  }
  const property: FdtProperty = { name, value };
  node.properties.push(property);
  return property;
}

/**
 * Removes property `name` from `node`; returns the removed property, or
 * undefined when there was none.
 *
 * @example
 * ```ts
 * import { deleteProperty, emptyFdt, setProperty } from "./tree.ts";
 * const fdt = emptyFdt();
 * setProperty(fdt.root, "a", new Uint8Array([1]));
 * if (deleteProperty(fdt.root, "a")?.value[0] !== 1) throw new Error();
 * if (deleteProperty(fdt.root, "a") !== undefined || fdt.root.properties.length) throw new Error();
 * ```
 */
export function deleteProperty(node: FdtNode, name: string): FdtProperty | undefined {
  const index = node.properties.findIndex((p) => p.name === name);
  if (index < 0) return undefined;
  return node.properties.splice(index, 1)[0];
}
