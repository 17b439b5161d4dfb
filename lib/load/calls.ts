/**
 * The two system calls a load makes, as they are made: the kexec_file_load
 * call (with -d's KEXEC_FILE_DEBUG and its retry without it) and the
 * kexec_load call with its segment table, each explained on -d and recorded
 * as an {@link Attempt}.
 *
 * @module
 */

import { KEXEC_FILE_DEBUG } from "../abi.ts";
import type { HostFacts } from "../facts.ts";
import { describeFileFlags } from "../plan/file_load.ts";
import { segmentTable } from "../plan/segment_table.ts";
import type { FileLoadPlan, SegmentLoadPlan } from "../plan/types.ts";
import { fileDebugUnderLimit } from "../load_limits.ts";
import type { Reporter } from "../report.ts";
import { describeErrno, Errno } from "../sys/errno.ts";
import type { System } from "../sys/system.ts";
import type { Attempt } from "./request.ts";

/**
 * Makes the kexec_file_load call of `plan` (with -d: first with
 * KEXEC_FILE_DEBUG, again without it if the kernel refuses the bit with
 * EINVAL, unless a load limit makes that refusal costly) and records each
 * call in `attempts`; returns the errno of the call that counts (0: loaded).
 *
 * @example
 * ```ts
 * import { callFile } from "./calls.ts";
 * import type { Attempt } from "./request.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * import { silentReporter } from "../report.ts";
 * const sys = new RecordingSystem({}, { fileLoadErrnos: [22, 0] }); // EINVAL, then success
 * const plan = {
 *   syscall: "kexec_file_load" as const, kernel: { path: "/k", fd: 3, size: 1 }, initrd: null,
 *   initrdPaths: [], cmdline: "", cmdlineBytes: new Uint8Array(1), flags: 0, notes: [],
 * };
 * const attempts: Attempt[] = [];
 * const errno = callFile(sys, plan, true, attempts, silentReporter, {}, false);
 * if (errno !== 0 || attempts.length !== 2 || attempts[1].flags !== 0) throw new Error();
 * ```
 */
export function callFile(
  sys: System,
  plan: FileLoadPlan,
  debug: boolean,
  attempts: Attempt[],
  rep: Reporter,
  facts: HostFacts,
  crash: boolean,
): number {
  const initrdFd = plan.initrd ? plan.initrd.fd : -1;
  const call = (flags: number) => {
    rep.debug(
      `kexec_file_load(kernel_fd=${plan.kernel.fd}, initrd_fd=${initrdFd}, ` +
        `cmdline_len=${plan.cmdlineBytes.length}, flags=0x${flags.toString(16)} ` +
        `[${describeFileFlags(flags).join("|")}])`,
    );
    const errno = sys.kexecFileLoad(plan.kernel.fd, initrdFd, plan.cmdlineBytes, flags);
    attempts.push({ syscall: "kexec_file_load", flags, errno });
    rep.debug(`kexec_file_load: ${errno === 0 ? "ok" : describeErrno(errno)}`);
    return errno;
  };
  if (!debug) return call(plan.flags);
  // -d asks the kernel to print its placement too, but must never change the
  // outcome: kernels before 6.8 reject the bit with EINVAL, so retry without.
  // Under a load limit the refused call would spend a load (load_limits.ts):
  // then the bit is sent only to kernels known to take it.
  const limited = fileDebugUnderLimit(sys, facts, crash);
  if (limited) {
    if (limited.send) return call(plan.flags | KEXEC_FILE_DEBUG);
    rep.debug(limited.why);
    return call(plan.flags);
  }
  const errno = call(plan.flags | KEXEC_FILE_DEBUG);
  return errno === Errno.EINVAL ? call(plan.flags) : errno;
}

/**
 * Makes the kexec_load call of `plan`: builds the `struct kexec_segment`
 * table from the segments' buffers, records the call in `attempts` and
 * returns its errno (0: loaded).
 *
 * @example
 * ```ts
 * import { callSegments } from "./calls.ts";
 * import type { Attempt } from "./request.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * import { silentReporter } from "../report.ts";
 * const sys = new RecordingSystem({});
 * const buf = new Uint8Array(4096);
 * const plan = {
 *   syscall: "kexec_load" as const, entry: 0x100000, flags: 0, cmdline: "", notes: [],
 *   segments: [{ name: "kernel", buf, mem: 0x100000, memsz: 4096 }],
 * };
 * const attempts: Attempt[] = [];
 * if (callSegments(sys, plan, attempts, silentReporter) !== 0) throw new Error();
 * if (sys.calls[0].op !== "kexec_load" || attempts[0].syscall !== "kexec_load") throw new Error();
 * ```
 */
export function callSegments(
  sys: System,
  plan: SegmentLoadPlan,
  attempts: Attempt[],
  rep: Reporter,
): number {
  for (const line of plan.notes) rep.debug(line);
  const table = segmentTable(plan.segments, (b) => sys.addressOf(b));
  rep.debug(
    `kexec_load(entry=0x${plan.entry.toString(16)}, nr_segments=${plan.segments.length}, ` +
      `flags=0x${plan.flags.toString(16)})`,
  );
  const errno = sys.kexecLoad(
    BigInt(plan.entry),
    table,
    plan.segments.length,
    plan.flags,
    plan.segments.map((s) => s.buf),
  );
  attempts.push({ syscall: "kexec_load", flags: plan.flags, errno });
  rep.debug(`kexec_load: ${errno === 0 ? "ok" : describeErrno(errno)}`);
  return errno;
}
