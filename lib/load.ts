/**
 * Loading a kernel: open and check the files, plan, choose the system call
 * (kexec_file_load first; kexec_load after an errno on which kexec-tools' auto
 * mode falls back too, never under lockdown), call it, explain failures. The
 * only side effects go through the {@link System}.
 *
 * @module
 */

import { KEXEC_FILE_DEBUG, PATHS } from "./abi.ts";
import { syscallError } from "./diagnose.ts";
import { ExitCode, KexecError } from "./errors.ts";
import { type HostFacts, lockedDown, parseFlag, readHostFacts } from "./facts.ts";
import { kernelForFileLoad, type LoadInputs, prepareLoadInputs } from "./image/load_inputs.ts";
import { MemfdImageStore } from "./image/store.ts";
import { requireFitsCrashRegion } from "./plan/crash_fit.ts";
import { describeFileFlags, planFileLoad } from "./plan/file_load.ts";
import { segmentTable } from "./plan/segment_table.ts";
import { validateSegmentPlan } from "./plan/validate.ts";
import type { FileLoadPlan, LoadPlan, SegmentLoadPlan, SyscallMode } from "./plan/types.ts";
import { cmdlineTooLong } from "./arch/check.ts";
import { architecture, type KernelFormat } from "./arch/mod.ts";
import { fileDebugUnderLimit, lastLoadSpent, loadsLeft } from "./load_limits.ts";
import type { Reporter } from "./report.ts";
import { describeErrno, Errno } from "./sys/errno.ts";
import type { OpenedFile, System } from "./sys/system.ts";
import { encodeRaw } from "./raw_text.ts";

/** What to load and how. */
export interface LoadRequest {
  /** Kernel image path. */
  readonly kernel: string;
  /** Initrd paths, concatenated in order (after any initrd the image embeds). */
  readonly initrds: readonly string[];
  /**
   * The resolved command line (see `resolveCmdline`), a raw string: bytes that
   * are not UTF-8 are carried as U+DC80..U+DCFF and reach the kernel unchanged
   * (lib/raw_text.ts; `decodeRaw` makes one from bytes); undefined when the
   * user gave none: the image's embedded one (a UKI's `.cmdline`) is used, else "".
   */
  readonly cmdline?: string;
  /** `--module "FILE ARGS"` arguments, in order (Multiboot kernels only). */
  readonly modules?: readonly string[];
  /** `--extra-file HOST[:GUEST]`: files added to the initrd as a newc archive. */
  readonly extraFiles?: readonly { readonly host: string; readonly guest: string }[];
  /** `--uki-profile N`: the profile of a multi-profile UKI (default 0). */
  readonly ukiProfile?: number;
  /** Load the crash (kdump) image. */
  readonly crash: boolean;
  /** Which syscall(s) may be used. */
  readonly syscall: SyscallMode;
  /** Plan and print only. */
  readonly dryRun?: boolean;
  /** Explain every step (never changes what is sent). */
  readonly debug?: boolean;
  /** Skip the purgatory SHA-256 check (kexec_load). */
  readonly noChecks?: boolean;
  /** KEXEC_FILE_NO_CMA. */
  readonly noCma?: boolean;
  /** KEXEC_FILE_FORCE_DTB. */
  readonly forceDtb?: boolean;
  /** --mem-min: the lowest address a segment may use (kexec_load). */
  readonly memMin?: number;
  /** --mem-max: the highest address a segment may use (kexec_load). */
  readonly memMax?: number;
  /** -t TYPE. */
  readonly type?: string;
  /** --load-preserve-context: KEXEC_PRESERVE_CONTEXT (kexec_load only). */
  readonly preserveContext?: boolean;
  /** --dtb: the device tree the new kernel gets (kexec_load of a format that takes one). */
  readonly dtb?: string;
}

/** One system call made (or, for a dry run, that would be made). */
export interface Attempt {
  /** The syscall. */
  readonly syscall: "kexec_file_load" | "kexec_load";
  /** The flags it was given. */
  readonly flags: number;
  /** 0 on success. */
  readonly errno: number;
}

/** What {@link loadKernel} did. */
export interface LoadResult {
  /** The syscall that loaded the image; undefined for a dry run. */
  readonly used?: "kexec_file_load" | "kexec_load";
  /** The plans built, in the order they would be tried. */
  readonly plans: readonly LoadPlan[];
  /** The calls made, in order. */
  readonly attempts: readonly Attempt[];
  /** Lockdown ruled kexec_load out (auto mode then never falls back). */
  readonly locked: boolean;
}

