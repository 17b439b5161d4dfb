/**
 * The machine's side of a Multiboot load: the memory map and the EFI system
 * table the running kernel was booted with, handed to the pure planner
 * (plan.ts). Imported only when a Multiboot kernel's kexec_load is planned.
 *
 * @module
 */

import { PATHS } from "../../../abi.ts";
import { ExitCode, KexecError } from "../../../errors.ts";
import { readMemoryMap } from "../../../memory/source.ts";
import { totalBytes } from "../../../memory/memmap.ts";
import type { SegmentLoadPlan } from "../../../plan/types.ts";
import type { System } from "../../../sys/system.ts";
import type { SegmentLoadInput } from "../../types.ts";
import { BOOT_PARAMS } from "../boot_params.ts";
import type { EfiSystemTable } from "./info2.ts";
import { planMultiboot } from "./plan.ts";

/** `struct efi_info` in boot_params (arch/x86/include/uapi/asm/bootparam.h). */
const EFI_INFO = { loaderSignature: 0x00, systab: 0x04, systabHi: 0x18, size: 0x20 } as const;
/** `efi_loader_signature` values: "EL64" and "EL32" (arch/x86/include/asm/efi.h). */
const EFI64_LOADER_SIGNATURE = 0x34364c45;
const EFI32_LOADER_SIGNATURE = 0x32334c45;

/**
 * The EFI system table the running kernel was given (its boot parameters'
 * `efi_info`), or undefined on a BIOS machine.
 *
 * @example
 * ```ts
 * import { efiSystemTableFrom } from "./plan_load.ts";
 * const bp = new Uint8Array(4096);
 * const v = new DataView(bp.buffer);
 * v.setUint32(0x1c0, 0x34364c45, true); // "EL64"
 * v.setUint32(0x1c4, 0x7f9e0018, true);
 * if (efiSystemTableFrom(bp)?.address !== 0x7f9e0018) throw new Error();
 * if (efiSystemTableFrom(new Uint8Array(4096)) !== undefined) throw new Error();
 * ```
 */
export function efiSystemTableFrom(bootParams: Uint8Array | undefined): EfiSystemTable | undefined {
  const at = BOOT_PARAMS.efiInfo;
  if (!bootParams || bootParams.length < at + EFI_INFO.size) return undefined;
  const view = new DataView(bootParams.buffer, bootParams.byteOffset, bootParams.byteLength);
  const signature = view.getUint32(at + EFI_INFO.loaderSignature, true);
  const address = view.getUint32(at + EFI_INFO.systab, true) +
    view.getUint32(at + EFI_INFO.systabHi, true) * 2 ** 32;
  if (address === 0) return undefined;
  if (signature === EFI64_LOADER_SIGNATURE) return { address, bits: 64 };
  if (signature === EFI32_LOADER_SIGNATURE && address < 2 ** 32) return { address, bits: 32 };
  return undefined;
}

/**
 * Plans the kexec_load of a Multiboot (`version` 1) or Multiboot2 kernel on
 * this machine: refuses what Multiboot cannot carry (a crash load, kexec
 * jump, an initrd), reads the memory map and the EFI system table, and hands
 * them to {@link planMultiboot}.
 *
 * @example
 * ```ts
 * import { planLoad } from "./plan_load.ts";
 * import { RecordingSystem } from "../../../sys/recording.ts";
 * let message = "";
 * try {
 *   planLoad(1, new RecordingSystem({}), {
 *     kernelPath: "/xen", kernel: new Uint8Array(64), initrd: new Uint8Array(1), cmdline: "",
 *     crash: false, facts: {},
 *   });
 * } catch (e) { message = (e as Error).message; }
 * if (!message.includes("--initrd")) throw new Error(message);
 * ```
 */
export function planLoad(version: 1 | 2, sys: System, input: SegmentLoadInput): SegmentLoadPlan {
  const refuse = (what: string, hint: string) =>
    new KexecError(`kernel ${input.kernelPath} is a Multiboot kernel: ${what}`, {
      exitCode: ExitCode.USAGE,
      hint,
    });
  if (input.crash) {
    throw refuse("it cannot be loaded as a crash kernel (-p)", "load it with -l");
  }
  if (input.preserveContext) {
    throw refuse("it cannot be loaded with --load-preserve-context", "load it with -l");
  }
  if (input.initrd) {
    throw refuse("it takes no --initrd", 'pass the initrd as a module: --module "FILE ARGS"');
  }
  const map = readMemoryMap(sys);
  const plan = planMultiboot({
    version,
    kernel: input.kernel,
    kernelPath: input.kernelPath,
    cmdline: input.cmdline,
    modules: input.modules ?? [],
    memoryMap: map.ranges,
    memoryMapSource: map.source,
    memMin: input.memMin,
    memMax: input.memMax,
    verify: input.verify,
    pageSize: sys.pageSize,
    efiSystemTable: efiSystemTableFrom(sys.readBytes(PATHS.bootParams, BOOT_PARAMS.size)),
  });
  return { ...plan, ramBytes: totalBytes(map.ranges, "ram") };
}
