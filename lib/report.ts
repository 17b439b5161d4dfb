/**
 * Messages for the user while the command runs: warnings always, progress with
 * `-d`. Everything goes to stderr so stdout stays clean for `--json`.
 *
 * @module
 */

import type { Output } from "./sys/system.ts";

/** Where the library reports progress. */
export interface Reporter {
  /** A line shown only with `-d`. */
  debug(line: string): void;
  /** A line always shown (confirmations). */
  info(line: string): void;
  /** A warning, always shown. */
  warn(line: string): void;
}

/**
 * A reporter writing `kexec: …` lines to stderr.
 *
 * @example
 * ```ts
 * import { stderrReporter } from "./report.ts";
 * let text = "";
 * const r = stderrReporter({ out: () => {}, err: (t) => { text += t; } }, false);
 * r.debug("hidden");
 * r.warn("careful");
 * if (text !== "kexec: warning: careful\n") throw new Error(text);
 * ```
 */
export function stderrReporter(io: Output, debug: boolean): Reporter {
  return {
    debug: (line) => {
      if (debug) io.err(`kexec: ${line}\n`);
    },
    info: (line) => io.err(`kexec: ${line}\n`),
    warn: (line) => io.err(`kexec: warning: ${line}\n`),
  };
}

/** A reporter that drops everything (library use without output). */
export const silentReporter: Reporter = {
  debug: () => {},
  info: () => {},
  warn: () => {},
};
