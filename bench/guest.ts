/**
 * Guest benchmarks (`deno task bench:guest`): this tool against Debian's
 * kexec-tools inside one QEMU TCG guest (the e2e harness, tests/e2e/harness),
 * on the same files as the host benchmarks (Debian's bzImage and the 64 MiB
 * random initrd). Both make real kexec_load and kexec_file_load calls there,
 * the only place they may; nothing is executed (bench/guest/bench.sh unloads
 * after every load and the guest powers off).
 *
 * Prints one Markdown table on stdout: best of `--runs` (default 5) and
 * median per command, and the ratio to kexec-tools. The rounds run in
 * guests of three rounds each, one after the other (a guest may run 360 s),
 * several minutes of TCG: run it alone, never beside the e2e suite.
 *
 * ```sh
 * deno task bench:guest              # best of 5
 * deno task bench:guest --runs 3
 * deno task bench:guest --from-log .cache/e2e/logs/bench-guest-*.results.log  # tables again
 * ```
 *
 * @module
 */

import { runGuestCase } from "../tests/e2e/harness/guest.ts";
import { parseReport, type StepResult } from "../tests/e2e/harness/results.ts";
import { sharedLibraryClosure } from "../scripts/mkinitramfs.ts";
import { ensureKexecTools, ensureRandomFile } from "./support/assets.ts";
import { machineSummary } from "./support/machine.ts";
import { median, ms, ratio, table } from "./support/measure.ts";

const MiB = 2 ** 20;
const SCRIPT = new URL("./guest/bench.sh", import.meta.url).pathname;
/** Rounds one guest runs (each guest boots in about 40 s and may run 360 s in all). */
const ROUNDS_PER_GUEST = 3;

function log(line: string): void {
  console.error(`[bench:guest] ${line}`);
}

/** The rows: step prefix in bench.sh, label, the kexec-tools row it is compared with. */
const ROWS: readonly [string, string, string | undefined][] = [
  ["trivial", "trivial deno program", undefined],
  ["ours-version", "ours --version", "kt-version"],
  ["kt-version", "kexec-tools --version", undefined],
  ["ours-c", "ours -c -l (kexec_load)", "kt-c"],
  ["kt-c", "kexec-tools -c -l", undefined],
  ["ours-s", "ours -s -l (kexec_file_load)", "kt-s"],
  ["kt-s", "kexec-tools -s -l", undefined],
  ["ours-s0", "ours -s -l, no initrd", "kt-s0"],
  ["kt-s0", "kexec-tools -s -l, no initrd", undefined],
  ["ours-st-s", "ours -s -l, V8 single-threaded", "kt-s"],
  ["ours-st-s0", "ours -s -l, no initrd, V8 single-threaded", "kt-s0"],
];

function stepTimes(
  steps: Map<string, StepResult>,
  prefix: string,
  rounds: readonly number[],
): number[] {
  const times: number[] = [];
  for (const i of rounds) {
    const s = steps.get(`${prefix}-${i}`);
    if (!s || !s.complete) throw new Error(`step ${prefix}-${i} did not finish in the guest`);
    // Loads end in 0; kexec-tools --version ends in 0 too.
    if (s.rc !== 0) {
      throw new Error(`step ${prefix}-${i} exited ${s.rc}: ${[...s.out, ...s.err].join("\n")}`);
    }
    times.push(s.ms);
  }
  return times;
}

/** Rounds whose every step finished (a guest stopped by its time limit leaves one half done). */
function completedRounds(steps: Map<string, StepResult>, runs: number): number[] {
  const rounds: number[] = [];
  for (let i = 1; i <= runs; i++) {
    if (ROWS.every(([p]) => steps.get(`${p}-${i}`)?.complete === true)) rounds.push(i);
  }
  return rounds;
}

function resultTable(steps: Map<string, StepResult>, rounds: readonly number[]): string {
  const times = new Map(ROWS.map(([p]) => [p, stepTimes(steps, p, rounds)]));
  const trivialBest = Math.min(...times.get("trivial")!);
  const rows = ROWS.map(([prefix, label, theirs]) => {
    const t = times.get(prefix)!;
    const best = Math.min(...t);
    const kt = theirs ? times.get(theirs)! : undefined;
    return [
      label,
      ms(best),
      ms(median(t)),
      prefix.startsWith("ours") ? `+${ms(best - trivialBest)}` : "–",
      kt ? ratio(best, Math.min(...kt)) : "–",
    ];
  });
  return table(
    ["command", "best ms", "median ms", "best − trivial best", "÷ kexec-tools (best)"],
    rows,
  );
}

