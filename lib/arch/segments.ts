/**
 * Chooses the kexec_load planner for the running architecture and gathers
 * what it needs from the machine (memory map, running boot parameters, ACPI
 * RSDP, random seed). The planners themselves are pure.
 *
 * @module
 */

import { KEXEC_PRESERVE_CONTEXT, PATHS } from "../abi.ts";
import { KexecError } from "../errors.ts";
import type { HostFacts } from "../facts.ts";
import { totalBytes } from "../memory/memmap.ts";
import { readMemoryMap } from "../memory/source.ts";
import type { SegmentLoadPlan } from "../plan/types.ts";
import type { System } from "../sys/system.ts";
import { BOOT_PARAMS } from "./x86_64/boot_params.ts";
import { planBzImage64, RNG_SEED_SIZE } from "./x86_64/bzimage.ts";
import { planCrashBzImage64 } from "../crash/plan_x86_64.ts";
import { readCrashSources } from "../crash/sources.ts";
import { rsdpFromEfiSystab } from "./x86_64/efi_systab.ts";

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
  /** Load with KEXEC_PRESERVE_CONTEXT (kexec jump). */
  readonly preserveContext?: boolean;
  readonly facts: HostFacts;
}

/**
 * Plans a kexec_load for the running architecture.
 *
 * @example
 * ```ts
 * import { planSegmentLoad } from "./segments.ts";
 * import { RecordingSystem } from "../sys/recording.ts";
 * const sys = new RecordingSystem({}, {}, "aarch64");
 * let message = "";
 * try {
 *   planSegmentLoad(sys, {
 *     kernelPath: "/Image", kernel: new Uint8Array(64), initrd: null, cmdline: "",
 *     crash: false, verify: true, facts: {},
 *   });
 * } catch (e) { message = (e as Error).message; }
 * if (!message.includes("aarch64")) throw new Error(message);
 * ```
 */
export function planSegmentLoad(sys: System, input: SegmentLoadInput): SegmentLoadPlan {
  if (sys.arch !== "x86_64") {
    throw new KexecError(`kexec_load is not implemented yet for ${sys.arch}`, {
      hint: "use kexec_file_load with -s",
    });
  }
  if (input.crash) return planCrashSegmentLoad(sys, input);
  const map = readMemoryMap(sys);
  const systab = sys.readText(PATHS.efiSystab);
  const plan = planBzImage64({
    kernel: input.kernel,
    kernelPath: input.kernelPath,
    initrd: input.initrd,
    cmdline: input.cmdline,
    memoryMap: map.ranges,
    memoryMapSource: map.source,
    memMin: input.memMin,
    memMax: input.memMax,
    runningBootParams: sys.readBytes(PATHS.bootParams, BOOT_PARAMS.size),
    acpiRsdpAddr: systab === undefined ? undefined : rsdpFromEfiSystab(systab),
    fiveLevelPaging: sys.fiveLevelPaging(),
    rngSeed: sys.random(RNG_SEED_SIZE),
    verify: input.verify,
    pageSize: sys.pageSize,
    flags: input.preserveContext ? KEXEC_PRESERVE_CONTEXT : 0,
  });
  return { ...plan, ramBytes: totalBytes(map.ranges, "ram") };
}

// The crash branch (crash.md): everything the elfcorehdr and the crash
// kernel's memory map are built from comes from the running kernel.
function planCrashSegmentLoad(sys: System, input: SegmentLoadInput): SegmentLoadPlan {
  if (input.preserveContext) {
    throw new KexecError("a crash kernel cannot be loaded with --load-preserve-context", {
      hint: "drop -p or --load-preserve-context",
    });
  }
  const systab = sys.readText(PATHS.efiSystab);
  return planCrashBzImage64({
    kernel: input.kernel,
    kernelPath: input.kernelPath,
    initrd: input.initrd,
    cmdline: input.cmdline,
    sources: readCrashSources(sys),
    crashSize: input.facts.crashSize,
    memMin: input.memMin,
    memMax: input.memMax,
    runningBootParams: sys.readBytes(PATHS.bootParams, BOOT_PARAMS.size),
    efiRsdp: systab === undefined ? undefined : rsdpFromEfiSystab(systab),
    fiveLevelPaging: sys.fiveLevelPaging(),
    rngSeed: sys.random(RNG_SEED_SIZE),
    verify: input.verify,
    pageSize: sys.pageSize,
  });
}
