/**
 * One end-to-end case = one guest boot. {@link runGuestCase} prepares (once
 * per test process) the assets, the tool and the base initramfs, then builds
 * the case's initramfs with fresh tokens, boots it, and returns the parsed
 * report. {@link expectGuest} runs assertions and, when one fails, prints the
 * last 60 lines of the serial console before rethrowing.
 *
 * A new case is a shell script in tests/e2e/cases/ (using the helpers of
 * guest/lib.sh) plus a `Deno.test` that calls {@link runGuestCase} and
 * asserts on the report.
 *
 * A case runs on x86_64 by default; `arch: "aarch64"` boots an arm64 `virt`
 * guest, `kernel: "test"` the architecture's test kernel
 * (scripts/build-test-kernel.ts), `firmware: "uefi"` boots through OVMF/AAVMF.
 *
 * Environment: `E2E_KEEP=1` keeps the per-case initramfs files; logs always
 * stay in `.cache/e2e/logs/<case>.{console,results}.log`. `E2E_SMP` overrides
 * the vCPU count. See scripts/fetch-test-assets.ts for the asset variables.
 *
 * @module
 */

import {
  defaultCacheDir,
  locateUefiFirmware,
  TestAssetError,
  type TestAssets,
} from "../../../scripts/fetch-test-assets.ts";
import type { GuestArch, GuestArchName } from "./arch.ts";
import { buildCaseImage, GUEST_PATHS, makedumpfilePlacements } from "./image.ts";
import { type GuestKernel, type KernelChoice, prepareGuest, workDir } from "./prepare.ts";
import {
  MAX_GUEST_TIMEOUT_MS,
  MAX_UEFI_GUEST_TIMEOUT_MS,
  type QemuResult,
  runQemu,
} from "./qemu.ts";
import { type GuestReport, parseReport } from "./results.ts";

export type { GuestArchName, KernelChoice };

/** A case to boot. */
export interface GuestCase {
  /** Unique name; names the log files. */
  name: string;
  /** Script file name in tests/e2e/cases/ (or an absolute path). */
  script: string;
  /** Guest architecture (default x86_64). */
  arch?: GuestArchName;
  /** Kernel to boot and to place at `$KERNEL` (default "debian"). */
  kernel?: KernelChoice;
  /** Firmware: QEMU's direct kernel boot (default), or UEFI (OVMF, AAVMF) booting the same kernel. */
  firmware?: "direct" | "uefi";
  /** Variables for the script, besides the built-in KERNEL, INITRD and STAGE2_TOKEN. */
  params?: Record<string, string>;
  /** Extra arguments for the first kernel, after `console=<console> panic=-1`. */
  kernelArgs?: string[];
  /** Whether the guest needs the tool (default true); false gives a busybox-only guest. */
  tool?: boolean;
  /**
   * Put makedumpfile (of the guest architecture) into the second-stage initrd,
   * which runs it on /proc/vmcore in a crash kernel. Default: when the first
   * kernel reserves crash memory (`crashkernel=` in kernelArgs), so every crash
   * check can assert that a real dump tool reads the dump.
   */
  makedumpfile?: boolean;
  /**
   * Hard timeout (default and maximum MAX_GUEST_TIMEOUT_MS, 360 s; 600 s for
   * UEFI guests).
   */
  timeoutMs?: number;
  /** Guest RAM in MiB (default 2048). */
  memoryMiB?: number;
  /** Host files added to the first stage at `guest` paths (streamed; large files welcome). */
  files?: readonly { host: string; guest: string }[];
  /**
   * A script in tests/e2e/cases/ put into the second-stage initrd as its hook
   * (/e2e-stage2-case.sh, sourced by stage2-init.sh before it ends).
   */
  stage2Hook?: string;
  /** More QEMU arguments, after the architecture's (a later `-cpu` replaces its CPU). */
  qemuArgs?: readonly string[];
}

