/**
 * Runs fuzz targets in Workers, `jobs` at a time, and watches each worker's
 * heartbeat: an input still running after the time bound is a hang — the
 * worker is terminated, the input is rebuilt from its index and reported, and
 * a new worker continues after it. Used by scripts/fuzz.ts and the CI slice.
 *
 * @module
 */

import { encodeInput } from "./codec.ts";
import { hashName } from "./rng.ts";
import { type FailureKind, generateInput, messageShape } from "./target.ts";
import { targetNamed } from "./targets/mod.ts";
import { HEARTBEAT, type WorkerFailure, type WorkerMessage, type WorkerRequest } from "./worker.ts";

/** Settings of a run. */
export interface FuzzOptions {
  /** Inputs per target (seeds included). */
  readonly inputs: number;
  /** Run seed. */
  readonly seed: number;
  /** Per-input time bound. */
  readonly timeoutMs: number;
  /** Targets run at once (one Worker each). */
  readonly jobs: number;
  /** Largest single allocation a target may make (default 16 MiB). */
  readonly allocCapBytes?: number;
  /** Failure inputs kept per target (default 20); all are counted. */
  readonly maxReportedFailures?: number;
  /**
   * Hangs after which a target is given up (default 10): a terminated Worker's
   * memory is not all returned, so endless hangs would exhaust the machine.
   */
  readonly maxHangs?: number;
  /** Called as each target finishes. */
  readonly onReport?: (report: TargetReport) => void;
}

/** One failure, with its input. */
export interface FuzzFailure extends WorkerFailure {
  readonly target: string;
  /** How to rebuild it: "seed S input N", or "replay of FILE". */
  readonly found: string;
}

/** A target's results. */
export interface TargetReport {
  readonly name: string;
  readonly entry: string;
  /** Inputs run (fewer than asked only when the target was given up after too many hangs). */
  readonly inputs: number;
  /** Inputs with a valid result. */
  readonly accepted: number;
  /** Inputs refused with a KexecError. */
  readonly refused: number;
  /** Distinct refusal messages (numbers blanked): how much of the parser the inputs reach. */
  readonly refusalShapes: number;
  readonly failureCount: number;
  /** The first failures, with inputs. */
  readonly failures: readonly FuzzFailure[];
  readonly maxMs: number;
  readonly maxMsIndex: number;
  readonly elapsedMs: number;
}

/** Default largest single allocation: far above anything a valid input needs. */
export const DEFAULT_ALLOC_CAP_BYTES = 16 * 1024 * 1024;

const WATCHDOG_INTERVAL_MS = 20;

type WorkerEnd =
  | { readonly kind: "done"; readonly refusalShapes: readonly string[] }
  | {
    readonly kind: "stopped";
    readonly index: number;
    readonly failure: FailureKind;
    readonly message: string;
  };

// Runs one worker over [from, to); resolves when it is done or was stopped.
// Its counters are left in `beat`, which must be new for each worker: a
// terminated worker may still run on for a moment.
function runWorker(
  request: Omit<WorkerRequest, "heartbeat">,
  beat: Int32Array<SharedArrayBuffer>,
  onFailure: (f: WorkerFailure) => void,
): Promise<WorkerEnd> {
  Atomics.store(beat, HEARTBEAT.index, -1);
  const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
  return new Promise<WorkerEnd>((resolve) => {
    let lastIndex = -1;
    let lastChange = performance.now();
    let finished = false;
    const finish = (end: WorkerEnd) => {
      finished = true;
      clearInterval(watchdog);
      worker.terminate();
      resolve(end);
    };
    const watchdog = setInterval(() => {
      const index = Atomics.load(beat, HEARTBEAT.index);
      const now = performance.now();
      if (index !== lastIndex) {
        lastIndex = index;
        lastChange = now;
      } else if (
        Atomics.load(beat, HEARTBEAT.busy) === 1 && now - lastChange > request.timeoutMs
      ) {
        finish({
          kind: "stopped",
          index,
          failure: "hang",
          message: `still running after ${(now - lastChange).toFixed(0)} ms (bound ` +
            `${request.timeoutMs} ms); worker terminated`,
        });
      }
    }, WATCHDOG_INTERVAL_MS);
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
      const message = event.data;
      if (finished) return;
      if (message.type === "failure") onFailure(message.failure);
      else finish({ kind: "done", refusalShapes: message.refusalShapes });
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      finish({
        kind: "stopped",
        index: Atomics.load(beat, HEARTBEAT.index),
        failure: "exception",
        message: `worker died: ${event.message}`,
      });
    };
    worker.postMessage({ ...request, heartbeat: beat.buffer } satisfies WorkerRequest);
  });
}

/**
 * Fuzzes one target over inputs [0, inputs), or replays `replay` (encoded
 * inputs) when given.
 *
 * @example
 * ```ts
 * import { fuzzTarget } from "./runner.ts";
 * const r = await fuzzTarget("hex_address", { inputs: 50, seed: 1, timeoutMs: 2000 });
 * if (r.inputs !== 50 || r.failureCount !== 0) throw new Error(JSON.stringify(r.failures));
 * ```
 */
