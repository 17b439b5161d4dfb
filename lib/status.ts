/**
 * `--status`: which images are loaded, the crash region, and what stands in
 * the way of loading (lockdown, sysctls, capability, missing syscalls).
 *
 * @module
 */

import { type Arch, KEXEC_FILE_ON_CRASH, KEXEC_ON_CRASH, KEXEC_SEGMENT_MAX } from "./abi.ts";
import { hostArchAbi } from "./arch/abi.ts";
import { describeSegmentFlags } from "./plan/segment_flags.ts";
import { describeFileFlags } from "./plan/file_load.ts";
import { ExitCode } from "./errors.ts";
import { type HostFacts, readHostFacts } from "./facts.ts";
import { Errno } from "./sys/errno.ts";
import type { System } from "./sys/system.ts";

/** Whether the running kernel offers a syscall, as found by a harmless probe. */
export type SyscallAvailability = "available" | "not-built" | "refused" | "unknown";

/** The `--status` report; its JSON form uses these names. */
export interface StatusReport {
  /** The normal image: loaded (/sys/kernel/kexec_loaded), null when that cannot be read. */
  readonly normal: { readonly loaded: boolean | null };
  /** The crash image: loaded, and the bytes reserved for it (/sys/kernel/kexec_crash_size). */
  readonly crash: { readonly loaded: boolean | null; readonly size: number | null };
  /** The lockdown mode in force ("none", "integrity", "confidentiality"). */
  readonly lockdown: string | null;
  /** The kernel.kexec_load_disabled sysctl. */
  readonly kexec_load_disabled: boolean | null;
  /** kernel.kexec_load_limit_reboot and _panic: loads left, -1 for no limit. */
  readonly load_limits: { readonly reboot: number | null; readonly panic: number | null };
  /** CAP_SYS_BOOT as kexec sees it: only in the initial user namespace does it count. */
  readonly cap_sys_boot: boolean | null;
  /** Whether this process runs in the initial user namespace. */
  readonly initial_user_namespace: boolean | null;
  /** Whether the machine booted with UEFI Secure Boot on. */
  readonly secure_boot: boolean | null;
  /** Whether each load syscall is there, as a harmless probe finds. */
  readonly syscalls: {
    readonly kexec_load: SyscallAvailability;
    readonly kexec_file_load: SyscallAvailability;
  };
  /** The flags word each load syscall is given, per image, decoded. */
  readonly load_flags: {
    readonly kexec_load: Record<"normal" | "crash", FlagsWord>;
    readonly kexec_file_load: Record<"normal" | "crash", FlagsWord>;
  };
  /** The image whose state the exit code reports. */
  readonly checked: "normal" | "crash";
}

/** A flags word and the names of its bits. */
export interface FlagsWord {
  /** The flags word. */
  readonly value: number;
  /** The same in hex. */
  readonly hex: string;
  /** The names of its bits. */
  readonly names: readonly string[];
}

function flagsWord(value: number, names: string[]): FlagsWord {
  return { value, hex: `0x${value.toString(16)}`, names };
}

/**
 * The flags a load passes on this architecture (kexec_file_load adds
 * KEXEC_FILE_NO_INITRAMFS when there is no initrd).
 *
 * @example
 * ```ts
 * import { loadFlags } from "./status.ts";
 * if (loadFlags("x86_64").kexec_load.crash.hex !== "0x3e0001") throw new Error();
 * ```
 */
export function loadFlags(arch: Arch): StatusReport["load_flags"] {
  const seg = (v: number) => flagsWord(v, describeSegmentFlags(v));
  const { kexecArch } = hostArchAbi(arch);
  const file = (v: number) => flagsWord(v, describeFileFlags(v));
  return {
    kexec_load: { normal: seg(kexecArch), crash: seg(kexecArch | KEXEC_ON_CRASH) },
    kexec_file_load: { normal: file(0), crash: file(KEXEC_FILE_ON_CRASH) },
  };
}

// A flag bit no kernel defines: the kernel checks flags before doing anything,
// so a probe with it can never load or unload (kernel/kexec.c kexec_load_check,
// kernel/kexec_file.c kexec_file_load: the flags are checked before the lock).
const PROBE_FLAG = 0x8000;
// More segments than allowed: EINVAL even if PROBE_FLAG ever became valid,
// so the probe can never turn into an unload (nr_segments = 0).
const PROBE_NR_SEGMENTS = KEXEC_SEGMENT_MAX + 1;

function classify(errno: number): SyscallAvailability {
  if (errno === Errno.ENOSYS) return "not-built";
  if (errno === Errno.EINVAL) return "available";
  if (errno === Errno.EPERM || errno === Errno.EACCES) return "refused";
  return "unknown";
}

/**
 * Asks the kernel whether each load syscall exists, with arguments it rejects
 * before doing anything. Skipped when a load limit is set, because every call
 * (even a rejected one) counts against `kexec_load_limit_*` on new kernels.
 *
 * @example
 * ```ts
 * import { probeSyscalls } from "./status.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const sys = new RecordingSystem({}, { fileLoadErrnos: [38], loadErrnos: [22] });
 * const r = probeSyscalls(sys, {});
 * if (r.kexec_file_load !== "not-built" || r.kexec_load !== "available") throw new Error();
 * ```
 */
export function probeSyscalls(sys: System, facts: HostFacts): StatusReport["syscalls"] {
  const limited = [facts.loadLimitReboot, facts.loadLimitPanic].some((l) =>
    l !== undefined && l !== -1
  );
  if (limited) return { kexec_load: "unknown", kexec_file_load: "unknown" };
  const file = sys.kexecFileLoad(-1, -1, null, PROBE_FLAG);
  const seg = sys.kexecLoad(
    0n,
    new BigUint64Array(0),
    PROBE_NR_SEGMENTS,
    PROBE_FLAG,
    [],
  );
  return { kexec_load: classify(seg), kexec_file_load: classify(file) };
}