/** What a case produced. */
export interface GuestRun {
  /** The case. */
  spec: GuestCase;
  /** The architecture's QEMU settings (e.g. `arch.console` for a second kernel's command line). */
  arch: GuestArch;
  /** The kernel booted (and placed at `$KERNEL`). */
  kernel: GuestKernel;
  /** The first kernel's command line. */
  append: string;
  /** Token the first stage must print. */
  stage1Token: string;
  /** Token the second-stage initrd carries. */
  stage2Token: string;
  /** How QEMU ended, with both serial outputs. */
  qemu: QemuResult;
  /** The parsed results port. */
  report: GuestReport;
  /** Assets used. */
  assets: TestAssets;
  /** Paths of the saved logs. */
  logs: { console: string; results: string };
}

const CASES_DIR = new URL("../cases/", import.meta.url).pathname;
/** Where stage2-init.sh finds makedumpfile in a crash kernel. */
export const STAGE2_MAKEDUMPFILE = "/usr/bin/makedumpfile";
/** Where stage2-init.sh looks for a case's hook. */
const STAGE2_HOOK = "/e2e-stage2-case.sh";
const DEFAULT_MEMORY_MIB = 2048;
const DEFAULT_SMP = 2;
/** Lines of serial console printed when a case fails (issue 3). */
export const FAILURE_TAIL_LINES = 60;

