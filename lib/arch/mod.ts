/**
 * The architecture registry: one {@link Architecture} per `lib/arch/<arch>/`,
 * picked by the running machine's name. Nothing outside those folders names
 * an architecture.
 *
 * @module
 */

import type { Arch } from "../abi.ts";
import { ARM64 } from "./arm64/mod.ts";
import type { Architecture, KernelFormat } from "./types.ts";
import { X86_64 } from "./x86_64/mod.ts";

export type { ArchCli, OptionEffect } from "./cli.ts";
export type {
  Architecture,
  ImageCheck,
  ImageCheckInput,
  JumpBackHelperInput,
  JumpBackHelperPlan,
  KernelFormat,
  KernelModule,
  KexecJump,
  NoKexecJump,
  SegmentLoadInput,
} from "./types.ts";

/** Every architecture, in no particular order. */
export const ARCHITECTURES: readonly Architecture[] = [X86_64, ARM64];

/**
 * The architecture named `name` (as `System.arch` names it).
 *
 * @example
 * ```ts
 * import { architecture } from "./mod.ts";
 * if (architecture("x86_64").elfMachine !== 62) throw new Error();
 * ```
 */
export function architecture(name: Arch): Architecture {
  const found = ARCHITECTURES.find((a) => a.name === name);
  if (!found) throw new Error(`no architecture module for ${name}`);
  return found;
}

/**
 * The first of `arch`'s native formats whose probe matches, or undefined.
 *
 * @example
 * ```ts
 * import { architecture, nativeFormatOf } from "./mod.ts";
 * if (nativeFormatOf(architecture("x86_64"), new Uint8Array(1024)) !== undefined) throw new Error();
 * ```
 */
export function nativeFormatOf(arch: Architecture, bytes: Uint8Array): KernelFormat | undefined {
  return arch.formats.find((f) => f.probe(bytes));
}

/**
 * Another architecture's format that matches `bytes`, to name it when refusing.
 *
 * @example
 * ```ts
 * import { foreignFormatOf } from "./mod.ts";
 * const img = new Uint8Array(64);
 * new DataView(img.buffer).setUint32(0x38, 0x644d5241, true);
 * if (foreignFormatOf("x86_64", img)?.arch.name !== "aarch64") throw new Error();
 * ```
 */
export function foreignFormatOf(
  here: Arch,
  bytes: Uint8Array,
): { arch: Architecture; format: KernelFormat } | undefined {
  for (const arch of ARCHITECTURES) {
    if (arch.name === here) continue;
    const format = nativeFormatOf(arch, bytes);
    if (format) return { arch, format };
  }
  return undefined;
}
