/**
 * Turns scanned options into one {@link Invocation}: what to do and how.
 * This is where kexec-tools' order quirks are replaced by plain rules
 * (cli-compat.md §4, §9): the result does not depend on option order, and
 * contradictory requests are refused instead of half-done.
 *
 * @module
 */

import { usageError } from "../errors.ts";
import { parseExtraFile } from "../initramfs/compose.ts";
import { scanArgs, type ScanResult } from "./getopt.ts";
import type { OptionId } from "./options.ts";

/** What the command does. */
export type Action =
  | "load"
  | "exec"
  | "load-exec"
  | "unload"
  | "status"
  | "print-ckr-size"
  | "jump-back-helper"
  | "help"
  | "version";

export type { SyscallMode } from "../plan/types.ts";
import type { SyscallMode } from "../plan/types.ts";

/** A fully interpreted command line. */
export interface Invocation {
  readonly action: Action;
  /** The crash (kdump) image is meant (-p). */
  readonly crash: boolean;
  /** Image whose state decides the `-S` exit code. */
  readonly statusImage: "normal" | "crash";
  /** Kernel path (first positional). */
  readonly kernel?: string;
  /** Initrds in order (all of them are used). */
  readonly initrds: readonly string[];
  /** --command-line/--append value (last one wins). */
  readonly commandLine?: string;
  /** --reuse-cmdline. */
  readonly reuseCmdline: boolean;
  /** --extra-file HOST[:GUEST], in order. */
  readonly extraFiles: readonly { readonly host: string; readonly guest: string }[];
  /** --uki-profile N. */
  readonly ukiProfile?: number;
  /** Syscall choice (default auto). */
  readonly syscall: SyscallMode;
  /** -t TYPE. */
  readonly type?: string;
  /** --dtb FILE. */
  readonly dtb?: string;
  /** --mem-min / --mem-max as numbers. */
  readonly memMin?: number;
  readonly memMax?: number;
  /** --entry. */
  readonly entry?: number;
  readonly noChecks: boolean;
  readonly noCma: boolean;
  readonly forceDtb: boolean;
  readonly noIfdown: boolean;
  readonly noSync: boolean;
  /** How long to wait for sync before booting anyway. */
  readonly syncTimeoutMs: number;
  readonly debug: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly preserveContext: boolean;
  readonly jumpBackHelper: boolean;
  /** Testing hook: segment to corrupt after planning (kexec_load only). */
  readonly testCorruptSegment?: string;
  /** Plain `kexec KERNEL` with no action: load only (see README). */
  readonly implicitLoad: boolean;
  /** Exit code for `help` (`-?` exits 1, like getopt's unknown option). */
  readonly helpExitCode: number;
  /** Notes for the user about ignored input. */
  readonly warnings: readonly string[];
}

/** Default time to wait for sync(2) before booting anyway. */
export const DEFAULT_SYNC_TIMEOUT_MS = 30_000;

const ADDRESS_HINT = "use a number such as 0x1000000, 16777216 or 16M";

/**
 * Parses an address or size like strtoul(…, 0) does (`0x` hex, leading `0`
 * octal, else decimal), plus optional K/M/G binary suffixes. Refuses
 * negatives, garbage and values beyond 2^53 with a usage error naming the option.
 *
 * @example
 * ```ts
 * import { parseAddress } from "./invocation.ts";
 * if (parseAddress("0x1000", "--mem-min") !== 4096) throw new Error("hex");
 * if (parseAddress("16M", "--mem-max") !== 16 * 1024 * 1024) throw new Error("suffix");
 * let failed = false;
 * try { parseAddress("abc", "--mem-min"); } catch { failed = true; }
 * if (!failed) throw new Error("abc accepted");
 * ```
 */
export function parseAddress(text: string, option: string): number {
  const t = text.trim();
  if (t.startsWith("-")) {
    throw usageError(`option ${option}: '${text}' is negative`, ADDRESS_HINT);
  }
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgG]?)$/.exec(t);
  if (!m) throw usageError(`option ${option}: '${text}' is not a number`, ADDRESS_HINT);
  const [, digits, suffix] = m;
  let value: bigint;
  if (/^0[xX]/.test(digits)) value = BigInt(digits);
  else if (digits.length > 1 && digits.startsWith("0")) value = BigInt(`0o${digits.slice(1)}`);
  else value = BigInt(digits);
  const shift = { "": 0n, k: 10n, m: 20n, g: 30n }[suffix.toLowerCase()] ?? 0n;
  value <<= shift;
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw usageError(`option ${option}: '${text}' is too large`, "addresses must be below 2^53");
  }
  return Number(value);
}

