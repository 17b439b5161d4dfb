/**
 * What the running kernel says about kexec: loaded images, crash region,
 * lockdown, sysctls, capabilities. Read through a {@link System}; parsing is pure.
 *
 * @module
 */

import { CAP_SYS_BOOT, PATHS } from "./abi.ts";
import type { System } from "./sys/system.ts";

/** Lockdown modes of /sys/kernel/security/lockdown. */
export type LockdownMode = "none" | "integrity" | "confidentiality";

/** Facts about the running kernel; a field is undefined when its source is missing. */
export interface HostFacts {
  /** /sys/kernel/kexec_loaded; undefined = the kernel has no kexec support (or no sysfs). */
  readonly kexecLoaded?: boolean;
  /** /sys/kernel/kexec_crash_loaded. */
  readonly crashLoaded?: boolean;
  /** /sys/kernel/kexec_crash_size in bytes (0 = no crash region reserved). */
  readonly crashSize?: number;
  /** Active lockdown mode. */
  readonly lockdown?: LockdownMode;
  /** kernel.kexec_load_disabled. */
  readonly kexecLoadDisabled?: boolean;
  /** kernel.kexec_load_limit_reboot (-1 = unlimited). */
  readonly loadLimitReboot?: number;
  /** kernel.kexec_load_limit_panic (-1 = unlimited). */
  readonly loadLimitPanic?: number;
  /** CAP_SYS_BOOT in the effective set of this process. */
  readonly capSysBoot?: boolean;
  /**
   * This process is in the initial user namespace; false inside a container's
   * user namespace, where CAP_SYS_BOOT does not count for kexec.
   */
  readonly initialUserNamespace?: boolean;
  /** UEFI Secure Boot is on. */
  readonly secureBoot?: boolean;
}

/**
 * Parses a sysfs flag file ("0\n"/"1\n"); undefined when absent or garbled.
 *
 * @example
 * ```ts
 * import { parseFlag } from "./facts.ts";
 * if (parseFlag("1\n") !== true || parseFlag("0\n") !== false || parseFlag(undefined) !== undefined) {
 *   throw new Error();
 * }
 * ```
 */
export function parseFlag(text: string | undefined): boolean | undefined {
  const n = parseInteger(text);
  return n === undefined ? undefined : n !== 0;
}

/**
 * Parses a decimal integer file; undefined when absent or garbled, which
 * includes a value a JS number cannot hold exactly.
 *
 * @example
 * ```ts
 * import { parseInteger } from "./facts.ts";
 * if (parseInteger("-1\n") !== -1 || parseInteger("x") !== undefined) throw new Error();
 * ```
 */
export function parseInteger(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  return /^-?\d+$/.test(t) && Number.isSafeInteger(Number(t)) ? Number(t) : undefined;
}

/**
 * The active mode from /sys/kernel/security/lockdown (`[none] integrity confidentiality`).
 *
 * @example
 * ```ts
 * import { parseLockdown } from "./facts.ts";
 * if (parseLockdown("none [integrity] confidentiality\n") !== "integrity") throw new Error();
 * ```
 */
export function parseLockdown(text: string | undefined): LockdownMode | undefined {
  const m = text ? /\[(\w+)\]/.exec(text) : null;
  const mode = m?.[1];
  return mode === "none" || mode === "integrity" || mode === "confidentiality" ? mode : undefined;
}

/**
 * Whether CAP_SYS_BOOT is in the `CapEff:` line of /proc/self/status.
 *
 * @example
 * ```ts
 * import { parseCapSysBoot } from "./facts.ts";
 * if (parseCapSysBoot("Name:\tx\nCapEff:\t000001ffffffffff\n") !== true) throw new Error();
 * if (parseCapSysBoot("CapEff:\t0000000000000000\n") !== false) throw new Error();
 * ```
 */
