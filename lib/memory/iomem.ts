/**
 * /proc/iomem as a resource tree (printed by kernel/resource.c, r_show) and its
 * top-level classification into a memory map (the names of
 * arch/x86/kernel/e820.c, e820_type_to_string). Crash loads use
 * {@link findIomem} to find "Crash kernel" and "Kernel code".
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { E820_TYPE_NAMES, parseHexAddress, sortRanges } from "./memmap.ts";
import type { MemoryKind, MemoryRange } from "./types.ts";

/** One /proc/iomem resource; `end` is exclusive (the file prints it inclusive). */
export interface IomemNode {
  /** First address of the resource. */
  readonly start: number;
  /** First address after the resource. */
  readonly end: number;
  /** The resource name as printed, e.g. "System RAM", "Crash kernel". */
  readonly name: string;
  /** Resources nested inside this one. */
  readonly children: IomemNode[];
}

// `<indent><start>-<end> : <name>`; the kernel indents two spaces per level.
const IOMEM_LINE = /^( *)([0-9a-fA-F]+)-([0-9a-fA-F]+) : (.*)$/;
const INDENT_PER_LEVEL = 2;

// Top-level names that are e820 memory on x86, plus lower-case "reserved"
// (memblock reservations); every other top-level resource (PCI windows, APIC,
// ROM) is not memory at all.
const IOMEM_TOP_LEVEL_KINDS: ReadonlyMap<string, MemoryKind> = new Map([
  ...E820_TYPE_NAMES,
  ["reserved", "reserved"],
]);

/**
 * Parses /proc/iomem text into a tree. Throws a {@link KexecError} when a line
 * is malformed or when every address is zero, which is what the kernel shows to
 * readers without CAP_SYS_ADMIN.
 *
 * @example
 * ```ts
 * import { parseIomem } from "./iomem.ts";
 * const tree = parseIomem(
 *   "00100000-3ffdffff : System RAM\n  01000000-01e00fff : Kernel code\n",
 * );
 * if (tree[0].end !== 0x3ffe0000 || tree[0].children[0].name !== "Kernel code") {
 *   throw new Error();
 * }
 * ```
 */
export function parseIomem(text: string, path = "/proc/iomem"): IomemNode[] {
  const roots: IomemNode[] = [];
  // stack[d] is the last node seen at depth d.
  const stack: IomemNode[] = [];
  let allZero = true;
  let count = 0;
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const m = IOMEM_LINE.exec(line);
    if (!m || m[1].length % INDENT_PER_LEVEL !== 0) {
      throw new KexecError(`${path} line ${i + 1}: cannot parse '${line}'`, {
        hint: "expected '<start>-<end> : <name>' lines; run again with -d and report it",
      });
    }
    const depth = m[1].length / INDENT_PER_LEVEL;
    if (depth > stack.length) {
      throw new KexecError(`${path} line ${i + 1}: indented deeper than its parent`, {
        hint: "the file is malformed; run again with -d and report it",
      });
    }
    const start = parseHexAddress(m[2], `${path} line ${i + 1} start`);
    const last = parseHexAddress(m[3], `${path} line ${i + 1} end`);
    if (last < start) {
      throw new KexecError(`${path} line ${i + 1}: end 0x${m[3]} is below start 0x${m[2]}`, {
        hint: "the file is malformed; run again with -d and report it",
      });
    }
    if (start !== 0 || last !== 0) allZero = false;
    const node: IomemNode = { start, end: last + 1, name: m[4], children: [] };
    if (depth === 0) roots.push(node);
    else stack[depth - 1].children.push(node);
    stack.length = depth;
    stack.push(node);
    count++;
  }
  if (count > 0 && allZero) {
    throw new KexecError(`${path}: every address reads as zero`, {
      hint: "the kernel hides /proc/iomem addresses from processes without CAP_SYS_ADMIN; " +
        "run kexec as root",
    });
  }
  return roots;
}

/**
 * The memory map from the top level of an iomem tree, sorted: RAM, reserved,
 * ACPI, NVS, unusable, persistent and soft-reserved ranges. Nested resources
 * (kernel image, crash region) stay RAM for the next kernel.
 *
 * @example
 * ```ts
 * import { iomemMemoryMap, parseIomem } from "./iomem.ts";
 * const map = iomemMemoryMap(parseIomem(
 *   "00000000-00000fff : Reserved\n00001000-0009fbff : System RAM\n" +
 *     "c0000000-febfffff : PCI Bus 0000:00\n",
 * ));
 * if (map.length !== 2 || map[1].kind !== "ram" || map[1].end !== 0x9fc00) throw new Error();
 * ```
 */
