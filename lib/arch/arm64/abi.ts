/**
 * The arm64 kexec ABI: system call numbers (include/uapi/asm-generic/unistd.h,
 * which arm64 uses) and the kexec_load architecture field
 * (include/uapi/linux/kexec.h `KEXEC_ARCH_AARCH64` = EM_AARCH64 << 16).
 *
 * @module
 */

import type { ArchAbi } from "../abi_types.ts";

/**
 * arm64's ABI numbers.
 *
 * @example
 * ```ts
 * import { ARM64_ABI } from "./abi.ts";
 * if (ARM64_ABI.syscalls.kexec_load !== 104 || ARM64_ABI.kexecArch !== 0xb70000) {
 *   throw new Error();
 * }
 * ```
 */
export const ARM64_ABI: ArchAbi = {
  name: "aarch64",
  displayName: "arm64 (aarch64)",
  elfMachine: 183, // EM_AARCH64
  kexecArch: 0x00b70000, // KEXEC_ARCH_AARCH64
  kexecArchName: "KEXEC_ARCH_AARCH64",
  syscalls: {
    kexec_load: 104,
    kexec_file_load: 294,
    reboot: 142,
    memfd_create: 279,
    getrandom: 278,
  },
};
