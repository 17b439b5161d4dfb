/**
 * Checks of the smoke case (cases/arch-smoke.sh), shared by every
 * (architecture, kernel, firmware) it boots: the tool answers, -S agrees with
 * the kernel's configuration, and the platform facts are reported.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseKconfig } from "../../../scripts/build-test-kernel.ts";
import type { checker } from "./checks.ts";
import { expectRc, step, stepInfo, value } from "./checks.ts";
import type { GuestRun } from "./guest.ts";

/** What -S --json says about the system calls. */
interface StatusJson {
  syscalls: { kexec_load: string; kexec_file_load: string };
}

/** The booted kernel's configuration (its boot/config-* or the test kernel's .config). */
export async function kernelConfig(run: GuestRun): Promise<Map<string, string>> {
  assert.ok(run.kernel.config, `no config file known for ${run.kernel.source}`);
  return parseKconfig(await Deno.readTextFile(run.kernel.config));
}

/**
 * -S --json of the smoke run (its `status` step must have exited 0).
 *
 * @example
 * ```ts
 * import { status } from "./smoke.ts";
 * import { parseReport } from "./results.ts";
 * import type { GuestRun } from "./guest.ts";
 * const report = parseReport(
 *   'E2E-STEP status rc=0 ms=1\nE2E-OUT status|{"syscalls":{"kexec_load":"available"}}\nE2E-STEP-END status',
 * );
 * if (status({ report } as GuestRun).syscalls.kexec_load !== "available") throw new Error();
 * ```
 */
export function status(run: GuestRun): StatusJson {
  const s = expectRc(run, "status", 0);
  try {
    return JSON.parse(s.out.join("\n"));
  } catch {
    assert.fail(`-S --json did not print JSON\n${stepInfo(s)}`);
  }
}

/**
 * Top-level `start-end : name` lines of the reported /proc/iomem ending in `name`.
 *
 * @example
 * ```ts
 * import { iomemTopLevel } from "./smoke.ts";
 * import { parseReport } from "./results.ts";
 * import type { GuestRun } from "./guest.ts";
 * const report = parseReport([
 *   "E2E-STEP iomem rc=0 ms=1",
 *   "E2E-OUT iomem|40000000-bfffffff : System RAM",
 *   "E2E-OUT iomem|  40210000-4185ffff : Kernel code",
 *   "E2E-STEP-END iomem",
 * ].join("\n"));
 * if (iomemTopLevel({ report } as GuestRun, " : System RAM").length !== 1) throw new Error();
 * ```
 */
export function iomemTopLevel(run: GuestRun, name: string): string[] {
  return step(run, "iomem").out.filter((l) =>
    /^[0-9a-f]+-[0-9a-f]+ : /.test(l) && l.endsWith(name)
  );
}

/** Logs the platform facts of a smoke run for the test output. */
export function logFacts(run: GuestRun): void {
  const firmware = ["fdt", "efi", "acpi"].map((f) => `${f}=${value(run, `firmware_${f}`)}`);
  const dt = run.report.steps.get("dt_memory")?.out.join(",") || "none";
  console.log(
    `[e2e] ${run.spec.name}: kernel ${run.report.stage1?.kernel}; /sys/firmware ${
      firmware.join(" ")
    }; DT memory nodes: ${dt}; /proc/iomem:\n    ` +
      (run.report.steps.get("iomem")?.out.join("\n    ") ?? "(not reported)"),
  );
}

/**
 * The checks every smoke run passes: booted with our initramfs, the tool
 * answers `--version`, `-S --json` (kexec_file_load reported as the kernel's
 * config says), `-l --dry-run -c` (an answer, whatever it is, never a crash),
 * and /proc/iomem has System RAM.
 */
export async function toolAnswers(check: ReturnType<typeof checker>, run: GuestRun): Promise<void> {
  const config = await kernelConfig(run);
  await check(
    "the guest booted our initramfs and the case ran to its end (or its crash)",
    (run) => {
      assert.equal(run.qemu.timedOut, false, "timed out");
      assert.equal(run.report.stage1?.token, run.stage1Token);
      const crashed = value(run, "triggering_crash") === "yes";
      assert.ok(crashed || (run.report.caseRc !== undefined && run.report.stage1Ended), "no end");
    },
  );
  await check("kexec --version answers", (run) => {
    const s = expectRc(run, "version", 0);
    assert.match(s.out.join("\n"), /^kexec \d+\.\d+/, stepInfo(s));
  });
  await check(
    "kexec -S --json: kexec_load available; kexec_file_load as the kernel's config says",
    (run) => {
      const { syscalls } = status(run);
      assert.equal(syscalls.kexec_load, "available");
      const file = config.get("CONFIG_KEXEC_FILE") === "y" ? "available" : "not-built";
      assert.equal(
        syscalls.kexec_file_load,
        file,
        `CONFIG_KEXEC_FILE=${config.get("CONFIG_KEXEC_FILE")}`,
      );
    },
  );
  await check(
    "kexec -l K --dry-run -c answers (a plan or a clear refusal), without crashing",
    (run) => {
      const s = step(run, "dry_run");
      const text = [...s.out, ...s.err].join("\n");
      assert.ok(text.trim() !== "", `no answer\n${stepInfo(s)}`);
      assert.doesNotMatch(text, /Uncaught|^\s+at /m, `the tool crashed\n${stepInfo(s)}`);
      assert.ok(s.rc === 0 || s.err.length > 0, `failed silently\n${stepInfo(s)}`);
    },
  );
  await check("/proc/iomem lists System RAM", (run) => {
    assert.ok(iomemTopLevel(run, " : System RAM").length > 0, step(run, "iomem").out.join("\n"));
  });
  logFacts(run);
}
