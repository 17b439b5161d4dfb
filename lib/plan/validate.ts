/**
 * The kernel's own checks of a kexec_load call (kernel/kexec_core.c
 * `sanity_check_segment_list`; kernel/kexec.c for the crash entry point), made
 * before the call so a bad plan is refused with its real cause instead of a
 * bare errno, and so a crash load never frees the loaded crash kernel only to
 * fail.
 *
 * @module
 */

import {
  KEXEC_ARCH_MASK,
  KEXEC_CRASH_HOTPLUG_SUPPORT,
  KEXEC_ON_CRASH,
  KEXEC_PRESERVE_CONTEXT,
  KEXEC_SEGMENT_MAX,
  KEXEC_UPDATE_ELFCOREHDR,
} from "../abi.ts";
import { KexecError } from "../errors.ts";
import type { SegmentLoadPlan } from "./types.ts";
import { hex } from "../format.ts";

/** What the checks need to know about the machine. */
export interface SegmentRules {
  /** Page size of the running kernel. */
  readonly pageSize: number;
  /** The reserved crash region (end exclusive), required for crash plans. */
  readonly crashRegion?: { readonly start: number; readonly end: number };
  /** Total RAM in bytes: the kernel refuses segments above half of it. */
  readonly ramBytes?: number;
}

const KNOWN_FLAGS = KEXEC_ON_CRASH | KEXEC_PRESERVE_CONTEXT | KEXEC_UPDATE_ELFCOREHDR |
  KEXEC_CRASH_HOTPLUG_SUPPORT;

function refuse(what: string, errno: string, hint: string): KexecError {
  return new KexecError(`${what} (kexec_load would fail with ${errno}); nothing was loaded`, {
    hint,
  });
}

/**
 * Throws a {@link KexecError} for a plan the kernel would reject, or that could
 * never boot (entry outside every segment).
 *
 * @example
 * ```ts
 * import { validateSegmentPlan } from "./validate.ts";
 * const buf = new Uint8Array(16);
 * const plan = {
 *   syscall: "kexec_load" as const, entry: 0x101000, flags: 0x3e0000, cmdline: "", notes: [],
 *   segments: [
 *     { name: "a", buf, mem: 0x100000, memsz: 0x2000 },
 *     { name: "b", buf, mem: 0x101000, memsz: 0x1000 },
 *   ],
 * };
 * let message = "";
 * try { validateSegmentPlan(plan, { pageSize: 4096 }); } catch (e) { message = (e as Error).message; }
 * if (!message.includes("overlap")) throw new Error(message);
 * ```
 */
export function validateSegmentPlan(plan: SegmentLoadPlan, rules: SegmentRules): void {
  const { segments } = plan;
  const bug = "this is a bug in the planner; run with -d and report it";
  const unknown = (plan.flags & ~KEXEC_ARCH_MASK & ~KNOWN_FLAGS) >>> 0;
  if (unknown !== 0) {
    throw refuse(`unknown kexec_load flag bits ${hex(unknown)}`, "EINVAL", bug);
  }
  if (segments.length > KEXEC_SEGMENT_MAX) {
    throw refuse(
      `${segments.length} segments; kexec_load accepts at most ${KEXEC_SEGMENT_MAX}`,
      "EINVAL",
      "use fewer initrds or let them be concatenated into one",
    );
  }
  for (const s of segments) {
    if (s.buf.length > s.memsz) {
      throw refuse(
        `segment ${s.name}: bufsz ${hex(s.buf.length)} exceeds memsz ${hex(s.memsz)}`,
        "EINVAL",
        bug,
      );
    }
    if (s.mem % rules.pageSize !== 0 || s.memsz % rules.pageSize !== 0) {
      throw refuse(
        `segment ${s.name} at ${hex(s.mem)} (memsz ${hex(s.memsz)}) is not aligned to the ` +
          `${rules.pageSize}-byte page size`,
        "EADDRNOTAVAIL",
        bug,
      );
    }
  }
  const sorted = [...segments].sort((a, b) => a.mem - b.mem);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (a.mem + a.memsz > b.mem) {
      throw refuse(
        `segments ${a.name} [${hex(a.mem)}, ${hex(a.mem + a.memsz)}) and ${b.name} ` +
          `[${hex(b.mem)}, ${hex(b.mem + b.memsz)}) overlap`,
        "EINVAL",
        "check --mem-min/--mem-max; otherwise this is a bug in the planner",
      );
    }
  }
  if (!segments.some((s) => plan.entry >= s.mem && plan.entry < s.mem + s.memsz)) {
    throw refuse(
      `entry ${hex(plan.entry)} is outside every segment; the new kernel could never start`,
      "no error: the kernel does not check this",
      bug,
    );
  }
  if (rules.ramBytes !== undefined) {
    const total = segments.reduce((n, s) => n + s.memsz, 0);
    if (total > rules.ramBytes / 2) {
      throw refuse(
        `the segments need ${total} bytes, more than half of the ${rules.ramBytes} bytes of RAM`,
        "EINVAL",
        "use a smaller initrd, or a machine with more memory",
      );
    }
  }
  if (plan.flags & KEXEC_ON_CRASH) {
    const r = rules.crashRegion;
    if (!r) {
      throw refuse("a crash load without a known crash region", "EADDRNOTAVAIL", bug);
    }
    for (const s of segments) {
      if (s.mem < r.start || s.mem + s.memsz > r.end) {
        throw refuse(
          `crash segment ${s.name} [${hex(s.mem)}, ${hex(s.mem + s.memsz)}) lies outside the ` +
            `crash region [${hex(r.start)}, ${hex(r.end)})`,
          "EADDRNOTAVAIL",
          "--mem-min/--mem-max must leave room inside the crash region",
        );
      }
    }
    if (plan.entry < r.start || plan.entry >= r.end) {
      throw refuse(
        `crash entry ${hex(plan.entry)} lies outside the crash region`,
        "EADDRNOTAVAIL",
        bug,
      );
    }
  }
}
