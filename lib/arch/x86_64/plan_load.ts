/**
 * Gathers what an x86_64 kexec_load needs from the running machine (memory
 * map, running boot parameters, ACPI RSDP, a random seed; for crash loads the
 * crash sources) and hands it to the pure planners in bzimage.ts and crash.ts,
 * for a bzImage or another {@link X86KernelImage} (an ELF vmlinux).
 *
 * @module
 */

import { KEXEC_PRESERVE_CONTEXT, PATHS } from "../../abi.ts";
import { KexecError } from "../../errors.ts";
import { readCrashSources } from "../../crash/sources.ts";
import { totalBytes } from "../../memory/memmap.ts";
import type { IomemNode } from "../../memory/iomem.ts";
import { readIomem, readMemoryMap } from "../../memory/source.ts";
import type { SegmentLoadPlan } from "../../plan/types.ts";
import type { System } from "../../sys/system.ts";
import type { SegmentLoadInput } from "../types.ts";
import { BOOT_PARAMS } from "./boot_params.ts";
import { planBzImage64, RNG_SEED_SIZE } from "./bzimage.ts";
import { planCrashBzImage64 } from "./crash.ts";
import type { EfiFirmware } from "./efi.ts";
import { readEfiFirmware } from "./efi_source.ts";
import { rsdpFromEfiSystab } from "./efi_systab.ts";
import { hasFirmwareFramebuffer, planScreenInfo } from "./screen_info.ts";
import type { X86KernelImage } from "./kernel_image.ts";

/**
 * Plans a kexec_load on this machine, normal or crash, of `image` (default:
 * the bzImage in `input.kernel`).
 *
 * @example
 * ```ts
 * import { planX86Load } from "./plan_load.ts";
 * import { RecordingSystem } from "../../sys/recording.ts";
 * let message = "";
 * try {
 *   planX86Load(new RecordingSystem({}), {
 *     kernelPath: "/k", kernel: new Uint8Array(64), initrd: null, cmdline: "",
 *     crash: false, facts: {},
 *   });
 * } catch (e) { message = (e as Error).message; }
 * if (message === "") throw new Error("a 64-byte file is no bzImage");
 * ```
 */
export function planX86Load(
  sys: System,
  input: SegmentLoadInput,
  image?: X86KernelImage,
): SegmentLoadPlan {
  if (input.crash) return planCrashLoad(sys, input, image);
  const map = readMemoryMap(sys);
  const systab = sys.readText(PATHS.efiSystab);
  const running = sys.readBytes(PATHS.bootParams, BOOT_PARAMS.size);
  const plan = planBzImage64({
    kernel: input.kernel,
    image,
    kernelPath: input.kernelPath,
    initrd: input.initrd,
    cmdline: input.cmdline,
    memoryMap: map.ranges,
    memoryMapSource: map.source,
    memMin: input.memMin,
    memMax: input.memMax,
    runningBootParams: running,
    acpiRsdpAddr: systab === undefined ? undefined : rsdpFromEfiSystab(systab),
    efi: efiFirmware(sys, systab),
    screenInfo: planScreenInfo(
      running,
      hasFirmwareFramebuffer(running) ? iomemIfReadable(sys) : undefined,
    ),
    fiveLevelPaging: sys.fiveLevelPaging(),
    rngSeed: sys.random(RNG_SEED_SIZE),
    verify: input.verify,
    pageSize: sys.pageSize,
    flags: input.preserveContext ? KEXEC_PRESERVE_CONTEXT : 0,
  });
  return { ...plan, ramBytes: totalBytes(map.ranges, "ram") };
}

// Everything the elfcorehdr and the crash kernel's memory map are built from
// comes from the running kernel (Documentation/admin-guide/kdump/kdump.rst).
function planCrashLoad(
  sys: System,
  input: SegmentLoadInput,
  image: X86KernelImage | undefined,
): SegmentLoadPlan {
  if (input.preserveContext) {
    throw new KexecError("a crash kernel cannot be loaded with --load-preserve-context", {
      hint: "drop -p or --load-preserve-context",
    });
  }
  const systab = sys.readText(PATHS.efiSystab);
  const running = sys.readBytes(PATHS.bootParams, BOOT_PARAMS.size);
  const sources = readCrashSources(sys);
  return planCrashBzImage64({
    kernel: input.kernel,
    image,
    kernelPath: input.kernelPath,
    initrd: input.initrd,
    cmdline: input.cmdline,
    sources,
    crashSize: input.facts.crashSize,
    memMin: input.memMin,
    memMax: input.memMax,
    runningBootParams: running,
    efiRsdp: systab === undefined ? undefined : rsdpFromEfiSystab(systab),
    efi: efiFirmware(sys, systab),
    screenInfo: planScreenInfo(running, sources.iomem),
    fiveLevelPaging: sys.fiveLevelPaging(),
    rngSeed: sys.random(RNG_SEED_SIZE),
    verify: input.verify,
    pageSize: sys.pageSize,
  });
}

// The EFI sysfs files, on a machine booted through UEFI (it has a systab).
function efiFirmware(sys: System, systab: string | undefined): EfiFirmware | undefined {
  return systab === undefined ? undefined : readEfiFirmware(sys);
}

// /proc/iomem for the framebuffer's live address; without it the boot-time
// address is used, so an unreadable or hidden file is no error here.
function iomemIfReadable(sys: System): IomemNode[] | undefined {
  try {
    return readIomem(sys);
  } catch {
    return undefined;
  }
}
