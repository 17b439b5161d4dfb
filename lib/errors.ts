/**
 * Typed errors. Library code throws them; only `main.ts` catches them, prints
 * {@link formatError}'s one line and exits with {@link KexecError.exitCode}.
 *
 * @module
 */

/**
 * Exit codes of the command: kexec-tools' (kexec/kexec.c), where scripts test
 * them. Its die() exits 1 and its failed actions return -1 (255).
 */
export const ExitCode = {
  /** Success; `-S`: no image of the asked type is loaded. */
  OK: 0,
  /**
   * Bad option, bad option value, conflicting options; a check before any
   * action failed (kexec-tools' die()): `-e` with nothing loaded, no crash
   * memory reserved, `--load-preserve-context` without `--mem-max`.
   */
  USAGE: 1,
  /** `-S`: an image of the asked type is loaded (kexec-tools' convention). */
  STATUS_LOADED: 1,
  /** `-s`: kexec_file_load is missing or refused the image with a fallback-class errno. */
  FILE_SYSCALL_UNAVAILABLE: 253,
  /** A file could not be used, or a load, unload or exec failed. */
  FAILURE: 255,
} as const;

/** Details attached to a {@link KexecError}. */
export interface KexecErrorInit {
  /** Exit code the command ends with; defaults to {@link ExitCode.FAILURE}. */
  exitCode?: number;
  /** What the user can do about it; printed after the message. */
  hint?: string;
  /** The system call that failed, when one did. */
  syscall?: string;
  /** The errno it failed with. */
  errno?: number;
  /** The underlying error, kept for `-d`. */
  cause?: unknown;
}

/**
 * The one error type of the library: what went wrong, and what to do.
 *
 * @example
 * ```ts
 * import { ExitCode, KexecError } from "./errors.ts";
 * const e = new KexecError("option --mem-min: 'abc' is not a number", {
 *   exitCode: ExitCode.USAGE,
 *   hint: "give an address such as 0x1000000",
 * });
 * if (e.exitCode !== 1) throw new Error("unexpected exit code");
 * ```
 */
export class KexecError extends Error {
  /** Exit code of the command when this error ends it. */
  readonly exitCode: number;
  /** What the user can do about it. */
  readonly hint?: string;
  /** Failed system call, if any. */
  readonly syscall?: string;
  /** errno of the failed system call, if any. */
  readonly errno?: number;

  /** Creates an error with a one-line message and optional details. */
  constructor(message: string, init: KexecErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "KexecError";
    this.exitCode = init.exitCode ?? ExitCode.FAILURE;
    this.hint = init.hint;
    this.syscall = init.syscall;
    this.errno = init.errno;
  }
}

/**
 * A usage error (exit code 1): bad option, bad value, conflicting options.
 *
 * @example
 * ```ts
 * import { usageError } from "./errors.ts";
 * if (usageError("bad option").exitCode !== 1) throw new Error();
 * ```
 */
export function usageError(message: string, hint?: string): KexecError {
  return new KexecError(message, { exitCode: ExitCode.USAGE, hint });
}

/**
 * Formats an error as the single line printed on stderr. Unknown errors
 * (bugs) still get one line, never a stack trace.
 *
 * @example
 * ```ts
 * import { formatError, KexecError } from "./errors.ts";
 * const line = formatError(new KexecError("kernel /x: no such file", { hint: "check the path" }));
 * if (line !== "kexec: kernel /x: no such file (hint: check the path)") throw new Error(line);
 * ```
 */
export function formatError(err: unknown): string {
  if (err instanceof KexecError) {
    const hint = err.hint ? ` (hint: ${err.hint})` : "";
    return `kexec: ${oneLine(err.message)}${hint ? oneLine(hint) : ""}`;
  }
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return `kexec: internal error: ${
    oneLine(text)
  } (hint: this is a bug; run again with -d and report it)`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ");
}
