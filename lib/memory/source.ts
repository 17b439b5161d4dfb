/**
 * Reads the memory map to pass to the next kernel: /sys/firmware/memmap when
 * the kernel has it (the map it received, so chained kexecs keep it intact),
 * else the top level of /proc/iomem (Documentation/ABI/testing/sysfs-firmware-memmap
 * says why kexec wants the former).
 *
 * @module
 */

import { PATHS } from "../abi.ts";
import { KexecError } from "../errors.ts";
import type { System } from "../sys/system.ts";
import { iomemMemoryMap, type IomemNode, parseIomem } from "./iomem.ts";
import { type FirmwareMemmapEntry, parseFirmwareMemmap } from "./memmap.ts";
import type { MemoryRange } from "./types.ts";

/** A memory map and where it came from (for `-d` and `--dry-run`). */
export interface MemoryMapReading {
  readonly ranges: MemoryRange[];
  /** The file the map came from, and why a fallback was used. */
  readonly source: string;
}

/**
 * Reads /sys/firmware/memmap, or /proc/iomem when the former is missing,
 * incomplete or holds no RAM. Throws a {@link KexecError} when neither gives a
 * map with RAM in it.
 *
 * @example
 * ```ts
 * import { readMemoryMap } from "./source.ts";
 * import type { System } from "../sys/system.ts";
 * const files: Record<string, string> = {
 *   "/sys/firmware/memmap/0/start": "0x100000\n",
 *   "/sys/firmware/memmap/0/end": "0x3fffffff\n",
 *   "/sys/firmware/memmap/0/type": "System RAM\n",
 * };
 * const sys = {
 *   readText: (p: string) => files[p],
 *   listDir: (p: string) => (p === "/sys/firmware/memmap" ? ["0"] : undefined),
 * } as unknown as System;
 * const { ranges, source } = readMemoryMap(sys);
 * if (source !== "/sys/firmware/memmap" || ranges[0].end !== 0x40000000) throw new Error();
 * ```
 */
export function readMemoryMap(sys: System): MemoryMapReading {
  const firmware = readFirmwareMemmap(sys);
  if (firmware.ranges && firmware.ranges.some((r) => r.kind === "ram")) {
    return { ranges: firmware.ranges, source: PATHS.firmwareMemmap };
  }
  const why = firmware.ranges ? "holds no System RAM" : firmware.problem;
  const iomem = readIomem(sys);
  if (!iomem) {
    throw new KexecError(
      `no memory map: ${PATHS.firmwareMemmap} ${why} and ${PATHS.procIomem} is unreadable`,
      {
        hint: "kexec_load needs the physical memory map; mount /proc and /sys, run as root, " +
          "or use kexec_file_load (-s), which needs no map",
      },
    );
  }
  const ranges = iomemMemoryMap(iomem);
  if (!ranges.some((r) => r.kind === "ram")) {
    throw new KexecError(
      `no memory map: ${PATHS.firmwareMemmap} ${why} and ${PATHS.procIomem} lists no System RAM`,
      { hint: "use kexec_file_load (-s), which needs no map" },
    );
  }
  return { ranges, source: `${PATHS.procIomem} (${PATHS.firmwareMemmap} ${why})` };
}

/**
 * Reads and parses /proc/iomem, or returns undefined when it is unreadable.
 * Throws a {@link KexecError} when its addresses are hidden (not root).
 *
 * @example
 * ```ts
 * import { readIomem } from "./source.ts";
 * import type { System } from "../sys/system.ts";
 * const sys = { readText: () => "00100000-3fffffff : System RAM\n" } as unknown as System;
 * if (readIomem(sys)?.[0].name !== "System RAM") throw new Error();
 * ```
 */
export function readIomem(sys: System): IomemNode[] | undefined {
  const text = sys.readText(PATHS.procIomem);
  return text === undefined ? undefined : parseIomem(text, PATHS.procIomem);
}

function readFirmwareMemmap(
  sys: System,
): { ranges: MemoryRange[]; problem?: undefined } | { ranges?: undefined; problem: string } {
  const names = sys.listDir(PATHS.firmwareMemmap);
  if (names === undefined) return { problem: "is missing (CONFIG_FIRMWARE_MEMMAP)" };
  const indices = names.filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b));
  if (indices.length === 0) return { problem: "is empty" };
  const entries: FirmwareMemmapEntry[] = [];
  for (const n of indices) {
    const dir = `${PATHS.firmwareMemmap}/${n}`;
    const start = sys.readText(`${dir}/start`);
    const end = sys.readText(`${dir}/end`);
    const type = sys.readText(`${dir}/type`);
    if (start === undefined || end === undefined || type === undefined) {
      return { problem: `entry ${n} is unreadable` };
    }
    entries.push({ start, end, type });
  }
  return { ranges: parseFirmwareMemmap(entries) };
}
