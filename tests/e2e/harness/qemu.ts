/**
 * Runs one QEMU guest under TCG with a hard timeout and returns its serial
 * output: the console (kernel messages and scripts' output) and the results
 * port (only the E2E lines the guest scripts write). Which devices those are
 * depends on the architecture (./arch.ts).
 *
 * @module
 */

import { type GuestArch, guestArch } from "./arch.ts";

/** What to boot and how. */
export interface QemuRun {
  /** `qemu-system-x86_64` or `qemu-system-aarch64`. */
  qemu: string;
  /** Guest architecture (default x86_64). */
  arch?: GuestArch;
  /** Kernel image (bzImage, arm64 Image). */
  kernel: string;
  /** Initramfs file. */
  initrd: string;
  /** Kernel command line of the first kernel. */
  append: string;
  /** Guest RAM in MiB. */
  memoryMiB: number;
  /** Number of vCPUs. */
  smp: number;
  /** Hard limit; QEMU is killed after it. */
  timeoutMs: number;
  /** File receiving the console. */
  consoleLog: string;
  /** File receiving the results port. */
  resultsLog: string;
  /** More QEMU arguments. */
  extraArgs?: string[];
  /** UEFI firmware (OVMF, AAVMF) in pflash, after the architecture's uefiMachineArgs. */
  uefi?: UefiFirmware;
}

/** OVMF flash images for one run: the code read-only, the variables a private writable copy. */
export interface UefiFirmware {
  /** OVMF_CODE (read-only pflash unit 0). */
  code: string;
  /** This run's own copy of OVMF_VARS (writable pflash unit 1). */
  vars: string;
}

/** How a guest ended. */
export interface QemuResult {
  /** QEMU's exit code; null when it was killed. */
  code: number | null;
  /** True when the timeout killed it. */
  timedOut: boolean;
  /** Wall time from spawn to exit. */
  durationMs: number;
  /** The timeout this run had: the case's, stretched by the host's load (`loadScaledTimeout`). */
  timeoutMs: number;
  /** Console output. */
  console: string;
  /** Results port output. */
  results: string;
  /** QEMU's own stdout and stderr (errors such as a bad option). */
  qemuOutput: string;
}

/**
 * Longest timeout a guest may have. The longest guests (the hostile matrices,
 * about 30 tool starts) take about 65 s on a quiet 2-core machine and twice
 * that on a loaded one; a guest counts as hung only after 3x its quiet time
 * on a loaded machine, so the cap is 360 s. A guest that boots and powers off
 * normally ends long before it.
 */
export const MAX_GUEST_TIMEOUT_MS = 360_000;
/**
 * Longest timeout of a UEFI guest: OVMF alone takes about 25 s under TCG
 * before the kernel starts (measured on a loaded 2-core host), so these
 * guests get more room.
 */
export const MAX_UEFI_GUEST_TIMEOUT_MS = 600_000;

/**
 * A guest's timeout on this machine now: the case's timeout (3x its quiet
 * time) stretched by how oversubscribed the host's CPUs are (1-minute load
 * average per CPU, between 1 and 4), never above `max`. On a shared machine a
 * load of 8 on 2 cores makes every TCG guest 3 to 5 times slower, and a slow
 * guest is not a hung one; on a quiet CI machine the factor is 1.
 *
 * @example
 * ```ts
 * import { loadScaledTimeout } from "./qemu.ts";
 * if (loadScaledTimeout(60_000, 360_000, [1, 1, 1], 2) !== 60_000) throw new Error("quiet");
 * if (loadScaledTimeout(60_000, 360_000, [8, 8, 8], 2) !== 240_000) throw new Error("loaded");
 * if (loadScaledTimeout(200_000, 360_000, [8, 8, 8], 2) !== 360_000) throw new Error("capped");
 * ```
 */
export function loadScaledTimeout(
  timeoutMs: number,
  max: number,
  loadavg: number[] = Deno.loadavg(),
  cpus: number = navigator.hardwareConcurrency,
): number {
  const factor = Math.min(4, Math.max(1, (loadavg[0] ?? 0) / Math.max(1, cpus)));
  return Math.min(max, Math.round(timeoutMs * factor));
}

