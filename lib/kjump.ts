/**
 * Kexec jump (KEXEC_PRESERVE_CONTEXT): loading an image that may return to
 * this kernel, and the jump-back helper a kjumped kernel loads to return
 * (kexec-tools' `--load-preserve-context`, `--load-jump-back-helper`).
 * Both need a kernel built with CONFIG_KEXEC_JUMP, which is asked for
 * before anything is loaded.
 *
 * @module
 */

import { KEXEC_PRESERVE_CONTEXT, PATHS } from "./abi.ts";
import { hostArchAbi } from "./arch/abi.ts";
import { splitKernelArgs } from "./cmdline.ts";
import { syscallError } from "./diagnose.ts";
import { KexecError } from "./errors.ts";
import { parseFlag, readHostFacts } from "./facts.ts";
import { limitName, loadsLeft } from "./load_limits.ts";
import type { Segment } from "./plan/types.ts";
import { segmentTable } from "./plan/segment_table.ts";
import type { Reporter } from "./report.ts";
import { Errno } from "./sys/errno.ts";
import type { System } from "./sys/system.ts";

/**
 * Throws unless the running kernel accepts KEXEC_PRESERVE_CONTEXT. The probe
 * passes a NULL segment table, so it can never load anything: EFAULT means
 * the flag was accepted, EINVAL that the kernel lacks CONFIG_KEXEC_JUMP.
 * Under a kexec_load_limit_reboot the probe would spend a load
 * (load_limits.ts), so it is skipped: the load itself then answers EINVAL on a
 * kernel without kexec jump.
 *
 * @example
 * ```ts
 * import { requireKexecJump } from "./kjump.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * let message = "";
 * try { requireKexecJump(new RecordingSystem({}, { probeErrno: 22 })); } catch (e) {
 *   message = (e as Error).message;
 * }
 * if (!message.includes("CONFIG_KEXEC_JUMP")) throw new Error(message);
 * ```
 */
export function requireKexecJump(sys: System, rep?: Reporter): void {
  const left = loadsLeft(readHostFacts(sys), false);
  if (left !== undefined) {
    rep?.debug(
      `not asking the kernel whether it has CONFIG_KEXEC_JUMP: ${limitName(false)} allows ` +
        `${left} more load(s), and the question would spend one`,
    );
    return;
  }
  const flags = KEXEC_PRESERVE_CONTEXT | hostArchAbi(sys.arch).kexecArch;
  const errno = sys.probeKexecLoadFlags(flags);
  if (errno === Errno.EFAULT) return;
  if (errno === Errno.EINVAL) {
    throw new KexecError(
      "this kernel was built without CONFIG_KEXEC_JUMP: it does not accept " +
        "KEXEC_PRESERVE_CONTEXT (kexec jump)",
      { hint: "use a kernel with CONFIG_KEXEC_JUMP=y, or load normally with -l" },
    );
  }
  throw syscallError(errno, {
    call: "kexec_load",
    syscall: "kexec_load",
    crash: false,
    facts: readHostFacts(sys),
  });
}

/**
 * The jump-back address from a command line's `kexec_jump_back_entry=`,
 * which the kernel that did the kjump passes to the image it started.
 * Throws a {@link KexecError} when the value is beyond 2^53.
 *
 * @example
 * ```ts
 * import { jumpBackEntryFromCmdline } from "./kjump.ts";
 * if (jumpBackEntryFromCmdline("quiet kexec_jump_back_entry=0x1234\n") !== 0x1234) throw new Error();
 * if (jumpBackEntryFromCmdline("quiet") !== undefined) throw new Error();
 * ```
 */
export function jumpBackEntryFromCmdline(cmdline: string | undefined): number | undefined {
  for (const arg of splitKernelArgs(cmdline ?? "")) {
    const m = /^kexec_jump_back_entry=(0x[0-9a-fA-F]+)$/.exec(arg);
    if (!m) continue;
    const entry = Number(m[1]);
    // A physical address; anything beyond 2^53 would be rounded to another address.
    if (!Number.isSafeInteger(entry)) {
      throw new KexecError(`/proc/cmdline: ${arg} is beyond any physical address`, {
        hint: "give the address to return to with --entry=ADDR",
      });
    }
    return entry;
  }
  return undefined;
}

/**
 * The one empty segment kexec-tools passes for the jump-back helper image.
 *
 * @example
 * ```ts
 * import { jumpBackHelperSegments } from "./kjump.ts";
 * const [s] = jumpBackHelperSegments();
 * if (s.buf.length !== 0 || s.memsz !== 0) throw new Error();
 * ```
 */
export function jumpBackHelperSegments(): Segment[] {
  return [{ name: "jump-back", buf: new Uint8Array(0), mem: 0, memsz: 0 }];
}

/** What the jump-back helper load passes. */
export interface JumpBackPlan {
  readonly entry: number;
  readonly flags: number;
  readonly segments: readonly Segment[];
}

/**
 * Loads the jump-back helper: an image with no data whose entry is the
 * address of the kernel that kjumped here, so `kexec -e` returns to it.
 *
 * @example
 * ```ts
 * import { loadJumpBackHelper } from "./kjump.ts";
 * import { silentReporter } from "./report.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const sys = new RecordingSystem({ "/sys/kernel/kexec_loaded": "0\n" });
 * const plan = loadJumpBackHelper(sys, { entry: 0x9a000 }, silentReporter);
 * if (plan.flags !== 0x3e0002 || sys.callsOf("kexec_load")[0].entry !== 0x9a000n) throw new Error();
 * ```
 */
export function loadJumpBackHelper(
  sys: System,
  req: { readonly entry?: number; readonly dryRun?: boolean },
  rep: Reporter,
): JumpBackPlan {
  const entry = req.entry ?? jumpBackEntryFromCmdline(sys.readText(PATHS.procCmdline));
  if (entry === undefined) {
    // kexec-tools: "Please specify jump back entry in command line", exit 255.
    throw new KexecError(
      "--load-jump-back-helper needs the address to return to",
      {
        hint: "give --entry=ADDR, or boot through a kexec jump (kexec_jump_back_entry= on " +
          "the command line)",
      },
    );
  }
  if (parseFlag(sys.readText(PATHS.kexecLoaded)) === true) {
    throw new KexecError(
      "There is kexec kernel loaded, make sure you are in kexeced kernel.",
      { hint: "the jump-back helper replaces the loaded image; unload it first with -u" },
    );
  }
  const flags = KEXEC_PRESERVE_CONTEXT | hostArchAbi(sys.arch).kexecArch;
  const plan = { entry, flags, segments: jumpBackHelperSegments() };
  if (req.dryRun) return plan;
  requireKexecJump(sys, rep);
  const table = segmentTable(plan.segments, (b) => sys.addressOf(b));
  rep.debug(
    `kexec_load(entry=0x${entry.toString(16)}, nr_segments=1, flags=0x${flags.toString(16)})`,
  );
  const errno = sys.kexecLoad(BigInt(entry), table, 1, flags, []);
  if (errno !== 0) {
    throw syscallError(errno, {
      call: "kexec_load",
      syscall: "kexec_load",
      crash: false,
      facts: readHostFacts(sys),
    });
  }
  rep.info(`loaded the jump-back helper (entry 0x${entry.toString(16)})`);
  return plan;
}
