/**
 * kexec-tools' main() option loop (kexec/kexec.c, 2.0.32), bit for bit: each
 * action option sets and clears the same do_load, do_exec, do_shutdown,
 * do_sync, do_ifdown, do_unload, do_load_jump_back_helper and kexec_flags
 * variables in the same order, so that a command line means here what it
 * means there, quirks included (`-e -l K` loads, `-l -e K` boots the loaded
 * kernel, the last of -s/-c/-a wins). What this tool then does with the
 * state, and where it deliberately differs, is `invocation.ts`.
 *
 * @module
 */

import type { SyscallMode } from "../plan/types.ts";
import type { OptionId } from "./options.ts";

export type { SyscallMode };

/**
 * The last assignment to kexec_flags among the options that assign it:
 * `-p` (KEXEC_ON_CRASH), `--load-preserve-context` and
 * `--load-jump-back-helper` (KEXEC_PRESERVE_CONTEXT). `-d` ORs KEXEC_DEBUG in
 * and a later assignment drops it again.
 */
export type KexecFlagsSource = "none" | "crash" | "preserve";

/** main()'s variables after its option loop. */
export interface MainState {
  load: boolean;
  exec: boolean;
  shutdown: boolean;
  sync: boolean;
  ifdown: boolean;
  unload: boolean;
  status: boolean;
  jumpBackHelper: boolean;
  /** has_opt_load: `-l` was given at all. */
  hasOptLoad: boolean;
  /** kexec_flags' assigned part. */
  kexecFlags: KexecFlagsSource;
  /** KEXEC_DEBUG is still in kexec_flags. */
  debugFlag: boolean;
  /** KEXEC_FILE_ON_CRASH is in kexec_file_flags (ORed by every `-p`, never cleared). */
  fileCrash: boolean;
  /** do_kexec_file_syscall and do_kexec_fallback: the last of -s, -c, -a. */
  syscall: SyscallMode;
  skipSync: boolean;
  skipIfdown: boolean;
}

/**
 * The variables' initial values: load and shut down (a plain `kexec KERNEL`),
 * sync on, ifdown off, `-a` the default since kexec-tools 2.0.27.
 *
 * @example
 * ```ts
 * import { initialState } from "./state.ts";
 * const s = initialState();
 * if (!s.load || !s.shutdown || s.exec || s.syscall !== "auto") throw new Error();
 * ```
 */
export function initialState(): MainState {
  return {
    load: true,
    exec: false,
    shutdown: true,
    sync: true,
    ifdown: false,
    unload: false,
    status: false,
    jumpBackHelper: false,
    hasOptLoad: false,
    kexecFlags: "none",
    debugFlag: false,
    fileCrash: false,
    syscall: "auto",
    skipSync: false,
    skipIfdown: false,
  };
}

/**
 * Applies one option as main()'s switch does. Options main() ignores (the
 * loader's and the architecture's, and this tool's own) leave the state as
 * it is; `-h`, `-v`, `-?` and `--print-ckr-size` end the loop before this.
 *
 * @example
 * ```ts
 * import { applyOption, initialState } from "./state.ts";
 * const s = initialState();
 * applyOption(s, "exec");
 * applyOption(s, "load");
 * // -e then -l: the load wins, and -e's sync and ifdown stay set.
 * if (!s.load || s.exec || !s.sync || !s.ifdown) throw new Error(JSON.stringify(s));
 * ```
 */
export function applyOption(s: MainState, id: OptionId): void {
  switch (id) {
    case "debug":
      s.debugFlag = true;
      break;
    case "no-ifdown":
      s.skipIfdown = true;
      break;
    case "no-sync":
      s.skipSync = true;
      break;
    case "force":
      Object.assign(s, { load: true, shutdown: false, sync: true, ifdown: true, exec: true });
      break;
    case "load":
      Object.assign(s, { hasOptLoad: true, load: true, exec: false, shutdown: false });
      break;
    case "unload":
      Object.assign(s, { load: false, shutdown: false, sync: false, unload: true });
      break;
    case "exec":
      Object.assign(s, { load: false, shutdown: false, sync: true, ifdown: true, exec: true });
      break;
    case "load-jump-back-helper":
      Object.assign(s, {
        load: false,
        shutdown: false,
        sync: true,
        ifdown: true,
        exec: false,
        jumpBackHelper: true,
        kexecFlags: "preserve",
        debugFlag: false,
      });
      break;
    case "load-preserve-context":
      Object.assign(s, {
        load: true,
        exec: false,
        shutdown: false,
        sync: true,
        kexecFlags: "preserve",
        debugFlag: false,
      });
      break;
    case "load-panic":
      Object.assign(s, {
        load: true,
        exec: false,
        shutdown: false,
        sync: false,
        fileCrash: true,
        kexecFlags: "crash",
        debugFlag: false,
      });
      break;
    case "file-syscall":
      s.syscall = "file";
      break;
    case "load-syscall":
      s.syscall = "load";
      break;
    case "auto-syscall":
      s.syscall = "auto";
      break;
    case "status":
      s.status = true;
      break;
  }
}

/**
 * What main() does right after the loop: `-x` and `-y` win over everything,
 * and `-S` cancels every other action. Returns the image `-S` asks about, as
 * kexec-tools decides it: the crash image unless kexec_flags is non-zero
 * (`-d`, `--load-preserve-context`…) or `-l` was given — or `-p` made it
 * KEXEC_ON_CRASH.
 *
 * @example
 * ```ts
 * import { applyOption, finishOptions, initialState } from "./state.ts";
 * const s = initialState();
 * applyOption(s, "load");
 * applyOption(s, "status");
 * if (finishOptions(s) !== "normal" || s.load) throw new Error();
 * ```
 */
export function finishOptions(s: MainState): "normal" | "crash" {
  if (s.skipIfdown) s.ifdown = false;
  if (s.skipSync) s.sync = false;
  let statusImage: "normal" | "crash" = s.kexecFlags === "crash" ? "crash" : "normal";
  if (s.status) {
    if (s.kexecFlags === "none" && !s.debugFlag && !s.hasOptLoad) statusImage = "crash";
    Object.assign(s, {
      load: false,
      unload: false,
      shutdown: false,
      sync: false,
      ifdown: false,
      exec: false,
      jumpBackHelper: false,
    });
  }
  return statusImage;
}
