/**
 * A getopt_long-compatible scanner over the option table, because callers of
 * kexec-tools rely on its details: `--opt=value` and `--opt value`, unique
 * prefixes (`--comm=`), clustered short flags (`-lx`, `-tTYPE`), options after
 * the kernel path, and `--` (cli-compat.md §1).
 *
 * @module
 */

import { usageError } from "../errors.ts";
import { OPTIONS, type OptionSpec } from "./options.ts";

/** One option as it appeared on the command line, in order. */
export interface ParsedOption {
  /** Its table row. */
  readonly spec: OptionSpec;
  /** How the user spelled it (`--append`, `-l`), for messages. */
  readonly spelled: string;
  /** Its value, for options that take one. */
  readonly value?: string;
}

/** Options in command-line order plus the positional arguments. */
export interface ScanResult {
  readonly options: readonly ParsedOption[];
  readonly positionals: readonly string[];
}

const HINT = "see 'kexec --help'";

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

/**
 * Scans argv into options and positionals. Throws a usage error (exit 1) for
 * unknown, ambiguous or malformed options.
 *
 * @example
 * ```ts
 * import { scanArgs } from "./getopt.ts";
 * const r = scanArgs(["-lx", "/boot/vmlinuz", "--comm=quiet", "--initrd", "/boot/initrd"]);
 * const ids = r.options.map((o) => o.spec.id).join(",");
 * if (ids !== "load,no-ifdown,command-line,initrd") throw new Error(ids);
 * if (r.positionals[0] !== "/boot/vmlinuz") throw new Error("kernel");
 * ```
 */
export function scanArgs(
  argv: readonly string[],
  table: readonly OptionSpec[] = OPTIONS,
): ScanResult {
  const options: ParsedOption[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const { spec, long } = findLong(name, table);
      const spelled = `--${long}`;
      if (spec.value) {
        let value: string | undefined;
        if (eq >= 0) value = arg.slice(eq + 1);
        else if (i + 1 < argv.length) value = argv[++i];
        else throw usageError(`option '${spelled}' requires an argument (${spec.value})`, HINT);
        options.push({ spec, spelled, value });
      } else {
        if (eq >= 0) throw usageError(`option '${spelled}' doesn't allow an argument`, HINT);
        options.push({ spec, spelled });
      }
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j];
        const spec = table.find((s) => s.short === letter);
        if (!spec) throw usageError(`invalid option -- '${letter}'`, HINT);
        const spelled = `-${letter}`;
        if (spec.value) {
          let value: string;
          if (j + 1 < arg.length) value = arg.slice(j + 1);
          else if (i + 1 < argv.length) value = argv[++i];
          else throw usageError(`option '${spelled}' requires an argument (${spec.value})`, HINT);
          options.push({ spec, spelled, value });
          break;
        }
        options.push({ spec, spelled });
      }
      continue;
    }
    positionals.push(arg);
  }
  return { options, positionals };
}
