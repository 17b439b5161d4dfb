/**
 * Which physical memory the dump describes: the System
 * RAM of /proc/iomem, found the way the kernel's own crash loader walks it
 * (walk_system_ram_res in kernel/resource.c, from prepare_elf_headers in
 * arch/x86/kernel/crash.c): every resource of the tree, children included,
 * so RAM that drivers add below other resources ("System RAM (kmem)" of
 * DAX/CXL memory under its window) is dumped too; minus the crash regions
 * and the low 1 MiB.
 *
 * The low 1 MiB decision: kexec-tools still gives the crash kernel the first
 * 640 KiB and has the purgatory copy them to a backup segment first
 * (kexec/arch/i386/crashdump-x86.c, get_backup_area). Linux dropped that
 * scheme for its own loader (≈ 5.8; arch/x86/kernel/crash.c,
 * elf_header_exclude_ranges: "Exclude the low 1M because it is always
 * reserved"): the first kernel reserves the low 1 MiB whenever `crashkernel=`
 * is given (always since 5.13: arch/x86/kernel/setup.c, setup_arch), so
 * nothing of value lives there, and the copy cannot work under memory
 * encryption (SME/SEV, TDX) anyway. We do what the kernel does: no backup
 * segment, no copy in the purgatory, the crash kernel may use the RAM below
 * 1 MiB (it needs some for its real-mode trampoline), and the dump leaves that
 * range out. On first kernels older than ~5.8 low memory is then missing from
 * the dump.
 *
 * @module
 */

import { type IomemNode, isSystemRamName, walkIomem } from "../memory/iomem.ts";
import type { CrashRegions } from "./region.ts";
import { type AddressRange, subtractRanges } from "./ranges.ts";

/** The low 1 MiB: given to the crash kernel, left out of the dump (see the module comment). */
export const LOW_MEMORY: AddressRange = { start: 0, end: 0x100000 };

/**
 * The System RAM ranges of an iomem tree, in address order: each outermost
 * resource named "System RAM" or "System RAM (…)", at any depth.
 *
 * @example
 * ```ts
 * import { systemRamRanges } from "./dump_ranges.ts";
 * import { parseIomem } from "../memory/iomem.ts";
 * const ram = systemRamRanges(parseIomem(
 *   "00001000-0009fbff : System RAM\n000f0000-000fffff : Reserved\n" +
 *     "00100000-7ffdffff : System RAM\n",
 * ));
 * if (ram.length !== 2 || ram[1].end !== 0x7ffe0000) throw new Error();
 * ```
 */
export function systemRamRanges(iomem: readonly IomemNode[]): AddressRange[] {
  return walkIomem(iomem, (n) => isSystemRamName(n.name)).map((r) => ({
    start: r.start,
    end: r.end,
  }));
}

/**
 * RAM ranges the elfcorehdr describes: System RAM minus the main and low crash
 * regions and minus {@link LOW_MEMORY}.
 *
 * @example
 * ```ts
 * import { dumpRamRanges } from "./dump_ranges.ts";
 * import { parseIomem } from "../memory/iomem.ts";
 * const ram = dumpRamRanges(
 *   parseIomem("00001000-0009fbff : System RAM\n00100000-7ffdffff : System RAM\n"),
 *   { main: { start: 0x69000000, end: 0x79000000 } },
 * );
 * if (ram.length !== 2 || ram[0].start !== 0x100000 || ram[1].start !== 0x79000000) {
 *   throw new Error(JSON.stringify(ram));
 * }
 * ```
 */
export function dumpRamRanges(
  iomem: readonly IomemNode[],
  regions: CrashRegions,
): AddressRange[] {
  const holes = [LOW_MEMORY, regions.main, ...(regions.low ? [regions.low] : [])];
  return subtractRanges(systemRamRanges(iomem), holes);
}