export async function fuzzTarget(
  name: string,
  options: Omit<FuzzOptions, "jobs" | "onReport">,
  replay?: readonly { readonly input: string; readonly found: string }[],
): Promise<TargetReport> {
  const target = targetNamed(name);
  const total = replay ? replay.length : options.inputs;
  const maxReported = options.maxReportedFailures ?? 20;
  const failures: FuzzFailure[] = [];
  const shapes = new Set<string>();
  let accepted = 0, refused = 0, failureCount = 0, maxMs = 0, maxMsIndex = 0;
  const started = performance.now();
  let seeds: unknown[] | undefined;
  const record = (f: WorkerFailure) => {
    failureCount++;
    if (failures.length >= maxReported) return;
    const found = replay ? replay[f.index].found : `seed ${options.seed} input ${f.index}`;
    failures.push({ ...f, target: name, found });
  };

  const report = (inputs: number): TargetReport => ({
    name,
    entry: target.entry,
    inputs,
    accepted,
    refused,
    refusalShapes: shapes.size,
    failureCount,
    failures,
    maxMs,
    maxMsIndex,
    elapsedMs: performance.now() - started,
  });
  let from = 0;
  let hangs = 0;
  while (from < total) {
    const beat = new Int32Array(new SharedArrayBuffer(HEARTBEAT.length * 4));
    const end = await runWorker(
      {
        target: name,
        seed: options.seed,
        from,
        to: total,
        replay: replay?.map((r) => r.input),
        timeoutMs: options.timeoutMs,
        allocCapBytes: options.allocCapBytes ?? DEFAULT_ALLOC_CAP_BYTES,
        maxReportedFailures: maxReported,
      },
      beat,
      (f) => record(f),
    );
    accepted += Atomics.load(beat, HEARTBEAT.accepted);
    refused += Atomics.load(beat, HEARTBEAT.refused);
    // The worker counted every failure; `record` saw only the ones it posted.
    const counted = Atomics.load(beat, HEARTBEAT.failures);
    failureCount += counted - Math.min(counted, maxReported);
    const workerMaxMs = Atomics.load(beat, HEARTBEAT.maxMicros) / 1000;
    if (workerMaxMs > maxMs) {
      [maxMs, maxMsIndex] = [workerMaxMs, Atomics.load(beat, HEARTBEAT.maxIndex)];
    }
    if (end.kind === "done") {
      end.refusalShapes.forEach((shape) => shapes.add(shape));
      break;
    }
    // Stopped on input `end.index`: report it and go on after it.
    const index = Math.max(end.index, from);
    let input: string;
    if (replay) input = replay[index].input;
    else {
      seeds ??= target.seeds();
      input = encodeInput(generateInput(target, seeds, options.seed, index));
    }
    record({ index, kind: end.failure, message: end.message, input });
    if (options.timeoutMs > maxMs) [maxMs, maxMsIndex] = [options.timeoutMs, index];
    from = index + 1;
    if (end.failure === "hang" && ++hangs >= (options.maxHangs ?? 10)) {
      return report(from);
    }
  }
  return report(total);
}

/**
 * Fuzzes the named targets, `jobs` at a time; reports come back in the order of `names`.
 *
 * @example
 * ```ts
 * import { fuzzTargets } from "./runner.ts";
 * const options = { inputs: 20, seed: 1, timeoutMs: 2000, jobs: 2 };
 * const [a, b] = await fuzzTargets(["facts", "kallsyms"], options);
 * if (a.name !== "facts" || b.name !== "kallsyms") throw new Error();
 * ```
 */
export async function fuzzTargets(
  names: readonly string[],
  options: FuzzOptions,
): Promise<TargetReport[]> {
  const reports = new Array<TargetReport>(names.length);
  let next = 0;
  const lane = async () => {
    while (next < names.length) {
      const i = next++;
      reports[i] = await fuzzTarget(names[i], options);
      options.onReport?.(reports[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, lane));
  return reports;
}

/** A crasher file's content: enough to replay and to understand it. */
export interface CrasherFile {
  readonly target: string;
  readonly kind: FailureKind;
  readonly message: string;
  readonly found: string;
  /** The input as a JSON value (see codec.ts). */
  readonly input: unknown;
}

/**
 * A stable file name for a failure: target, kind and a hash of the message
 * shape and input.
 *
 * @example
 * ```ts
 * import { crasherFileName } from "./runner.ts";
 * const f = { target: "iomem", kind: "exception" as const, message: "x", input: '"a"' };
 * if (!crasherFileName(f).startsWith("iomem-exception-")) throw new Error();
 * ```
 */
export function crasherFileName(
  f: Pick<FuzzFailure, "target" | "kind" | "message" | "input">,
): string {
  const hash = hashName(`${messageShape(f.message)}\n${f.input}`).toString(16).padStart(8, "0");
  return `${f.target}-${f.kind}-${hash}.json`;
}