// setTimeout fires at once for a delay beyond 2^31 - 1 ms (about 24.8 days),
// which would give up on sync(2) immediately instead of waiting.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function parseSeconds(text: string, option: string): number {
  const v = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(v) || v <= 0) {
    throw usageError(`option ${option}: '${text}' is not a positive number of seconds`);
  }
  const ms = Math.round(v * 1000);
  if (ms < 1 || ms > MAX_TIMEOUT_MS) {
    throw usageError(
      `option ${option}: '${text}' is out of range`,
      `give between 0.001 and ${Math.floor(MAX_TIMEOUT_MS / 1000)} seconds`,
    );
  }
  return ms;
}

const UNSUPPORTED: Record<string, string> = {
  "real-mode": "16/32-bit entry is not supported; kernels are entered through the 64-bit entry",
  "entry-32bit": "16/32-bit entry is not supported; kernels are entered through the 64-bit entry",
  "reuseinitrd": "reusing the first boot's initrd is not supported; pass it with --initrd",
  "pass-memmap-cmdline":
    "the crash kernel's memory map is always passed in boot_params (e820), not as memmap=",
  "load-live-update": "Xen live update is not supported",
  "exec-live-update": "Xen live update is not supported",
  "module": "multiboot modules are not supported",
};

/**
 * Interprets argv.
 *
 * @example
 * ```ts
 * import { parseInvocation } from "./invocation.ts";
 * const inv = parseInvocation(["--load", "/boot/vmlinuz", "--append", "quiet", "--initrd", "/i"]);
 * if (inv.action !== "load" || inv.commandLine !== "quiet" || inv.initrds[0] !== "/i") {
 *   throw new Error("systemd's invocation misread");
 * }
 * ```
 */
export function parseInvocation(argv: readonly string[]): Invocation {
  return interpret(scanArgs(argv));
}

/**
 * Interprets an already scanned command line (see {@link parseInvocation}).
 *
 * @example
 * ```ts
 * import { interpret } from "./invocation.ts";
 * import { scanArgs } from "./getopt.ts";
 * if (interpret(scanArgs(["-p", "-u"])).action !== "unload") throw new Error();
 * ```
 */