export function iomemMemoryMap(nodes: readonly IomemNode[]): MemoryRange[] {
  const ranges: MemoryRange[] = [];
  for (const node of nodes) {
    const kind = iomemMemoryKind(node.name);
    if (kind) ranges.push({ start: node.start, end: node.end, kind });
  }
  return sortRanges(ranges);
}

/**
 * The kind of memory a top-level /proc/iomem resource name stands for, or
 * undefined when it is not memory (a PCI window, "Local APIC", a ROM).
 *
 * @example
 * ```ts
 * import { iomemMemoryKind } from "./iomem.ts";
 * if (iomemMemoryKind("ACPI Tables") !== "acpi" || iomemMemoryKind("PCI Bus 0000:00")) {
 *   throw new Error();
 * }
 * ```
 */
export function iomemMemoryKind(name: string): MemoryKind | undefined {
  return IOMEM_TOP_LEVEL_KINDS.get(name);
}

/**
 * Every resource in the tree with exactly this name, depth first in file order.
 *
 * @example
 * ```ts
 * import { findIomem, parseIomem } from "./iomem.ts";
 * const tree = parseIomem(
 *   "00100000-bfffffff : System RAM\n  a0000000-afffffff : Crash kernel\n",
 * );
 * const [crash] = findIomem(tree, "Crash kernel");
 * if (crash.start !== 0xa0000000 || crash.end !== 0xb0000000) throw new Error();
 * ```
 */
export function findIomem(nodes: readonly IomemNode[], name: string): IomemNode[] {
  const found: IomemNode[] = [];
  const visit = (list: readonly IomemNode[]) => {
    for (const node of list) {
      if (node.name === name) found.push(node);
      visit(node.children);
    }
  };
  visit(nodes);
  return found;
}

/** A walk's result: a physical range, end exclusive, and the resource it came from. */
export interface IomemMatch {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}

/**
 * The ranges of the resources `matches` accepts, inside `window`, found as the
 * kernel's walk_iomem_res_desc finds them (kernel/resource.c,
 * find_next_iomem_res): the whole tree in order, children included, the
 * first match at or after a cursor that then moves past it. So a resource
 * nested under one that matches is covered by its parent and not reported
 * again, and a match under one that does not ("Reserved" under "PCI
 * MMCONFIG" or "Local APIC", "System RAM (kmem)" under a CXL window) is
 * found. Ranges are clipped to the window, in address order.
 *
 * The kernel matches resource flags and descriptors; /proc/iomem shows names,
 * so `matches` decides by name (see {@link isSystemRamName}).
 *
 * @example
 * ```ts
 * import { parseIomem, walkIomem } from "./iomem.ts";
 * const tree = parseIomem(
 *   "b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]\n  b0000000-bfffffff : Reserved\n" +
 *     "fee00000-fee00fff : Local APIC\n  fee00000-fee00fff : Reserved\n" +
 *     "ffc00000-ffffffff : Reserved\n  ffc00000-ffc0ffff : Reserved\n",
 * );
 * const found = walkIomem(tree, (n) => n.name === "Reserved");
 * if (found.map((r) => r.start.toString(16)).join() !== "b0000000,fee00000,ffc00000") {
 *   throw new Error(JSON.stringify(found));
 * }
 * ```
 */
export function walkIomem(
  nodes: readonly IomemNode[],
  matches: (node: IomemNode) => boolean,
  window: { readonly start: number; readonly end: number } = { start: 0, end: Infinity },
): IomemMatch[] {
  const found: IomemMatch[] = [];
  let cursor = window.start;
  // Pre-order is address order for a well-nested tree; one pass over it
  // finds what the kernel's repeated searches from the root find.
  for (const node of preOrder(nodes)) {
    if (node.start >= window.end) break;
    if (node.end <= cursor || !matches(node)) continue;
    const start = Math.max(cursor, node.start);
    const end = Math.min(window.end, node.end);
    found.push({ start, end, name: node.name });
    cursor = end;
  }
  return found;
}

/**
 * True for the names of resources the kernel marks IORESOURCE_SYSTEM_RAM:
 * "System RAM" and its driver-managed variants such as "System RAM (kmem)"
 * (drivers/dax/kmem.c) and "System RAM (virtio_mem)".
 *
 * @example
 * ```ts
 * import { isSystemRamName } from "./iomem.ts";
 * if (!isSystemRamName("System RAM (kmem)") || isSystemRamName("System ROM")) throw new Error();
 * ```
 */
export function isSystemRamName(name: string): boolean {
  return name === "System RAM" || /^System RAM \(.+\)$/.test(name);
}

function* preOrder(nodes: readonly IomemNode[]): Generator<IomemNode> {
  for (const node of nodes) {
    yield node;
    yield* preOrder(node.children);
  }
}
