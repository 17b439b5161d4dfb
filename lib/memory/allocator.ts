/**
 * Places kexec segments in free RAM: page-rounded sizes, power-of-two
 * alignment, per-object lower bounds and end limits, the user's
 * `--mem-min`/`--mem-max`, no overlap with segments already placed, and at most
 * `KEXEC_SEGMENT_MAX` segments (the kernel's own rules are in
 * kernel/kexec_core.c, sanity_check_segment_list). When nothing fits, the
 * error names the object, its size, every bound with its reason, and what the
 * window actually offers.
 *
 * Direction is chosen per request: "bottom-up" takes the lowest fitting
 * address, "top-down" the highest. The bzImage planner puts the kernel
 * bottom-up (at `pref_address` when free, so the decompressor need not move)
 * and everything else top-down, keeping it clear of the kernel's window.
 *
 * @module
 */

import { KEXEC_SEGMENT_MAX } from "../abi.ts";
import { KexecError } from "../errors.ts";
import { hex } from "../format.ts";
import { alignDown, alignUp, isPowerOfTwo } from "./align.ts";
import { ramRanges } from "./memmap.ts";
import type { MemoryRange } from "./types.ts";

/** Which end of the free space a placement prefers. */
export type Direction = "bottom-up" | "top-down";

/** An address bound and the reason for it, printed when nothing fits. */
export interface AddressBound {
  /** The bound. */
  readonly address: number;
  /** Why the bound exists, e.g. "initrd_addr_max 0x7fffffff" or "1 MiB floor". */
  readonly reason: string;
}

/** What to place. */
export interface PlacementRequest {
  /** Object name used in errors and notes ("kernel", "initrd", …). */
  readonly name: string;
  /** Bytes to reserve; rounded up to the page size. Must be > 0. */
  readonly size: number;
  /** Start alignment, a power of two; raised to the page size. Default: the page size. */
  readonly align?: number;
  /** The start must be at or above each of these. */
  readonly min?: readonly AddressBound[];
  /** The (exclusive) end must be at or below each of these. */
  readonly limit?: readonly AddressBound[];
  /** Which end of free memory to prefer. */
  readonly direction: Direction;
}

/** A placed object: `[start, end)`, end exclusive, page-aligned. */
export interface Placement {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** Allocator-wide settings. */
export interface AllocatorOptions {
  /** Page size of the running kernel; every start and size is a multiple. */
  readonly pageSize: number;
  /** `--mem-min`: lowest address any segment may use. */
  readonly memMin?: number;
  /** `--mem-max`: highest address any segment may use (inclusive, as kexec-tools reads it). */
  readonly memMax?: number;
  /** Most placements allowed; default `KEXEC_SEGMENT_MAX` (16). */
  readonly maxPlacements?: number;
}

export { alignDown, alignUp, isPowerOfTwo };

/**
 * Free-RAM bookkeeping for one load. Only "ram" ranges of `placeable` are
 * used (segments never go into reserved, ACPI, persistent or soft-reserved
 * memory), trimmed to whole pages.
 *
 * @example
 * ```ts
 * import { SegmentAllocator } from "./allocator.ts";
 * const alloc = new SegmentAllocator(
 *   [{ start: 0x100000, end: 0x40000000, kind: "ram" }],
 *   { pageSize: 4096 },
 * );
 * const low = alloc.place({ name: "a", size: 1, direction: "bottom-up" });
 * const high = alloc.place({ name: "b", size: 0x2000, direction: "top-down" });
 * if (low.start !== 0x100000 || low.end !== 0x101000) throw new Error();
 * if (high.start !== 0x3fffe000 || high.end !== 0x40000000) throw new Error();
 * ```
 */
export class SegmentAllocator {
  readonly #pageSize: number;
  readonly #memMin?: number;
  readonly #memMax?: number;
  readonly #maxPlacements: number;
  readonly #ram: MemoryRange[];
  readonly #placed: Placement[] = [];

