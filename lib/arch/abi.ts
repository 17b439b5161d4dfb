/**
 * The architectures' ABI tables, one per `lib/arch/<arch>/abi.ts`: small and
 * free of planners, for the system layer, `--status` and flag names.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { ARM64_ABI } from "./arm64/abi.ts";
import type { ArchAbi } from "./abi_types.ts";
import { X86_64_ABI } from "./x86_64/abi.ts";

export type { ArchAbi, SyscallNumbers } from "./abi_types.ts";

/** Every architecture this tool runs on. */
export const ARCH_ABIS: readonly ArchAbi[] = [X86_64_ABI, ARM64_ABI];

/**
 * The ABI of an architecture named as `Deno.build.arch` names it, or undefined.
 *
 * @example
 * ```ts
 * import { archAbi } from "./abi.ts";
 * if (archAbi("aarch64")?.elfMachine !== 183 || archAbi("riscv64") !== undefined) throw new Error();
 * ```
 */
export function archAbi(name: string): ArchAbi | undefined {
  return ARCH_ABIS.find((a) => a.name === name);
}

/**
 * The ABI of the machine this runs on; a {@link KexecError} where kexec is not supported.
 *
 * @example
 * ```ts
 * import { hostArchAbi } from "./abi.ts";
 * if (hostArchAbi("x86_64").syscalls.reboot !== 169) throw new Error();
 * let message = "";
 * try { hostArchAbi("riscv64"); } catch (e) { message = (e as Error).message; }
 * if (!message.includes("riscv64")) throw new Error(message);
 * ```
 */
export function hostArchAbi(buildArch: string = Deno.build.arch): ArchAbi {
  const abi = archAbi(buildArch);
  if (abi) return abi;
  throw new KexecError(`unsupported architecture ${buildArch}`, {
    hint: `this kexec supports ${ARCH_ABIS.map((a) => a.displayName).join(" and ")}`,
  });
}

/**
 * The name of a kexec_load flags word's architecture field.
 *
 * @example
 * ```ts
 * import { kexecArchName } from "./abi.ts";
 * if (kexecArchName(0x3e0000) !== "KEXEC_ARCH_X86_64" || kexecArchName(0) !== "KEXEC_ARCH_DEFAULT") {
 *   throw new Error();
 * }
 * ```
 */
export function kexecArchName(field: number): string {
  if (field === 0) return "KEXEC_ARCH_DEFAULT";
  return ARCH_ABIS.find((a) => a.kexecArch === field)?.kexecArchName ??
    `KEXEC_ARCH_0x${(field >>> 16).toString(16)}`;
}
