/**
 * What a system call costs under `kexec_load_limit_reboot` and
 * `kexec_load_limit_panic` (Linux ≥ 6.6, Documentation/admin-guide/sysctl/
 * kernel.rst).
 *
 * kexec_load_permitted() (kernel/kexec_core.c) decrements the limit of the
 * image type before anything else is looked at: kexec_load_check()
 * (kernel/kexec.c) and kexec_file_load (kernel/kexec_file.c) call it first and
 * only then reject unknown flags, too many segments or a NULL segment table.
 * So every call spends one load, even one that is refused with EINVAL or
 * EFAULT; the type is the crash limit when the flags carry KEXEC_ON_CRASH /
 * KEXEC_FILE_ON_CRASH, the reboot limit otherwise. A probe, or a retry
 * without an optional flag, can therefore spend the only load a limit of 1
 * allows. With a limit set (not -1) the tool sends no call it can avoid.
 *
 * @module
 */

import { KexecError } from "./errors.ts";
import type { HostFacts } from "./facts.ts";
import { describeErrno } from "./sys/errno.ts";
import type { System } from "./sys/system.ts";

/** /proc/sys/kernel/osrelease: the running kernel's release. */
export const OSRELEASE_PATH = "/proc/sys/kernel/osrelease";

/**
 * The loads left for the crash or the reboot image when a limit is set;
 * undefined when unlimited (-1) or when the kernel has no limits (< 6.6).
 *
 * @example
 * ```ts
 * import { loadsLeft } from "./load_limits.ts";
 * if (loadsLeft({ loadLimitPanic: 1, loadLimitReboot: -1 }, true) !== 1) throw new Error();
 * if (loadsLeft({ loadLimitPanic: 1, loadLimitReboot: -1 }, false) !== undefined) throw new Error();
 * ```
 */
export function loadsLeft(facts: HostFacts, crash: boolean): number | undefined {
  const limit = crash ? facts.loadLimitPanic : facts.loadLimitReboot;
  return limit === undefined || limit < 0 ? undefined : limit;
}

/**
 * The sysctl that limits loads of this image type, for messages.
 *
 * @example
 * ```ts
 * import { limitName } from "./load_limits.ts";
 * if (limitName(true) !== "kexec_load_limit_panic") throw new Error();
 * ```
 */
export function limitName(crash: boolean): string {
  return crash ? "kexec_load_limit_panic" : "kexec_load_limit_reboot";
}

/**
 * Whether the running kernel's release is at least `major.minor`, from
 * /proc/sys/kernel/osrelease; false when unknown.
 *
 * @example
 * ```ts
 * import { kernelAtLeast } from "./load_limits.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const sys = new RecordingSystem({ "/proc/sys/kernel/osrelease": "6.8.0-31-generic\n" });
 * if (!kernelAtLeast(sys, 6, 8) || kernelAtLeast(sys, 6, 9)) throw new Error();
 * if (kernelAtLeast(new RecordingSystem({}), 1, 0)) throw new Error();
 * ```
 */
export function kernelAtLeast(sys: System, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(sys.readText(OSRELEASE_PATH)?.trim() ?? "");
  if (!m) return false;
  const [have, sub] = [Number(m[1]), Number(m[2])];
  return have > major || (have === major && sub >= minor);
}

/**
 * Linux release that added KEXEC_FILE_DEBUG (kernel/kexec_file.c, "kexec_file:
 * add kexec_file flag to control debug printing").
 */
export const KEXEC_FILE_DEBUG_SINCE = [6, 8] as const;

/**
 * Under a load limit, whether `-d` may send KEXEC_FILE_DEBUG: only to kernels
 * known to take it, since a refusal would spend a load. Undefined when no
 * limit is set (then try it and retry without on EINVAL).
 *
 * @example
 * ```ts
 * import { fileDebugUnderLimit } from "./load_limits.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const old = new RecordingSystem({ "/proc/sys/kernel/osrelease": "6.1.0-57-amd64\n" });
 * if (fileDebugUnderLimit(old, { loadLimitPanic: 1 }, true)?.send !== false) throw new Error();
 * if (fileDebugUnderLimit(old, { loadLimitPanic: -1 }, true) !== undefined) throw new Error();
 * ```
 */
export function fileDebugUnderLimit(
  sys: System,
  facts: HostFacts,
  crash: boolean,
): { send: boolean; why: string } | undefined {
  const left = loadsLeft(facts, crash);
  if (left === undefined) return undefined;
  if (kernelAtLeast(sys, ...KEXEC_FILE_DEBUG_SINCE)) {
    return { send: true, why: "the kernel knows KEXEC_FILE_DEBUG (6.8 or later)" };
  }
  return {
    send: false,
    why: `KEXEC_FILE_DEBUG not asked for: ${limitName(crash)} allows ${left} more load(s) and ` +
      "a kernel before 6.8 would refuse the flag, spending one",
  };
}

/**
 * The error for a failed kexec_file_load that spent the last load the limit
 * allowed (`facts` read after it), so the kexec_load fallback could only get
 * EPERM; undefined when loads are left or there is no limit.
 *
 * @example
 * ```ts
 * import { lastLoadSpent } from "./load_limits.ts";
 * const e = lastLoadSpent({ loadLimitPanic: 0 }, true, 8);
 * if (!e?.message.includes("kexec_load_limit_panic")) throw new Error();
 * if (lastLoadSpent({ loadLimitPanic: 1 }, true, 8) !== undefined) throw new Error();
 * ```
 */
export function lastLoadSpent(
  facts: HostFacts,
  crash: boolean,
  errno: number,
): KexecError | undefined {
  if (loadsLeft(facts, crash) !== 0) return undefined;
  return new KexecError(
    `kexec_file_load failed with ${describeErrno(errno)}, and that spent the last load ` +
      `${limitName(crash)} allowed: kexec_load was not tried; nothing was loaded`,
    {
      hint: "every load call counts against the limit (Linux 6.6 and later); load with -c " +
        "to use kexec_load directly, after a reboot or with a larger limit",
      syscall: "kexec_file_load",
      errno,
    },
  );
}