function log(line: string): void {
  console.log(`[e2e] ${line}`);
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function stage2Makedumpfile(name: string, assets: TestAssets) {
  if (!assets.makedumpfile) {
    throw new TestAssetError(
      `case ${name} needs makedumpfile for ${assets.arch}: install it with ` +
        `"apt-get install makedumpfile" (or run "deno run -A scripts/fetch-test-assets.ts ` +
        `--install" as root)`,
    );
  }
  return makedumpfilePlacements(assets.makedumpfile, assets.sysroot);
}

/** A fresh copy of the firmware's variable store for one run. */
async function uefiFor(arch: GuestArchName, name: string) {
  const firmware = await locateUefiFirmware(arch);
  const vars = `${await workDir()}/${name}.uefi-vars.fd`;
  await Deno.copyFile(firmware.vars, vars);
  return { code: firmware.code, vars };
}

/**
 * Boots one case and returns its report; never throws for what happened in
 * the guest (that is for the assertions), only for a broken host setup:
 * missing QEMU or kernel, a tool that does not build, a missing case script.
 *
 * @example
 * ```ts
 * import { runGuestCase } from "./guest.ts";
 * // A missing script is refused before anything is built or booted.
 * let message = "";
 * await runGuestCase({ name: "nope", script: "no-such-case.sh" }).catch((e) => message = e.message);
 * if (!message.includes("no-such-case.sh")) throw new Error(message);
 * ```
 */
export async function runGuestCase(spec: GuestCase): Promise<GuestRun> {
  const script = spec.script.startsWith("/") ? spec.script : `${CASES_DIR}${spec.script}`;
  try {
    await Deno.stat(script);
  } catch {
    throw new Error(`case ${spec.name}: script ${script} not found`);
  }
  const timeoutMs = spec.timeoutMs ??
    (spec.firmware === "uefi" ? MAX_UEFI_GUEST_TIMEOUT_MS : MAX_GUEST_TIMEOUT_MS);
  const ready = await prepareGuest(
    spec.arch ?? "x86_64",
    spec.kernel ?? "debian",
    spec.tool ?? true,
  );
  const { arch, assets } = ready;
  const crashReserved = (spec.kernelArgs ?? []).some((a) => a.startsWith("crashkernel="));
  const stage2Files = (spec.makedumpfile ?? crashReserved)
    ? stage2Makedumpfile(spec.name, assets)
    : [];
  if (spec.stage2Hook) {
    stage2Files.push({ host: `${CASES_DIR}${spec.stage2Hook}`, guest: STAGE2_HOOK });
  }
  const uefi = spec.firmware === "uefi" ? await uefiFor(arch.name, spec.name) : undefined;
  const stage1Token = randomToken();
  const stage2Token = randomToken();
  const initrd = `${ready.workDir}/${spec.name}.cpio`;
  await buildCaseImage({
    base: ready.base,
    caseScript: script,
    busybox: assets.busybox,
    stage2Token,
    output: initrd,
    files: spec.files,
    resultsPort: arch.resultsPort,
    stage2Files,
    params: {
      KERNEL: GUEST_PATHS.kernel,
      INITRD: GUEST_PATHS.stage2Initrd,
      STAGE2_TOKEN: stage2Token,
      E2E_STAGE1_TOKEN: stage1Token,
      E2E_RESULTS_PORT: arch.resultsPort,
      E2E_CONSOLE: arch.console,
      ...spec.params,
    },
  });
  const logDir = `${defaultCacheDir()}/logs`;
  await Deno.mkdir(logDir, { recursive: true });
  const logs = {
    console: `${logDir}/${spec.name}.console.log`,
    results: `${logDir}/${spec.name}.results.log`,
  };
  const append = [`console=${arch.console}`, "panic=-1", ...(spec.kernelArgs ?? [])].join(" ");
  const smp = Number(Deno.env.get("E2E_SMP") ?? DEFAULT_SMP);
  const qemu = await runQemu({
    qemu: assets.qemu,
    arch,
    uefi,
    kernel: ready.kernel.path,
    initrd,
    append,
    memoryMiB: spec.memoryMiB ?? DEFAULT_MEMORY_MIB,
    smp,
    timeoutMs,
    consoleLog: logs.console,
    resultsLog: logs.results,
    extraArgs: spec.qemuArgs ? [...spec.qemuArgs] : undefined,
  });
  if (Deno.env.get("E2E_KEEP") !== "1") {
    await Deno.remove(initrd).catch(() => {});
    if (uefi) await Deno.remove(uefi.vars).catch(() => {});
  }
  const report = parseReport(qemu.results);
  const steps = report.stepOrder
    .map((name) => `${name}=${report.steps.get(name)?.ms}ms`)
    .join(" ");
  log(
    `${spec.name} (${arch.name}${uefi ? ", UEFI" : ""}): ${qemu.durationMs} ms wall` +
      `${qemu.timedOut ? ` (TIMED OUT at ${qemu.timeoutMs} ms)` : ""}, qemu exit ${qemu.code}` +
      `${steps ? `; guest steps: ${steps}` : ""}`,
  );
  return {
    spec,
    arch,
    kernel: ready.kernel,
    append,
    stage1Token,
    stage2Token,
    qemu,
    report,
    assets,
    logs,
  };
}

/**
 * The last `count` lines of the serial console, for failure messages.
 *
 * @example
 * ```ts
 * import { consoleTail } from "./guest.ts";
 * if (consoleTail("a\r\nb\nc\n", 2) !== "b\nc") throw new Error();
 * ```
 */
export function consoleTail(console: string, count = FAILURE_TAIL_LINES): string {
  const lines = console.replaceAll("\r", "").split("\n");
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines.slice(-count).join("\n");
}

/**
 * Runs `assertions` on a finished run; if they throw, prints the last 60 lines
 * of the console and the results port, then rethrows.
 *
 * @example
 * ```ts
 * import { expectGuest, type GuestRun } from "./guest.ts";
 * const run = { spec: { name: "demo" }, qemu: { console: "boot\n", results: "" } } as GuestRun;
 * let printed = "";
 * const original = console.error;
 * console.error = (text: string) => printed += text;
 * try {
 *   await expectGuest(run, () => { throw new Error("expected failure"); }).catch(() => {});
 * } finally {
 *   console.error = original;
 * }
 * if (!printed.includes("boot")) throw new Error(printed);
 * ```
 */
export async function expectGuest(
  run: GuestRun,
  assertions: (run: GuestRun) => void | Promise<void>,
): Promise<void> {
  try {
    await assertions(run);
  } catch (err) {
    console.error(
      `\n----- ${run.spec.name}: last ${FAILURE_TAIL_LINES} lines of the serial console` +
        `${run.logs ? ` (${run.logs.console})` : ""} -----\n` +
        consoleTail(run.qemu.console) +
        `\n----- ${run.spec.name}: results port -----\n` +
        (run.qemu.results.replaceAll("\r", "").trim() || "(nothing)") +
        (run.qemu.qemuOutput ? `\n----- qemu output -----\n${run.qemu.qemuOutput.trim()}` : "") +
        "\n-----",
    );
    throw err;
  }
}
