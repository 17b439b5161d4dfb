/**
 * The new kernel's command line: reuse of /proc/cmdline, the combination with
 * `--append`, and the bytes passed to the kernel.
 *
 * Command lines are raw strings (lib/raw_text.ts): whatever bytes the caller
 * passed reach the kernel unchanged, UTF-8 or not.
 *
 * @module
 */

import { ExitCode, KexecError } from "./errors.ts";
import { decodeRaw, encodeRaw } from "./raw_text.ts";

// The kernel's isspace(): ASCII only (lib/ctype.c); a non-breaking space is part of an argument.
const KERNEL_SPACE = new Set([" ", "\t", "\n", "\v", "\f", "\r"]);

/**
 * Splits a kernel command line into arguments the way the kernel's
 * `next_arg()` does: spaces separate, double quotes protect spaces and are kept.
 *
 * @example
 * ```ts
 * import { splitKernelArgs } from "./cmdline.ts";
 * const args = splitKernelArgs('root=/dev/sda1  foo="a b" quiet\n');
 * if (args.length !== 3 || args[1] !== 'foo="a b"') throw new Error(String(args));
 * ```
 */
export function splitKernelArgs(line: string): string[] {
  const args: string[] = [];
  let current = "";
  let quoted = false;
  let started = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && KERNEL_SPACE.has(ch)) {
      if (started) args.push(current);
      current = "";
      started = false;
      continue;
    }
    current += ch;
    started = true;
  }
  if (started) args.push(current);
  return args;
}

/**
 * kexec-tools' `remove_parameter()` (kexec/kexec.c), byte for byte: find
 * `name` anywhere in the line; if it starts the line or follows white space,
 * delete from there through the next space character (or to the end of the
 * line), and repeat; stop at the first match that starts inside a word. Only
 * that much: spacing around it, quotes and every other byte stay as they are,
 * because what the next kernel receives (and IMA measures as kexec-cmdline)
 * must be what kexec-tools would pass.
 *
 * @example
 * ```ts
 * import { removeParameter } from "./cmdline.ts";
 * const line = removeParameter("BOOT_IMAGE=/vmlinuz  root=/dev/vda crashkernel=1G", "crashkernel");
 * if (line !== "BOOT_IMAGE=/vmlinuz  root=/dev/vda ") throw new Error(JSON.stringify(line));
 * ```
 */
export function removeParameter(line: string, name: string): string {
  let start = line.indexOf(name);
  while (start >= 0) {
    // C isspace() in the "C" locale: the kernel's separators.
    if (start > 0 && !KERNEL_SPACE.has(line[start - 1])) return line;
    const end = line.indexOf(" ", start);
    line = end < 0 ? line.slice(0, start) : line.slice(0, start) + line.slice(end + 1);
    start = line.indexOf(name);
  }
  return line;
}

/**
 * kexec-tools' `get_command_line()`: /proc/cmdline without its last byte (the
 * newline), cut at the first CR or LF, minus `BOOT_IMAGE` and, for a crash
 * kernel, every `crashkernel` parameter ({@link removeParameter}). `initrd=`
 * and everything else are kept.
 *
 * @example
 * ```ts
 * import { reuseCmdline } from "./cmdline.ts";
 * const proc = new TextEncoder().encode("BOOT_IMAGE=/vmlinuz initrd=/i  crashkernel=256M quiet\n");
 * const line = reuseCmdline(proc, true);
 * if (line !== "initrd=/i  quiet") throw new Error(JSON.stringify(line));
 * ```
 */
export function reuseCmdline(procCmdline: Uint8Array, crash: boolean): string {
  if (procCmdline.length === 0) {
    throw new KexecError("--reuse-cmdline: /proc/cmdline is empty", {
      exitCode: ExitCode.USAGE,
      hint: "pass the command line with --append instead",
    });
  }
  let line = decodeRaw(procCmdline.subarray(0, procCmdline.length - 1));
  const cut = line.search(/[\r\n]/);
  if (cut >= 0) line = line.slice(0, cut);
  line = removeParameter(line, "BOOT_IMAGE");
  return crash ? removeParameter(line, "crashkernel") : line;
}

/** What decides the command line. */
export interface CmdlineInput {
  /** `--command-line`/`--append` (the last one given), as a raw string. */
  readonly commandLine?: string;
  /** `--reuse-cmdline` was given. */
  readonly reuse: boolean;
  /** The bytes of /proc/cmdline (needed only with `reuse`; undefined when unreadable). */
  readonly procCmdline?: Uint8Array;
  /** Loading a crash kernel (-p): `crashkernel=` is dropped from a reused line. */
  readonly crash: boolean;
}

/**
 * The command line to pass, as kexec-tools' `concat_cmdline()` makes it:
 * the reused line and the `--append` text joined by one space when both are
 * given, else whichever is given, else empty. `--append` replaces the line
 * unless `--reuse-cmdline` is given too. Refuses a NUL, which would silently
 * cut the line short in the kernel.
 *
 * @example
 * ```ts
 * import { resolveCmdline } from "./cmdline.ts";
 * const line = resolveCmdline({
 *   commandLine: "single",
 *   reuse: true,
 *   procCmdline: new TextEncoder().encode("BOOT_IMAGE=/k root=/dev/vda\n"),
 *   crash: false,
 * });
 * if (line !== "root=/dev/vda single") throw new Error(line);
 * ```
 */
export function resolveCmdline(input: CmdlineInput): string {
  let line = input.commandLine ?? "";
  if (input.reuse) {
    if (input.procCmdline === undefined) {
      throw new KexecError("Failed to read /proc/cmdline (needed by --reuse-cmdline)", {
        exitCode: ExitCode.USAGE,
        hint: "mount /proc, or pass the command line with --append",
      });
    }
    const reused = reuseCmdline(input.procCmdline, input.crash);
    line = input.commandLine === undefined ? reused : `${reused} ${input.commandLine}`;
  }
  if (line.includes("\0")) {
    throw new KexecError("the command line contains a NUL byte", {
      hint: "the kernel would silently cut it there; remove it",
    });
  }
  return line;
}

/**
 * The bytes handed to the kernel: the raw command line plus the terminating
 * NUL, whose length is `cmdline_len` (kexec_file_load counts the NUL).
 *
 * @example
 * ```ts
 * import { cmdlineBytes } from "./cmdline.ts";
 * const b = cmdlineBytes("quiet x=\udcff");
 * if (b.length !== 10 || b[8] !== 0xff || b[9] !== 0) throw new Error(String(b));
 * ```
 */
export function cmdlineBytes(line: string): Uint8Array {
  const text = encodeRaw(line);
  const bytes = new Uint8Array(text.length + 1);
  bytes.set(text);
  return bytes;
}