/**
 * errno values after which auto mode falls back to kexec_load, as kexec-tools
 * does (kexec/kexec.c, do_kexec_file_load: ENOSYS, EINVAL, ENOEXEC, ENOTSUP).
 */
export const FALLBACK_ERRNOS: readonly number[] = [
  Errno.ENOSYS,
  Errno.EINVAL,
  Errno.ENOEXEC,
  Errno.EOPNOTSUPP,
];

function image(crash: boolean): string {
  return crash ? "crash kernel" : "kernel";
}

/**
 * Loads a kernel (or, with `dryRun`, only plans it). Throws a
 * {@link KexecError} with the errno, its cause and advice when the kernel
 * refuses.
 *
 * @example
 * ```ts
 * import { loadKernel } from "./load.ts";
 * import { silentReporter } from "./report.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * // A minimal bzImage header: boot flag, "HdrS", protocol 2.15, 64-bit, above 4 GiB.
 * const k = new Uint8Array(0x3000);
 * const v = new DataView(k.buffer);
 * k[0x1f1] = 1;
 * v.setUint16(0x1fe, 0xaa55, true);
 * v.setUint16(0x200, 0x6aeb, true);
 * v.setUint32(0x202, 0x53726448, true);
 * v.setUint16(0x206, 0x020f, true);
 * k[0x211] = 1;
 * v.setUint32(0x230, 0x200000, true);
 * v.setUint16(0x236, 3, true);
 * v.setUint32(0x238, 2047, true);
 * v.setUint32(0x260, 0x800000, true);
 * const sys = new RecordingSystem({ "/boot/vmlinuz": k });
 * const r = await loadKernel(sys, {
 *   kernel: "/boot/vmlinuz", initrds: [], cmdline: "quiet", crash: false, syscall: "file",
 * }, silentReporter);
 * const [call] = sys.callsOf("kexec_file_load");
 * if (r.used !== "kexec_file_load" || call.flags !== 0x4 || call.cmdline?.length !== 6) {
 *   throw new Error("unexpected call");
 * }
 * ```
 */
