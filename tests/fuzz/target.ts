/**
 * What a fuzz target is, how its inputs are generated, and how one run of it
 * is judged. A run may end in exactly two ways: a valid result (the target's
 * own checks of the result pass) or a {@link KexecError}. Anything else — a
 * TypeError, a RangeError, a failed check, an over-sized allocation, a
 * run slower than the bound — is a failure.
 *
 * Adding a parser: write `targets/<name>.ts` exporting a {@link FuzzTarget}
 * built with {@link defineTarget}, and list it in `targets/mod.ts`.
 *
 * @module
 */

import { KexecError } from "../../lib/errors.ts";
import { inputRng } from "./rng.ts";
import type { Rng } from "./rng.ts";

/** One parser (or parse-and-plan pipeline) under fuzzing. */
export interface FuzzTarget<T> {
  /** Row name in the report. */
  readonly name: string;
  /** What it calls, e.g. "lib/memory/iomem.ts parseIomem". */
  readonly entry: string;
  /** Real samples to start from; loaded once per worker. */
  seeds(): T[];
  /** A new input derived from `seed`; must not modify `seed`. */
  mutate(rng: Rng, seed: T, seeds: readonly T[]): T;
  /** Runs the parser on `input` and checks the result ({@link InvariantError} when bad). */
  run(input: T): void | Promise<void>;
}

/**
 * A result that the parser returned but should not have (checked by the target).
 *
 * @example
 * ```ts
 * import { InvariantError } from "./target.ts";
 * if (new InvariantError("x").name !== "InvariantError") throw new Error();
 * ```
 */
export class InvariantError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "InvariantError";
  }
}

/**
 * Throws an {@link InvariantError} unless `condition` holds.
 *
 * @example
 * ```ts
 * import { check } from "./target.ts";
 * check(1 + 1 === 2, "arithmetic");
 * let thrown = false;
 * try { check(false, "no"); } catch { thrown = true; }
 * if (!thrown) throw new Error();
 * ```
 */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/**
 * Checks that `value` is an integer in [min, max] (default: a safe, non-negative
 * integer). Exclusive range ends may pass max 2^53, which is still exact.
 *
 * @example
 * ```ts
 * import { checkInteger } from "./target.ts";
 * checkInteger(2 ** 53, "end", 1, 2 ** 53);
 * let thrown = false;
 * try { checkInteger(2 ** 64, "start"); } catch { thrown = true; }
 * if (!thrown) throw new Error();
 * ```
 */
export function checkInteger(
  value: number,
  what: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): void {
  check(
    Number.isInteger(value) && value >= min && value <= max,
    `${what} is ${value}, not an integer in [${min}, ${max}]`,
  );
}

/**
 * For planners: a plan the pre-syscall checks (lib/plan/validate.ts) refuse
 * for a reason of the machine — more than half of its RAM — is a proper
 * refusal; any other reason means the planner broke its own promises.
 *
 * @example
 * ```ts
 * import { refuseOrFail } from "./target.ts";
 * import { KexecError } from "../../lib/errors.ts";
 * let kind = "";
 * try {
 *   refuseOrFail(new KexecError("segments overlap"), "plan");
 * } catch (e) {
 *   kind = (e as Error).name;
 * }
 * if (kind !== "InvariantError") throw new Error(kind);
 * ```
 */
export function refuseOrFail(validationError: unknown, what: string): never {
  const message = validationError instanceof Error ? validationError.message : "";
  if (validationError instanceof KexecError && message.includes("more than half")) {
    throw validationError;
  }
  throw new InvariantError(`${what} fails the kernel's checks: ${message}`);
}

/**
 * Erases the input type, for the registry.
 *
 * @example
 * ```ts
 * import { defineTarget } from "./target.ts";
 * const t = defineTarget<string>({
 *   name: "demo", entry: "-", seeds: () => ["a"], mutate: (_rng, s) => s, run: () => {},
 * });
 * if (t.seeds()[0] !== "a") throw new Error();
 * ```
 */
