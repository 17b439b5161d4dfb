/**
 * How the bzImage planner places a segment: below 4 GiB where the verified
 * boot put it, above when the kernel allows it and nothing fits below, and
 * how a placement becomes a {@link Segment}.
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import { hex } from "../../format.ts";
import type {
  AddressBound,
  Placement,
  PlacementRequest,
  SegmentAllocator,
} from "../../memory/allocator.ts";
import type { Segment } from "../../plan/types.ts";

const FOUR_GiB = 2 ** 32;

/** The 4 GiB bound for boot_params and purgatory (and a kernel without XLF_CAN_BE_LOADED_ABOVE_4G). */
export const BELOW_4GIB: AddressBound = {
  address: FOUR_GiB,
  reason: "4 GiB: kept below it as in the verified boot",
};

/**
 * Places `request` within its limits; when nothing fits there and the kernel
 * sets XLF_CAN_BE_LOADED_ABOVE_4G (boot.rst: kernel, boot_params, command line
 * and initrd may then live above 4 GiB), places it without them. A crash
 * region reserved above 4 GiB (`crashkernel=…,high`) needs this; kexec-tools
 * ignores initrd_addr_max for 64-bit kernels altogether.
 */
export function placePreferring(
  allocator: SegmentAllocator,
  request: PlacementRequest,
  canGoAbove4G: boolean,
  notes: string[],
): Placement {
  try {
    return allocator.place(request);
  } catch (e) {
    if (!canGoAbove4G || !(e instanceof KexecError)) throw e;
    let placed: Placement;
    try {
      placed = allocator.place({ ...request, limit: [] });
    } catch {
      // The first error names every bound, including the preferred one.
      throw e;
    }
    notes.push(
      `${request.name}: no room below ${
        (request.limit ?? []).map((l) => l.reason).join(", ")
      }; placed at ${hex(placed.start)} (XLF_CAN_BE_LOADED_ABOVE_4G)`,
    );
    return placed;
  }
}

/**
 * Adds the segment of `buf` at `placement` to `segments` and returns it.
 *
 * @example
 * ```ts
 * import { pushSegment } from "./bzimage_placement.ts";
 * const segments = [] as Parameters<typeof pushSegment>[0];
 * const s = pushSegment(segments, "initrd", new Uint8Array(3), { start: 0x100000, end: 0x101000 });
 * if (s.memsz !== 0x1000 || segments.length !== 1) throw new Error();
 * ```
 */
export function pushSegment(
  segments: Segment[],
  name: string,
  buf: Uint8Array,
  placement: { start: number; end: number },
): Segment {
  const segment = { name, buf, mem: placement.start, memsz: placement.end - placement.start };
  segments.push(segment);
  return segment;
}
