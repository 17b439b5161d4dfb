/**
 * Which system call a load uses, decided before either is made:
 * kexec_file_load unless the command line is too long for it, --dtb needs
 * kexec_load, or the kernel's file loader is known to refuse the image; and
 * kexec_load only when asked or in auto mode outside lockdown. A refusal that
 * can be predicted is raised here, before any call, because both syscalls
 * free a loaded crash kernel before they look at the new image.
 *
 * @module
 */

import { cmdlineTooLong } from "../arch/check.ts";
import type { ImageCheck } from "../arch/mod.ts";
import { ExitCode, KexecError } from "../errors.ts";
import type { HostFacts } from "../facts.ts";
import type { Reporter } from "../report.ts";
import type { LoadRequest } from "./request.ts";

/** What {@link chooseSyscalls} decides from. */
export interface SyscallChoiceInput {
  /** The request (its syscall mode and kernel path). */
  readonly req: LoadRequest;
  /** What the kernel's format found about the image and command line. */
  readonly check: ImageCheck;
  /** The host (for the lockdown mode in messages). */
  readonly facts: HostFacts;
  /** Lockdown rules kexec_load out. */
  readonly locked: boolean;
  /** Bytes of the command line, without NUL. */
  readonly cmdlineLength: number;
  /** The --dtb bytes, when given. */
  readonly dtb: Uint8Array | undefined;
  /** Why the kernel's file loader would refuse the image, if it would. */
  readonly fileLoaderRefusal: string | undefined;
  /** The plan's notes; each choice away from kexec_file_load adds one. */
  readonly notes: string[];
  /** Where -d lines go. */
  readonly rep: Reporter;
}

/**
 * Decides which syscalls may be tried (kexec_file_load first when
 * `useFile`); throws a {@link KexecError} when neither can take the load.
 *
 * @example
 * ```ts
 * import { chooseSyscalls } from "./choose_syscall.ts";
 * import { silentReporter } from "../report.ts";
 * import type { HostFacts } from "../facts.ts";
 * const notes: string[] = [];
 * const c = chooseSyscalls({
 *   req: { kernel: "/boot/vmlinuz", initrds: [], crash: false, syscall: "auto" },
 *   check: { notes: [], fitsFileLoad: false, fitsSegmentLoad: true },
 *   facts: {} as HostFacts,
 *   locked: false,
 *   cmdlineLength: 5000,
 *   dtb: undefined,
 *   fileLoaderRefusal: undefined,
 *   notes,
 *   rep: silentReporter,
 * });
 * if (c.useFile || !c.useLoad || notes.length !== 1) throw new Error();
 * ```
 */
export function chooseSyscalls(input: SyscallChoiceInput): { useFile: boolean; useLoad: boolean } {
  const { req, check, facts, locked, cmdlineLength, dtb, fileLoaderRefusal, notes, rep } = input;
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
  return { useFile, useLoad };
}

/**
 * Why kexec_load is out under lockdown, in the words every refusal uses:
 * "the kernel is locked down (integrity), which refuses kexec_load".
 */
export function lockdownRefusesKexecLoad(facts: HostFacts): string {
  return `the kernel is locked down (${facts.lockdown}), which refuses kexec_load`;
}
