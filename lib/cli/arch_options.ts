/**
 * The architecture-dependent part of a command line (lib/arch/<arch>/cli.ts):
 * kexec-tools' architecture and loader options, and `-t` type names.
 *
 * @module
 */

import type { Arch } from "../abi.ts";
import { architecture } from "../arch/mod.ts";
import { KexecError } from "../errors.ts";
import { typeNames } from "../image/registry.ts";
import type { SyscallMode } from "./state.ts";

/**
 * Records what an architecture or loader option does on `arch`: a warning
 * that it has no effect, or a refusal (raised after kexec-tools' loop).
 *
 * @example
 * ```ts
 * import { compatOption } from "./arch_options.ts";
 * const warnings: string[] = [];
 * compatOption("dtb", "--dtb", "x86_64", warnings, []);
 * if (!warnings[0].startsWith("option --dtb has no effect on x86_64")) throw new Error();
 * ```
 */
export function compatOption(
  long: string,
  spelled: string,
  arch: Arch,
  warnings: string[],
  refusals: KexecError[],
): void {
  const effect = architecture(arch).cli.effects[long];
  if (effect === undefined) {
    warnings.push(`option ${spelled} has no effect on ${arch}`);
  } else if ("noEffect" in effect) {
    warnings.push(`option ${spelled} has no effect on ${arch}: ${effect.noEffect}`);
  } else {
    refusals.push(
      new KexecError(`option ${spelled} is not supported on ${arch}`, {
        exitCode: effect.exitCode,
        hint: effect.refused,
      }),
    );
  }
}

/**
 * The `-t` type to hand to the kexec_load planner, if any. -t matters to
 * kexec_load only (kexec-tools' my_load()): a type with a planner goes to it;
 * one without is refused unless -s makes it irrelevant; an unknown name is
 * refused as kexec-tools does (`Unsupported kernel type`, exit 255).
 *
 * @example
 * ```ts
 * import { checkType } from "./arch_options.ts";
 * if (checkType("bzImage", "auto", "x86_64") !== "bzImage") throw new Error();
 * if (checkType("nbi-x86", "file", "x86_64") !== undefined) throw new Error();
 * ```
 */
export function checkType(
  type: string | undefined,
  syscall: SyscallMode,
  arch: Arch,
): string | undefined {
  if (type === undefined) return undefined;
  const here = architecture(arch);
  const served = typeNames(here);
  if (served.includes(type)) return type;
  const why = here.cli.unsupportedTypes[type];
  if (why === undefined) {
    throw new KexecError(`Unsupported kernel type ${type}`, {
      hint: `types on ${arch}: ${
        [...served, ...Object.keys(here.cli.unsupportedTypes)].join(", ")
      }`,
    });
  }
  if (syscall !== "file") {
    throw new KexecError(`-t ${type}: ${why}`, {
      hint: `use -s (the kernel's own loader ignores -t), or a type this kexec loads: ${
        served.join(", ")
      }`,
    });
  }
  return undefined;
}
