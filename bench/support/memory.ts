/**
 * Memory of a load, from /proc/<pid>/smaps_rollup: anonymous (private) memory
 * apart from mapped file pages (page cache the process only looks at) and
 * shmem (memfds). Our tool reports its own readings at the kexec syscall
 * (bench/tool/recorded_main.ts); any other process is sampled from outside.
 *
 * @module
 */

import type { BenchCommand, Sample } from "./measure.ts";

/** Fields of /proc/<pid>/smaps_rollup, in kB. */
export interface MemorySample {
  /** When it was read ("start", "kexec_load", ...). */
  readonly at: string;
  readonly rss: number;
  /** Private anonymous pages: heaps, copies. */
  readonly anonymous: number;
  /** Mapped file pages (page cache), proportional share. */
  readonly pssFile: number;
  /** Mapped shmem pages (memfds), proportional share. */
  readonly pssShmem: number;
}

/**
 * Parses smaps_rollup text (kB fields).
 *
 * @example
 * ```ts
 * import { parseRollup } from "./memory.ts";
 * const s = parseRollup("Rss:  100 kB\nPss_File:  30 kB\nPss_Shmem:  0 kB\nAnonymous:  60 kB\n", "x");
 * if (s.rss !== 100 || s.anonymous !== 60 || s.pssFile !== 30) throw new Error();
 * ```
 */
export function parseRollup(text: string, at: string): MemorySample {
  const field = (name: string) =>
    Number(text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  return {
    at,
    rss: field("Rss"),
    anonymous: field("Anonymous"),
    pssFile: field("Pss_File"),
    pssShmem: field("Pss_Shmem"),
  };
}

/** Readings of one run: the first, the one with the most anonymous memory, the last. */
export interface MemoryReadings {
  readonly first: MemorySample;
  readonly peak: MemorySample;
  readonly samples: number;
}

/**
 * Runs a command and samples its smaps_rollup every millisecond or so until
 * it exits (the process must not fork: `unshare` without `--fork` execs).
 */
export async function sampleMemory(
  command: BenchCommand,
): Promise<{ run: Sample; memory: MemoryReadings }> {
  const [program, ...args] = command.cmd;
  const start = performance.now();
  const child = new Deno.Command(program, {
    args,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...command.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  let done = false;
  output.finally(() => done = true);
  const readings: MemorySample[] = [];
  while (!done) {
    try {
      const text = await Deno.readTextFile(`/proc/${child.pid}/smaps_rollup`);
      if (text.includes("Rss:")) readings.push(parseRollup(text, "sample"));
    } catch {
      // exited between the check and the read
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const out = await output;
  const dec = new TextDecoder();
  if (readings.length === 0) throw new Error(`${command.name}: no memory sample`);
  const peak = readings.reduce((a, b) => (b.anonymous > a.anonymous ? b : a));
  return {
    run: {
      wallMs: performance.now() - start,
      cpuMs: NaN,
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    },
    memory: { first: readings[0], peak, samples: readings.length },
  };
}

/**
 * The readings our recorded entry printed (`kexec-bench-memory [...]` on stderr).
 *
 * @example
 * ```ts
 * import { reportedMemory } from "./memory.ts";
 * const r = reportedMemory('x\nkexec-bench-memory [{"at":"start","rss":1,"anonymous":1,"pssFile":0,"pssShmem":0}]\n');
 * if (r[0].at !== "start") throw new Error();
 * ```
 */
export function reportedMemory(stderr: string): MemorySample[] {
  const line = stderr.split("\n").find((l) => l.startsWith("kexec-bench-memory "));
  if (!line) throw new Error(`no kexec-bench-memory line in:\n${stderr}`);
  return JSON.parse(line.slice("kexec-bench-memory ".length));
}

/** kB as MiB for a table. */
export function mib(kb: number): string {
  return (kb / 1024).toFixed(1);
}
