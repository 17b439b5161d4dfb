/**
 * Kexec jump (KEXEC_PRESERVE_CONTEXT): loading an image that may return to
 * this kernel, and the jump-back helper a kjumped kernel loads to return
 * (kexec-tools' `--load-preserve-context`, `--load-jump-back-helper`).
 * Both need a kernel built with CONFIG_KEXEC_JUMP, which is asked for
 * before anything is loaded, on an architecture whose Linux has kexec jump
 * ({@link Architecture.kexecJump}).
 *
 * The first kernel's memory must survive the second one: kernel_kexec()
 * (kernel/kexec_core.c) only swaps the image's own pages with their
 * destinations, so everything else the second kernel touches is lost. Its
 * segments therefore go into a --mem-min/--mem-max window that the running
 * kernel does not use (checked against /proc/iomem), and the second kernel
 * must be told to stay there (e.g. `memmap=exactmap memmap=640K@0
 * memmap=512M@0x50000000` when the first kernel runs with `mem=1280M`).
 *
 * @module
 */

import { KEXEC_PRESERVE_CONTEXT, PATHS } from "./abi.ts";
import { hostArchAbi } from "./arch/abi.ts";
import { architecture } from "./arch/mod.ts";
import type { Architecture, KexecJump } from "./arch/types.ts";
import { splitKernelArgs } from "./cmdline.ts";
import { syscallError } from "./diagnose.ts";
import { KexecError } from "./errors.ts";
import { parseFlag, readHostFacts } from "./facts.ts";
import { limitName, loadsLeft } from "./load_limits.ts";
import { hex } from "./format.ts";
import { iomemMemoryMap } from "./memory/iomem.ts";
import { ramRanges, totalBytes } from "./memory/memmap.ts";
import { readIomem } from "./memory/source.ts";
import type { MemoryRange } from "./memory/types.ts";
import type { Segment } from "./plan/types.ts";
import { segmentTable } from "./plan/segment_table.ts";
import type { Reporter } from "./report.ts";
import { Errno } from "./sys/errno.ts";
import type { System } from "./sys/system.ts";

/**
 * The architecture's kexec jump, or a {@link KexecError} saying that its
 * Linux has none.
 *
 * @example
 * ```ts
 * import { kexecJumpOf } from "./kjump.ts";
 * import { architecture } from "./arch/mod.ts";
 * let message = "";
 * try { kexecJumpOf(architecture("aarch64")); } catch (e) { message = (e as Error).message; }
 * if (!message.includes("no kexec jump")) throw new Error(message);
 * ```
 */
export function kexecJumpOf(arch: Architecture): KexecJump {
  const jump = arch.kexecJump;
  if ("unsupported" in jump) {
    throw new KexecError(`kexec jump is not possible here: ${jump.unsupported}`, {
      hint: "load without --load-preserve-context; the loaded kernel then replaces this one",
    });
  }
  return jump;
}

/**
 * RAM the running kernel owns: the System RAM of /proc/iomem (which reflects
 * `mem=` and `memmap=`, unlike /sys/firmware/memmap). Throws a
 * {@link KexecError} when /proc/iomem is unreadable or hides its addresses.
 *
 * @example
 * ```ts
 * import { runningKernelRam } from "./kjump.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const sys = new RecordingSystem({
 *   "/proc/iomem": "00001000-0009fbff : System RAM\n00100000-4fffffff : System RAM\n",
 * });
 * if (runningKernelRam(sys)[1].end !== 0x50000000) throw new Error();
 * ```
 */
export function runningKernelRam(sys: System): MemoryRange[] {
  const iomem = readIomem(sys);
  const ram = iomem ? ramRanges(iomemMemoryMap(iomem)) : [];
  if (ram.length === 0) {
    throw new KexecError(`${PATHS.procIomem} lists no System RAM (or cannot be read)`, {
      hint: "kexec jump needs to know the running kernel's memory: mount /proc, run as root",
    });
  }
  return ram;
}

/**
 * The checks of a preserve-context load before anything is planned, in this
 * order: the architecture has kexec jump; unless `dryRun`, the kernel has
 * CONFIG_KEXEC_JUMP ({@link requireKexecJump}); the --mem-min/--mem-max
 * window (where every segment goes) lies outside the running kernel's RAM.
 * Returns that RAM's size, which is what the kernel's half-of-RAM limit
 * counts (totalram_pages() in sanity_check_segment_list(),
 * kernel/kexec_core.c).
 *
 * @example
 * ```ts
 * import { checkPreserveContext } from "./kjump.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const sys = new RecordingSystem({ "/proc/iomem": "00100000-4fffffff : System RAM\n" });
 * const r = checkPreserveContext(sys, { memMin: 0x50000000, memMax: 0x6fffffff, dryRun: true });
 * if (r.ramBytes !== 0x4ff00000) throw new Error();
 * let message = "";
 * try { checkPreserveContext(sys, { memMax: 0x6fffffff, dryRun: true }); } catch (e) {
 *   message = (e as Error).message;
 * }
 * if (!message.includes("overlaps")) throw new Error(message);
 * ```
 */