export async function loadKernel(
  sys: System,
  req: LoadRequest,
  rep: Reporter,
): Promise<LoadResult> {
  const arch = architecture(sys.arch);
  // Kexec jump's checks are imported only for a load that asks for it.
  const kjump = req.preserveContext ? await import("./kjump.ts") : undefined;
  kjump?.kexecJumpOf(arch); // before any file is opened
  const facts = readHostFacts(sys);
  if (req.crash && facts.crashSize === 0) {
    // Both syscalls would fail with a bare EADDRNOTAVAIL after freeing nothing;
    // say what is missing instead, as kexec-tools' main() does.
    const { crashNotReserved } = await import("./crash/region.ts");
    throw crashNotReserved(`${PATHS.kexecCrashSize} is 0`);
  }
  const opened: OpenedFile[] = [];
  const store = new MemfdImageStore(sys);
  try {
    const inputs = await prepareLoadInputs(sys, arch, req, opened, store);
    const { resolved, cmdline, initrd } = inputs;
    const kernelBytes = resolved.bytes;
    for (const line of resolved.notes) rep.debug(line);
    for (const line of inputs.warnings) rep.warn(line);

    const moduleFiles = openModules(sys, req, resolved.format, kernelBytes, opened);
    const initrdSize = initrd?.size ?? 0;
    if (req.crash && facts.crashSize !== undefined) {
      requireFitsCrashRegion({
        kernelPath: req.kernel,
        kernelSize: kernelBytes.length,
        initrdPaths: inputs.initrdParts,
        initrdSize,
        crashSize: facts.crashSize,
      });
    }

    const cmdlineLength = encodeRaw(cmdline).length;
    const check = await resolved.format.check({
      bytes: kernelBytes,
      path: req.kernel,
      cmdlineLength,
      wideUserAddresses: sys.fiveLevelPaging(),
      pageSize: sys.pageSize,
    });
    const dtb = req.dtb === undefined
      ? undefined
      : readDeviceTree(sys, req, resolved.format.name, resolved.format.deviceTree, opened);
    const fileLoaderRefusal = resolved.format.fileLoad === true
      ? check.fileLoaderRefusal
      : resolved.format.fileLoad;
    const notes: string[] = [
      `kernel: ${resolved.format.describe(kernelBytes)}, ${kernelBytes.length} bytes`,
      ...inputs.notes,
      ...check.notes,
    ];
    const plans: LoadPlan[] = [];
    const attempts: Attempt[] = [];
    const locked = lockedDown(facts);
    let useFile = req.syscall !== "load";
    const useLoad = req.syscall === "load" || (req.syscall === "auto" && !locked);
    if (useFile && !check.fitsFileLoad) {
      if (!useLoad || !check.fitsSegmentLoad) {
        const [max, syscall] = useLoad
          ? [check.segmentLoadMax!, "either syscall"]
          : [check.fileLoadMax!, "kexec_file_load"];
        const e = cmdlineTooLong(cmdlineLength, max, req.kernel, syscall);
        if (locked && req.syscall === "auto" && check.fitsSegmentLoad) {
          throw new KexecError(
            `${e.message}; kexec_load would accept it, but ${lockdownRefusesKexecLoad(facts)}`,
            { hint: e.hint },
          );
        }
        throw e;
      }
      // The file loader would refuse the line with EINVAL; go straight to kexec_load.
      notes.push("command line too long for kexec_file_load: using kexec_load");
      useFile = false;
    }
    if (!useFile && !check.fitsSegmentLoad) {
      throw cmdlineTooLong(cmdlineLength, check.segmentLoadMax!, req.kernel, "kexec_load");
    }
    if (useFile && dtb) {
      if (!useLoad) {
        throw new KexecError(
          `--dtb needs kexec_load (kexec_file_load builds its own device tree), but ` +
            lockdownRefusesKexecLoad(facts),
          { exitCode: ExitCode.USAGE, hint: "drop --dtb" },
        );
      }
      const why = "--dtb: using kexec_load (kexec_file_load builds its own device tree)";
      notes.push(why);
      rep.debug(why);
      useFile = false;
    }
    if (useFile && fileLoaderRefusal) {
      // Predicted ENOEXEC: not asking the kernel keeps a loaded crash kernel,
      // which both syscalls free before they look at the new image.
      const why = `kexec_file_load would refuse kernel ${req.kernel}: ${fileLoaderRefusal} ` +
        "(the kernel answers ENOEXEC)";
      if (req.syscall === "file") {
        throw new KexecError(`${why}; nothing was loaded`, {
          exitCode: ExitCode.FILE_SYSCALL_UNAVAILABLE,
          hint: "use kexec_load with -c",
        });
      }
      if (!useLoad) {
        throw new KexecError(
          `${why}; kexec_load would accept it, but ${lockdownRefusesKexecLoad(facts)}`,
          { hint: "use a signed kernel that sets XLF_CAN_BE_LOADED_ABOVE_4G" },
        );
      }
      notes.push(`${why}: using kexec_load`);
      rep.debug(`${why}: using kexec_load`);
      useFile = false;
    }

    let filePlan: FileLoadPlan | undefined;
    if (useFile) {
      // An unwrapped kernel reaches the kernel through a sealed memfd, never a temp file.
      filePlan = planFileLoad({
        kernel: kernelForFileLoad(sys, inputs, store, opened),
        initrd,
        initrdPaths: inputs.initrdParts,
        cmdline,
        crash: req.crash,
        noCma: req.noCma,
        forceDtb: req.forceDtb,
        notes,
      });
      plans.push(filePlan);
    }
    // Kexec jump: an architecture that has it, CONFIG_KEXEC_JUMP (not asked
    // under a load limit), and a window clear of this kernel's RAM (whose
    // size the half-of-RAM limit counts).
    const preserve = kjump?.checkPreserveContext(sys, req, rep);
    // In auto mode the segment plan is built only when it is needed (after a
    // fallback-class errno) or to show it in a dry run.
    const segmentPlan = async (): Promise<SegmentLoadPlan> => {
      const initrdBytes = initrd === null ? null : sys.mapFile(initrd);
      const plan = await resolved.format.planSegments(sys, {
        kernelPath: req.kernel,
        kernel: kernelBytes,
        initrd: initrdBytes,
        cmdline,
        crash: req.crash,
        verify: !req.noChecks,
        memMin: req.memMin,
        memMax: req.memMax,
        preserveContext: req.preserveContext,
        modules: moduleFiles.map((m) => ({ ...m, bytes: sys.mapFile(m.file) })),
        dtb,
        dtbPath: req.dtb,
        facts,
      });
      validateSegmentPlan(plan, {
        pageSize: sys.pageSize,
        crashRegion: plan.crashRegion,
        ramBytes: preserve?.ramBytes ?? plan.ramBytes,
      });
      // What was unwrapped and how the initrd was made, before the placements.
      return { ...plan, notes: [...inputs.notes, ...plan.notes] };
    };

    if (req.dryRun) {
      if (useLoad) {
        try {
          plans.push(await segmentPlan());
        } catch (e) {
          if (!useFile) throw e;
          // A fallback that could not be planned is part of the answer, not an error.
          rep.warn(`kexec_load fallback could not be planned: ${(e as Error).message}`);
        }
      }
      return { plans, attempts, locked };
    }

    if (filePlan) {
      const errno = callFile(sys, filePlan, req.debug ?? false, attempts, rep, facts, req.crash);
      if (errno === 0) {
        return confirm(sys, req, inputs, rep, "kexec_file_load", { plans, attempts, locked });
      }
      const fallbackClass = FALLBACK_ERRNOS.includes(errno);
      if (req.syscall === "file" || !fallbackClass || locked) {
        const e = syscallError(
          errno,
          {
            call: "kexec_file_load",
            syscall: "kexec_file_load",
            crash: req.crash,
            facts: readHostFacts(sys),
          },
          req.syscall === "file" && fallbackClass
            ? ExitCode.FILE_SYSCALL_UNAVAILABLE
            : ExitCode.FAILURE,
        );
        if (req.syscall === "file" || !fallbackClass) throw e;
        throw new KexecError(
          `${e.message}; not falling back to kexec_load because ` +
            lockdownRefusesKexecLoad(facts),
          { hint: e.hint, syscall: e.syscall, errno: e.errno },
        );
      }
      const spent = lastLoadSpent(readHostFacts(sys), req.crash, errno);
      if (spent) throw spent;
      rep.debug(
        `kexec_file_load failed with ${describeErrno(errno)}; falling back to kexec_load`,
      );
    }

    const plan = await segmentPlan();
    plans.push(plan);
    const errno = callSegments(sys, plan, attempts, rep);
    if (errno === 0) {
      return confirm(sys, req, inputs, rep, "kexec_load", { plans, attempts, locked });
    }
    const first = attempts.find((a) => a.syscall === "kexec_file_load");
    const err = syscallError(errno, {
      call: "kexec_load",
      syscall: "kexec_load",
      crash: req.crash,
      facts: readHostFacts(sys),
    });
    if (req.preserveContext && errno === Errno.EINVAL && loadsLeft(facts, false) !== undefined) {
      // requireKexecJump did not ask beforehand (it would have spent a load).
      throw new KexecError(
        `${err.message}; KEXEC_PRESERVE_CONTEXT needs a kernel built with CONFIG_KEXEC_JUMP`,
        { hint: err.hint, syscall: err.syscall, errno: err.errno },
      );
    }
    if (!first) throw err;
    throw new KexecError(
      `${err.message} (after kexec_file_load failed with ${describeErrno(first.errno)})`,
      { hint: err.hint, syscall: err.syscall, errno: err.errno },
    );
  } finally {
    for (const f of opened) sys.close(f);
    store.close();
  }
}