/**
 * Builds the report from facts and probe results (pure).
 *
 * @example
 * ```ts
 * import { buildStatus } from "./status.ts";
 * const r = buildStatus({ kexecLoaded: true, crashLoaded: false, crashSize: 0 },
 *   { kexec_load: "available", kexec_file_load: "available" }, "crash", "x86_64");
 * if (r.normal.loaded !== true || r.crash.loaded !== false) throw new Error();
 * ```
 */
export function buildStatus(
  facts: HostFacts,
  syscalls: StatusReport["syscalls"],
  checked: "normal" | "crash",
  arch: Arch,
): StatusReport {
  const n = <T>(v: T | undefined): T | null => v === undefined ? null : v;
  return {
    normal: { loaded: n(facts.kexecLoaded) },
    crash: { loaded: n(facts.crashLoaded), size: n(facts.crashSize) },
    lockdown: n(facts.lockdown),
    kexec_load_disabled: n(facts.kexecLoadDisabled),
    load_limits: { reboot: n(facts.loadLimitReboot), panic: n(facts.loadLimitPanic) },
    cap_sys_boot: facts.initialUserNamespace === false ? false : n(facts.capSysBoot),
    initial_user_namespace: n(facts.initialUserNamespace),
    secure_boot: n(facts.secureBoot),
    syscalls,
    load_flags: loadFlags(arch),
    checked,
  };
}

/**
 * kexec-tools' `-S` exit code: 1 = loaded, 0 = not loaded, 255 = unknown.
 *
 * @example
 * ```ts
 * import { buildStatus, statusExitCode } from "./status.ts";
 * const r = buildStatus({ crashLoaded: true }, { kexec_load: "unknown", kexec_file_load: "unknown" },
 *   "crash", "x86_64");
 * if (statusExitCode(r) !== 1) throw new Error();
 * ```
 */
export function statusExitCode(report: StatusReport): number {
  const loaded = report.checked === "crash" ? report.crash.loaded : report.normal.loaded;
  if (loaded === null) return ExitCode.FAILURE;
  return loaded ? ExitCode.STATUS_LOADED : ExitCode.OK;
}

function describeWord(w: FlagsWord): string {
  return `${w.hex}${w.names.length ? ` [${w.names.join("|")}]` : ""}`;
}

function yesNo(v: boolean | null, yes = "yes", no = "no"): string {
  return v === null ? "unknown" : v ? yes : no;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
}

const AVAILABILITY_TEXT: Record<SyscallAvailability, string> = {
  available: "available",
  "not-built": "not built into this kernel",
  refused: "present but refused to this process",
  unknown: "unknown",
};

/**
 * The human-readable report.
 *
 * @example
 * ```ts
 * import { buildStatus, formatStatus } from "./status.ts";
 * const text = formatStatus(buildStatus({ kexecLoaded: true, crashLoaded: false, crashSize: 268435456 },
 *   { kexec_load: "available", kexec_file_load: "not-built" }, "crash", "x86_64"));
 * if (!text.includes("normal image:  loaded") || !text.includes("256 MiB")) throw new Error(text);
 * ```
 */
export function formatStatus(r: StatusReport): string {
  const region = r.crash.size === null
    ? "crash region unknown"
    : r.crash.size === 0
    ? "no crash region reserved (crashkernel=)"
    : `crash region ${mib(r.crash.size)}`;
  const limits = [r.load_limits.reboot, r.load_limits.panic].map((l) =>
    l === null ? "n/a" : l === -1 ? "unlimited" : String(l)
  );
  return [
    `normal image:  ${
      r.normal.loaded === null ? "unknown (no /sys/kernel/kexec_loaded)" : yesNo(
        r.normal.loaded,
        "loaded",
        "not loaded",
      )
    }`,
    `crash image:   ${yesNo(r.crash.loaded, "loaded", "not loaded")}; ${region}`,
    `kexec_file_load: ${AVAILABILITY_TEXT[r.syscalls.kexec_file_load]}`,
    `kexec_load:      ${AVAILABILITY_TEXT[r.syscalls.kexec_load]}`,
    `lockdown: ${r.lockdown ?? "unknown"}; kexec_load_disabled: ${
      yesNo(r.kexec_load_disabled)
    }; load limits (reboot/panic): ${limits.join("/")}`,
    `CAP_SYS_BOOT: ${yesNo(r.cap_sys_boot)}; Secure Boot: ${yesNo(r.secure_boot, "on", "off")}`,
    `flags passed: kexec_load ${describeWord(r.load_flags.kexec_load.normal)}, crash ${
      describeWord(r.load_flags.kexec_load.crash)
    }; kexec_file_load ${describeWord(r.load_flags.kexec_file_load.normal)}, crash ${
      describeWord(r.load_flags.kexec_file_load.crash)
    } (+KEXEC_FILE_NO_INITRAMFS without an initrd)`,
    "",
  ].join("\n");
}

/**
 * Reads facts, probes the syscalls and builds the report.
 *
 * @example
 * ```ts
 * import { readStatus } from "./status.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const r = readStatus(new RecordingSystem({ "/sys/kernel/kexec_loaded": "1\n" }), "normal");
 * if (r.normal.loaded !== true || r.checked !== "normal") throw new Error();
 * ```
 */
export function readStatus(sys: System, checked: "normal" | "crash"): StatusReport {
  const facts = readHostFacts(sys);
  return buildStatus(facts, probeSyscalls(sys, facts), checked, sys.arch);
}
