/**
 * Where arm64 kexec_load segments may go, from /proc/iomem. arm64 has no
 * /sys/firmware/memmap, and a UEFI/ACPI machine's device tree has no memory
 * nodes (the EFI stub removes them; memory comes from the UEFI memory map),
 * so /proc/iomem is the only description of RAM user space has.
 *
 * arch/arm64/kernel/setup.c request_standard_resources() lists every memblock
 * memory region at the top level, as "System RAM", or as "reserved" when it
 * is NOMAP (UEFI runtime services, firmware). Inside System RAM it nests the
 * running kernel's image ("Kernel code", "Kernel data"), the crash
 * reservation ("Crash kernel"), and, as "reserved", every memblock
 * reservation made at boot (reserve_memblock_reserved_regions): the device
 * tree, the UEFI memory map and ACPI tables (arch/arm64/kernel/efi.c keeps
 * EFI_ACPI_RECLAIM_MEMORY reserved "for kexec"), the initrd, persistent
 * memory reservations. The next kernel needs several of those intact.
 *
 * So the segments go only into System RAM outside every nested resource
 * except the running kernel's own image, which is dead once the new one runs.
 * This is also kexec-tools' rule (kexec/arch/arm64/kexec-arm64.c
 * get_memory_ranges keeps only "System RAM", "Kernel code", "Kernel data").
 *
 * @module
 */

import { hex } from "../../format.ts";
import type { IomemNode } from "../../memory/iomem.ts";
import type { MemoryRange } from "../../memory/types.ts";
import { type AddressRange, subtractRanges } from "../../crash/ranges.ts";

/** Top-level /proc/iomem name of RAM. */
export const SYSTEM_RAM = "System RAM";

/** Nested resources that are the running kernel's image: usable once it is gone. */
export const RUNNING_KERNEL_RESOURCES: readonly string[] = ["Kernel code", "Kernel data"];

/** RAM segments may use, and what was kept out of it. */
export interface LoadableRam {
  /** Usable RAM, sorted, kind "ram". */
  readonly ranges: MemoryRange[];
  /** Total bytes of top-level System RAM (the kernel's half-of-RAM rule counts this). */
  readonly systemRamBytes: number;
  /** Lines for -d and --dry-run. */
  readonly notes: string[];
}

/**
 * The RAM kexec_load segments may use: top-level "System RAM" minus every
 * nested resource other than "Kernel code" and "Kernel data". `allow` names
 * ranges to give back although nested (a crash load's own "Crash kernel").
 *
 * @example
 * ```ts
 * import { loadableRam } from "./memory.ts";
 * import { parseIomem } from "../../memory/iomem.ts";
 * const ram = loadableRam(parseIomem(
 *   "40000000-bfffffff : System RAM\n" +
 *     "  40210000-4159ffff : Kernel code\n" +
 *     "  48000000-480fffff : reserved\n" +
 *     "  b0000000-bfffffff : Crash kernel\n",
 * ));
 * if (ram.ranges.length !== 2 || ram.ranges[0].end !== 0x48000000) throw new Error();
 * if (ram.ranges[1].start !== 0x48100000 || ram.ranges[1].end !== 0xb0000000) throw new Error();
 * ```
 */
export function loadableRam(
  iomem: readonly IomemNode[],
  allow: readonly AddressRange[] = [],
): LoadableRam {
  const ram = iomem.filter((n) => n.name === SYSTEM_RAM);
  const holes: AddressRange[] = [];
  const kinds = new Map<string, number>();
  for (const node of ram) {
    for (const child of node.children) {
      if (RUNNING_KERNEL_RESOURCES.includes(child.name)) continue;
      if (allow.some((a) => a.start === child.start && a.end === child.end)) continue;
      holes.push({ start: child.start, end: child.end });
      kinds.set(child.name, (kinds.get(child.name) ?? 0) + child.end - child.start);
    }
  }
  const ranges = subtractRanges(ram, holes).map((r) => ({ ...r, kind: "ram" as const }));
  ranges.sort((a, b) => a.start - b.start);
  const systemRamBytes = ram.reduce((n, r) => n + r.end - r.start, 0);
  const kept = [...kinds].map(([name, bytes]) => `"${name}" ${hex(bytes)} bytes`).join(", ");
  return {
    ranges,
    systemRamBytes,
    notes: [
      `usable RAM from /proc/iomem: ${ram.length} System RAM ranges (${hex(systemRamBytes)} ` +
      `bytes) minus what the running system reserves inside them` +
      (kept ? ` (${kept})` : ""),
    ],
  };
}