/** The --dtb file's bytes; a usage error when the kernel's format takes no device tree. */
function readDeviceTree(
  sys: System,
  req: LoadRequest,
  format: string,
  takesDeviceTree: boolean | undefined,
  opened: OpenedFile[],
): Uint8Array {
  if (!takesDeviceTree) {
    throw new KexecError(`--dtb: a ${format} kernel is not booted with a device tree`, {
      exitCode: ExitCode.USAGE,
      hint: "drop --dtb",
    });
  }
  if (req.syscall === "file") {
    throw new KexecError(
      "--dtb works with kexec_load only: kexec_file_load builds the device tree itself",
      { exitCode: ExitCode.USAGE, hint: "drop -s (or use -c), or drop --dtb" },
    );
  }
  const file = sys.openFile(req.dtb!, "device tree");
  opened.push(file);
  return sys.mapFile(file);
}

/**
 * Opens every `--module "FILE ARGS"` (FILE is the text before the first
 * space) before any system call, and refuses modules for formats that do
 * not take them.
 */
function openModules(
  sys: System,
  req: LoadRequest,
  format: KernelFormat,
  kernel: Uint8Array,
  opened: OpenedFile[],
): { path: string; cmdline: string; file: OpenedFile }[] {
  const modules = req.modules ?? [];
  if (modules.length > 0 && !format.takesModules) {
    throw new KexecError(
      `--module is for Multiboot kernels, not for kernel ${req.kernel} (${
        format.describe(kernel)
      })`,
      { exitCode: ExitCode.USAGE, hint: "drop --module, or load a Multiboot kernel such as Xen" },
    );
  }
  return modules.map((arg) => {
    const path = arg.split(" ", 1)[0];
    if (path === "") {
      throw new KexecError(`--module '${arg}' names no file`, {
        exitCode: ExitCode.USAGE,
        hint: 'give --module "FILE ARGS", the file first',
      });
    }
    const file = sys.openFile(path, "module");
    opened.push(file);
    return { path, cmdline: arg, file };
  });
}

