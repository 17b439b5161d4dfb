/**
 * What every architecture states about its kexec ABI: the numbers the system
 * layer needs to make the calls, and the names messages use.
 *
 * @module
 */

import type { Arch } from "../abi.ts";

/** System call numbers the tool makes. */
export interface SyscallNumbers {
  readonly kexec_load: number;
  readonly kexec_file_load: number;
  readonly reboot: number;
  readonly memfd_create: number;
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
  readonly syscalls: SyscallNumbers;
}
