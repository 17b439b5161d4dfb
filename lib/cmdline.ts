/**
 * The new kernel's command line: reuse of /proc/cmdline, stripping, and the
 * bytes passed to the kernel.
 *
 * @module
 */

import { KexecError } from "./errors.ts";

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

/** Parameter names dropped from a reused command line, by image type. */
function dropped(crash: boolean): string[] {
  // BOOT_IMAGE= and initrd= name boot-loader files the new kernel cannot use;
  // crashkernel= in a crash kernel would try to reserve memory again.
  return crash ? ["BOOT_IMAGE", "initrd", "crashkernel"] : ["BOOT_IMAGE", "initrd"];
}

/**
 * /proc/cmdline as the next kernel should get it (`--reuse-cmdline`).
 *
 * @example
 * ```ts
 * import { reuseCmdline } from "./cmdline.ts";
 * const line = reuseCmdline("BOOT_IMAGE=/vmlinuz root=/dev/vda crashkernel=256M quiet\n", true);
 * if (line !== "root=/dev/vda quiet") throw new Error(line);
 * ```
 */
export function reuseCmdline(procCmdline: string, crash: boolean): string {
  const drop = dropped(crash);
  return splitKernelArgs(procCmdline)
    .filter((arg) => !drop.includes(arg.split("=", 1)[0]))
    .join(" ");
}

/** What decides the command line. */
export interface CmdlineInput {
  /** `--command-line`/`--append` (last one given). */
  readonly commandLine?: string;
  /** `--reuse-cmdline` was given. */
  readonly reuse: boolean;
  /** Contents of /proc/cmdline (needed only with `reuse`). */
  readonly procCmdline?: string;
  /** Loading a crash kernel (-p). */
  readonly crash: boolean;
}

/**
 * The command line to pass: `--append` text alone, or the reused line followed
 * by it (kexec-tools' semantics: `--append` replaces unless `--reuse-cmdline`).
 * Refuses a NUL byte, which would silently cut the line short in the kernel.
 *
 * @example
 * ```ts
 * import { resolveCmdline } from "./cmdline.ts";
 * const line = resolveCmdline({
 *   commandLine: "single",
 *   reuse: true,
 *   procCmdline: "BOOT_IMAGE=/k root=/dev/vda\n",
 *   crash: false,
 * });
 * if (line !== "root=/dev/vda single") throw new Error(line);
 * ```
 */
export function resolveCmdline(input: CmdlineInput): string {
  let line = input.commandLine ?? "";
  if (input.reuse) {
    if (input.procCmdline === undefined) {
      throw new KexecError("--reuse-cmdline: cannot read /proc/cmdline", {
        hint: "mount /proc, or pass the command line with --append",
      });
    }
    const reused = reuseCmdline(input.procCmdline, input.crash);
    line = [reused, line].filter((s) => s !== "").join(" ");
  }
  if (line.includes("\0")) {
    throw new KexecError("the command line contains a NUL byte", {
      hint: "the kernel would silently cut it there; remove it",
    });
  }
  return line;
}

/**
 * The bytes handed to the kernel: UTF-8 text plus the terminating NUL, whose
 * length is `cmdline_len` (kexec_file_load counts the NUL).
 *
 * @example
 * ```ts
 * import { cmdlineBytes } from "./cmdline.ts";
 * const b = cmdlineBytes("quiet");
 * if (b.length !== 6 || b[5] !== 0) throw new Error("not NUL-terminated");
 * ```
 */
export function cmdlineBytes(line: string): Uint8Array {
  const text = new TextEncoder().encode(line);
  const bytes = new Uint8Array(text.length + 1);
  bytes.set(text);
  return bytes;
}
