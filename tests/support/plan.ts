/**
 * One vocabulary for what a command line makes kexec do, used to compare this
 * tool with kexec-tools 2.0.32 (kexec/kexec.c main()) in the invocation
 * tables: the actions in the order main() runs them —
 * `status(crash|normal)`, `unload[(crash)]`, `load[(crash)|(preserve)]`,
 * `guard` (the "Nothing has been loaded!" check), `shutdown`, `sync`,
 * `ifdown`, `exec`, `jbh` (--load-jump-back-helper) — or `exit N` for a
 * refusal before any action, `help`, `help exit 1`, `version`.
 *
 * @module
 */

import type { Arch } from "../../lib/abi.ts";
import { KexecError } from "../../lib/errors.ts";
import { type Invocation, parseInvocation, type Step } from "../../lib/cli/invocation.ts";

/**
 * The deliberate differences from kexec-tools, each with the words README.md
 * uses for it under "Differences from kexec-tools"; a table row whose plan
 * differs from kexec-tools' must name one.
 */
export const DIFFERENCES = {
  "sync-before-exec": "sync and interface shutdown happen only right before an exec",
  "plain-kernel": "Plain `kexec KERNEL` (no action) **loads only**",
  "preserve-kexec-load": "use `kexec_load` by themselves",
  "refused-combination": "are refused instead of resolved into nonsense",
} as const;

/** A key of {@link DIFFERENCES}. */
export type Difference = keyof typeof DIFFERENCES;

function stepText(step: Step): string {
  switch (step.kind) {
    case "status":
      return `status(${step.image})`;
    case "unload":
      return step.crash ? "unload(crash)" : "unload";
    case "load":
      return step.crash ? "load(crash)" : step.preserveContext ? "load(preserve)" : "load";
    case "exec":
      return ["guard", step.sync ? "sync" : "", step.ifdown ? "ifdown" : "", "exec"]
        .filter((s) => s !== "").join(" ");
    case "jump-back-helper":
      return "jbh";
  }
}

/**
 * The plan of an interpreted command line.
 *
 * @example
 * ```ts
 * import { planText } from "./plan.ts";
 * import { parseInvocation } from "../../lib/cli/invocation.ts";
 * if (planText(parseInvocation(["-p", "-u"], "x86_64")) !== "unload(crash)") throw new Error();
 * ```
 */
export function planText(inv: Invocation): string {
  if (inv.action === "help") return inv.helpExitCode === 0 ? "help" : "help exit 1";
  if (inv.action !== "run") return inv.action;
  if (inv.missingKernel) return "exit 255";
  return inv.steps.map(stepText).join(" ");
}

/**
 * The plan of argv, or `exit N` when it is refused before any action.
 *
 * @example
 * ```ts
 * import { planOf } from "./plan.ts";
 * if (planOf(["-l", "-e", "/k", "--initrd=/i"]) !== "exit 1") throw new Error();
 * ```
 */
export function planOf(argv: readonly string[], arch: Arch = "x86_64"): string {
  try {
    return planText(parseInvocation(argv, arch));
  } catch (e) {
    if (e instanceof KexecError) return `exit ${e.exitCode}`;
    throw e;
  }
}