export function parseCapSysBoot(status: string | undefined): boolean | undefined {
  const m = status ? /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status) : null;
  if (!m) return undefined;
  return ((BigInt(`0x${m[1]}`) >> BigInt(CAP_SYS_BOOT)) & 1n) === 1n;
}

/** /proc/self/uid_map of the initial user namespace: every uid maps to itself. */
const INITIAL_UID_MAP = ["0", "0", "4294967295"];

/**
 * Whether /proc/self/uid_map is the initial user namespace's identity map.
 * The kernel checks CAP_SYS_BOOT for kexec and reboot in the initial user
 * namespace, so root of any other namespace is refused with EPERM.
 *
 * @example
 * ```ts
 * import { parseInitialUserNamespace } from "./facts.ts";
 * if (parseInitialUserNamespace("         0          0 4294967295\n") !== true) throw new Error();
 * if (parseInitialUserNamespace("         0       1000          1\n") !== false) throw new Error();
 * if (parseInitialUserNamespace(undefined) !== undefined) throw new Error();
 * ```
 */
export function parseInitialUserNamespace(uidMap: string | undefined): boolean | undefined {
  if (uidMap === undefined) return undefined;
  const lines = uidMap.trim().split("\n");
  const fields = lines[0].trim().split(/\s+/);
  return lines.length === 1 && fields.join(" ") === INITIAL_UID_MAP.join(" ");
}

/**
 * The SecureBoot efivar: 4 attribute bytes then one data byte.
 *
 * @example
 * ```ts
 * import { parseSecureBoot } from "./facts.ts";
 * if (parseSecureBoot(new Uint8Array([6, 0, 0, 0, 1])) !== true) throw new Error();
 * ```
 */
export function parseSecureBoot(bytes: Uint8Array | undefined): boolean | undefined {
  const EFIVAR_ATTRIBUTES_SIZE = 4;
  if (!bytes || bytes.length <= EFIVAR_ATTRIBUTES_SIZE) return undefined;
  return bytes[EFIVAR_ATTRIBUTES_SIZE] === 1;
}

/**
 * Reads every fact from the running kernel.
 *
 * @example
 * ```ts
 * import { readHostFacts } from "./facts.ts";
 * import { RecordingSystem } from "./sys/recording.ts";
 * const facts = readHostFacts(new RecordingSystem({ "/sys/kernel/kexec_crash_size": "268435456\n" }));
 * if (facts.crashSize !== 268435456 || facts.kexecLoaded !== undefined) throw new Error();
 * ```
 */
export function readHostFacts(sys: System): HostFacts {
  return {
    kexecLoaded: parseFlag(sys.readText(PATHS.kexecLoaded)),
    crashLoaded: parseFlag(sys.readText(PATHS.kexecCrashLoaded)),
    crashSize: parseInteger(sys.readText(PATHS.kexecCrashSize)),
    lockdown: parseLockdown(sys.readText(PATHS.lockdown)),
    kexecLoadDisabled: parseFlag(sys.readText(PATHS.kexecLoadDisabled)),
    loadLimitReboot: parseInteger(sys.readText(PATHS.kexecLoadLimitReboot)),
    loadLimitPanic: parseInteger(sys.readText(PATHS.kexecLoadLimitPanic)),
    capSysBoot: parseCapSysBoot(sys.readText(PATHS.procSelfStatus)),
    initialUserNamespace: parseInitialUserNamespace(sys.readText(PATHS.procSelfUidMap)),
    secureBoot: parseSecureBoot(sys.readBytes(PATHS.secureBoot, 16)),
  };
}

/**
 * True when lockdown forbids unsigned images (integrity or confidentiality).
 *
 * @example
 * ```ts
 * import { lockedDown } from "./facts.ts";
 * if (!lockedDown({ lockdown: "integrity" }) || lockedDown({ lockdown: "none" })) throw new Error();
 * ```
 */
export function lockedDown(facts: HostFacts): boolean {
  return facts.lockdown === "integrity" || facts.lockdown === "confidentiality";
}