/**
 * Why kexec_load is out under lockdown, in the words every refusal uses:
 * "the kernel is locked down (integrity), which refuses kexec_load".
 */
function lockdownRefusesKexecLoad(facts: HostFacts): string {
  return `the kernel is locked down (${facts.lockdown}), which refuses kexec_load`;
}

function callFile(
  sys: System,
  plan: FileLoadPlan,
  debug: boolean,
  attempts: Attempt[],
  rep: Reporter,
  facts: HostFacts,
  crash: boolean,
): number {
  const initrdFd = plan.initrd ? plan.initrd.fd : -1;
  const call = (flags: number) => {
    rep.debug(
      `kexec_file_load(kernel_fd=${plan.kernel.fd}, initrd_fd=${initrdFd}, ` +
        `cmdline_len=${plan.cmdlineBytes.length}, flags=0x${flags.toString(16)} ` +
        `[${describeFileFlags(flags).join("|")}])`,
    );
    const errno = sys.kexecFileLoad(plan.kernel.fd, initrdFd, plan.cmdlineBytes, flags);
    attempts.push({ syscall: "kexec_file_load", flags, errno });
    rep.debug(`kexec_file_load: ${errno === 0 ? "ok" : describeErrno(errno)}`);
    return errno;
  };
  if (!debug) return call(plan.flags);
  // -d asks the kernel to print its placement too, but must never change the
  // outcome: kernels before 6.8 reject the bit with EINVAL, so retry without.
  // Under a load limit the refused call would spend a load (load_limits.ts):
  // then the bit is sent only to kernels known to take it.
  const limited = fileDebugUnderLimit(sys, facts, crash);
  if (limited) {
    if (limited.send) return call(plan.flags | KEXEC_FILE_DEBUG);
    rep.debug(limited.why);
    return call(plan.flags);
  }
  const errno = call(plan.flags | KEXEC_FILE_DEBUG);
  return errno === Errno.EINVAL ? call(plan.flags) : errno;
}

function callSegments(
  sys: System,
  plan: SegmentLoadPlan,
  attempts: Attempt[],
  rep: Reporter,
): number {
  for (const line of plan.notes) rep.debug(line);
  const table = segmentTable(plan.segments, (b) => sys.addressOf(b));
  rep.debug(
    `kexec_load(entry=0x${plan.entry.toString(16)}, nr_segments=${plan.segments.length}, ` +
      `flags=0x${plan.flags.toString(16)})`,
  );
  const errno = sys.kexecLoad(
    BigInt(plan.entry),
    table,
    plan.segments.length,
    plan.flags,
    plan.segments.map((s) => s.buf),
  );
  attempts.push({ syscall: "kexec_load", flags: plan.flags, errno });
  rep.debug(`kexec_load: ${errno === 0 ? "ok" : describeErrno(errno)}`);
  return errno;
}

function confirm(
  sys: System,
  req: LoadRequest,
  inputs: LoadInputs,
  rep: Reporter,
  used: "kexec_file_load" | "kexec_load",
  result: Omit<LoadResult, "used">,
): LoadResult {
  const state = parseFlag(sys.readText(req.crash ? PATHS.kexecCrashLoaded : PATHS.kexecLoaded));
  const modules = req.modules?.length ? `; ${req.modules.length} module(s)` : "";
  const parts = inputs.initrdParts;
  const initrd = (parts.length === 0 ? "no initrd" : `initrd ${parts.join(" + ")}`) + modules;
  const check = state === true ? "" : " (warning: sysfs does not show it as loaded)";
  rep.info(
    `loaded ${image(req.crash)} ${req.kernel} with ${used} (${initrd}; command line ` +
      `${encodeRaw(inputs.cmdline).length} bytes)${check}`,
  );
  return { ...result, used };
}
