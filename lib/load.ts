/**
 * Loading a kernel: open and check the files, plan, choose the system call
 * (kexec_file_load first; kexec_load after an errno on which kexec-tools' auto
 * mode falls back too, never under lockdown), call it, explain failures. The
 * only side effects go through the {@link System}. The parts live in lib/load/:
 * the request and result shapes, the extra files (--dtb, --module), the
 * choice of syscall, the calls themselves and the confirmation.
 *
 * @module
 */

import { PATHS } from "./abi.ts";
import { syscallError } from "./diagnose.ts";
import { ExitCode, KexecError } from "./errors.ts";
import { lockedDown, readHostFacts } from "./facts.ts";
import { kernelForFileLoad, prepareLoadInputs } from "./image/load_inputs.ts";
import { MemfdImageStore } from "./image/store.ts";
import { requireFitsCrashRegion } from "./plan/crash_fit.ts";
import { planFileLoad } from "./plan/file_load.ts";
import { validateSegmentPlan } from "./plan/validate.ts";
import type { FileLoadPlan, LoadPlan, SegmentLoadPlan } from "./plan/types.ts";
import { architecture } from "./arch/mod.ts";
import { lastLoadSpent, loadsLeft } from "./load_limits.ts";
import type { Reporter } from "./report.ts";
import { describeErrno, Errno } from "./sys/errno.ts";
import type { OpenedFile, System } from "./sys/system.ts";
import type { Sha256 } from "./bytes.ts";
import { encodeRaw } from "./raw_text.ts";
import type { Attempt, LoadRequest, LoadResult } from "./load/request.ts";
import { openModules, readDeviceTree } from "./load/extra_files.ts";
import { callFile, callSegments } from "./load/calls.ts";
import { confirm } from "./load/confirm.ts";
import { chooseSyscalls, lockdownRefusesKexecLoad } from "./load/choose_syscall.ts";

// The shapes of a load live in lib/load/request.ts; importers keep reaching them here.
export type { Attempt, LoadRequest, LoadResult } from "./load/request.ts";

/**
 * errno values after which auto mode falls back to kexec_load, as kexec-tools
 * does (kexec/kexec.c, do_kexec_file_load: ENOSYS, EINVAL, ENOEXEC, ENOTSUP).
 */
export const FALLBACK_ERRNOS: readonly number[] = [
  Errno.ENOSYS,
  Errno.EINVAL,
  Errno.ENOEXEC,
  Errno.EOPNOTSUPP,
];

/**
 * Loads a kernel (or, with `dryRun`, only plans it). Throws a
 * {@link KexecError} with the errno, its cause and advice when the kernel
 * refuses.
 *
 * @example
 * ```ts
 * import { loadKernel } from "./load.ts";
 * import { silentReporter } from "./report.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * // A minimal bzImage header: boot flag, "HdrS", protocol 2.15, 64-bit, above 4 GiB.
 * const k = new Uint8Array(0x3000);
 * const v = new DataView(k.buffer);
 * k[0x1f1] = 1;
 * v.setUint16(0x1fe, 0xaa55, true);
 * v.setUint16(0x200, 0x6aeb, true);
 * v.setUint32(0x202, 0x53726448, true);
 * v.setUint16(0x206, 0x020f, true);
 * k[0x211] = 1;
 * v.setUint32(0x230, 0x200000, true);
 * v.setUint16(0x236, 3, true);
 * v.setUint32(0x238, 2047, true);
 * v.setUint32(0x260, 0x800000, true);
 * const sys = new RecordingSystem({ "/boot/vmlinuz": k });
 * const r = await loadKernel(sys, {
 *   kernel: "/boot/vmlinuz", initrds: [], cmdline: "quiet", crash: false, syscall: "file",
 * }, silentReporter);
 * const [call] = sys.callsOf("kexec_file_load");
 * if (r.used !== "kexec_file_load" || call.flags !== 0x4 || call.cmdline?.length !== 6) {
 *   throw new Error("unexpected call");
 * }
 * ```
 */
