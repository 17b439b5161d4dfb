/**
 * Timing commands side by side: every command runs in turn (round-robin), so
 * a busy neighbour on the shared machine slows all of them alike; each run's
 * wall time and CPU time (user + system, from getrusage(RUSAGE_CHILDREN)) are
 * kept, and tables show the median and the best.
 *
 * @module
 */

/** One run of one command. */
export interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A command to time. */
export interface BenchCommand {
  /** Row name. */
  readonly name: string;
  /** Program and arguments. */
  readonly cmd: readonly string[];
  /** Extra environment. */
  readonly env?: Record<string, string>;
  /** Exit codes that count as the expected outcome (default: any). */
  readonly codes?: readonly number[];
}

// struct rusage starts with ru_utime and ru_stime, two struct timeval (man 2 getrusage).
const RUSAGE_CHILDREN = -1;
const RUSAGE_SELF = 0;
const RUSAGE_SIZE = 144;

let rusage:
  | Deno.DynamicLibrary<{
    getrusage: { parameters: ["i32", "buffer"]; result: "i32" };
  }>
  | undefined;

/**
 * CPU time (user + system, ms) of every child this process has waited for.
 *
 * @example
 * ```ts
 * import { childCpuMs } from "./measure.ts";
 * const before = childCpuMs();
 * await new Deno.Command("sh", { args: ["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"] })
 *   .output();
 * if (!(childCpuMs() > before)) throw new Error("no CPU time counted");
 * ```
 */
export function childCpuMs(): number {
  return cpuMsOf(RUSAGE_CHILDREN);
}

/**
 * CPU time (user + system, ms) of this process so far.
 *
 * @example
 * ```ts
 * import { selfCpuMs } from "./measure.ts";
 * const before = selfCpuMs();
 * let x = 0;
 * for (let i = 0; i < 1e7; i++) x += i;
 * if (!(selfCpuMs() > before) || x === 0) throw new Error("no CPU time counted");
 * ```
 */
export function selfCpuMs(): number {
  return cpuMsOf(RUSAGE_SELF);
}

function cpuMsOf(who: number): number {
  rusage ??= Deno.dlopen("libc.so.6", {
    getrusage: { parameters: ["i32", "buffer"], result: "i32" },
  });
  const buf = new BigInt64Array(RUSAGE_SIZE / 8);
  if (rusage.symbols.getrusage(who, buf) !== 0) throw new Error("getrusage failed");
  const ms = (sec: bigint, usec: bigint) => Number(sec) * 1000 + Number(usec) / 1000;
  return ms(buf[0], buf[1]) + ms(buf[2], buf[3]);
}

/**
 * Runs a command once, capturing its output.
 *
 * @example
 * ```ts
 * import { runOnce } from "./measure.ts";
 * const s = await runOnce({ name: "true", cmd: ["sh", "-c", "echo hi"] });
 * if (s.code !== 0 || s.stdout !== "hi\n" || !(s.wallMs > 0)) throw new Error(JSON.stringify(s));
 * ```
 */
export async function runOnce(command: BenchCommand): Promise<Sample> {
  const [program, ...args] = command.cmd;
  const cpu = childCpuMs();
  const start = performance.now();
  const out = await new Deno.Command(program, {
    args,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...command.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wallMs = performance.now() - start;
  const dec = new TextDecoder();
  const sample = {
    wallMs,
    cpuMs: childCpuMs() - cpu,
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
  if (command.codes && !command.codes.includes(out.code)) {
    throw new Error(
      `${command.name}: exit ${out.code}, expected ${command.codes.join(" or ")}\n` +
        `$ ${command.cmd.join(" ")}\n${sample.stdout}${sample.stderr}`,
    );
  }
  return sample;
}

/**
 * Runs every command `warmup` times, then `runs` times, round-robin; returns
 * the timed samples by name.
 */
export async function interleave(
  commands: readonly BenchCommand[],
  runs: number,
  warmup = 2,
  progress: (line: string) => void = () => {},
): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(commands.map((c) => [c.name, []]));
  for (let round = 0; round < warmup + runs; round++) {
    for (const command of commands) {
      const s = await runOnce(command);
      if (round >= warmup) samples.get(command.name)!.push(s);
    }
    progress(`round ${round + 1}/${warmup + runs}`);
  }
  return samples;
}

/**
 * The median of numbers (the mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * import { median } from "./measure.ts";
 * if (median([3, 1, 2]) !== 2 || median([4, 1, 2, 3]) !== 2.5) throw new Error();
 * ```
 */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median and best wall time, median CPU time of samples. */
export interface Summary {
  readonly medianMs: number;
  readonly bestMs: number;
  readonly cpuMs: number;
  readonly runs: number;
}

/**
 * Summarises samples.
 *
 * @example
 * ```ts
 * import { summarize } from "./measure.ts";
 * const s = summarize([{ wallMs: 3, cpuMs: 1 }, { wallMs: 1, cpuMs: 2 }, { wallMs: 2, cpuMs: 3 }]);
 * if (s.medianMs !== 2 || s.bestMs !== 1 || s.cpuMs !== 2) throw new Error();
 * ```
 */
export function summarize(samples: readonly Pick<Sample, "wallMs" | "cpuMs">[]): Summary {
  return {
    medianMs: median(samples.map((s) => s.wallMs)),
    bestMs: Math.min(...samples.map((s) => s.wallMs)),
    cpuMs: median(samples.map((s) => s.cpuMs)),
    runs: samples.length,
  };
}

/**
 * A Markdown table.
 *
 * @example
 * ```ts
 * import { table } from "./measure.ts";
 * if (table(["a", "b"], [["1", "2"]]) !== "| a | b |\n|---|---|\n| 1 | 2 |") throw new Error();
 * ```
 */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Milliseconds for a table: one decimal below 100 ms. */
export function ms(value: number): string {
  return value < 100 ? value.toFixed(1) : value.toFixed(0);
}

/** A ratio for a table. */
export function ratio(ours: number, theirs: number): string {
  return (ours / theirs).toFixed(2);
}
