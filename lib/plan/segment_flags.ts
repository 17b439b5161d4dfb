/**
 * Names of the kexec_load flag bits, for -d, --dry-run and --status.
 *
 * @module
 */

import { KEXEC_ARCH_MASK, KEXEC_ON_CRASH, KEXEC_PRESERVE_CONTEXT } from "../abi.ts";
import { kexecArchName } from "../arch/abi.ts";

/**
 * Names of the kexec_load flag bits and architecture field.
 *
 * @example
 * ```ts
 * import { describeSegmentFlags } from "./segment_flags.ts";
 * if (describeSegmentFlags(0x3e0001).join("|") !== "KEXEC_ON_CRASH|KEXEC_ARCH_X86_64") {
 *   throw new Error();
 * }
 * ```
 */
export function describeSegmentFlags(flags: number): string[] {
  const names: string[] = [];
  if (flags & KEXEC_ON_CRASH) names.push("KEXEC_ON_CRASH");
  if (flags & KEXEC_PRESERVE_CONTEXT) names.push("KEXEC_PRESERVE_CONTEXT");
  names.push(kexecArchName((flags & KEXEC_ARCH_MASK) >>> 0));
  return names;
}