/**
 * The QEMU command line: TCG (KVM is not assumed), the architecture's machine
 * with `-cpu max`, no default devices, console and results port to files, no
 * monitor, and `-no-reboot` so that a reboot or a panic (with `panic=-1`) ends
 * QEMU instead of looping. With `uefi`, the firmware boots the kernel (through
 * its EFI stub) from QEMU's `-kernel`/`-initrd`.
 *
 * @example
 * ```ts
 * import { qemuArgs } from "./qemu.ts";
 * const args = qemuArgs({
 *   qemu: "qemu-system-x86_64", kernel: "bz", initrd: "i.cpio", append: "console=ttyS0",
 *   memoryMiB: 2048, smp: 2, timeoutMs: 1000, consoleLog: "c.log", resultsLog: "r.log",
 * });
 * if (!args.includes("-no-reboot") || args[args.indexOf("-accel") + 1] !== "tcg") throw new Error();
 * if (args.filter((a) => a === "-serial").length !== 2) throw new Error();
 * ```
 */
export function qemuArgs(run: QemuRun): string[] {
  const arch = run.arch ?? guestArch();
  const firmware = run.uefi
    ? [
      ...arch.uefiMachineArgs,
      "-drive",
      `if=pflash,format=raw,readonly=on,file=${run.uefi.code}`,
      "-drive",
      `if=pflash,format=raw,file=${run.uefi.vars}`,
    ]
    : [];
  return [
    "-accel",
    "tcg",
    ...arch.machineArgs,
    ...firmware,
    "-m",
    String(run.memoryMiB),
    "-smp",
    String(run.smp),
    "-nodefaults",
    "-no-user-config",
    "-nographic",
    "-monitor",
    "none",
    "-no-reboot",
    ...arch.serialArgs(run.consoleLog, run.resultsLog),
    "-kernel",
    run.kernel,
    "-initrd",
    run.initrd,
    "-append",
    run.append,
    ...(run.extraArgs ?? []),
  ];
}

async function readText(path: string): Promise<string> {
  try {
    return new TextDecoder().decode(await Deno.readFile(path));
  } catch {
    return "";
  }
}

/**
 * Boots the guest and waits for QEMU to exit or for the timeout, whichever
 * comes first; a timed-out QEMU is killed with SIGKILL.
 *
 * @example
 * ```ts
 * import { runQemu } from "./qemu.ts";
 * // "true" stands in for QEMU here: it exits at once, having written nothing.
 * const dir = await Deno.makeTempDir();
 * const r = await runQemu({
 *   qemu: "true", kernel: "-", initrd: "-", append: "", memoryMiB: 64, smp: 1,
 *   timeoutMs: 5000, consoleLog: `${dir}/c`, resultsLog: `${dir}/r`,
 * });
 * await Deno.remove(dir, { recursive: true });
 * if (r.code !== 0 || r.timedOut || r.console !== "") throw new Error(JSON.stringify(r));
 * ```
 */
export async function runQemu(run: QemuRun): Promise<QemuResult> {
  const max = run.uefi ? MAX_UEFI_GUEST_TIMEOUT_MS : MAX_GUEST_TIMEOUT_MS;
  if (run.timeoutMs > max) {
    throw new Error(`guest timeout ${run.timeoutMs} ms exceeds ${max} ms`);
  }
  for (const log of [run.consoleLog, run.resultsLog]) await Deno.writeFile(log, new Uint8Array(0));
  const started = performance.now();
  const child = new Deno.Command(run.qemu, {
    args: qemuArgs(run),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timeoutMs = loadScaledTimeout(run.timeoutMs, max);
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  const [output, status] = await Promise.all([child.output(), child.status]).finally(() =>
    clearTimeout(timer)
  );
  const durationMs = Math.round(performance.now() - started);
  const dec = new TextDecoder();
  return {
    code: status.signal === null ? status.code : null,
    timedOut,
    durationMs,
    timeoutMs,
    console: await readText(run.consoleLog),
    results: await readText(run.resultsLog),
    qemuOutput: dec.decode(output.stdout) + dec.decode(output.stderr),
  };
}
