/**
 * The memory reserved for a crash kernel by `crashkernel=`, as /proc/iomem
 * shows it (kernel/crash_reserve.c; Documentation/admin-guide/kdump/kdump.rst):
 * "Crash kernel" resources nested in System RAM, one for the main region
 * (`crashk_res`) and, with `crashkernel=…,low`, a second one below 4 GiB
 * (`crashk_low_res`).
 *
 * The kernel requires the entry point and every segment of a crash load to lie
 * in the main region (kernel/kexec.c kimage_alloc_init, kernel/kexec_core.c
 * sanity_check_segment_list); the low region is only handed to the crash
 * kernel as RAM.
 * Like kexec-tools, the highest region is taken as the main one.
 *
 * @module
 */

import { ExitCode, KexecError } from "../errors.ts";
import { findIomem, type IomemNode } from "../memory/iomem.ts";
import { hex } from "../format.ts";
import type { AddressRange } from "./ranges.ts";

/** Name of the crash reservation in /proc/iomem. */
export const CRASH_KERNEL_RESOURCE = "Crash kernel";

/** The crash regions of the running kernel. */
export interface CrashRegions {
  /** Where the crash kernel's segments and entry must go (`crashk_res`). */
  readonly main: AddressRange;
  /** The `,low` region (`crashk_low_res`), usable RAM for the crash kernel only. */
  readonly low?: AddressRange;
}

/** Advice printed when nothing is reserved. */
export const CRASHKERNEL_HINT =
  "reserve memory by booting the running kernel with crashkernel=256M (or larger), " +
  "then load the crash kernel again";

/**
 * kexec-tools' refusal of a crash load without reserved memory (its main()
 * dies with these words, exit 1), saying where this tool looked.
 *
 * @example
 * ```ts
 * import { crashNotReserved } from "./region.ts";
 * const e = crashNotReserved("/sys/kernel/kexec_crash_size is 0");
 * if (e.exitCode !== 1 || !e.message.startsWith("Memory for crashkernel is not reserved")) {
 *   throw new Error(e.message);
 * }
 * ```
 */
export function crashNotReserved(where: string): KexecError {
  return new KexecError(`Memory for crashkernel is not reserved: ${where}`, {
    exitCode: ExitCode.USAGE,
    hint: CRASHKERNEL_HINT,
  });
}

/**
 * Finds the crash regions in an iomem tree. Throws {@link crashNotReserved}
 * (exit 1) when there is none, and a plain failure when there are more than
 * the kernel's two.
 *
 * @example
 * ```ts
 * import { findCrashRegions } from "./region.ts";
 * import { parseIomem } from "../memory/iomem.ts";
 * const regions = findCrashRegions(parseIomem(
 *   "00100000-7ffdffff : System RAM\n" +
 *     "  08000000-0fffffff : Crash kernel\n" +
 *     "  69000000-78ffffff : Crash kernel\n",
 * ));
 * if (regions.main.start !== 0x69000000 || regions.main.end !== 0x79000000) throw new Error();
 * if (regions.low?.start !== 0x8000000) throw new Error();
 * ```
 */
export function findCrashRegions(iomem: readonly IomemNode[]): CrashRegions {
  const found = findIomem(iomem, CRASH_KERNEL_RESOURCE)
    .map((n) => ({ start: n.start, end: n.end }))
    .filter((r) => r.end > r.start)
    .sort((a, b) => b.start - a.start);
  if (found.length === 0) {
    throw crashNotReserved(`no "${CRASH_KERNEL_RESOURCE}" range in /proc/iomem`);
  }
  if (found.length > 2) {
    throw new KexecError(
      `/proc/iomem lists ${found.length} "${CRASH_KERNEL_RESOURCE}" ranges ` +
        `(${found.map((r) => `${hex(r.start)}-${hex(r.end - 1)}`).join(", ")}); ` +
        "the kernel reserves at most two (main and ,low)",
      { hint: "load the crash kernel with kexec_file_load (-s -p), which needs no map" },
    );
  }
  const [main, low] = found;
  return low ? { main, low } : { main };
}
