/**
 * The x86_64 kexec ABI: system call numbers (arch/x86/entry/syscalls/syscall_64.tbl)
 * and the kexec_load architecture field (include/uapi/linux/kexec.h
 * `KEXEC_ARCH_X86_64` = EM_X86_64 << 16). Tiny and dependency-free, so the
 * system layer and `--version` can use it without the planners.
 *
 * @module
 */

import type { ArchAbi } from "../abi_types.ts";

/**
 * x86_64's ABI numbers.
 *
 * @example
 * ```ts
 * import { X86_64_ABI } from "./abi.ts";
 * if (X86_64_ABI.syscalls.kexec_file_load !== 320 || X86_64_ABI.kexecArch !== 0x3e0000) {
 *   throw new Error();
 * }
 * ```
 */
export const X86_64_ABI: ArchAbi = {
  name: "x86_64",
  displayName: "x86_64",
  elfMachine: 62, // EM_X86_64
  kexecArch: 0x003e0000, // KEXEC_ARCH_X86_64
  kexecArchName: "KEXEC_ARCH_X86_64",
  syscalls: {
    kexec_load: 246,
    kexec_file_load: 320,
    reboot: 169,
    memfd_create: 319,
    getrandom: 318,
  },
};
