/**
 * How kexec-tools treats its architecture and loader options and its `-t`
 * type names on an architecture, so that a command line means here what it
 * means there. Each architecture states its table in `lib/arch/<arch>/cli.ts`
 * and carries it as `Architecture.cli`.
 *
 * @module
 */

/** What an architecture or loader option of kexec-tools does here. */
export type OptionEffect =
  /** Accepted; the warning names why it has no effect on this architecture. */
  | { readonly noEffect: string }
  /** Refused before anything is done, naming the reason. */
  | { readonly refused: string; readonly exitCode: number };

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
  /**
   * kexec-tools' `-t` names (its `file_type[]` table) that no format here
   * serves, with the reason. The names formats serve are their `typeNames`.
   */
  readonly unsupportedTypes: Readonly<Record<string, string>>;
}