  /** Starts with every RAM page of `placeable` free. */
  constructor(placeable: readonly MemoryRange[], options: AllocatorOptions) {
    if (!isPowerOfTwo(options.pageSize)) {
      throw new KexecError(`page size ${options.pageSize} is not a power of two`);
    }
    this.#pageSize = options.pageSize;
    this.#memMin = options.memMin;
    this.#memMax = options.memMax;
    this.#maxPlacements = options.maxPlacements ?? KEXEC_SEGMENT_MAX;
    this.#ram = ramRanges(placeable)
      .map((r) => ({
        ...r,
        start: alignUp(r.start, this.#pageSize),
        end: alignDown(r.end, this.#pageSize),
      }))
      .filter((r) => r.end > r.start);
  }

  /** Objects placed so far, in placement order. */
  get placements(): readonly Placement[] {
    return this.#placed;
  }

  /** Free page-aligned RAM pieces, sorted by address. */
  freeRanges(): MemoryRange[] {
    const taken = [...this.#placed].sort((a, b) => a.start - b.start);
    const free: MemoryRange[] = [];
    for (const ram of this.#ram) {
      let cursor = ram.start;
      for (const t of taken) {
        if (t.end <= cursor || t.start >= ram.end) continue;
        if (t.start > cursor) free.push({ start: cursor, end: t.start, kind: "ram" });
        cursor = Math.max(cursor, t.end);
      }
      if (cursor < ram.end) free.push({ start: cursor, end: ram.end, kind: "ram" });
    }
    return free;
  }

  /**
   * Places one object and records it. Throws a {@link KexecError} naming the
   * object, its size and bounds when it does not fit or when the segment limit
   * is reached.
   */
  place(request: PlacementRequest): Placement {
    if (!(request.size > 0) || !Number.isSafeInteger(request.size)) {
      throw new KexecError(`${request.name}: invalid size ${request.size}`);
    }
    if (request.align !== undefined && !isPowerOfTwo(request.align)) {
      throw new KexecError(
        `${request.name}: alignment ${hex(request.align)} is not a power of two`,
      );
    }
    if (this.#placed.length >= this.#maxPlacements) {
      throw new KexecError(
        `${request.name} would be segment ${this.#placed.length + 1}, ` +
          `but kexec_load accepts at most ${this.#maxPlacements}`,
        { hint: "give fewer objects (several initrds are concatenated into one)" },
      );
    }
    const size = alignUp(request.size, this.#pageSize);
    const align = Math.max(request.align ?? this.#pageSize, this.#pageSize);
    const { lo, hi } = this.#window(request);
    const free = this.freeRanges();
    const pieces = request.direction === "top-down" ? free.reverse() : free;
    for (const piece of pieces) {
      const from = Math.max(piece.start, lo);
      const to = Math.min(piece.end, hi);
      const start = request.direction === "top-down"
        ? alignDown(to - size, align)
        : alignUp(from, align);
      if (start >= from && start + size <= to) {
        const placement = { name: request.name, start, end: start + size };
        this.#placed.push(placement);
        return placement;
      }
    }
    throw this.#notFitting(request, size, align, lo, hi);
  }

  #lowerBounds(request: PlacementRequest): AddressBound[] {
    const bounds = [...(request.min ?? [])];
    if (this.#memMin !== undefined) {
      bounds.push({ address: this.#memMin, reason: `--mem-min=${hex(this.#memMin)}` });
    }
    return bounds;
  }

  #upperBounds(request: PlacementRequest): AddressBound[] {
    const bounds = [...(request.limit ?? [])];
    if (this.#memMax !== undefined) {
      bounds.push({ address: this.#memMax + 1, reason: `--mem-max=${hex(this.#memMax)}` });
    }
    return bounds;
  }

  #window(request: PlacementRequest): { lo: number; hi: number } {
    const lo = Math.max(0, ...this.#lowerBounds(request).map((b) => b.address));
    const hi = Math.min(
      Number.MAX_SAFE_INTEGER,
      ...this.#upperBounds(request).map((b) => b.address),
    );
    return { lo, hi };
  }

  #notFitting(
    request: PlacementRequest,
    size: number,
    align: number,
    lo: number,
    hi: number,
  ): KexecError {
    const describe = (bounds: AddressBound[]) =>
      bounds.map((b) => `${hex(b.address)} (${b.reason})`).join(", ");
    const lower = this.#lowerBounds(request);
    const upper = this.#upperBounds(request);
    const where = [
      lower.length ? `starting at or above ${describe(lower)}` : "",
      upper.length ? `ending at or below ${describe(upper)}` : "",
    ].filter(Boolean).join(" and ");
    const what = `${request.name} (${request.size} bytes` +
      (align > this.#pageSize ? `, aligned to ${hex(align)})` : ")");
    let why: string;
    if (lo >= hi) {
      why = `no address satisfies both: the lowest start ${hex(lo)} is not below ` +
        `the end limit ${hex(hi)}`;
    } else if (!this.#ram.some((r) => r.start < hi && r.end > lo)) {
      why = `there is no usable RAM between ${hex(lo)} and ${hex(hi)}`;
    } else {
      let best: { start: number; bytes: number } | undefined;
      for (const piece of this.freeRanges()) {
        const start = alignUp(Math.max(piece.start, lo), align);
        const bytes = Math.min(piece.end, hi) - start;
        if (bytes > 0 && (!best || bytes > best.bytes)) best = { start, bytes };
      }
      const users = this.#placed.filter((p) => p.start < hi && p.end > lo)
        .map((p) => `${p.name} ${hex(p.start)}-${hex(p.end - 1)}`);
      why = (best
        ? `the largest free aligned piece there is ${best.bytes} bytes at ${hex(best.start)}`
        : "no free RAM is left there") +
        (users.length ? ` (already used: ${users.join(", ")})` : "") +
        `; ${size} bytes are needed`;
    }
    return new KexecError(`${what} does not fit in RAM${where ? ` ${where}` : ""}: ${why}`, {
      hint: "see the memory map with -d; a smaller object or a wider --mem-min/--mem-max " +
        "window may fit",
    });
  }
}
