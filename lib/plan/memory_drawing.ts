/**
 * A {@link MemoryPicture} as text no wider than a terminal (80 columns by
 * default), in ASCII so that serial consoles show it: one row per memory
 * range in address order, crash regions and segments nested under the range
 * that holds them, and above the rows of what a range holds a bar that
 * shows where in it each one lies.
 *
 * ```text
 *   0x00100000-0x3ffdffff     1022 MiB  System RAM
 *   | [.............................................................==========...]
 *   | 0x35000000-0x3cffffff    128 MiB  Crash kernel
 *   | | [KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK................................PBIE]
 *   | | 0x35000000-0x38f97fff   63 MiB  [K] kernel
 *   | | 0x3cff8000-0x3cff8fff    4 KiB  [P] purgatory
 * ```
 *
 * @module
 */

import { wordWrap } from "../format.ts";
import type { MapRange, MemoryPicture } from "./memory_picture.ts";

/** Narrowest width drawn; narrower requests get this. */
export const MIN_DRAWING_WIDTH = 60;

const SIZE_WIDTH = 8;
// Regions at depth 0, crash regions at 1, segments in them at 2.
const MAX_DEPTH = 2;
const RAIL = "| ";
const MARGIN = "  ";

interface Node {
  readonly range: MapRange;
  readonly kind: "region" | "area" | "segment";
  readonly children: Node[];
  key?: string;
  readonly problems: string[];
}

/**
 * Draws the picture: header lines (source and notes, wrapped), the rows,
 * and a legend when a bar was drawn. Every line is at most `width` columns.
 *
 * @example
 * ```ts
 * import { drawMemoryPicture } from "./memory_drawing.ts";
 * const lines = drawMemoryPicture({
 *   source: "/proc/iomem", notes: [],
 *   regions: [{ start: 0x100000, end: 0x40000000, name: "System RAM" }],
 *   areas: [],
 *   segments: [{ start: 0x1000000, end: 0x2000000, name: "kernel" }],
 * });
 * if (!lines.some((l) => l.includes("0x01000000-0x01ffffff") && l.endsWith("[K] kernel"))) {
 *   throw new Error(lines.join("\n"));
 * }
 * if (lines.some((l) => l.length > 80)) throw new Error("too wide");
 * ```
 */
export function drawMemoryPicture(picture: MemoryPicture, width = 80): string[] {
  width = Math.max(MIN_DRAWING_WIDTH, width);
  const roots = buildTree(picture);
  const digits = addressDigits(picture);
  const lines = [
    ...wrap(
      picture.regions.length > 0
        ? `physical memory from ${picture.source}`
        : `physical memory unknown: ${picture.source}`,
      width,
    ),
    ...picture.notes.flatMap((n) => wrap(n, width)),
  ];
  let bars = 0;
  const visit = (node: Node, depth: number) => {
    lines.push(...row(node, depth, digits, width));
    if (node.children.length > 0) {
      lines.push(bar(node, depth + 1, width));
      bars++;
    }
    for (const child of node.children) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  if (roots.length === 0) lines.push(`${MARGIN}(no memory ranges and no segments)`);
  if (bars > 0) {
    lines.push(
      ...wrap(
        "[...]: the range on the row above, left to right: a letter is that segment " +
          "(at least one cell), = a crash region, * an overlap, . the rest",
        width,
      ),
    );
  }
  return lines;
}

/**
 * A size in at most 8 characters, rounded down: "4 KiB", "635 KiB", "1.5 GiB".
 *
 * @example
 * ```ts
 * import { shortSize } from "./memory_drawing.ts";
 * if (shortSize(0x3fee0000) !== "1022 MiB" || shortSize(1536) !== "1.5 KiB") throw new Error();
 * ```
 */
export function shortSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  // Rounded down, so that a range just short of a unit never shows as a whole one.
  const text = Number.isInteger(value)
    ? String(value)
    : value < 10
    ? (Math.floor(value * 10) / 10).toFixed(1)
    : String(Math.floor(value));
  return `${text} ${units[unit]}`;
}

function buildTree(picture: MemoryPicture): Node[] {
  const node = (range: MapRange, kind: Node["kind"]): Node => ({
    range,
    kind,
    children: [],
    problems: [],
  });
  const regions = picture.regions.map((r) => node(r, "region"));
  const roots = [...regions];
  const areas: { node: Node; region?: Node }[] = [];
  for (const range of picture.areas) {
    const area = node(range, "area");
    const region = regions.find((r) => holds(r.range, range));
    (region?.children ?? roots).push(area);
    areas.push({ node: area, region });
  }
  const segments = picture.segments.map((s) => node(s, "segment"));
  for (const segment of segments) {
    const area = areas.find((a) => holds(a.node.range, segment.range));
    const region = area?.region ?? regions.find((r) => holds(r.range, segment.range));
    (area?.node ?? region ?? { children: roots }).children.push(segment);
    if (region && !isRam(region.range.name)) segment.problems.push(`in ${region.range.name}`);
    if (!area && !region && regions.length > 0) segment.problems.push("outside the memory map");
    for (const other of areas) {
      if (other !== area && overlaps(other.node.range, segment.range)) {
        segment.problems.push(`partly in ${other.node.range.name}`);
      }
    }
  }
  for (const [i, a] of segments.entries()) {
    for (const b of segments.slice(i + 1)) {
      if (overlaps(a.range, b.range)) {
        a.problems.push(`overlaps ${b.range.name}`);
        b.problems.push(`overlaps ${a.range.name}`);
      }
    }
  }
  assignKeys(segments);
  const sort = (list: Node[]) => {
    list.sort((a, b) => a.range.start - b.range.start || b.range.end - a.range.end);
    for (const n of list) sort(n.children);
  };
  sort(roots);
  return roots;
}

