/**
 * Turns scanned options into one {@link Invocation}: the steps to take, in
 * kexec-tools' order (status → unload → load → exec → jump-back helper), and
 * how. The steps come from kexec-tools' own option state machine
 * (`state.ts`), then its checks after the loop (kexec/kexec.c main()): a
 * crash load needs reserved memory, `--load-preserve-context` needs
 * `--mem-max`, load-only options without a load are bogus, KEXEC_PRESERVE_CONTEXT
 * cannot go through kexec_file_load.
 *
 * Where this tool deliberately differs (README, "Differences from
 * kexec-tools"), it does so here: a plain `kexec KERNEL` only loads; sync and
 * interface shutdown happen only right before an exec; a command line that
 * misses its kernel changes nothing; `--load-preserve-context` and
 * `--load-jump-back-helper` use kexec_load in the default mode; some
 * combinations that kexec-tools resolves into nonsense are refused.
 *
 * @module
 */

import type { Arch } from "../abi.ts";
import { architecture } from "../arch/mod.ts";
import { ExitCode, KexecError, usageError } from "../errors.ts";
import { parseExtraFile } from "../initramfs/extra_file.ts";
import { checkType, compatOption } from "./arch_options.ts";
import { scanArgs, type ScanResult } from "./getopt.ts";
import { UNSUPPORTED_REASONS } from "./options.ts";
import { applyOption, finishOptions, initialState, type MainState } from "./state.ts";
import type { SyscallMode } from "./state.ts";
import { addressOption, secondsOption } from "./values.ts";

export type { SyscallMode };
export { parseAddress } from "./values.ts";

/** One thing the command does, in the order they are done. */
export type Step =
  | { readonly kind: "status"; readonly image: "normal" | "crash" }
  | { readonly kind: "unload"; readonly crash: boolean }
  | { readonly kind: "load"; readonly crash: boolean; readonly preserveContext: boolean }
  | { readonly kind: "exec"; readonly sync: boolean; readonly ifdown: boolean }
  | { readonly kind: "jump-back-helper" };

/** A fully interpreted command line. */
export interface Invocation {
  /** `run` the steps, or answer at once (options that end kexec-tools' loop). */
  readonly action: "help" | "version" | "print-ckr-size" | "run";
  /** Exit code for `help` (`-?` exits 1, like getopt's unknown option). */
  readonly helpExitCode: number;
  /** What to do, in order. */
  readonly steps: readonly Step[];
  /** Kernel path (first positional). */
  readonly kernel?: string;
  /**
   * A load step has no kernel: refused with `No kernel specified` (exit 255)
   * before any step, once a crash load has found its memory reserved.
   */
  readonly missingKernel: boolean;
  /** Initrds in order (all of them are used). */
  readonly initrds: readonly string[];
  /** `--module "FILE ARGS"` arguments, in order (Multiboot kernels). */
  readonly modules: readonly string[];
  /** --command-line/--append value (the last one wins), a raw string. */
  readonly commandLine?: string;
  /** --reuse-cmdline. */
  readonly reuseCmdline: boolean;
  /** --extra-file HOST[:GUEST], in order. */
  readonly extraFiles: readonly { readonly host: string; readonly guest: string }[];
  /** --uki-profile N. */
  readonly ukiProfile?: number;
  /** Syscall choice (default auto). */
  readonly syscall: SyscallMode;
  /** -t TYPE when a kexec_load planner serves it. */
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
  /** How long to wait for sync before booting anyway. */
  readonly syncTimeoutMs: number;
  readonly debug: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  /** Plain `kexec KERNEL` with no action: load only (see README). */
  readonly implicitLoad: boolean;
  /** Notes for the user about ignored input. */
  readonly warnings: readonly string[];
}

/** Default time to wait for sync(2) before booting anyway. */
export const DEFAULT_SYNC_TIMEOUT_MS = 30_000;

