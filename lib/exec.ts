/**
 * Booting the loaded kernel: guard → sync → interfaces down → reboot(KEXEC).
 * The guard comes first and must positively see a loaded image: kexec-tools'
 * kexec_loaded() (kexec/kexec.c) returns -1 for an unreadable
 * /sys/kernel/kexec_loaded, which its `!kexec_loaded()` test takes as
 * "loaded", so it syncs and takes the network down before reboot() fails.
 * Here nothing destructive happens before the guard passes. An initramfs
 * that has not mounted sysfs is asked in a private mount namespace, which
 * leaves the caller's mounts as they are.
 *
 * @module
 */

import { LINUX_REBOOT_CMD_KEXEC, PATHS } from "./abi.ts";
import { syscallError } from "./diagnose.ts";
import { ExitCode, KexecError } from "./errors.ts";
import { parseFlag, readHostFacts } from "./facts.ts";
import type { Reporter } from "./report.ts";
import { describeErrno } from "./sys/errno.ts";
import type { System } from "./sys/system.ts";

// Present whenever sysfs is mounted (kernel_kobj, kernel/ksysfs.c).
const SYS_KERNEL = "/sys/kernel";

/** How to boot. */
export interface ExecRequest {
  /** -y: skip sync. */
  readonly noSync: boolean;
  /** -x: keep interfaces up. */
  readonly noIfdown: boolean;
  /** Give up on sync after this long and boot anyway. */
  readonly syncTimeoutMs: number;
  /** Print the steps, do nothing. */
  readonly dryRun?: boolean;
  /**
   * A dry run right after a (dry-run) load: there is nothing loaded to check
   * for yet, so the guard is skipped. Ignored unless `dryRun`.
   */
  readonly afterLoad?: boolean;
}

/** The steps an exec takes, as planned after the guard. */
export interface ExecSteps {
  /** sync(2) first, with this timeout in ms; null = skipped (-y). */
  readonly syncTimeoutMs: number | null;
  /** Interfaces to bring down, in order ([] with -x). */
  readonly interfaces: readonly string[];
  /** The reboot command issued last. */
  readonly reboot: "LINUX_REBOOT_CMD_KEXEC";
}

/**
 * The interfaces kexec-tools brings down, in its order: `shaper*` first, then
 * the rest; never `lo` or alias names containing `:`.
 *
 * @example
 * ```ts
 * import { interfacesToBringDown } from "./exec.ts";
 * const order = interfacesToBringDown(["lo", "eth0", "shaper0", "eth0:1", "wlan0"]);
 * if (order.join(",") !== "shaper0,eth0,wlan0") throw new Error(order.join(","));
 * ```
 */
export function interfacesToBringDown(names: readonly string[]): string[] {
  const usable = names.filter((n) => n !== "lo" && !n.includes(":")).sort();
  return [
    ...usable.filter((n) => n.startsWith("shaper")),
    ...usable.filter((n) => !n.startsWith("shaper")),
  ];
}

/**
 * Throws `Nothing has been loaded!` (exit 1) unless /sys/kernel/kexec_loaded
 * reads 1. When sysfs is not mounted here (no /sys/kernel), it is mounted in
 * a private mount namespace first ({@link System.mountPrivateSysfs}); a
 * kernel without kexec, or a file that still cannot be read, counts as not
 * loaded.
 *
 * @example
 * ```ts
 * import { requireLoadedImage } from "./exec.ts";
 * import { silentReporter } from "./report.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * // sysfs not mounted: it is looked at privately, and shows a loaded kernel.
 * const files = { "/sys/kernel": { dir: ["kexec_loaded"] }, "/sys/kernel/kexec_loaded": "1\n" };
 * const sys = new RecordingSystem({}, { privateSysfs: { files } });
 * requireLoadedImage(sys, silentReporter);
 * if (sys.calls[0].op !== "mount_private_sysfs") throw new Error();
 * ```
 */
