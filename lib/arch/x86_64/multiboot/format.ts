/**
 * The Multiboot and Multiboot2 kernel formats (Xen's `xen.gz` once the gzip
 * wrapper is off; kexec-tools' `multiboot-x86` and `multiboot2-x86`
 * loaders): recognised by their headers, checked before any system call,
 * and booted only through kexec_load, with `--module`s. Multiboot2 is probed
 * first, as kexec-tools does, so an image with both headers (Xen) boots
 * through Multiboot2 unless `-t multiboot-x86` asks otherwise.
 *
 * @module
 */

import { PATHS } from "../../../abi.ts";
import { ExitCode, KexecError } from "../../../errors.ts";
import { readMemoryMap } from "../../../memory/source.ts";
import { totalBytes } from "../../../memory/memmap.ts";
import type { SegmentLoadPlan } from "../../../plan/types.ts";
import type { System } from "../../../sys/system.ts";
import type { ImageCheck, ImageCheckInput, KernelFormat, SegmentLoadInput } from "../../types.ts";
import { BOOT_PARAMS } from "../boot_params.ts";
import { isElf } from "./elf.ts";
import { findMultiboot1Header } from "./header1.ts";
import { findMultiboot2Header } from "./header2.ts";
import type { EfiSystemTable } from "./info2.ts";
import { planMultiboot, readMultibootKernel } from "./plan.ts";

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
 * import { efiSystemTableFrom } from "./format.ts";
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

function check(version: 1 | 2, input: ImageCheckInput): ImageCheck {
  // Everything the planner would refuse in the image itself, before any system call.
  const facts = readMultibootKernel(input.bytes, input.path, version, true);
  return {
    notes: [
      ...facts.notes,
      `kernel layout: ${facts.layout.source}, entry 0x${facts.layout.entry.toString(16)}`,
    ],
    fitsFileLoad: true,
    fitsSegmentLoad: true,
  };
}

function planLoad(version: 1 | 2, sys: System, input: SegmentLoadInput): SegmentLoadPlan {
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

const FILE_LOAD_REFUSAL =
  "the kernel's own x86_64 loader takes only bzImage kernels, so Multiboot kernels go through " +
  "kexec_load";

function describe(version: 1 | 2, bytes: Uint8Array): string {
  return `Multiboot${version === 2 ? "2" : ""} kernel (${isElf(bytes) ? "ELF" : "flat image"})`;
}

/**
 * Multiboot2 kernels (Multiboot2 Specification 2.0), kexec-tools'
 * `multiboot2-x86`.
 *
 * @example
 * ```ts
 * import { MULTIBOOT2 } from "./format.ts";
 * const k = new Uint8Array(64);
 * const v = new DataView(k.buffer);
 * v.setUint32(0, 0xe85250d6, true);
 * v.setUint32(8, 24, true);
 * v.setUint32(12, -(0xe85250d6 + 24) >>> 0, true);
 * if (!MULTIBOOT2.probe(k) || MULTIBOOT2.probe(new Uint8Array(64))) throw new Error();
 * ```
 */
export const MULTIBOOT2: KernelFormat = {
  name: "Multiboot2",
  typeNames: ["multiboot2-x86", "multiboot2"],
  probe: (bytes) => findMultiboot2Header(bytes) !== undefined,
  describe: (bytes) => describe(2, bytes),
  check: (input) => check(2, input),
  fileLoad: FILE_LOAD_REFUSAL,
  takesModules: true,
  planSegments: (sys, input) => planLoad(2, sys, input),
};

/**
 * Multiboot kernels (Multiboot Specification 0.6.96), kexec-tools'
 * `multiboot-x86`; ELF or flat images with the a.out kludge.
 *
 * @example
 * ```ts
 * import { MULTIBOOT } from "./format.ts";
 * const k = new Uint8Array(64);
 * const v = new DataView(k.buffer);
 * v.setUint32(4, 0x1badb002, true);
 * v.setUint32(12, -0x1badb002 >>> 0, true);
 * if (!MULTIBOOT.probe(k) || MULTIBOOT.typeNames[0] !== "multiboot-x86") throw new Error();
 * ```
 */
export const MULTIBOOT: KernelFormat = {
  name: "Multiboot",
  typeNames: ["multiboot-x86", "multiboot"],
  probe: (bytes) => findMultiboot1Header(bytes) !== undefined,
  describe: (bytes) => describe(1, bytes),
  check: (input) => check(1, input),
  fileLoad: FILE_LOAD_REFUSAL,
  takesModules: true,
  planSegments: (sys, input) => planLoad(1, sys, input),
};
