/**
 * Unloading the normal or crash image. kexec_file_load's UNLOAD goes first:
 * it also works under lockdown and IMA, where kexec_load's unload is refused
 * (kernel/kexec.c kexec_load_check runs the lockdown and IMA hooks for an
 * unload too; kexec-tools does the same, kexec/kexec.c kexec_file_unload).
 * Either syscall unloads what the other loaded.
 *
 * @module
 */

import type { Arch } from "./abi.ts";
import { hostArchAbi } from "./arch/abi.ts";
import { syscallError } from "./diagnose.ts";
import { ExitCode } from "./errors.ts";
import { readHostFacts } from "./facts.ts";
import { fileUnloadFlags, segmentUnloadFlags } from "./plan/file_load.ts";
import type { SyscallMode } from "./plan/types.ts";
import type { Reporter } from "./report.ts";
import { describeErrno, Errno } from "./sys/errno.ts";
import type { System } from "./sys/system.ts";

/** What to unload and how. */
export interface UnloadRequest {
  /** Unload the crash (kdump) image instead of the normal one. */
  readonly crash: boolean;
  /** Which syscall(s) may be used: auto tries kexec_file_load, then kexec_load after ENOSYS. */
  readonly syscall: SyscallMode;
  /** Say which calls would be made, and make none. */
  readonly dryRun?: boolean;
}

/** The calls an unload makes, in order (the second only after ENOSYS in auto mode). */
export interface UnloadStep {
  /** The syscall. */
  readonly syscall: "kexec_file_load" | "kexec_load";
  /** Its flags (KEXEC_FILE_UNLOAD, or KEXEC_ON_CRASH and the architecture for kexec_load). */
  readonly flags: number;
}

/**
 * The calls an unload would make.
 *
 * @example
 * ```ts
 * import { unloadSteps } from "./unload.ts";
 * const steps = unloadSteps({ crash: true, syscall: "auto" }, "x86_64");
 * if (steps[0].flags !== 0x3 || steps[1].flags !== 0x3e0001) throw new Error();
 * ```
 */
export function unloadSteps(req: UnloadRequest, arch: Arch): UnloadStep[] {
  const file = { syscall: "kexec_file_load" as const, flags: fileUnloadFlags(req.crash) };
  const seg = {
    syscall: "kexec_load" as const,
    flags: segmentUnloadFlags(req.crash, hostArchAbi(arch).kexecArch),
  };
  if (req.syscall === "file") return [file];
  if (req.syscall === "load") return [seg];
  return [file, seg];
}

/**
 * Unloads an image; throws a KexecError explaining a failure.
 *
 * @example
 * ```ts
 * import { unloadKernel } from "./unload.ts";
 * import { silentReporter } from "./report.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const sys = new RecordingSystem({}, { fileLoadErrnos: [38] }); // no kexec_file_load
 * const steps = unloadKernel(sys, { crash: true, syscall: "auto" }, silentReporter);
 * if (steps.length !== 2 || sys.callsOf("kexec_load")[0].flags !== 0x3e0001) throw new Error();
 * ```
 */
export function unloadKernel(sys: System, req: UnloadRequest, rep: Reporter): UnloadStep[] {
  const steps = unloadSteps(req, sys.arch);
  if (req.dryRun) return steps;
  const what = req.crash ? "crash kernel" : "kernel";
  for (const [i, step] of steps.entries()) {
    rep.debug(`${step.syscall}(unload, flags=0x${step.flags.toString(16)})`);
    const errno = step.syscall === "kexec_file_load"
      ? sys.kexecFileLoad(-1, -1, null, step.flags)
      : sys.kexecLoad(0n, new BigUint64Array(0), 0, step.flags, []);
    rep.debug(`${step.syscall}(unload): ${errno === 0 ? "ok" : describeErrno(errno)}`);
    if (errno === 0) {
      rep.info(`unloaded the ${what}`);
      return steps.slice(0, i + 1);
    }
    const last = i === steps.length - 1;
    // Only a missing kexec_file_load justifies trying the other syscall.
    if (!last && errno === Errno.ENOSYS) continue;
    const exitCode = req.syscall === "file" && errno === Errno.ENOSYS
      ? ExitCode.FILE_SYSCALL_UNAVAILABLE
      : ExitCode.FAILURE;
    throw syscallError(errno, {
      call: "unload",
      syscall: step.syscall,
      crash: req.crash,
      facts: readHostFacts(sys),
    }, exitCode);
  }
  return steps;
}