// What the 64 MiB initrd adds to each tool's kexec_file_load (best with − best without).
function initrdCost(steps: Map<string, StepResult>, rounds: readonly number[]): string {
  const best = (p: string) => Math.min(...stepTimes(steps, p, rounds));
  const ours = best("ours-s") - best("ours-s0");
  const single = best("ours-st-s") - best("ours-st-s0");
  const theirs = best("kt-s") - best("kt-s0");
  return `The 64 MiB initrd adds ${ms(ours)} ms to our -s -l (${ms(single)} ms with V8 ` +
    `single-threaded) and ${ms(theirs)} ms to kexec-tools'.`;
}

function render(
  steps: Map<string, StepResult>,
  runs: number,
  machine: string,
  ktVersion: string,
): string {
  const rounds = completedRounds(steps, runs);
  const done = rounds.length;
  if (done === 0) throw new Error("no round finished in the guest");
  return [
    `## TCG guest\n\n${machine}\n`,
    `QEMU TCG x86_64 guest (2 GiB, ${Deno.env.get("E2E_SMP") ?? 2} vCPUs), Debian's kernel ` +
    `loading itself with a 64 MiB random initrd; kexec-tools ${ktVersion}. Best of ${done} ` +
    `rounds${done < runs ? ` (of ${runs} asked; a guest's time limit ended the others)` : ""}; ` +
    "wall time per command from /proc/uptime (10 ms).\n",
    resultTable(steps, rounds) + "\n",
    initrdCost(steps, rounds) + "\n",
  ].join("\n");
}

async function main(args: string[]): Promise<void> {
  const runs = Number(args[args.indexOf("--runs") + 1] || 5) || 5;
  const machine = await machineSummary();
  const kt = await ensureKexecTools(log);
  const fromLog = args.indexOf("--from-log");
  if (fromLog >= 0) {
    // Tables again from saved results port logs (.cache/e2e/logs/bench-guest-*.results.log).
    const steps = new Map<string, StepResult>();
    for (const path of args.slice(fromLog + 1).filter((a) => !a.startsWith("--"))) {
      for (const [name, step] of parseReport(await Deno.readTextFile(path)).steps) {
        steps.set(name, step);
      }
    }
    console.log(render(steps, runs, machine, kt.version));
    return;
  }
  const initrd = await ensureRandomFile("initrd-64M.bin", 64 * MiB);
  const dir = await Deno.makeTempDir({ prefix: "kexec-bench-guest-" });
  try {
    const trivial = `${dir}/trivial.js`;
    await Deno.writeTextFile(trivial, 'console.log("kexec 0.0.0");\n');
    // kexec-tools and the libraries it links that the guest (deno's closure) lacks.
    const libs = sharedLibraryClosure(kt.binary).filter((p) => !/\/(libc|ld-linux)/.test(p.guest));
    const files = [
      { host: kt.binary, guest: "/usr/local/sbin/kexec-tools" },
      ...libs,
      { host: initrd, guest: "/bench/initrd-64M.bin" },
      { host: trivial, guest: "/bench/trivial.js" },
    ];
    // A guest may run at most 360 s (the harness's limit) and a round takes about a minute on
    // a loaded machine: the rounds are shared among guests booted one after the other.
    const steps = new Map<string, StepResult>();
    for (let first = 1; first <= runs; first += ROUNDS_PER_GUEST) {
      const last = Math.min(runs, first + ROUNDS_PER_GUEST - 1);
      log(`guest for rounds ${first}-${last} of ${runs}`);
      const run = await runGuestCase({
        name: `bench-guest-${first}`,
        script: SCRIPT,
        params: {
          BENCH_FIRST: String(first),
          BENCH_LAST: String(last),
          BENCH_INITRD: "/bench/initrd-64M.bin",
        },
        files,
        memoryMiB: 2048,
      });
      if (run.qemu.timedOut) log(`the guest hit its time limit; console: ${run.logs.console}`);
      for (const [name, step] of run.report.steps) steps.set(name, step);
    }
    console.log(render(steps, runs, machine, kt.version));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