/** Options (besides the action flags) gathered while kexec-tools' loop runs. */
interface Gathered {
  initrds: string[];
  modules: string[];
  extraFiles: { host: string; guest: string }[];
  ukiProfile?: number;
  dtb?: string;
  commandLine?: string;
  reuseCmdline: boolean;
  type?: string;
  memMin?: number;
  memMax?: number;
  entry?: number;
  syncTimeoutMs: number;
  noChecks: boolean;
  noCma: boolean;
  forceDtb: boolean;
  debug: boolean;
  dryRun: boolean;
  json: boolean;
  /** Load-only options given (x86_64's "bogus without a load" set), as spelled. */
  loadOnly: string[];
  /** Refusals of unsupported options, raised after the loop as kexec-tools does. */
  refusals: KexecError[];
  warnings: string[];
}

type Ending = { readonly end: "help"; readonly code: number } | {
  readonly end: "version" | "print-ckr-size";
};

/**
 * Interprets argv for the architecture `arch`.
 *
 * @example
 * ```ts
 * import { parseInvocation } from "./invocation.ts";
 * const inv = parseInvocation(
 *   ["--load", "/boot/vmlinuz", "--append", "quiet", "--initrd", "/i"],
 *   "x86_64",
 * );
 * if (inv.steps.map((s) => s.kind).join() !== "load" || inv.commandLine !== "quiet") {
 *   throw new Error("systemd's invocation misread");
 * }
 * ```
 */
export function parseInvocation(argv: readonly string[], arch: Arch): Invocation {
  return interpret(scanArgs(argv), arch);
}

/**
 * Interprets an already scanned command line (see {@link parseInvocation}).
 *
 * @example
 * ```ts
 * import { interpret } from "./invocation.ts";
 * import { scanArgs } from "./getopt.ts";
 * const inv = interpret(scanArgs(["-p", "-u"]), "x86_64");
 * if (JSON.stringify(inv.steps) !== '[{"kind":"unload","crash":true}]') throw new Error();
 * ```
 */
export function interpret(scan: ScanResult, arch: Arch): Invocation {
  const state = initialState();
  const got: Gathered = {
    initrds: [],
    modules: [],
    extraFiles: [],
    reuseCmdline: false,
    syncTimeoutMs: DEFAULT_SYNC_TIMEOUT_MS,
    noChecks: false,
    noCma: false,
    forceDtb: false,
    debug: false,
    dryRun: false,
    json: false,
    loadOnly: [],
    refusals: [],
    warnings: [],
  };
  const ending = runOptionLoop(scan, state, got, arch);
  const { loadOnly: _loadOnly, refusals: _refusals, ...options } = got;
  const base = {
    helpExitCode: 0,
    steps: [],
    missingKernel: false,
    kernel: scan.positionals[0],
    syscall: state.syscall,
    implicitLoad: false,
    ...options,
  };
  if (ending) {
    const action = ending.end;
    return { ...base, action, helpExitCode: ending.end === "help" ? ending.code : 0 };
  }
  finishOptions(state);
  checkAfterLoop(state, got);
  const syscall = chooseSyscall(state);
  refuseCombinations(state, got);
  const steps = planSteps(state);
  const loads = steps.some((s) => s.kind === "load");
  const warnings = [...got.warnings, ...positionalWarnings(scan, steps)];
  return {
    ...base,
    action: "run",
    steps,
    syscall,
    type: loads ? checkType(got.type, syscall, arch) : undefined,
    missingKernel: loads && scan.positionals[0] === undefined,
    implicitLoad: state.load && state.shutdown,
    warnings,
  };
}