export function checkPreserveContext(
  sys: System,
  req: { readonly memMin?: number; readonly memMax?: number; readonly dryRun?: boolean },
  rep?: Reporter,
): { ramBytes: number } {
  kexecJumpOf(architecture(sys.arch));
  if (!req.dryRun) requireKexecJump(sys, rep);
  const ram = runningKernelRam(sys);
  const lo = req.memMin ?? 0;
  const hi = req.memMax ?? Number.MAX_SAFE_INTEGER;
  const hit = ram.find((r) => r.start <= hi && lo < r.end);
  if (hit) {
    throw new KexecError(
      `the --mem-min/--mem-max window [${hex(lo)}, ${hex(hi)}] overlaps RAM the running ` +
        `kernel uses (System RAM ${hex(hit.start)}-${hex(hit.end - 1)} in ${PATHS.procIomem}); ` +
        "the kexec'd kernel would " +
        "overwrite it, and there would be nothing intact to jump back to",
      {
        hint: "put the window above the running kernel's memory (boot it with mem=SIZE to " +
          "leave room) and give the new kernel only that window (memmap=exactmap " +
          "memmap=640K@0 memmap=SIZE@START)",
      },
    );
  }
  return { ramBytes: totalBytes(ram, "ram") };
}

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

/** What the jump-back helper load passes. */
export interface JumpBackPlan {
  /** The address to return to. */
  readonly jumpBackEntry: number;
  /** kexec_load's entry: the helper's own code. */
  readonly entry: number;
  readonly flags: number;
  readonly segments: readonly Segment[];
  readonly notes: readonly string[];
}

/**
 * Loads the jump-back helper, the image whose `kexec -e` returns to the
 * kernel that kjumped here. kexec-tools passes one empty segment at address 0
 * and the return address as the entry. Kernels whose
 * kimage_is_destination_range() (kernel/kexec_core.c) compares inclusive
 * ends ("kexec: modify the meaning of the end parameter in
 * kimage_is_destination_range()", December 2023; 6.12 has it) count such a
 * segment as covering all memory, and the load fails with ENOMEM; and on
 * x86_64 the return address is not mapped when the entry is called anyway.
 * Each architecture plans a helper that works
 * ({@link KexecJump.planJumpBackHelper}).
 *
 * @example
 * ```ts
 * import { loadJumpBackHelper } from "./kjump.ts";
 * import { silentReporter } from "./report.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const sys = new RecordingSystem({
 *   "/sys/kernel/kexec_loaded": "0\n",
 *   "/proc/iomem": "00001000-0009fbff : System RAM\n50000000-6fffffff : System RAM\n",
 * });
 * const plan = await loadJumpBackHelper(sys, { entry: 0x4ffe3c5a }, silentReporter);
 * const [call] = sys.callsOf("kexec_load");
 * if (plan.flags !== 0x3e0002 || call.entry !== BigInt(plan.segments[0].mem)) throw new Error();
 * ```
 */
export async function loadJumpBackHelper(
  sys: System,
  req: { readonly entry?: number; readonly dryRun?: boolean },
  rep: Reporter,
): Promise<JumpBackPlan> {
  const jump = kexecJumpOf(architecture(sys.arch));
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
  const helper = await jump.planJumpBackHelper({
    entry,
    ram: runningKernelRam(sys),
    pageSize: sys.pageSize,
  });
  const plan = { jumpBackEntry: entry, flags, ...helper };
  if (req.dryRun) return plan;
  requireKexecJump(sys, rep);
  for (const line of plan.notes) rep.debug(line);
  const table = segmentTable(plan.segments, (b) => sys.addressOf(b));
  rep.debug(
    `kexec_load(entry=${hex(plan.entry)}, nr_segments=${plan.segments.length}, ` +
      `flags=${hex(flags)})`,
  );
  const errno = sys.kexecLoad(
    BigInt(plan.entry),
    table,
    plan.segments.length,
    flags,
    plan.segments.map((s) => s.buf),
  );
  if (errno !== 0) {
    throw syscallError(errno, {
      call: "kexec_load",
      syscall: "kexec_load",
      crash: false,
      facts: readHostFacts(sys),
    });
  }
  rep.info(`loaded the jump-back helper (returns to ${hex(entry)}); 'kexec -e' jumps back`);
  return plan;
}
