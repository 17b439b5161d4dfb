/**
 * Assertions shared by the end-to-end tests: a guest's steps, values and
 * checks, with the serial tail printed once when a check fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import { expectGuest, type GuestRun } from "./guest.ts";
import type { StepResult } from "./results.ts";

/** Runs `checks` as a test step; on failure prints the serial tail (once per run). */
export function checker(
  t: Deno.TestContext,
  run: GuestRun,
): (name: string, checks: (run: GuestRun) => void) => Promise<boolean> {
  let printed = false;
  return (name, checks) =>
    t.step(name, async () => {
      if (printed) return checks(run);
      await expectGuest(run, checks).catch((err) => {
        printed = true;
        throw err;
      });
    });
}

/** The reported step `name`; fails when it did not run or did not finish reporting. */
export function step(run: GuestRun, name: string): StepResult {
  const found = run.report.steps.get(name);
  assert.ok(found, `step ${name} did not run (case rc ${run.report.caseRc})`);
  assert.ok(found.complete, `step ${name} did not finish reporting`);
  return found;
}

/** A step's exit code and output, for assertion messages. */
export function stepInfo(s: StepResult): string {
  return `step ${s.name}: rc=${s.rc}\nstdout: ${s.out.join("\n")}\nstderr: ${s.err.join("\n")}`;
}

/** The step `name`, asserting its exit code. */
export function expectRc(run: GuestRun, name: string, rc: number): StepResult {
  const s = step(run, name);
  assert.equal(s.rc, rc, stepInfo(s));
  return s;
}

/** The last value reported under `name`. */
export function value(run: GuestRun, name: string): string | undefined {
  return run.report.values.get(name)?.at(-1);
}

/**
 * A real dump tool read the crash kernel's /proc/vmcore: stage2-init.sh runs
 * `makedumpfile -F -l -d 31 /proc/vmcore > /dev/null` in every crash kernel
 * (the harness puts it into the initrd of cases with crashkernel=), which
 * reads VMCOREINFO and walks page tables and mem_map through the PT_LOADs.
 */
export function expectMakedumpfileReads(run: GuestRun): void {
  const mdf = run.report.stage2?.vmcore?.makedumpfile;
  assert.ok(mdf, "makedumpfile did not run in the crash kernel");
  assert.equal(
    mdf.rc,
    0,
    `makedumpfile -F -l -d 31 /proc/vmcore exited ${mdf.rc}:\n${mdf.err.join("\n")}`,
  );
  console.log(`[e2e] ${run.spec.name}: makedumpfile read the vmcore (uptime ${mdf.seconds} s)`);
}