export async function loadKernel(
  sys: System,
  req: LoadRequest,
  rep: Reporter,
): Promise<LoadResult> {
  const arch = architecture(sys.arch);
  // Kexec jump's checks are imported only for a load that asks for it.
  const kjump = req.preserveContext ? await import("./kjump.ts") : undefined;
  kjump?.kexecJumpOf(arch); // before any file is opened
  const facts = readHostFacts(sys);
  if (req.crash && facts.crashSize === 0) {
    // Both syscalls would fail with a bare EADDRNOTAVAIL after freeing nothing;
    // say what is missing instead, as kexec-tools' main() does.
    const { crashNotReserved } = await import("./crash/region.ts");
    throw crashNotReserved(`${PATHS.kexecCrashSize} is 0`);
  }
  const opened: OpenedFile[] = [];
  const store = new MemfdImageStore(sys);
  try {
    const inputs = await prepareLoadInputs(sys, arch, req, opened, store);
    const { resolved, cmdline, initrd } = inputs;
    const kernelBytes = resolved.bytes;
    for (const line of resolved.notes) rep.debug(line);
    for (const line of inputs.warnings) rep.warn(line);

    const moduleFiles = openModules(sys, req, resolved.format, kernelBytes, opened);
    const initrdSize = initrd?.size ?? 0;
    if (req.crash && facts.crashSize !== undefined) {
      requireFitsCrashRegion({
        kernelPath: req.kernel,
        kernelSize: kernelBytes.length,
        initrdPaths: inputs.initrdParts,
        initrdSize,
        crashSize: facts.crashSize,
      });
    }

    const cmdlineLength = encodeRaw(cmdline).length;
    const check = await resolved.format.check({
      bytes: kernelBytes,
      path: req.kernel,
      cmdlineLength,
      wideUserAddresses: sys.fiveLevelPaging(),
      pageSize: sys.pageSize,
    });
    const dtb = req.dtb === undefined
      ? undefined
      : readDeviceTree(sys, req, resolved.format.name, resolved.format.deviceTree, opened);
    const fileLoaderRefusal = resolved.format.fileLoad === true
      ? check.fileLoaderRefusal
      : resolved.format.fileLoad;
    const notes: string[] = [
      `kernel: ${resolved.format.describe(kernelBytes)}, ${kernelBytes.length} bytes`,
      ...inputs.notes,
      ...check.notes,
    ];
    const plans: LoadPlan[] = [];
    const attempts: Attempt[] = [];
    const locked = lockedDown(facts);
    const { useFile, useLoad } = chooseSyscalls({
      req,
      check,
      facts,
      locked,
      cmdlineLength,
      dtb,
      fileLoaderRefusal,
      notes,
      rep,
    });

    let filePlan: FileLoadPlan | undefined;
    if (useFile) {
      // An unwrapped kernel reaches the kernel through a sealed memfd, never a temp file.
      filePlan = planFileLoad({
        kernel: kernelForFileLoad(sys, inputs, store, opened),
        initrd,
        initrdPaths: inputs.initrdParts,
        cmdline,
        crash: req.crash,
        noCma: req.noCma,
        forceDtb: req.forceDtb,
        notes,
      });
      plans.push(filePlan);
    }
    // Kexec jump: an architecture that has it, CONFIG_KEXEC_JUMP (not asked
    // under a load limit), and a window clear of this kernel's RAM (whose
    // size the half-of-RAM limit counts).
    const preserve = kjump?.checkPreserveContext(sys, req, rep);
    // In auto mode the segment plan is built only when it is needed (after a
    // fallback-class errno) or to show it in a dry run.
    const segmentPlan = async (): Promise<SegmentLoadPlan> => {
      const initrdBytes = initrd === null ? null : sys.mapFile(initrd);
      const plan = await resolved.format.planSegments(sys, {
        kernelPath: req.kernel,
        kernel: kernelBytes,
        initrd: initrdBytes,
        cmdline,
        crash: req.crash,
        verify: req.noChecks ? undefined : await segmentSha256(sys),
        memMin: req.memMin,
        memMax: req.memMax,
        preserveContext: req.preserveContext,
        modules: moduleFiles.map((m) => ({ ...m, bytes: sys.mapFile(m.file) })),
        dtb,
        dtbPath: req.dtb,
        facts,
      });
      validateSegmentPlan(plan, {
        pageSize: sys.pageSize,
        crashRegion: plan.crashRegion,
        ramBytes: preserve?.ramBytes ?? plan.ramBytes,
      });
      // What was unwrapped and how the initrd was made, before the placements.
      return { ...plan, notes: [...inputs.notes, ...plan.notes] };
    };

    if (req.dryRun) {
      if (useLoad) {
        try {
          plans.push(await segmentPlan());
        } catch (e) {
          if (!useFile) throw e;
          // A fallback that could not be planned is part of the answer, not an error.
          rep.warn(`kexec_load fallback could not be planned: ${(e as Error).message}`);
        }
      }
      return { plans, attempts, locked };
    }

    if (filePlan) {
      const errno = callFile(sys, filePlan, req.debug ?? false, attempts, rep, facts, req.crash);
      if (errno === 0) {
        return confirm(sys, req, inputs, rep, "kexec_file_load", { plans, attempts, locked });
      }
      const fallbackClass = FALLBACK_ERRNOS.includes(errno);
      if (req.syscall === "file" || !fallbackClass || locked) {
        const e = syscallError(
          errno,
          {
            call: "kexec_file_load",
            syscall: "kexec_file_load",
            crash: req.crash,
            facts: readHostFacts(sys),
          },
          req.syscall === "file" && fallbackClass
            ? ExitCode.FILE_SYSCALL_UNAVAILABLE
            : ExitCode.FAILURE,
        );
        if (req.syscall === "file" || !fallbackClass) throw e;
        throw new KexecError(
          `${e.message}; not falling back to kexec_load because ` +
            lockdownRefusesKexecLoad(facts),
          { hint: e.hint, syscall: e.syscall, errno: e.errno },
        );
      }
      const spent = lastLoadSpent(readHostFacts(sys), req.crash, errno);
      if (spent) throw spent;
      rep.debug(
        `kexec_file_load failed with ${describeErrno(errno)}; falling back to kexec_load`,
      );
    }

    const plan = await segmentPlan();
    plans.push(plan);
    const errno = callSegments(sys, plan, attempts, rep);
    if (errno === 0) {
      return confirm(sys, req, inputs, rep, "kexec_load", { plans, attempts, locked });
    }
    const first = attempts.find((a) => a.syscall === "kexec_file_load");
    const err = syscallError(errno, {
      call: "kexec_load",
      syscall: "kexec_load",
      crash: req.crash,
      facts: readHostFacts(sys),
    });
    if (req.preserveContext && errno === Errno.EINVAL && loadsLeft(facts, false) !== undefined) {
      // requireKexecJump did not ask beforehand (it would have spent a load).
      throw new KexecError(
        `${err.message}; KEXEC_PRESERVE_CONTEXT needs a kernel built with CONFIG_KEXEC_JUMP`,
        { hint: err.hint, syscall: err.syscall, errno: err.errno },
      );
    }
    if (!first) throw err;
    throw new KexecError(
      `${err.message} (after kexec_file_load failed with ${describeErrno(first.errno)})`,
      { hint: err.hint, syscall: err.syscall, errno: err.errno },
    );
  } finally {
    for (const f of opened) sys.close(f);
    store.close();
  }
}

// The SHA-256 the purgatory's digests are computed with: the machine's
// libcrypto when it has one; otherwise node:crypto, imported only now, since
// starting it costs more than a load hashes (lib/plan/sha256.ts).
async function segmentSha256(sys: System): Promise<Sha256> {
  return sys.nativeSha256() ?? (await import("./plan/sha256.ts")).sha256;
}
