/**
 * Chooses the kexec_load planner for the running architecture and gathers
 * what it needs from the machine (memory map, running boot parameters,
 * random seed).
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import type { HostFacts } from "../facts.ts";
import type { SegmentLoadPlan } from "../plan/types.ts";
import type { System } from "../sys/system.ts";

/** Inputs common to every kexec_load planner. */
export interface SegmentLoadInput {
  readonly kernelPath: string;
  /** The kernel file's bytes (a read-only mapping). */
  readonly kernel: Uint8Array;
  /** The initrd's bytes (a mapping; concatenated when several), or null. */
  readonly initrd: Uint8Array | null;
  readonly cmdline: string;
  readonly crash: boolean;
  /** Let the purgatory check segment digests before jumping (off with -i). */
  readonly verify: boolean;
  readonly memMin?: number;
  readonly memMax?: number;
  readonly facts: HostFacts;
}

/** Plans a kexec_load for the running architecture. */
export function planSegmentLoad(sys: System, input: SegmentLoadInput): SegmentLoadPlan {
  throw new KexecError(
    `kexec_load is not implemented yet for ${sys.arch} (${input.kernelPath})`,
    { hint: "use kexec_file_load with -s" },
  );
}
