/**
 * What every architecture states about its kexec ABI: the numbers the system
 * layer needs to make the calls, and the names messages use.
 *
 * @module
 */

import type { Arch } from "../abi.ts";

/** System call numbers the tool makes. */
export interface SyscallNumbers {
  /** kexec_load(2). */
  readonly kexec_load: number;
  /** kexec_file_load(2). */
  readonly kexec_file_load: number;
  /** reboot(2), for LINUX_REBOOT_CMD_KEXEC. */
  readonly reboot: number;
  /** memfd_create(2), for unwrapped kernels and composed initrds. */
  readonly memfd_create: number;
  /** getrandom(2), for seeds handed to the next kernel. */
  readonly getrandom: number;
}

/** An architecture's kexec ABI. */
export interface ArchAbi {
  /** The name `Deno.build.arch` uses. */
  readonly name: Arch;
  /** The name messages use ("arm64 (aarch64)"). */
  readonly displayName: string;
  /** ELF `e_machine` of its kernels and core dumps. */
  readonly elfMachine: number;
  /** The kexec_load flags' architecture field (`KEXEC_ARCH_*`, e_machine << 16). */
  readonly kexecArch: number;
  /** The UAPI name of that field. */
  readonly kexecArchName: string;
  /** The syscall numbers of this architecture (the kernel's arch/ARCH/include/uapi/asm/unistd*.h). */
  readonly syscalls: SyscallNumbers;
}
