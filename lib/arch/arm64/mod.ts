/**
 * arm64: its ABI and the kernel formats it boots.
 *
 * @module
 */

import type { Architecture } from "../types.ts";
import { ARM64_ABI } from "./abi.ts";
import { AARCH64_CLI } from "./cli.ts";
import { ARM64_IMAGE } from "./format_image.ts";

/**
 * The arm64 architecture.
 *
 * @example
 * ```ts
 * import { ARM64 } from "./mod.ts";
 * if (ARM64.formats[0].name !== "Image") throw new Error();
 * ```
 */
export const ARM64: Architecture = {
  ...ARM64_ABI,
  formats: [ARM64_IMAGE],
  cli: AARCH64_CLI,
  // kernel/Kconfig.kexec: KEXEC_JUMP depends on ARCH_SUPPORTS_KEXEC_JUMP,
  // which only arch/x86 and arch/sh select; arm64's machine_kexec() never
  // returns (arch/arm64/kernel/machine_kexec.c).
  kexecJump: {
    unsupported: "Linux has no kexec jump on arm64 (KEXEC_JUMP needs " +
      "ARCH_SUPPORTS_KEXEC_JUMP, which only x86 and sh select)",
  },
};
