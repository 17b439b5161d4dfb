/**
 * A getopt_long-compatible scanner over the option table, because callers of
 * kexec-tools rely on its details (glibc posix/getopt.c as used by
 * kexec/kexec.c): `--opt=value` and `--opt value`, unique prefixes
 * (`--comm=`), clustered short flags (`-lx`, `-tTYPE`), options after the
 * kernel path, and `--`.
 *
 * Arguments are raw strings (lib/raw_text.ts), so values keep the caller's
 * bytes. Errors do not end the scan at once: kexec-tools acts on the options
 * before a bad one (`-h --bogus` prints the help), so an error is an event in
 * order, after which scanning stops.
 *
 * @module
 */

import { type KexecError, usageError } from "../errors.ts";
import { OPTIONS, type OptionSpec } from "./options.ts";

/** One option as it appeared on the command line, in order. */
export interface ParsedOption {
  /** Its table row. */
  readonly spec: OptionSpec;
  /** How the user spelled it, with a prefix completed (`--append`, `-l`), for messages. */
  readonly spelled: string;
  /** Its value (a raw string), for options that take one. */
  readonly value?: string;
}

/** What getopt_long reports as `'?'`: an unknown, ambiguous or malformed option. */
export interface ScanError {
  readonly error: KexecError;
}

/** One step of the scan. */
export type ScanEvent = ParsedOption | ScanError;

/** Options (and at most one final error) in command-line order, plus the positional arguments. */
export interface ScanResult {
  readonly events: readonly ScanEvent[];
  readonly positionals: readonly string[];
}

const HINT = "see 'kexec --help'";

/**
 * The options of a scan, without its error (if any).
 *
 * @example
 * ```ts
 * import { optionsOf, scanArgs } from "./getopt.ts";
 * if (optionsOf(scanArgs(["-l", "--bogus"])).length !== 1) throw new Error();
 * ```
 */
export function optionsOf(scan: ScanResult): ParsedOption[] {
  return scan.events.filter((e): e is ParsedOption => "spec" in e);
}

function findLong(name: string, table: readonly OptionSpec[]): { spec: OptionSpec; long: string } {
  for (const spec of table) {
    for (const long of spec.long) if (long === name) return { spec, long };
  }
  const matches: { spec: OptionSpec; long: string }[] = [];
  for (const spec of table) {
    for (const long of spec.long) if (long.startsWith(name)) matches.push({ spec, long });
  }
  if (matches.length === 1) return matches[0];
  if (matches.length === 0 || name === "") {
    throw usageError(`unrecognized option '--${name}'`, HINT);
  }
  const names = matches.map((m) => `--${m.long}`).join(", ");
  throw usageError(`option '--${name}' is ambiguous; possibilities: ${names}`, HINT);
}

function scanLong(
  argv: readonly string[],
  i: number,
  table: readonly OptionSpec[],
): { option: ParsedOption; next: number } {
  const arg = argv[i];
  const eq = arg.indexOf("=");
  const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
  const { spec, long } = findLong(name, table);
  const spelled = `--${long}`;
  if (!spec.value) {
    if (eq >= 0) throw usageError(`option '${spelled}' doesn't allow an argument`, HINT);
    return { option: { spec, spelled }, next: i + 1 };
  }
  if (eq >= 0) return { option: { spec, spelled, value: arg.slice(eq + 1) }, next: i + 1 };
  if (i + 1 < argv.length) return { option: { spec, spelled, value: argv[i + 1] }, next: i + 2 };
  throw usageError(`option '${spelled}' requires an argument (${spec.value})`, HINT);
}

function scanShort(
  argv: readonly string[],
  i: number,
  table: readonly OptionSpec[],
  events: ScanEvent[],
): number {
  const arg = argv[i];
  for (let j = 1; j < arg.length; j++) {
    const letter = arg[j];
    const spec = table.find((s) => s.short === letter);
    if (!spec) throw usageError(`invalid option -- '${letter}'`, HINT);
    const spelled = `-${letter}`;
    if (!spec.value) {
      events.push({ spec, spelled });
      continue;
    }
    if (j + 1 < arg.length) {
      events.push({ spec, spelled, value: arg.slice(j + 1) });
      return i + 1;
    }
    if (i + 1 >= argv.length) {
      throw usageError(`option '${spelled}' requires an argument (${spec.value})`, HINT);
    }
    events.push({ spec, spelled, value: argv[i + 1] });
    return i + 2;
  }
  return i + 1;
}

/**
 * Scans argv into options and positionals, in order. An unknown, ambiguous
 * or malformed option ends the scan with a {@link ScanError} event (a usage
 * error, exit 1), after the options before it.
 *
 * @example
 * ```ts
 * import { optionsOf, scanArgs } from "./getopt.ts";
 * const r = scanArgs(["-lx", "/boot/vmlinuz", "--comm=quiet", "--initrd", "/boot/initrd"]);
 * const ids = optionsOf(r).map((o) => o.spec.id).join(",");
 * if (ids !== "load,no-ifdown,command-line,initrd") throw new Error(ids);
 * if (r.positionals[0] !== "/boot/vmlinuz") throw new Error("kernel");
 * ```
 */
export function scanArgs(
  argv: readonly string[],
  table: readonly OptionSpec[] = OPTIONS,
): ScanResult {
  const events: ScanEvent[] = [];
  const positionals: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    try {
      if (arg.startsWith("--")) {
        const { option, next } = scanLong(argv, i, table);
        events.push(option);
        i = next;
      } else if (arg.startsWith("-") && arg.length > 1) {
        i = scanShort(argv, i, table, events);
      } else {
        positionals.push(arg);
        i++;
      }
    } catch (e) {
      events.push({ error: e as KexecError });
      break;
    }
  }
  return { events, positionals };
}
