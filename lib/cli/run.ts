/**
 * The command: argv and a {@link System} in, exit code out. The steps of the
 * {@link Invocation} run in kexec-tools' order (status → unload → load → exec
 * → jump-back helper) and the first failure ends the run. Every error is
 * caught here and printed as one line; `main.ts` only passes argv and exits.
 *
 * Each action imports what it needs when it runs (load, unload, status,
 * exec, the jump-back helper, the dry-run renderer): `--version`, `--help`
 * and `-S` never load a planner, and nothing that an action does not use is
 * parsed at all.
 *
 * @module
 */

import { ExitCode, formatError, KexecError } from "../errors.ts";
import { readHostFacts } from "../facts.ts";
import { type Reporter, stderrReporter } from "../report.ts";
import { errnoName } from "../sys/errno.ts";
import type { System } from "../sys/system.ts";
import { PATHS } from "../abi.ts";
import { helpText, VERSION } from "./help.ts";
import { type Invocation, noKernelError, parseInvocation, type Step } from "./invocation.ts";
import { hex } from "../format.ts";
import type { MemoryPicture } from "../plan/memory_picture.ts";

// /proc/cmdline is at most COMMAND_LINE_SIZE (a few KiB on every architecture).
const PROC_CMDLINE_MAX = 1 << 16;

/**
 * Runs the kexec command and returns its exit code. Never throws. `argv`
 * holds raw strings (lib/raw_text.ts), so values keep the caller's bytes.
 *
 * @example
 * ```ts
 * import { runCli } from "./run.ts";
 * let out = "";
 * const io = { out: (t: string) => { out += t; }, err: () => {} };
 * const code = await runCli(["--version"], { io, arch: "x86_64" } as never);
 * if (code !== 0 || !out.startsWith("kexec ")) throw new Error(out);
 * ```
 */
export async function runCli(argv: readonly string[], sys: System): Promise<number> {
  try {
    return await run(parseInvocation(argv, sys.arch), sys);
  } catch (e) {
    sys.io.err(`${formatError(e)}\n`);
    return e instanceof KexecError ? e.exitCode : ExitCode.FAILURE;
  }
}

async function run(inv: Invocation, sys: System): Promise<number> {
  const rep = stderrReporter(sys.io, inv.debug);
  switch (inv.action) {
    case "help":
      sys.io.out(helpText());
      return inv.helpExitCode;
    case "version":
      sys.io.out(`kexec ${VERSION} (Deno; kexec-tools compatible command line)\n`);
      return ExitCode.OK;
    case "print-ckr-size":
      sys.io.out(`${readHostFacts(sys).crashSize ?? 0}\n`);
      return ExitCode.OK;
  }
  for (const w of inv.warnings) rep.warn(w);
  if (inv.missingKernel) await refuseMissingKernel(inv, sys);
  for (const [i, step] of inv.steps.entries()) {
    const afterLoad = inv.steps.slice(0, i).some((s) => s.kind === "load");
    const code = await runStep(step, inv, sys, rep, afterLoad);
    if (code !== undefined) return code;
  }
  return ExitCode.OK;
}

// kexec-tools checks the crash region first, and fails only when it reaches
// the load; here a kernel-less command line changes nothing at all.
async function refuseMissingKernel(inv: Invocation, sys: System): Promise<never> {
  const load = inv.steps.find((s) => s.kind === "load");
  if (load?.kind === "load" && load.crash && readHostFacts(sys).crashSize === 0) {
    const { crashNotReserved } = await import("../crash/region.ts");
    throw crashNotReserved(`${PATHS.kexecCrashSize} is 0`);
  }
  throw noKernelError();
}

/** Runs one step; returns an exit code to end the run with, or undefined to go on. */
async function runStep(
  step: Step,
  inv: Invocation,
  sys: System,
  rep: Reporter,
  afterLoad: boolean,
): Promise<number | undefined> {
  switch (step.kind) {
    case "status": {
      const { formatStatus, readStatus, statusExitCode } = await import("../status.ts");
      const report = readStatus(sys, step.image);
      sys.io.out(inv.json ? `${JSON.stringify(report)}\n` : formatStatus(report));
      return statusExitCode(report);
    }
    case "unload": {
      const { unloadKernel } = await import("../unload.ts");
      const steps = unloadKernel(sys, {
        crash: step.crash,
        syscall: inv.syscall,
        dryRun: inv.dryRun,
      }, rep);
      if (inv.dryRun) await printDry(sys, inv, { action: "unload", crash: step.crash, steps });
      return undefined;
    }
    case "load":
      await load(inv, step, sys, rep);
      if (inv.implicitLoad && !inv.dryRun) {
        rep.info("no action given: loaded only; boot it with 'kexec -e' or 'systemctl kexec'");
      }
      return undefined;
    case "exec":
      await exec(inv, step, sys, rep, afterLoad);
      return undefined;
    case "jump-back-helper": {
      const { loadJumpBackHelper } = await import("../kjump.ts");
      const plan = await loadJumpBackHelper(sys, { entry: inv.entry, dryRun: inv.dryRun }, rep);
      if (inv.dryRun) {
        const { describeSegmentFlags, segmentsToJson } = await import("./render.ts");
        await printDry(sys, inv, {
          action: "jump-back-helper",
          jump_back_entry: plan.jumpBackEntry,
          entry: plan.entry,
          flags: plan.flags,
          flag_names: describeSegmentFlags(plan.flags),
          segments: segmentsToJson(plan.segments),
          notes: plan.notes,
        });
      }
      return undefined;
    }
  }
}

