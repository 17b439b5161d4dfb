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
