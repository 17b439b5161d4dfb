/**
 * Runs one target over a range of inputs inside a Worker, so the runner can
 * terminate it when an input exceeds the time bound. Before each input it
 * publishes the input's index in a shared heartbeat; failures are posted with
 * the input, then a summary when the range is done.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { installAllocationGuard } from "./alloc_guard.ts";
import { decodeInput, encodeInput } from "./codec.ts";
import { type FailureKind, generateInput, judge, messageShape } from "./target.ts";
import { targetNamed } from "./targets/mod.ts";

/** What the runner asks a worker to do. */
export interface WorkerRequest {
  readonly target: string;
  /** Run seed; input i is rebuilt from (seed, target, i). */
  readonly seed: number;
  /** First and last-plus-one input index. */
  readonly from: number;
  readonly to: number;
  /** Inputs given as codec strings instead of generated ones (crasher replay). */
  readonly replay?: readonly string[];
  readonly timeoutMs: number;
  /** Largest single allocation allowed while the target runs. */
  readonly allocCapBytes: number;
  /** Int32Array of {@link HEARTBEAT} slots, updated around every input. */
  readonly heartbeat: SharedArrayBuffer;
  /** Stop posting failure inputs after this many (they are still counted). */
  readonly maxReportedFailures: number;
}

/** One failing input. */
export interface WorkerFailure {
  readonly index: number;
  readonly kind: FailureKind;
  readonly message: string;
  /** The input, {@link encodeInput}-encoded. */
  readonly input: string;
}

/** Messages from a worker. */
export type WorkerMessage =
  | { readonly type: "failure"; readonly failure: WorkerFailure }
  | { readonly type: "done"; readonly refusalShapes: readonly string[] };

/**
 * Slots of the shared heartbeat. The counters live there too, so that they
 * survive a worker terminated for a hang.
 */
export const HEARTBEAT = {
  /** 1 while an input is being generated or run. */
  busy: 0,
  /** Index of the current input. */
  index: 1,
  accepted: 2,
  refused: 3,
  failures: 4,
  /** Slowest input so far, in microseconds, and its index. */
  maxMicros: 5,
  maxIndex: 6,
  /** Number of slots. */
  length: 7,
} as const;

const MAX_SHAPES = 2000;

async function runRange(req: WorkerRequest): Promise<void> {
  const target = targetNamed(req.target);
  const seeds = req.replay ? [] : target.seeds();
  const beat = new Int32Array(req.heartbeat);
  const guard = installAllocationGuard();
  const shapes = new Set<string>();
  let failures = 0;
  const bump = (slot: number) => Atomics.add(beat, slot, 1);

  const fail = (index: number, kind: FailureKind, message: string, input: unknown) => {
    bump(HEARTBEAT.failures);
    if (++failures > req.maxReportedFailures) return;
    const failure = { index, kind, message, input: encodeInput(input) };
    self.postMessage({ type: "failure", failure } satisfies WorkerMessage);
  };

  for (let index = req.from; index < req.to; index++) {
    Atomics.store(beat, HEARTBEAT.index, index);
    Atomics.store(beat, HEARTBEAT.busy, 1);
    const input = req.replay
      ? decodeInput(req.replay[index])
      : generateInput(target, seeds, req.seed, index);
    guard.reset(req.allocCapBytes);
    let thrown: unknown;
    let threw = false;
    const started = performance.now();
    try {
      const pending = target.run(input);
      if (pending instanceof Promise) await pending;
    } catch (e) {
      thrown = e;
      threw = true;
    }
    const ms = performance.now() - started;
    const overAllocated = guard.exceeded;
    guard.reset(Infinity);
    Atomics.store(beat, HEARTBEAT.busy, 0);
    const micros = Math.min(Math.round(ms * 1000), 2 ** 31 - 1);
    if (micros > Atomics.load(beat, HEARTBEAT.maxMicros)) {
      Atomics.store(beat, HEARTBEAT.maxMicros, micros);
      Atomics.store(beat, HEARTBEAT.maxIndex, index);
    }

    const outcome = judge(thrown, threw);
    if (overAllocated !== undefined) {
      fail(index, "allocation", overAllocated, input);
    } else if (outcome.kind === "failure") {
      fail(index, outcome.failure, outcome.message, input);
    } else if (ms > req.timeoutMs) {
      fail(index, "timeout", `took ${ms.toFixed(0)} ms (bound ${req.timeoutMs} ms)`, input);
    } else if (outcome.kind === "accepted") {
      bump(HEARTBEAT.accepted);
    } else {
      bump(HEARTBEAT.refused);
      if (shapes.size < MAX_SHAPES) shapes.add(messageShape(outcome.message));
    }
  }
  self.postMessage({ type: "done", refusalShapes: [...shapes] } satisfies WorkerMessage);
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  runRange(event.data).catch((e) => {
    // A harness bug (bad seed, mutator crash): surface it instead of hanging the runner.
    throw e;
  });
};
