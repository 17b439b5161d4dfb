/**
 * x86_64: its ABI and the kernel formats it boots, in probe order: a bzImage
 * (both syscalls), Multiboot2 and Multiboot (Xen and other Multiboot kernels)
 * and an ELF vmlinux (kexec_load only). Multiboot goes before the ELF
 * vmlinux: a Multiboot kernel is often an ELF file too.
 *
 * Only descriptors live here: every planner (and the jump-back helper) is
 * imported when a load first needs it.
 *
 * @module
 */

import type { Architecture, KexecJump } from "../types.ts";
import { X86_64_ABI } from "./abi.ts";
import { X86_64_CLI } from "./cli.ts";
import { BZIMAGE } from "./format_bzimage.ts";
import { MULTIBOOT, MULTIBOOT2 } from "./multiboot/format.ts";
import { VMLINUX } from "./vmlinux.ts";

/**
 * Kexec jump on x86_64 (CONFIG_KEXEC_JUMP: ARCH_SUPPORTS_KEXEC_JUMP in
 * arch/x86/Kconfig); the helper's planner and page are imported on first use.
 *
 * @example
 * ```ts
 * import { X86_64_KEXEC_JUMP } from "./mod.ts";
 * if (typeof X86_64_KEXEC_JUMP.planJumpBackHelper !== "function") throw new Error();
 * ```
 */
export const X86_64_KEXEC_JUMP: KexecJump = {
  planJumpBackHelper: async (input) => (await import("./jump_back.ts")).planJumpBackHelper(input),
};

/**
 * The x86_64 architecture.
 *
 * @example
 * ```ts
 * import { X86_64 } from "./mod.ts";
 * if (X86_64.formats[0].name !== "bzImage") throw new Error();
 * ```
 */
export const X86_64: Architecture = {
  ...X86_64_ABI,
  formats: [BZIMAGE, MULTIBOOT2, MULTIBOOT, VMLINUX],
  cli: X86_64_CLI,
  kexecJump: X86_64_KEXEC_JUMP,
};
