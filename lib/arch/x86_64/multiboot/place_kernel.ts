/**
 * Puts a Multiboot kernel's pieces into kexec segments. Segments start and
 * end on page boundaries, so pieces that share a page become one segment,
 * built from copies; a piece that starts on a page boundary stays a view of
 * the image. A fixed image is placed exactly at its addresses (which must be
 * free RAM); a relocatable Multiboot2 image (3.1.13 "Relocatable header
 * tag") is placed as a whole within its `min_addr`-`max_addr` range at its
 * alignment, at the end its `preference` names.
 *
 * @module
 */

import type { AddressBound, SegmentAllocator } from "../../../memory/allocator.ts";
import { alignDown, alignUp } from "../../../memory/allocator.ts";
import { KexecError } from "../../../errors.ts";
import { hex } from "../../../format.ts";
import type { Segment } from "../../../plan/types.ts";
import type { Mb2Relocatable } from "./header2.ts";
import { type KernelLayout, type KernelPiece, relocateLayout } from "./image.ts";

/** What placing the kernel gave. */
export interface PlacedKernel {
  /** The layout where it was placed (moved if relocated). */
  readonly layout: KernelLayout;
  readonly segments: readonly Segment[];
  /** Set when the image was relocated: its new load base (Multiboot2 tag 21). */
  readonly loadBase?: number;
  readonly notes: readonly string[];
}

const FOUR_GiB: AddressBound = {
  address: 2 ** 32,
  reason: "4 GiB: the kernel starts in 32-bit mode without paging",
};

/**
 * Groups pieces whose pages touch into page-aligned segments named
 * `kernel` (or `kernel0`, `kernel1`, … when there are several).
 *
 * @example
 * ```ts
 * import { kernelSegments } from "./place_kernel.ts";
 * const s = kernelSegments([
 *   { paddr: 0x100000, bytes: new Uint8Array(0x10), memsz: 0x10 },
 *   { paddr: 0x100800, bytes: new Uint8Array([1]), memsz: 0x1000 },
 * ], 4096);
 * if (s.length !== 1 || s[0].memsz !== 0x2000 || s[0].buf[0x800] !== 1) throw new Error();
 * ```
 */
export function kernelSegments(pieces: readonly KernelPiece[], pageSize: number): Segment[] {
  const groups: KernelPiece[][] = [];
  for (const piece of [...pieces].sort((a, b) => a.paddr - b.paddr)) {
    const last = groups.at(-1);
    const lastEnd = last ? alignUp(endOf(last.at(-1)!), pageSize) : -1;
    if (last && alignDown(piece.paddr, pageSize) < lastEnd) last.push(piece);
    else groups.push([piece]);
  }
  return groups.map((group, i) => {
    const name = groups.length === 1 ? "kernel" : `kernel${i}`;
    const mem = alignDown(group[0].paddr, pageSize);
    const memsz = alignUp(Math.max(...group.map(endOf)), pageSize) - mem;
    if (group.length === 1 && group[0].paddr === mem) {
      return { name, buf: group[0].bytes, mem, memsz };
    }
    // Pieces sharing a page, or starting inside one: one buffer with each at its offset.
    const length = Math.max(...group.map((p) => p.bytes.length ? p.paddr + p.bytes.length : mem)) -
      mem;
    const buf = new Uint8Array(length);
    for (const p of group) if (p.bytes.length) buf.set(p.bytes, p.paddr - mem);
    return { name, buf, mem, memsz };
  });
}

function endOf(piece: KernelPiece): number {
  return piece.paddr + piece.memsz;
}

/**
 * Places the kernel: each segment at its own address, or, with a
 * relocatable tag, the whole image where the tag allows. Throws a
 * KexecError naming the kernel when its addresses are not free RAM (or lie
 * outside --mem-min/--mem-max).
 *
 * @example
 * ```ts
 * import { placeKernel } from "./place_kernel.ts";
 * import { SegmentAllocator } from "../../../memory/allocator.ts";
 * const allocator = new SegmentAllocator(
 *   [{ start: 0x100000, end: 0x40000000, kind: "ram" }], { pageSize: 4096 },
 * );
 * const layout = {
 *   pieces: [{ paddr: 0x200000, bytes: new Uint8Array(16), memsz: 0x3000 }],
 *   entry: 0x200000, start: 0x200000, end: 0x203000, source: "ELF32",
 * };
 * const high = placeKernel(allocator, layout, "xen", 4096, {
 *   minAddr: 0x200000, maxAddr: 0xffffffff, align: 0x200000, preference: "high",
 * });
 * if (high.loadBase !== 0x3fe00000 || high.layout.entry !== 0x3fe00000) throw new Error();
 * ```
 */
export function placeKernel(
  allocator: SegmentAllocator,
  layout: KernelLayout,
  path: string,
  pageSize: number,
  relocatable?: Mb2Relocatable,
): PlacedKernel {
  if (relocatable) return placeRelocatable(allocator, layout, path, pageSize, relocatable);
  const segments = kernelSegments(layout.pieces, pageSize);
  for (const s of segments) {
    allocator.place({
      name: `${s.name} of ${path}`,
      size: s.memsz,
      min: [{ address: s.mem, reason: "its load address" }],
      limit: [{ address: s.mem + s.memsz, reason: "its load address + size" }],
      direction: "bottom-up",
    });
  }
  return {
    layout,
    segments,
    notes: [`kernel: ${layout.source}; at its link addresses, entry ${hex(layout.entry)}`],
  };
}

function placeRelocatable(
  allocator: SegmentAllocator,
  layout: KernelLayout,
  path: string,
  pageSize: number,
  tag: Mb2Relocatable,
): PlacedKernel {
  const spanStart = alignDown(layout.start, pageSize);
  const size = alignUp(layout.end, pageSize) - spanStart;
  const request = {
    name: `relocatable kernel ${path}`,
    size,
    align: Math.max(tag.align, pageSize),
    min: [{ address: tag.minAddr, reason: "the relocatable tag's min_addr" }],
    limit: [{ address: tag.maxAddr + 1, reason: "the relocatable tag's max_addr" }, FOUR_GiB],
  };
  let placement;
  if (tag.preference === "none" && layout.start === spanStart) {
    // No preference: where it was linked, when that is free and allowed.
    try {
      placement = allocator.place({
        ...request,
        min: [...request.min, { address: spanStart, reason: "its link address" }],
        limit: [...request.limit, { address: spanStart + size, reason: "its link address" }],
        direction: "bottom-up",
      });
    } catch (e) {
      if (!(e instanceof KexecError)) throw e;
    }
  }
  placement ??= allocator.place({
    ...request,
    direction: tag.preference === "high" ? "top-down" : "bottom-up",
  });
  const moved = relocateLayout(layout, placement.start - spanStart);
  return {
    layout: moved,
    segments: kernelSegments(moved.pieces, pageSize),
    loadBase: moved.start,
    notes: [
      `kernel: ${layout.source}; relocatable (${hex(tag.minAddr)}-${hex(tag.maxAddr)}, align ` +
      `${hex(tag.align)}, preference ${tag.preference}): linked at ${hex(layout.start)}, ` +
      `loaded at ${hex(moved.start)}, entry ${hex(moved.entry)}`,
    ],
  };
}