export function requireLoadedImage(sys: System, rep: Reporter): void {
  let text = sys.readText(PATHS.kexecLoaded);
  let mountErrno: number | undefined;
  if (text === undefined && sys.listDir(SYS_KERNEL) === undefined) {
    mountErrno = sys.mountPrivateSysfs();
    rep.debug(
      `sysfs is not mounted: private sysfs mount ${
        mountErrno === 0 ? "done" : `failed: ${describeErrno(mountErrno)}`
      }`,
    );
    if (mountErrno === 0) text = sys.readText(PATHS.kexecLoaded);
  }
  if (parseFlag(text) === true) return;
  let why = "no kernel is loaded";
  let hint = "load one first with kexec -l KERNEL";
  if (text === undefined && mountErrno !== undefined && mountErrno !== 0) {
    why = `sysfs is not mounted, and mounting it privately failed: ${describeErrno(mountErrno)}`;
    hint = "mount sysfs (mount -t sysfs sysfs /sys) and try again";
  } else if (text === undefined) {
    why = `${PATHS.kexecLoaded} is missing: this kernel has no kexec support`;
    hint = "boot a kernel built with CONFIG_KEXEC or CONFIG_KEXEC_FILE";
  }
  throw new KexecError(`Nothing has been loaded! (${why})`, { exitCode: ExitCode.USAGE, hint });
}

/**
 * Plans the steps after the guard.
 *
 * @example
 * ```ts
 * import { planExec } from "./exec.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const sys = new RecordingSystem({ "/sys/class/net": { dir: ["lo", "eth0"] } });
 * const steps = planExec(sys, { noSync: true, noIfdown: false, syncTimeoutMs: 1000 });
 * if (steps.syncTimeoutMs !== null || steps.interfaces.join() !== "eth0") throw new Error();
 * ```
 */
export function planExec(sys: System, req: ExecRequest): ExecSteps {
  return {
    syncTimeoutMs: req.noSync ? null : req.syncTimeoutMs,
    interfaces: req.noIfdown ? [] : interfacesToBringDown(sys.listDir(PATHS.netClass) ?? []),
    reboot: "LINUX_REBOOT_CMD_KEXEC",
  };
}

/**
 * Boots the loaded kernel. Returns for a dry run (with the steps) and when
 * the system came back: an image loaded with KEXEC_PRESERVE_CONTEXT (kexec
 * jump) returns to kernel_kexec() (kernel/kexec_core.c), which resumes this
 * kernel and makes reboot(2) return 0. Throws when reboot(2) fails.
 *
 * @example
 * ```ts
 * import { execKernel } from "./exec.ts";
 * import { silentReporter } from "./report.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const sys = new RecordingSystem({ "/sys/kernel/kexec_loaded": "1\n" });
 * const steps = await execKernel(sys, {
 *   noSync: false, noIfdown: true, syncTimeoutMs: 1000, dryRun: true,
 * }, silentReporter);
 * if (steps.reboot !== "LINUX_REBOOT_CMD_KEXEC" || sys.calls.length !== 0) throw new Error();
 * ```
 */
export async function execKernel(
  sys: System,
  req: ExecRequest,
  rep: Reporter,
): Promise<ExecSteps> {
  if (!(req.dryRun && req.afterLoad)) requireLoadedImage(sys, rep);
  const steps = planExec(sys, req);
  if (req.dryRun) return steps;

  if (steps.syncTimeoutMs !== null) {
    rep.debug("sync");
    const done = await sys.sync(steps.syncTimeoutMs);
    if (!done) {
      rep.warn(
        `sync did not finish within ${steps.syncTimeoutMs / 1000} s (a dead network mount?); ` +
          "booting anyway",
      );
    }
  }
  for (const name of steps.interfaces) {
    const errno = sys.setInterfaceDown(name);
    rep.debug(`interface ${name} down: ${errno === 0 ? "ok" : describeErrno(errno)}`);
  }
  sys.kmsg("kexec: starting the loaded kernel");
  rep.debug("reboot(LINUX_REBOOT_CMD_KEXEC)");
  const errno = sys.reboot(LINUX_REBOOT_CMD_KEXEC);
  if (errno === 0) {
    rep.info("the system came back: the image jumped back to this kernel (kexec jump)");
    return steps;
  }
  throw syscallError(errno, {
    call: "reboot",
    syscall: "reboot",
    crash: false,
    facts: readHostFacts(sys),
  });
}
