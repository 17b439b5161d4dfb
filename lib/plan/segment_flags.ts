/**
 * Names of the kexec_load flag bits, for -d, --dry-run and --status.
 *
 * @module
 */

import { KEXEC_ARCH, KEXEC_ARCH_MASK, KEXEC_ON_CRASH, KEXEC_PRESERVE_CONTEXT } from "../abi.ts";
import { hex } from "../format.ts";

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
  const arch = (flags & KEXEC_ARCH_MASK) >>> 0;
  if (arch === KEXEC_ARCH.x86_64) names.push("KEXEC_ARCH_X86_64");
  else if (arch === KEXEC_ARCH.aarch64) names.push("KEXEC_ARCH_AARCH64");
  else if (arch === 0) names.push("KEXEC_ARCH_DEFAULT");
  else names.push(`KEXEC_ARCH_${hex(arch >>> 16)}`);
  return names;
}