export function defineTarget<T>(target: FuzzTarget<T>): FuzzTarget<unknown> {
  return target as unknown as FuzzTarget<unknown>;
}

/**
 * Input `index` of a run: the seeds themselves first, then mutations of a
 * seed chosen by the input's own generator.
 *
 * @example
 * ```ts
 * import { generateInput, defineTarget } from "./target.ts";
 * const t = defineTarget<string>({
 *   name: "demo", entry: "-", seeds: () => ["a", "b"],
 *   mutate: (rng, s) => s + rng.int(10), run: () => {},
 * });
 * const seeds = t.seeds();
 * if (generateInput(t, seeds, 1, 0) !== "a") throw new Error();
 * if (generateInput(t, seeds, 1, 9) !== generateInput(t, seeds, 1, 9)) throw new Error();
 * ```
 */
export function generateInput<T>(
  target: FuzzTarget<T>,
  seeds: readonly T[],
  runSeed: number,
  index: number,
): T {
  if (index < seeds.length) return seeds[index];
  const rng = inputRng(runSeed, target.name, index);
  return target.mutate(rng, rng.pick(seeds), seeds);
}

/** How one input ended. */
export type Outcome =
  | { readonly kind: "accepted" }
  | { readonly kind: "refused"; readonly message: string }
  | { readonly kind: "failure"; readonly failure: FailureKind; readonly message: string };

/** Kinds of failure. */
export type FailureKind = "exception" | "invalid" | "allocation" | "timeout" | "hang";

/**
 * Judges what a run threw (or `undefined` when it returned normally).
 *
 * @example
 * ```ts
 * import { judge } from "./target.ts";
 * import { KexecError } from "../../lib/errors.ts";
 * if (judge(new KexecError("bad header")).kind !== "refused") throw new Error();
 * if (judge(new RangeError("offset out of bounds")).kind !== "failure") throw new Error();
 * if (judge(undefined).kind !== "accepted") throw new Error();
 * ```
 */
export function judge(thrown: unknown, threw = thrown !== undefined): Outcome {
  if (!threw) return { kind: "accepted" };
  if (thrown instanceof KexecError) {
    const code = thrown.exitCode;
    if (thrown.message.trim() === "" || !Number.isInteger(code) || code < 1 || code > 255) {
      return {
        kind: "failure",
        failure: "invalid",
        message: `KexecError without a message or with exit code ${code}: '${thrown.message}'`,
      };
    }
    return { kind: "refused", message: thrown.message };
  }
  if (thrown instanceof InvariantError) {
    return { kind: "failure", failure: "invalid", message: thrown.message };
  }
  return { kind: "failure", failure: "exception", message: describe(thrown) };
}

/**
 * One line for an unexpected exception: name, message and where it was thrown.
 *
 * @example
 * ```ts
 * import { describe } from "./target.ts";
 * if (!describe(new TypeError("x is undefined")).startsWith("TypeError: x is undefined")) {
 *   throw new Error();
 * }
 * ```
 */
export function describe(thrown: unknown): string {
  if (!(thrown instanceof Error)) return `non-Error thrown: ${String(thrown)}`;
  const frame = (thrown.stack ?? "").split("\n").find((l) => l.includes("/lib/"))?.trim();
  return `${thrown.name}: ${thrown.message}${frame ? ` (${frame})` : ""}`;
}

/**
 * A message with numbers blanked, to count distinct refusals and to group
 * failures.
 *
 * @example
 * ```ts
 * import { messageShape } from "./target.ts";
 * if (messageShape("at 0x1f0, 12 bytes") !== messageShape("at 0x2a, 7 bytes")) throw new Error();
 * ```
 */
export function messageShape(message: string): string {
  return message.replace(/'[^']*'|"[^"]*"/g, "'…'").replace(/0x[0-9a-f]+|\d+/gi, "N").slice(
    0,
    200,
  );
}