function holds(outer: MapRange, inner: MapRange): boolean {
  return outer.start <= inner.start && inner.end <= outer.end;
}

function overlaps(a: MapRange, b: MapRange): boolean {
  return a.start < b.end && b.start < a.end;
}

function isRam(name: string): boolean {
  return name.startsWith("System RAM");
}

// One letter per segment, from its name where free: kernel K, initrd I, …
function assignKeys(segments: Node[]): void {
  const used = new Set<string>();
  const spare = "ABCDFGHJLMNOQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz".split("");
  for (const segment of segments) {
    const fromName = segment.range.name.toUpperCase().split("").filter((c) => /[A-Z]/.test(c));
    const key = [...fromName, ...spare].find((c) => !used.has(c)) ?? "?";
    used.add(key);
    segment.key = key;
  }
}

function addressDigits(picture: MemoryPicture): number {
  const all = [...picture.regions, ...picture.areas, ...picture.segments];
  const top = Math.max(0, ...all.map((r) => r.end - 1));
  return Math.max(8, top.toString(16).length);
}

// One line, or two when the problems do not fit after the name: they go
// below it, in the label column, so that a cut never hides one.
function row(node: Node, depth: number, digits: number, width: number): string[] {
  const address = (a: number) => `0x${a.toString(16).padStart(digits, "0")}`;
  const { start, end } = node.range;
  const range = `${address(start)}-${address(Math.max(start, end - 1))}`;
  const rangeWidth = 2 * (digits + 2) + 1 + RAIL.length * MAX_DEPTH;
  const head = `${MARGIN}${(RAIL.repeat(depth) + range).padEnd(rangeWidth)} ` +
    `${shortSize(Math.max(0, end - start)).padStart(SIZE_WIDTH)}  `;
  const name = node.key ? `[${node.key}] ${node.range.name}` : node.range.name;
  if (node.problems.length === 0) return [fit(head + name, width)];
  const problems = `! ${node.problems.join(", ")}`;
  const line = `${head}${name} ${problems}`;
  if (line.length <= width) return [line];
  const under = `${MARGIN}${RAIL.repeat(depth)}`.padEnd(head.length);
  return [fit(head + name, width), fit(under + problems, width)];
}

function bar(container: Node, depth: number, width: number): string {
  const prefix = `${MARGIN}${RAIL.repeat(depth)}`;
  const cells = Array<string>(width - prefix.length - 2).fill(".");
  for (const { node, first, last } of barSpans(container, cells.length)) {
    const mark = node.kind === "segment" ? node.key! : "=";
    for (let i = first; i <= last; i++) cells[i] = cells[i] === "." ? mark : "*";
  }
  return `${prefix}[${cells.join("")}]`;
}

/**
 * The cells of each child: where its addresses fall, at least one cell, and
 * children that do not overlap in memory nudged apart so that each keeps a
 * cell of its own (a 4 KiB segment beside another stays visible). Only
 * children that really overlap share cells.
 */
function barSpans(
  container: Node,
  count: number,
): { node: Node; first: number; last: number }[] {
  const { start, end } = container.range;
  const span = Math.max(1, end - start);
  const cellOf = (a: number) => Math.floor(((a - start) / span) * count);
  const clamp = (i: number) => Math.min(count - 1, Math.max(0, i));
  const spans = container.children.map((node) => {
    const first = clamp(cellOf(node.range.start));
    return {
      node,
      first,
      last: Math.max(first, clamp(Math.ceil(((node.range.end - start) / span) * count) - 1)),
    };
  });
  const apart = (a: Node, b: Node) => a.range.end <= b.range.start || b.range.end <= a.range.start;
  // Left to right: after the cells already taken, or beside the one it overlaps.
  let taken = -1;
  for (const [i, cur] of spans.entries()) {
    const prev = spans[i - 1];
    if (prev) {
      cur.first = Math.max(cur.first, apart(prev.node, cur.node) ? taken + 1 : prev.first);
      cur.last = Math.max(cur.last, cur.first);
    }
    taken = Math.max(taken, cur.last);
  }
  // Right to left: back inside the bar.
  let limit = count - 1;
  for (let i = spans.length - 1; i >= 0; i--) {
    const cur = spans[i];
    if (cur.last > limit) {
      cur.last = Math.max(0, limit);
      cur.first = Math.min(cur.first, cur.last);
    }
    const prev = spans[i - 1];
    limit = prev && apart(prev.node, cur.node) ? cur.first - 1 : cur.last;
  }
  return spans;
}

function fit(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, width - 3)}...`;
}

function wrap(text: string, width: number): string[] {
  return wordWrap(text, width, MARGIN).map((l) => fit(l, width));
}