export function interpret(scan: ScanResult): Invocation {
  const seen = new Set<OptionId>();
  const warnings: string[] = [];
  const initrds: string[] = [];
  const extraFiles: { host: string; guest: string }[] = [];
  let ukiProfile: number | undefined;
  const modes = new Map<string, string>();
  let commandLine: string | undefined;
  let type: string | undefined;
  let dtb: string | undefined;
  let memMinText: [string, string] | undefined;
  let memMaxText: [string, string] | undefined;
  let entryText: [string, string] | undefined;
  let syncTimeoutMs = DEFAULT_SYNC_TIMEOUT_MS;
  let testCorruptSegment: string | undefined;

  for (const opt of scan.options) {
    seen.add(opt.spec.id);
    const value = opt.value ?? "";
    switch (opt.spec.id) {
      case "initrd":
        if (value === "") throw usageError(`option ${opt.spelled} needs a file name`);
        initrds.push(value);
        break;
      case "command-line":
        commandLine = value;
        break;
      case "extra-file":
        if (value === "") throw usageError(`option ${opt.spelled} needs a file name`);
        extraFiles.push(parseExtraFile(value));
        break;
      case "uki-profile":
        if (!/^\d{1,4}$/.test(value)) {
          throw usageError(
            `option ${opt.spelled}: '${value}' is not a profile number`,
            "give 0, 1, 2, … as systemd-stub numbers profiles (@0 is the default)",
          );
        }
        ukiProfile = Number(value);
        break;
      case "type":
        type = value;
        break;
      case "dtb":
        if (value === "") throw usageError(`option ${opt.spelled} needs a file name`);
        dtb = value;
        break;
      case "mem-min":
        memMinText = [value, opt.spelled];
        break;
      case "mem-max":
        memMaxText = [value, opt.spelled];
        break;
      case "entry":
        entryText = [value, opt.spelled];
        break;
      case "test-corrupt-segment":
        testCorruptSegment = value;
        break;
      case "sync-timeout":
        syncTimeoutMs = parseSeconds(value, opt.spelled);
        break;
      case "file-syscall":
        modes.set("file", opt.spelled);
        break;
      case "load-syscall":
        modes.set("load", opt.spelled);
        break;
      case "auto-syscall":
        modes.set("auto", opt.spelled);
        break;
      case "unsupported": {
        const name = opt.spelled.replace(/^--/, "");
        throw usageError(
          `option ${opt.spelled} is not supported`,
          UNSUPPORTED[name] ?? "see 'kexec --help'",
        );
      }
      case "ignored":
        warnings.push(`option ${opt.spelled} has no effect here and is ignored`);
        break;
    }
  }

  const memMin = memMinText ? parseAddress(...memMinText) : undefined;
  const memMax = memMaxText ? parseAddress(...memMaxText) : undefined;
  if (memMin !== undefined && memMax !== undefined && memMin > memMax) {
    throw usageError(
      `--mem-min (0x${memMin.toString(16)}) is above --mem-max (0x${memMax.toString(16)})`,
      "swap the values",
    );
  }
  const entry = entryText ? parseAddress(...entryText) : undefined;

  if (modes.size > 1) {
    const spelled = [...modes.values()].join(" and ");
    throw usageError(
      `conflicting options ${spelled}: choose one system call mode`,
      "-s = kexec_file_load only, -c = kexec_load only, -a = automatic (default)",
    );
  }
  const syscall = (modes.keys().next().value ?? "auto") as SyscallMode;

  const kernel = scan.positionals[0];
  if (scan.positionals.length > 1) {
    warnings.push(`extra arguments ignored: ${scan.positionals.slice(1).join(" ")}`);
  }

  const has = (id: OptionId) => seen.has(id);
  const crash = has("load-panic");
  const base = {
    crash,
    statusImage: (has("load") && !crash ? "normal" : "crash") as "normal" | "crash",
    kernel,
    initrds,
    commandLine,
    reuseCmdline: has("reuse-cmdline"),
    extraFiles,
    ukiProfile,
    syscall,
    type,
    dtb,
    memMin,
    memMax,
    entry,
    noChecks: has("no-checks"),
    noCma: has("no-cma"),
    forceDtb: has("force-dtb"),
    noIfdown: has("no-ifdown"),
    noSync: has("no-sync"),
    syncTimeoutMs,
    debug: has("debug"),
    dryRun: has("dry-run"),
    json: has("json"),
    preserveContext: has("load-preserve-context"),
    jumpBackHelper: has("load-jump-back-helper"),
    implicitLoad: false,
    testCorruptSegment,
    helpExitCode: 0,
    warnings,
  };

  if (has("help") || has("help-usage")) {
    return { ...base, action: "help", helpExitCode: has("help") ? 0 : 1 };
  }
  if (has("version")) return { ...base, action: "version" };
  // kexec-tools: -S overrides every other action.
  if (has("status")) return { ...base, action: "status" };
  if (has("print-ckr-size")) return { ...base, action: "print-ckr-size" };

  const needKernel = (what: string) => {
    if (kernel === undefined) {
      throw usageError(`No kernel specified: ${what} needs a KERNEL path`, "kexec -l KERNEL");
    }
  };

  if (has("load-jump-back-helper")) {
    for (const other of ["load", "load-panic", "exec", "force", "unload"] as const) {
      if (has(other)) {
        throw usageError(
          `conflicting options: --load-jump-back-helper loads only the helper, but --${other} ` +
            "was also given",
        );
      }
    }
    if (syscall === "file") {
      throw usageError("--load-jump-back-helper needs kexec_load; it cannot be used with -s");
    }
    return { ...base, action: "jump-back-helper", syscall: "load" };
  }

  if (has("unload")) {
    for (const other of ["load", "exec", "force"] as const) {
      if (has(other)) {
        throw usageError(
          `conflicting options: -u unloads, but --${other} was also given`,
          "unload and load in two separate runs",
        );
      }
    }
    if (kernel !== undefined) warnings.push(`-u ignores the kernel path ${kernel}`);
    return { ...base, action: "unload" };
  }

  if (has("force") || has("exec")) {
    if (crash) {
      throw usageError(
        "conflicting options: a crash kernel (-p) is started by a panic, not by -e/-f",
        "load it with -p alone",
      );
    }
    if (has("force") && kernel !== undefined) return { ...base, action: "load-exec" };
    if (has("exec") && has("load")) {
      needKernel("-l -e");
      return { ...base, action: "load-exec" };
    }
    if (has("force") && !has("exec")) needKernel("-f");
    if (kernel !== undefined) warnings.push(`-e boots the loaded kernel; ${kernel} is ignored`);
    return { ...base, action: "exec" };
  }

  if (has("load-preserve-context")) {
    if (crash) {
      throw usageError(
        "conflicting options: --load-preserve-context cannot load a crash kernel (-p)",
        "the kernel refuses KEXEC_PRESERVE_CONTEXT together with KEXEC_ON_CRASH",
      );
    }
    if (syscall === "file") {
      throw usageError(
        "--load-preserve-context needs kexec_load; it cannot be used with -s",
        "drop -s (kexec_load is then used)",
      );
    }
    if (memMax === undefined) {
      throw usageError(
        "--load-preserve-context requires --mem-max",
        "the preserved kernel's memory must stay above the image: give --mem-max=ADDR",
      );
    }
    needKernel("--load-preserve-context");
    return { ...base, action: "load", syscall: "load" };
  }
  if (has("load") || crash) {
    needKernel(crash ? "-p" : "-l");
    return { ...base, action: "load" };
  }
  if (kernel !== undefined) return { ...base, action: "load", implicitLoad: true };
  throw usageError("nothing to do: no action and no kernel given", "see 'kexec --help'");
}