// main()'s getopt loop: options in order, the action flags into `state`, the
// rest gathered; -h, -v, -? and --print-ckr-size end it where they stand.
function runOptionLoop(
  scan: ScanResult,
  state: MainState,
  got: Gathered,
  arch: Arch,
): Ending | undefined {
  const cli = architecture(arch).cli;
  for (const event of scan.events) {
    if ("error" in event) throw event.error;
    const { spec, spelled } = event;
    const value = event.value ?? "";
    const long = spelled.startsWith("--") ? spelled.slice(2) : spec.long[0];
    if (long !== undefined && cli.loadOnly.has(long)) got.loadOnly.push(spelled);
    switch (spec.id) {
      case "help":
        return { end: "help", code: ExitCode.OK };
      case "help-usage":
        return { end: "help", code: ExitCode.USAGE };
      case "version":
        return { end: "version" };
      case "print-ckr-size":
        return { end: "print-ckr-size" };
      case "initrd":
        if (value === "") throw usageError(`option ${spelled} needs a file name`);
        got.initrds.push(value);
        break;
      case "module":
        if (value === "") throw usageError(`option ${spelled} needs "FILE ARGS"`);
        got.modules.push(value);
        break;
      case "command-line":
        got.commandLine = value;
        break;
      case "reuse-cmdline":
        got.reuseCmdline = true;
        break;
      case "extra-file":
        if (value === "") throw usageError(`option ${spelled} needs a file name`);
        got.extraFiles.push(parseExtraFile(value));
        break;
      case "uki-profile":
        if (!/^\d{1,4}$/.test(value)) {
          throw usageError(
            `option ${spelled}: '${value}' is not a profile number`,
            "give 0, 1, 2, … as systemd-stub numbers profiles (@0 is the default)",
          );
        }
        got.ukiProfile = Number(value);
        break;
      case "type":
        got.type = value;
        break;
      case "dtb":
        // Where no format takes a device tree (x86_64), kexec-tools' loader ignores it too.
        if (cli.effects["dtb"]) {
          compatOption("dtb", spelled, arch, got.warnings, got.refusals);
          break;
        }
        if (value === "") throw usageError(`option ${spelled} needs a file name`);
        got.dtb = value;
        break;
      case "mem-min":
        got.memMin = addressOption(value, spelled);
        break;
      case "mem-max":
        got.memMax = addressOption(value, spelled);
        break;
      case "entry":
        got.entry = addressOption(value, spelled);
        break;
      case "sync-timeout":
        got.syncTimeoutMs = secondsOption(value, spelled);
        break;
      case "no-checks":
      case "no-cma":
      case "force-dtb":
      case "dry-run":
      case "json":
      case "debug":
        got[flagName(spec.id)] = true;
        break;
      case "compat":
        compatOption(long ?? spelled, spelled, arch, got.warnings, got.refusals);
        break;
      case "args-linux":
        // What an ELF vmlinux always gets where one is loaded; elsewhere a compat option.
        if (cli.effects["args-linux"]) {
          compatOption("args-linux", spelled, arch, got.warnings, got.refusals);
        }
        break;
      case "hotplug":
        got.warnings.push(
          `option ${spelled} has no effect here: the crash kernel's ELF core header is not ` +
            "updated on hotplug; reload the crash kernel after CPU or memory hotplug",
        );
        break;
      case "unsupported":
        got.refusals.push(
          usageError(`option ${spelled} is not supported`, UNSUPPORTED_REASONS[long ?? ""]),
        );
        break;
    }
    applyOption(state, spec.id);
  }
  return undefined;
}

function flagName(
  id: "no-checks" | "no-cma" | "force-dtb" | "dry-run" | "json" | "debug",
): "noChecks" | "noCma" | "forceDtb" | "dryRun" | "json" | "debug" {
  const names = {
    "no-checks": "noChecks",
    "no-cma": "noCma",
    "force-dtb": "forceDtb",
    "dry-run": "dryRun",
    "json": "json",
    "debug": "debug",
  } as const;
  return names[id];
}

// main()'s checks between the loop and the first action, in its order (the
// crash-region check, first there, needs the machine: run.ts and load.ts).
function checkAfterLoop(state: MainState, got: Gathered): void {
  if (state.load && state.kexecFlags === "preserve" && got.memMax === undefined) {
    throw usageError(
      "--load-preserve-context requires --mem-max",
      "the preserved kernel's memory must stay above the image: give --mem-max=ADDR",
    );
  }
  if (!state.load && got.loadOnly.length > 0) {
    const canceled = state.hasOptLoad
      ? "a later -e, -u or --load-jump-back-helper canceled -l (the last action wins); " +
        "load and boot in two runs: kexec -l KERNEL ...; kexec -e"
      : "these options only apply when a kernel is loaded";
    throw usageError(
      `option ${got.loadOnly[0]} is given, but this command line does not load a kernel`,
      canceled,
    );
  }
  if (state.syscall === "file" && state.jumpBackHelper) {
    throw usageError(
      "--load-jump-back-helper not supported with kexec_file_load",
      "drop -s: the helper is loaded with kexec_load",
    );
  }
  if (state.syscall === "file" && state.kexecFlags === "preserve") {
    throw usageError(
      "--load-preserve-context not supported with kexec_file_load",
      "drop -s: KEXEC_PRESERVE_CONTEXT exists for kexec_load only",
    );
  }
  if (got.refusals.length > 0) throw got.refusals[0];
  if (got.memMin !== undefined && got.memMax !== undefined && got.memMin > got.memMax) {
    throw usageError(
      `--mem-min (0x${got.memMin.toString(16)}) is above --mem-max (0x${got.memMax.toString(16)})`,
      "swap the values",
    );
  }
}

