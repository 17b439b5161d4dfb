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
 * Environment: `E2E_KEEP=1` keeps the per-case initramfs files; logs always
 * stay in `.cache/e2e/logs/<case>.{console,results}.log`. `E2E_SMP` overrides
 * the vCPU count. See scripts/fetch-test-assets.ts for the asset variables.
 *
 * @module
 */

import {
  defaultCacheDir,
  ensureTestAssets,
  type TestAssets,
} from "../../../scripts/fetch-test-assets.ts";
import type { CpioEntry } from "../../../lib/initramfs/cpio.ts";
import { findMakedumpfile, findOvmf } from "./host_tools.ts";
import { buildBaseImage, buildCaseImage, GUEST_PATHS, programEntries } from "./image.ts";
import {
  MAX_GUEST_TIMEOUT_MS,
  MAX_UEFI_GUEST_TIMEOUT_MS,
  type QemuResult,
  runQemu,
} from "./qemu.ts";
import { type GuestReport, parseReport } from "./results.ts";
import { buildTool, type ToolBuild } from "./tool.ts";

/** A case to boot. */
export interface GuestCase {
  /** Unique name; names the log files. */
  name: string;
  /** Script file name in tests/e2e/cases/ (or an absolute path). */
  script: string;
  /** Variables for the script, besides the built-in KERNEL, INITRD and STAGE2_TOKEN. */
  params?: Record<string, string>;
  /** Extra arguments for the first kernel, after `console=ttyS0 panic=-1`. */
  kernelArgs?: string[];
  /** Whether the guest needs the tool (default true); false gives a busybox-only guest. */
  tool?: boolean;
  /** Hard timeout (default and maximum MAX_GUEST_TIMEOUT_MS, 360 s; 600 s for UEFI guests). */
  timeoutMs?: number;
  /** Guest RAM in MiB (default 2048). */
  memoryMiB?: number;
  /**
   * Firmware: "seabios" (default, QEMU's pc machine) or "ovmf" (UEFI: q35, OVMF
   * in pflash with a fresh copy of its variable store, a VGA device).
   */
  firmware?: "seabios" | "ovmf";
  /** Host files added to the first stage at `guest` paths (streamed; large files welcome). */
  files?: readonly { host: string; guest: string }[];
  /**
   * A script in tests/e2e/cases/ put into the second-stage initrd as its hook
   * (/e2e-stage2-case.sh, sourced by stage2-init.sh before it ends).
   */
  stage2Hook?: string;
}

