/**
 * Seeded mutation fuzzing of every parser (tests/fuzz): each input must end in
 * a valid result or a KexecError, within the time bound, without an
 * over-sized allocation. Prints a table (parser, inputs, failures, max
 * ms/input) and saves failing inputs to tests/fuzz/crashers/ as regression
 * tests; exits 1 when anything failed.
 *
 * ```sh
 * deno task fuzz                                  # 100k inputs per parser, seed 1
 * deno task fuzz --inputs 5000 --targets iomem,memmap --seed 7
 * deno task fuzz --replay tests/fuzz/crashers/iomem-exception-0123abcd.json
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { decodeInput, toJsonValue } from "../tests/fuzz/codec.ts";
import {
  type CrasherFile,
  crasherFileName,
  type FuzzFailure,
  fuzzTarget,
  fuzzTargets,
  type TargetReport,
} from "../tests/fuzz/runner.ts";
import { messageShape } from "../tests/fuzz/target.ts";
import { NOT_PRESENT, TARGETS } from "../tests/fuzz/targets/mod.ts";

const CRASHERS = new URL("../tests/fuzz/crashers/", import.meta.url);
/** Crasher files kept per target, kind and message shape. */
const CRASHERS_PER_BUG = 3;

/**
 * The report as a Markdown table, one row per target and one per parser not present.
 *
 * @example
 * ```ts
 * import { reportTable } from "./fuzz.ts";
 * const table = reportTable([{
 *   name: "iomem", entry: "lib/memory/iomem.ts parseIomem", inputs: 10, accepted: 4,
 *   refused: 6, refusalShapes: 3, failureCount: 0, failures: [], maxMs: 0.25,
 *   maxMsIndex: 3, elapsedMs: 5,
 * }], []);
 * if (!table.includes("| iomem |") || !table.includes("| 10 | 0 | 0.25 |")) throw new Error(table);
 * ```
 */
export function reportTable(
  reports: readonly TargetReport[],
  notPresent: readonly { name: string; what: string }[],
): string {
  const rows = [
    "| parser | entry point | inputs | failures | max ms/input | valid | KexecError | " +
    "distinct errors |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...reports.map((r) =>
      `| ${r.name} | ${r.entry} | ${r.inputs} | ${r.failureCount} | ${r.maxMs.toFixed(2)} | ` +
      `${r.accepted} | ${r.refused} | ${r.refusalShapes} |`
    ),
    ...notPresent.map((p) => `| ${p.name} | ${p.what} | not present | – | – | – | – | – |`),
  ];
  return rows.join("\n");
}

function saveCrashers(failures: readonly FuzzFailure[]): string[] {
  const perBug = new Map<string, number>();
  const saved: string[] = [];
  for (const f of failures) {
    const bug = `${f.target}\n${f.kind}\n${messageShape(f.message)}`;
    const n = perBug.get(bug) ?? 0;
    if (n >= CRASHERS_PER_BUG) continue;
    perBug.set(bug, n + 1);
    const file: CrasherFile = {
      target: f.target,
      kind: f.kind,
      message: f.message,
      found: f.found,
      input: toJsonValue(decodeInput(f.input)),
    };
    const url = new URL(crasherFileName(f), CRASHERS);
    Deno.writeTextFileSync(url, JSON.stringify(file, null, 2) + "\n");
    saved.push(url.pathname);
  }
  return saved;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      inputs: { type: "string", default: "100000" },
      seed: { type: "string", default: "1" },
      "timeout-ms": { type: "string", default: "1000" },
      jobs: { type: "string", default: "2" },
      targets: { type: "string" },
      replay: { type: "string", multiple: true },
      "no-save": { type: "boolean", default: false },
    },
  });
  const options = {
    inputs: Number(values.inputs),
    seed: Number(values.seed),
    timeoutMs: Number(values["timeout-ms"]),
    jobs: Number(values.jobs),
  };
  const started = performance.now();
  let reports: TargetReport[];
  if (values.replay) {
    reports = [];
    for (const path of values.replay) {
      const file = JSON.parse(Deno.readTextFileSync(path)) as CrasherFile;
      const input = JSON.stringify(file.input);
      reports.push(await fuzzTarget(file.target, options, [{ input, found: `replay of ${path}` }]));
    }
  } else {
    const names = values.targets?.split(",") ?? TARGETS.map((t) => t.name);
    console.log(
      `fuzzing ${names.length} parsers: ${options.inputs} inputs each, seed ${options.seed}, ` +
        `${options.timeoutMs} ms per input, ${options.jobs} workers`,
    );
    reports = await fuzzTargets(names, {
      ...options,
      onReport: (r) =>
        console.log(
          `  ${r.name}: ${r.inputs} inputs, ${r.failureCount} failures, ` +
            `max ${r.maxMs.toFixed(2)} ms/input, ${(r.elapsedMs / 1000).toFixed(1)} s` +
            (r.inputs < options.inputs ? " (given up after too many hangs)" : ""),
        ),
    });
  }
  const failures = reports.flatMap((r) => r.failures);
  console.log();
  console.log(reportTable(reports, values.replay || values.targets ? [] : NOT_PRESENT));
  console.log();
  const total = reports.reduce((n, r) => n + r.inputs, 0);
  const failed = reports.reduce((n, r) => n + r.failureCount, 0);
  console.log(
    `${total} inputs, ${failed} failures, ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  for (const f of failures.slice(0, 40)) {
    console.log(`FAIL ${f.target} [${f.kind}] ${f.found}: ${f.message.slice(0, 300)}`);
  }
  if (failures.length > 0 && !values["no-save"] && !values.replay) {
    for (const path of saveCrashers(failures)) console.log(`saved ${path}`);
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