// KEXEC_PRESERVE_CONTEXT exists for kexec_load only: where kexec-tools'
// default mode dies, this tool uses kexec_load (what -c asks for).
function chooseSyscall(state: MainState): SyscallMode {
  return state.syscall === "auto" && state.kexecFlags === "preserve" ? "load" : state.syscall;
}

// Combinations kexec-tools turns into nonsense (a helper loaded as the crash
// image, an entry point forced onto a kernel's purgatory): refused.
function refuseCombinations(state: MainState, got: Gathered): void {
  if (state.jumpBackHelper && state.load) {
    throw usageError(
      "--load-jump-back-helper loads only the helper, but a later -l, -p, -f or " +
        "--load-preserve-context asks for a kernel load too",
      "load the kernel and the helper in separate runs",
    );
  }
  if (state.load && state.kexecFlags === "preserve" && state.fileCrash) {
    throw usageError(
      "--load-preserve-context after -p: a crash kernel cannot preserve context",
      "the kernel refuses KEXEC_PRESERVE_CONTEXT together with KEXEC_ON_CRASH; drop one",
    );
  }
  if (state.load && got.entry !== undefined) {
    throw usageError(
      "--entry with a kernel load: this kexec always enters through its purgatory",
      "--entry applies to --load-jump-back-helper only",
    );
  }
}

function planSteps(state: MainState): Step[] {
  if (state.status) {
    // finishOptions() gives kexec-tools' answer, which is the normal image
    // after -d (KEXEC_DEBUG makes kexec_flags non-zero); here -d never
    // changes which image -S asks about.
    const image = state.kexecFlags === "crash" || (state.kexecFlags === "none" && !state.hasOptLoad)
      ? "crash"
      : "normal";
    return [{ kind: "status", image }];
  }
  const steps: Step[] = [];
  const crash = state.kexecFlags === "crash";
  if (state.unload) steps.push({ kind: "unload", crash });
  if (state.load) {
    steps.push({ kind: "load", crash, preserveContext: state.kexecFlags === "preserve" });
  }
  // Sync and interface shutdown only right before an exec; kexec-tools also
  // runs them after -l, -e -l and --load-jump-back-helper (README).
  if (state.exec) steps.push({ kind: "exec", sync: state.sync, ifdown: state.ifdown });
  else if (state.jumpBackHelper) steps.push({ kind: "jump-back-helper" });
  return steps;
}

function positionalWarnings(scan: ScanResult, steps: readonly Step[]): string[] {
  const [kernel, ...extra] = scan.positionals;
  const warnings: string[] = [];
  if (kernel !== undefined && !steps.some((s) => s.kind === "load")) {
    const exec = steps.some((s) => s.kind === "exec")
      ? " (-e boots the kernel already loaded; -f KERNEL loads and boots at once)"
      : "";
    warnings.push(`${kernel} is ignored: this command line loads no kernel${exec}`);
  }
  if (extra.length > 0) warnings.push(`extra arguments ignored: ${extra.join(" ")}`);
  return warnings;
}

/**
 * kexec-tools' refusal of a load without a kernel path (exit 255).
 *
 * @example
 * ```ts
 * import { noKernelError } from "./invocation.ts";
 * if (noKernelError().exitCode !== 255) throw new Error();
 * ```
 */
export function noKernelError(): KexecError {
  return new KexecError("No kernel specified", {
    hint: "give the kernel image path, e.g. kexec -l /boot/vmlinuz; nothing was done",
  });
}
