/**
 * The CI slice of `deno task fuzz`: every parser gets a few thousand inputs
 * from a fixed seed, in Workers with the per-input time bound and the
 * allocation cap; and every saved crasher (tests/fuzz/crashers/) is replayed
 * as a regression test. The only acceptable outcome of an input is a valid
 * result or a KexecError.
 */

import assert from "node:assert/strict";
import { type CrasherFile, fuzzTarget, fuzzTargets, type TargetReport } from "../fuzz/runner.ts";
import { TARGETS } from "../fuzz/targets/mod.ts";

/** Inputs per parser in CI; the full run (`deno task fuzz`) uses 100000. */
const SLICE_INPUTS = 5000;
/** Fixed, so CI failures reproduce with `deno task fuzz --seed 6 --inputs 5000`. */
const SLICE_SEED = 6;
/**
 * The bound that tells a hang (an input that loops) from a slow machine: real
 * inputs take a few ms, but one took 2.1 s on a 2-core machine at load 9.6,
 * where Workers wait for a CPU; a loop still ends here at 10 s.
 */
const TIMEOUT_MS = 10_000;
const OPTIONS = { inputs: SLICE_INPUTS, seed: SLICE_SEED, timeoutMs: TIMEOUT_MS, jobs: 2 };

function describeFailures(report: TargetReport): string {
  return report.failures.map((f) => `  [${f.kind}] ${f.found}: ${f.message.slice(0, 300)}`)
    .join("\n");
}

Deno.test(`fuzz slice: ${SLICE_INPUTS} inputs per parser, seed ${SLICE_SEED}`, async (t) => {
  const reports = await fuzzTargets(TARGETS.map((target) => target.name), OPTIONS);
  for (const report of reports) {
    await t.step(report.name, () => {
      assert.equal(report.inputs, SLICE_INPUTS);
      assert.equal(
        report.failureCount,
        0,
        `${report.name}: ${report.failureCount} failing inputs (rerun with ` +
          `deno task fuzz --targets ${report.name} --seed ${SLICE_SEED} --inputs ${SLICE_INPUTS} ` +
          `to save them as crashers):\n${describeFailures(report)}`,
      );
      // A target whose every input is refused (or accepted) tests one branch only.
      assert.ok(report.accepted > 0, `${report.name}: no input was accepted`);
    });
  }
});

const crasherDir = new URL("../fuzz/crashers/", import.meta.url);
const crashers = [...Deno.readDirSync(crasherDir)]
  .filter((e) => e.isFile && e.name.endsWith(".json"))
  .map((e) => e.name)
  .sort();
const byTarget = Map.groupBy(
  crashers.map((name) => ({
    name,
    file: JSON.parse(Deno.readTextFileSync(new URL(name, crasherDir))) as CrasherFile,
  })),
  (c) => c.file.target,
);

for (const [target, files] of byTarget) {
  Deno.test(`crashers of ${target} (${files.length}) replay without failure`, async () => {
    const report = await fuzzTarget(
      target,
      OPTIONS,
      files.map((c) => ({ input: JSON.stringify(c.file.input), found: `crasher ${c.name}` })),
    );
    assert.equal(report.inputs, files.length);
    assert.equal(report.failureCount, 0, describeFailures(report));
  });
}
