/**
 * How kexec-tools treats its architecture and loader options and its `-t`
 * type names on each architecture, so that the command line means here what
 * it means there. One table per architecture, in `lib/arch/<arch>/cli.ts`.
 *
 * @module
 */

import type { Arch } from "../abi.ts";
import { AARCH64_CLI } from "./arm64/cli.ts";
import { X86_64_CLI } from "./x86_64/cli.ts";

/** What an architecture or loader option of kexec-tools does here. */
export type OptionEffect =
  /** Accepted; the warning names why it has no effect on this architecture. */
  | { readonly noEffect: string }
  /** Refused before anything is done, naming the reason. */
  | { readonly refused: string; readonly exitCode: number };

/** A kexec-tools image type name (`-t`) and whether a kexec_load planner serves it. */
export type TypeSupport =
  | { readonly planner: true }
  | { readonly planner: false; readonly why: string };

/** One architecture's option semantics. */
export interface ArchCli {
  /**
   * Long names of the options kexec-tools numbers at or above OPT_ARCH_MAX in
   * the architecture's `include/arch/options.h`: its main() calls them bogus
   * (usage, exit 1) when the command line does not load a kernel.
   */
  readonly loadOnly: ReadonlySet<string>;
  /** Architecture and loader options that are not implemented, by long name. */
  readonly effects: Readonly<Record<string, OptionEffect>>;
  /** kexec-tools' `-t` names for this architecture (its `file_type[]` table). */
  readonly types: Readonly<Record<string, TypeSupport>>;
}

const TABLES: Record<Arch, ArchCli> = { x86_64: X86_64_CLI, aarch64: AARCH64_CLI };

/**
 * The option semantics of `arch`.
 *
 * @example
 * ```ts
 * import { archCli } from "./cli.ts";
 * if (!archCli("x86_64").loadOnly.has("initrd")) throw new Error();
 * if (archCli("aarch64").loadOnly.has("initrd")) throw new Error();
 * ```
 */
export function archCli(arch: Arch): ArchCli {
  return TABLES[arch];
}
