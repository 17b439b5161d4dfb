/**
 * Gathers what an arm64 kexec_load needs from the running machine — the
 * device tree (`--dtb`, else /sys/firmware/fdt), usable RAM from /proc/iomem,
 * fresh seeds; for crash loads the crash sources — and hands it to the pure
 * planners in plan_image.ts and crash.ts.
 *
 * @module
 */

import { readCrashSources } from "../../crash/sources.ts";
import { KexecError } from "../../errors.ts";
import { KASLR_SEED_SIZE, RNG_SEED_SIZE } from "../../fdt/chosen.ts";
import { readIomem } from "../../memory/source.ts";
import type { SegmentLoadPlan } from "../../plan/types.ts";
import type { System } from "../../sys/system.ts";
import type { SegmentLoadInput } from "../types.ts";
import { planArm64Crash } from "./crash.ts";
import { loadableRam } from "./memory.ts";
import { planArm64Image } from "./plan_image.ts";

/**
 * The device tree the running kernel booted with, as it edited it
 * (Documentation/ABI/testing/sysfs-firmware-ofw: "/sys/firmware/fdt").
 */
export const FIRMWARE_FDT = "/sys/firmware/fdt";

// Read at most this much of /sys/firmware/fdt: twice the 2 MiB the kernel
// maps, so that a larger blob is reported as too large, not as truncated.
const FIRMWARE_FDT_READ_MAX = 4 * 1024 * 1024;

const IOMEM = "/proc/iomem";

/**
 * Plans a kexec_load of an arm64 Image on this machine, normal or crash.
 *
 * @example
 * ```ts
 * import { planArm64ImageLoad } from "./plan_load.ts";
 * import { RecordingSystem } from "../../sys/recording.ts";
 * const image = new Uint8Array(0x10000);
 * const v = new DataView(image.buffer);
 * v.setBigUint64(0x10, 0x200000n, true);
 * v.setUint32(0x38, 0x644d5241, true);
 * let message = "";
 * try {
 *   planArm64ImageLoad(new RecordingSystem({}), {
 *     kernelPath: "/Image", kernel: image, initrd: null, cmdline: "", crash: false,
 *     facts: {},
 *   });
 * } catch (e) { message = (e as Error).message; }
 * if (!message.includes("/sys/firmware/fdt")) throw new Error(message);
 * ```
 */
export function planArm64ImageLoad(sys: System, input: SegmentLoadInput): SegmentLoadPlan {
  if (input.preserveContext) {
    throw new KexecError(
      "--load-preserve-context (kexec jump) exists only on x86: the arm64 kernel has no " +
        "CONFIG_KEXEC_JUMP",
      { hint: "load normally with -l" },
    );
  }
  const { dtb, dtbPath } = deviceTree(sys, input);
  const common = {
    kernel: input.kernel,
    kernelPath: input.kernelPath,
    initrd: input.initrd,
    cmdline: input.cmdline,
    dtb,
    dtbPath,
    memMin: input.memMin,
    memMax: input.memMax,
    kaslrSeed: sys.random(KASLR_SEED_SIZE),
    rngSeed: sys.random(RNG_SEED_SIZE),
    verify: input.verify,
    pageSize: sys.pageSize,
  };
  if (input.crash) {
    return planArm64Crash({
      ...common,
      sources: readCrashSources(sys),
      crashSize: input.facts.crashSize,
    });
  }
  const iomem = readIomem(sys);
  if (!iomem) {
    throw new KexecError(`cannot read ${IOMEM}: arm64 kexec_load needs it to find free RAM`, {
      hint: "mount /proc and run as root, or use kexec_file_load (-s) where the kernel has it",
    });
  }
  const ram = loadableRam(iomem);
  if (ram.ranges.length === 0) {
    throw new KexecError(`${IOMEM} lists no usable System RAM`, {
      hint: "run as root (the addresses are hidden from others); run with -d to see the file",
    });
  }
  const plan = planArm64Image({ ...common, usable: ram.ranges, usableNotes: ram.notes, flags: 0 });
  return { ...plan, ramBytes: ram.systemRamBytes };
}

function deviceTree(
  sys: System,
  input: SegmentLoadInput,
): { dtb: Uint8Array; dtbPath: string } {
  if (input.dtb) return { dtb: input.dtb, dtbPath: input.dtbPath ?? "--dtb" };
  const dtb = sys.readBytes(FIRMWARE_FDT, FIRMWARE_FDT_READ_MAX);
  if (dtb === undefined || dtb.length === 0) {
    throw new KexecError(
      `no device tree: ${FIRMWARE_FDT} is missing or unreadable, and no --dtb was given`,
      {
        hint: "run as root with sysfs mounted, or give the machine's device tree with --dtb FILE",
      },
    );
  }
  return { dtb, dtbPath: FIRMWARE_FDT };
}
