/**
 * The memory layout a dry run draws: /proc/iomem (names, crash regions),
 * else the memory map kexec_load would use, else why there is none. A dry
 * run never fails for want of a picture.
 *
 * @module
 */

import { readIomem, readMemoryMap } from "../memory/source.ts";
import { layoutFromIomem, layoutFromRanges, type MemoryLayout } from "../plan/memory_picture.ts";
import type { System } from "../sys/system.ts";
import { PATHS } from "../abi.ts";

/**
 * Reads the layout through the {@link System}; never throws.
 *
 * @example
 * ```ts
 * import { readMemoryLayout } from "./dry_map.ts";
 * import type { System } from "../sys/system.ts";
 * const sys = {
 *   readText: (p: string) => p === "/proc/iomem" ? "00100000-3fffffff : System RAM\n" : undefined,
 *   listDir: () => undefined,
 * } as unknown as System;
 * if (readMemoryLayout(sys).regions[0].end !== 0x40000000) throw new Error();
 * ```
 */
export function readMemoryLayout(sys: System): MemoryLayout {
  let why = `${PATHS.procIomem} is unreadable`;
  try {
    const iomem = readIomem(sys);
    if (iomem) return layoutFromIomem(iomem, PATHS.procIomem);
  } catch (e) {
    why = (e as Error).message;
  }
  try {
    const map = readMemoryMap(sys);
    return layoutFromRanges(map.ranges, map.source);
  } catch (e) {
    const also = (e as Error).message;
    return { source: also.includes(why) ? also : `${why}; ${also}`, regions: [], areas: [] };
  }
}