async function load(
  inv: Invocation,
  step: Extract<Step, { kind: "load" }>,
  sys: System,
  rep: Reporter,
): Promise<void> {
  const [{ resolveCmdline }, { FALLBACK_ERRNOS, loadKernel }] = await Promise.all([
    import("../cmdline.ts"),
    import("../load.ts"),
  ]);
  // No --append, --command-line or --reuse-cmdline: the image's embedded line, if any.
  const given = inv.commandLine !== undefined || inv.reuseCmdline;
  const cmdline = given
    ? resolveCmdline({
      commandLine: inv.commandLine,
      reuse: inv.reuseCmdline,
      procCmdline: inv.reuseCmdline
        ? sys.readBytes(PATHS.procCmdline, PROC_CMDLINE_MAX)
        : undefined,
      crash: step.crash,
    })
    : undefined;
  const result = await loadKernel(sys, {
    kernel: inv.kernel!,
    initrds: inv.initrds,
    modules: inv.modules,
    cmdline,
    extraFiles: inv.extraFiles,
    ukiProfile: inv.ukiProfile,
    crash: step.crash,
    syscall: inv.syscall,
    dryRun: inv.dryRun,
    debug: inv.debug,
    noChecks: inv.noChecks,
    noCma: inv.noCma,
    forceDtb: inv.forceDtb,
    memMin: inv.memMin,
    memMax: inv.memMax,
    type: inv.type,
    dtb: inv.dtb,
    preserveContext: step.preserveContext,
  }, rep);
  if (!inv.dryRun) return;
  const fallback = inv.syscall === "file"
    ? "kexec_file_load only"
    : inv.syscall === "load"
    ? "kexec_load only"
    : result.locked
    ? "kexec_file_load only: the kernel is locked down, so kexec_load would be refused"
    : `kexec_file_load first; kexec_load only after ${FALLBACK_ERRNOS.map(errnoName).join(", ")}`;
  // The memory map (and the crash region it reads) only for a dry run.
  const [{ readMemoryLayout }, { memoryPicture }] = await Promise.all([
    import("./dry_map.ts"),
    import("../plan/memory_picture.ts"),
  ]);
  await printDry(sys, inv, {
    action: "load",
    crash: step.crash,
    mode: inv.syscall,
    order: fallback,
    plans: result.plans,
    memory_map: memoryPicture(readMemoryLayout(sys), result.plans),
  });
}

async function exec(
  inv: Invocation,
  step: Extract<Step, { kind: "exec" }>,
  sys: System,
  rep: Reporter,
  afterLoad: boolean,
): Promise<void> {
  const { execKernel } = await import("../exec.ts");
  const steps = await execKernel(sys, {
    noSync: !step.sync,
    noIfdown: !step.ifdown,
    syncTimeoutMs: inv.syncTimeoutMs,
    dryRun: inv.dryRun,
    afterLoad,
  }, rep);
  if (inv.dryRun) await printDry(sys, inv, { action: "exec", steps });
}

async function printDry(
  sys: System,
  inv: Invocation,
  data: Record<string, unknown>,
): Promise<void> {
  const { planToJson, planToText } = await import("./render.ts");
  if (inv.json) {
    const plans = data.plans as Parameters<typeof planToJson>[0][] | undefined;
    const json = plans ? { ...data, plans: plans.map(planToJson) } : data;
    sys.io.out(`${JSON.stringify(json)}\n`);
    return;
  }
  const lines = [
    `dry run: ${data.action}${data.crash ? " (crash image)" : ""}; nothing was called`,
  ];
  if (data.order) lines.push(`syscall order: ${data.order}`);
  if (data.action === "jump-back-helper") {
    const segments = data.segments as { name: string; mem: number; memsz: number }[];
    lines.push(
      `returns to ${hex(data.jump_back_entry as number)}`,
      `kexec_load(entry=${hex(data.entry as number)}, nr_segments=${segments.length}, ` +
        `flags=${hex(data.flags as number)} [${(data.flag_names as string[]).join("|")}])`,
      ...segments.map((s) => `  ${s.name}: mem ${hex(s.mem)}, memsz ${hex(s.memsz)}`),
      ...(data.notes as string[]),
    );
  }
  if (data.steps && data.action === "exec") {
    const s = data.steps as { syncTimeoutMs: number | null; interfaces: string[] };
    lines.push(
      `1. sync: ${
        s.syncTimeoutMs === null ? "skipped" : `yes, timeout ${s.syncTimeoutMs / 1000} s`
      }`,
      `2. interfaces down: ${s.interfaces.length ? s.interfaces.join(", ") : "none"}`,
      "3. reboot(LINUX_REBOOT_CMD_KEXEC)",
    );
  }
  if (data.steps && data.action === "unload") {
    const steps = data.steps as { syscall: string; flags: number }[];
    for (const [i, s] of steps.entries()) {
      lines.push(
        `${i + 1}. ${s.syscall}(unload, flags=0x${s.flags.toString(16)})${
          i > 0 ? " only if the previous call fails with ENOSYS" : ""
        }`,
      );
    }
  }
  sys.io.out(lines.join("\n") + "\n");
  for (const plan of (data.plans as Parameters<typeof planToText>[0][] | undefined) ?? []) {
    sys.io.out(planToText(plan));
  }
  const picture = data.memory_map as MemoryPicture | undefined;
  if (picture) {
    const { drawMemoryPicture } = await import("../plan/memory_drawing.ts");
    sys.io.out(drawMemoryPicture(picture).join("\n") + "\n");
  }
}
