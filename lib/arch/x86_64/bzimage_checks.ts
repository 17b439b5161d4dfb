/**
 * What the bzImage planner refuses before and after placing: a kernel that
 * cannot start here, flags naming another architecture, and segments the
 * kernel would reject for taking more than half of RAM.
 *
 * @module
 */

import { KEXEC_ARCH_MASK, KEXEC_ON_CRASH } from "../../abi.ts";
import { KexecError } from "../../errors.ts";
import { hex } from "../../format.ts";
import { totalBytes } from "../../memory/memmap.ts";
import type { MemoryRange } from "../../memory/types.ts";
import type { Segment } from "../../plan/types.ts";
import { X86_64_ABI } from "./abi.ts";
import type { BzImagePlanInput } from "./bzimage_input.ts";
import { type SetupHeader, XLF } from "./setup_header.ts";

/**
 * Refuses a kernel that cannot start here: one lacking XLF_5LEVEL under
 * 5-level paging, or a non-relocatable one with a corrupt pref_address.
 *
 * @example
 * ```ts
 * import { checkKernelFits } from "./bzimage_checks.ts";
 * import type { BzImagePlanInput } from "./bzimage_input.ts";
 * import type { SetupHeader } from "./setup_header.ts";
 * const old = { xloadflags: 0, relocatableKernel: true, prefAddress: 0x1000000 } as SetupHeader;
 * const input = { kernelPath: "/boot/old", pageSize: 4096, fiveLevelPaging: true };
 * try {
 *   checkKernelFits(old, input as BzImagePlanInput);
 *   throw new Error("accepted");
 * } catch (e) {
 *   if (!String(e).includes("XLF_5LEVEL")) throw e;
 * }
 * checkKernelFits(old, { ...input, fiveLevelPaging: false } as BzImagePlanInput);
 * ```
 */
export function checkKernelFits(header: SetupHeader, input: BzImagePlanInput): void {
  if (input.fiveLevelPaging && !(header.xloadflags & XLF.FIVE_LEVEL)) {
    throw new KexecError(
      `kernel ${input.kernelPath} cannot start under 5-level paging (xloadflags lacks XLF_5LEVEL), ` +
        "which the running kernel uses",
      { hint: "boot the running kernel with no5lvl, or load a kernel built with 5-level support" },
    );
  }
  // A kernel that is not relocatable runs only at pref_address; a page-aligned
  // placement elsewhere would crash at boot.
  if (!header.relocatableKernel && header.prefAddress % input.pageSize !== 0) {
    throw new KexecError(
      `kernel ${input.kernelPath} is not relocatable and its pref_address ` +
        `${hex(header.prefAddress)} is not page-aligned: the header is corrupt`,
      { hint: "load a relocatable kernel (CONFIG_RELOCATABLE=y, as distribution kernels are)" },
    );
  }
}

/**
 * The caller's KEXEC_* flags with the x86_64 architecture ORed in; a
 * RangeError if they name another architecture.
 *
 * @example
 * ```ts
 * import { archFlags } from "./bzimage_checks.ts";
 * if (archFlags(0) !== 0x3e0000) throw new Error();
 * ```
 */
export function archFlags(flags: number): number {
  const arch = (flags & KEXEC_ARCH_MASK) >>> 0;
  if (arch !== 0 && arch !== X86_64_ABI.kexecArch) {
    throw new RangeError(`flags ${hex(flags >>> 0)} name another architecture`);
  }
  return ((flags & ~KEXEC_ARCH_MASK) | X86_64_ABI.kexecArch) >>> 0;
}

/**
 * The kernel refuses (EINVAL) a segment or a total above half its RAM pages
 * (kernel/kexec_core.c, sanity_check_segment_list). RAM in the map is a little
 * more than the kernel counts, so this catches only clear cases, with a clearer
 * message than EINVAL.
 *
 * @example
 * ```ts
 * import { checkHalfOfRam } from "./bzimage_checks.ts";
 * const ram = [{ start: 0, end: 0x1000000, kind: "ram" as const }];
 * checkHalfOfRam([{ name: "k", buf: new Uint8Array(0), mem: 0, memsz: 0x100000 }], ram, 0);
 * ```
 */
export function checkHalfOfRam(
  segments: readonly Segment[],
  memoryMap: readonly MemoryRange[],
  flags: number,
): void {
  if (flags & KEXEC_ON_CRASH) return; // crash segments live in reserved memory
  const ram = totalBytes(memoryMap, "ram");
  const total = segments.reduce((sum, s) => sum + s.memsz, 0);
  if (ram > 0 && total > ram / 2) {
    throw new KexecError(
      `the segments need ${total} bytes, more than half of the ${ram} bytes of RAM; ` +
        "the kernel refuses such a load (EINVAL)",
      { hint: "use a smaller initrd" },
    );
  }
}