/** What a case produced. */
export interface GuestRun {
  /** The case. */
  spec: GuestCase;
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

interface Prepared {
  assets: TestAssets;
  workDir: string;
  base: string;
  tool: ToolBuild | null;
}

const prepared = new Map<boolean, Promise<Prepared>>();
let workDirPromise: Promise<string> | undefined;

function log(line: string): void {
  console.log(`[e2e] ${line}`);
}

/** A temporary directory under the cache, removed when the process ends. */
function workDir(): Promise<string> {
  workDirPromise ??= (async () => {
    const tmpRoot = `${defaultCacheDir()}/tmp`;
    await Deno.mkdir(tmpRoot, { recursive: true });
    const dir = await Deno.makeTempDir({ dir: tmpRoot, prefix: "run-" });
    globalThis.addEventListener("unload", () => {
      if (Deno.env.get("E2E_KEEP") !== "1") {
        try {
          Deno.removeSync(dir, { recursive: true });
        } catch {
          // best effort
        }
      }
    });
    return dir;
  })();
  return workDirPromise;
}

function prepare(withTool: boolean): Promise<Prepared> {
  let p = prepared.get(withTool);
  if (!p) {
    p = (async () => {
      const started = performance.now();
      const assets = await ensureTestAssets({ log });
      const dir = await workDir();
      const tool = withTool ? await buildTool(`${dir}/tool`) : null;
      const base = `${dir}/base-${withTool ? "tool" : "busybox"}.cpio`;
      const size = await buildBaseImage({
        busybox: assets.busybox,
        kernel: assets.kernel,
        tool,
        output: base,
      });
      log(
        `prepared ${withTool ? `tool (${tool!.kind}) + ` : ""}busybox base initramfs: ` +
          `${(size / 2 ** 20).toFixed(1)} MiB, kernel ${assets.kernelSource}, ` +
          `${Math.round(performance.now() - started)} ms`,
      );
      return { assets, workDir: dir, base, tool };
    })();
    prepared.set(withTool, p);
  }
  return p;
}

let makedumpfileEntries: Promise<CpioEntry[]> | undefined;

/**
 * Second-stage extras: a case whose first kernel reserves crash memory
 * (crashkernel=) boots a crash kernel from that initrd, which then runs
 * makedumpfile on /proc/vmcore (stage2-init.sh), so every crash check can
 * assert that a real dump tool reads the dump.
 */
async function stage2Extras(spec: GuestCase): Promise<CpioEntry[]> {
  const extra: CpioEntry[] = [];
  if (spec.stage2Hook) {
    extra.push({
      type: "file",
      path: STAGE2_HOOK,
      data: await Deno.readFile(`${CASES_DIR}${spec.stage2Hook}`),
    });
  }
  if ((spec.kernelArgs ?? []).some((a) => a.startsWith("crashkernel="))) {
    makedumpfileEntries ??= programEntries(findMakedumpfile(), STAGE2_MAKEDUMPFILE);
    extra.push(...await makedumpfileEntries);
  }
  return extra;
}

/** This run's UEFI flash images: the shared code image and a private copy of the variables. */
async function uefiFirmware(spec: GuestCase, dir: string) {
  if (spec.firmware !== "ovmf") return undefined;
  const ovmf = findOvmf();
  const vars = `${dir}/${spec.name}.OVMF_VARS.fd`;
  await Deno.copyFile(ovmf.vars, vars);
  return { code: ovmf.code, vars };
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
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
    (spec.firmware === "ovmf" ? MAX_UEFI_GUEST_TIMEOUT_MS : MAX_GUEST_TIMEOUT_MS);
  const ready = await prepare(spec.tool ?? true);
  const stage1Token = randomToken();
  const stage2Token = randomToken();
  const initrd = `${ready.workDir}/${spec.name}.cpio`;
  await buildCaseImage({
    base: ready.base,
    caseScript: script,
    busybox: ready.assets.busybox,
    stage2Token,
    output: initrd,
    files: spec.files,
    stage2Extra: await stage2Extras(spec),
    params: {
      KERNEL: GUEST_PATHS.kernel,
      INITRD: GUEST_PATHS.stage2Initrd,
      STAGE2_TOKEN: stage2Token,
      E2E_STAGE1_TOKEN: stage1Token,
      ...spec.params,
    },
  });
  const logDir = `${defaultCacheDir()}/logs`;
  await Deno.mkdir(logDir, { recursive: true });
  const logs = {
    console: `${logDir}/${spec.name}.console.log`,
    results: `${logDir}/${spec.name}.results.log`,
  };
  const append = ["console=ttyS0", "panic=-1", ...(spec.kernelArgs ?? [])].join(" ");
  const smp = Number(Deno.env.get("E2E_SMP") ?? DEFAULT_SMP);
  const uefi = await uefiFirmware(spec, ready.workDir);
  const qemu = await runQemu({
    qemu: ready.assets.qemu,
    kernel: ready.assets.kernel,
    initrd,
    append,
    memoryMiB: spec.memoryMiB ?? DEFAULT_MEMORY_MIB,
    smp,
    timeoutMs,
    consoleLog: logs.console,
    resultsLog: logs.results,
    uefi,
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
    `${spec.name}: ${qemu.durationMs} ms wall${qemu.timedOut ? " (TIMED OUT)" : ""}, ` +
      `qemu exit ${qemu.code}${steps ? `; guest steps: ${steps}` : ""}`,
  );
  return { spec, append, stage1Token, stage2Token, qemu, report, assets: ready.assets, logs };
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
