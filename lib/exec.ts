/**
 * Booting the loaded kernel: guard → sync → interfaces down → reboot(KEXEC).
 * The guard comes first and must positively see a loaded image: kexec-tools
 * treats an unreadable /sys/kernel/kexec_loaded as "loaded" and then takes the
 * network down before failing (cli-compat.md §9.1). Nothing destructive happens
 * before the guard passes.
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
 * reads 1. A missing or unreadable file counts as not loaded.
 *
 * @example
 * ```ts
 * import { requireLoadedImage } from "./exec.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * let refused = false;
 * try { requireLoadedImage(new RecordingSystem({})); } catch { refused = true; }
 * if (!refused) throw new Error("a missing kexec_loaded must count as not loaded");
 * ```
 */
export function requireLoadedImage(sys: System): void {
  const text = sys.readText(PATHS.kexecLoaded);
  const loaded = parseFlag(text);
  if (loaded === true) return;
  const why = text === undefined
    ? `${PATHS.kexecLoaded} is missing: this kernel has no kexec support, or sysfs is not mounted`
    : "no kernel is loaded";
  throw new KexecError(`Nothing has been loaded! (${why})`, {
    exitCode: ExitCode.USAGE,
    hint: text === undefined
      ? "mount sysfs (mount -t sysfs sysfs /sys) or use a kernel with CONFIG_KEXEC"
      : "load one first with kexec -l KERNEL",
  });
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
 * Boots the loaded kernel. Returns only for a dry run (with the steps) or
 * throws when reboot(2) fails.
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
  requireLoadedImage(sys);
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
  throw syscallError(errno, {
    call: "reboot",
    syscall: "reboot",
    crash: false,
    facts: readHostFacts(sys),
  });
}
