/**
 * Handing EFI runtime services over to the next kernel.
 *
 * A kernel booted through UEFI has called SetVirtualAddressMap, which the
 * firmware allows once per boot. The next kernel therefore must not call it
 * again: it reuses the virtual addresses the first kernel chose. It learns
 * them from two things the loader provides, exactly as the kernel's own loader
 * does (arch/x86/kernel/kexec-bzimage64.c, setup_efi_state):
 *
 * * boot_params `efi_info` (arch/x86/include/uapi/asm/bootparam.h): the
 *   signature, system table and descriptor version of the running boot, and
 *   the address of an EFI memory map that holds only the runtime regions,
 *   with the virtual address each was given
 *   (Documentation/ABI/testing/sysfs-firmware-efi-runtime-map);
 * * a SETUP_EFI setup_data node (`struct efi_setup_data`,
 *   arch/x86/include/asm/efi.h) with the physical addresses of the firmware
 *   vendor string and the configuration table, which the firmware may have
 *   converted to virtual ones, and the SMBIOS entry point.
 *
 * The next kernel finds the node (arch/x86/kernel/setup.c, parse_setup_data
 * sets `efi_setup`), takes fw_vendor and tables from it
 * (arch/x86/platform/efi/efi.c, efi_systab_init), patches the SMBIOS entry of
 * the configuration table (arch/x86/platform/efi/quirks.c, efi_reuse_config)
 * and maps each runtime region at its old virtual address instead of calling
 * SetVirtualAddressMap (efi.c, kexec_enter_virtual_mode). Without `efi_info`
 * it boots as on a BIOS machine: no /sys/firmware/efi, no efivars, no EFI
 * reboot.
 *
 * Everything here is pure; lib/arch/x86_64/efi_source.ts reads the sysfs files.
 *
 * @module
 */

import { hex } from "../../format.ts";
import { XLF } from "./setup_header.ts";

/** boot_params `struct efi_info` offsets (arch/x86/include/uapi/asm/bootparam.h). */
export const EFI_INFO = {
  /** u32: "EL64" for 64-bit firmware, "EL32" for 32-bit. */
  loaderSignature: 0x1c0,
  /** u32: EFI system table physical address, low half. */
  systab: 0x1c4,
  /** u32: bytes per memory descriptor in the map at efi_memmap. */
  memdescSize: 0x1c8,
  /** u32: memory descriptor version (1). */
  memdescVersion: 0x1cc,
  /** u32: EFI memory map physical address, low half. */
  memmap: 0x1d0,
  /** u32: EFI memory map size in bytes. */
  memmapSize: 0x1d4,
  /** u32: system table address, high half. */
  systabHi: 0x1d8,
  /** u32: memory map address, high half. */
  memmapHi: 0x1dc,
  /** Size of the structure. */
  length: 0x20,
} as const;

/** `efi_loader_signature` of a 64-bit EFI boot: "EL64" (arch/x86/include/asm/efi.h). */
export const EFI64_LOADER_SIGNATURE = 0x34364c45;
/** The memory descriptor version the kernel's kexec path and kexec-tools accept. */
export const EFI_MEMDESC_VERSION = 1;

/** `efi_memory_desc_t` (include/linux/efi.h): u32 type, u32 pad, u64 phys, virt, pages, attribute. */
export const EFI_MEMORY_DESC = {
  type: 0x00,
  physAddr: 0x08,
  virtAddr: 0x10,
  numPages: 0x18,
  attribute: 0x20,
  /** Bytes per descriptor as written here (`efi_memdesc_size`). */
  length: 40,
} as const;

/** `struct efi_setup_data` (arch/x86/include/asm/efi.h): 4 u64 and 8 reserved u64. */
export const EFI_SETUP_DATA = {
  fwVendor: 0x00,
  /** Unused since Linux 5.7, read by older kernels: filled as kexec-tools does. */
  runtime: 0x08,
  tables: 0x10,
  smbios: 0x18,
  length: 96,
} as const;

/** One /sys/firmware/efi/runtime-map/N entry. */
export interface EfiMemoryDescriptor {
  /** EFI memory type (UEFI specification, EFI_MEMORY_TYPE). */
  readonly type: number;
  /** PhysicalStart. */
  readonly physAddr: bigint;
  /** VirtualStart, as SetVirtualAddressMap was given it. */
  readonly virtAddr: bigint;
  /** NumberOfPages (4 KiB each). */
  readonly numPages: bigint;
  /** Attribute bits (EFI_MEMORY_RUNTIME, …). */
  readonly attribute: bigint;
}

/** What the running kernel says about its EFI boot, as read from sysfs. */
export interface EfiFirmware {
  /** /sys/firmware/efi/runtime-map, in index order; undefined when missing. */
  readonly runtimeMap?: readonly EfiMemoryDescriptor[];
  /** /sys/firmware/efi/fw_vendor: physical address of the vendor string. */
  readonly fwVendor?: bigint;
  /** /sys/firmware/efi/runtime: address of the runtime services table. */
  readonly runtime?: bigint;
  /** /sys/firmware/efi/config_table: physical address of the configuration table. */
  readonly configTable?: bigint;
  /** `SMBIOS=` of /sys/firmware/efi/systab (the SMBIOS 2 entry point), if any. */
  readonly smbios?: bigint;
}

/** The EFI state to give the next kernel. */
export interface EfiHandover {
  /** The 32 bytes of `efi_info` except the memory map address, which the planner fills in. */
  readonly loaderSignature: number;
  readonly systab: bigint;
  readonly memdescVersion: number;
  /** The runtime memory map, {@link EFI_MEMORY_DESC.length} bytes per descriptor. */
  readonly memmap: Uint8Array;
  /** The SETUP_EFI node's data. */
  readonly setupData: Uint8Array;
  /** Lines for -d and --dry-run. */
  readonly notes: readonly string[];
}

/** Why EFI is not handed over (the next kernel then boots as on a BIOS machine). */
export interface EfiNotHandedOver {
  readonly reason: string;
}

/** Inputs of {@link planEfiHandover}. */
export interface EfiHandoverInput {
  /** The running kernel's /sys/kernel/boot_params/data. */
  readonly running?: Uint8Array;
  /** The new kernel's xloadflags. */
  readonly xloadflags: number;
  readonly firmware: EfiFirmware;
}

/**
 * Decides whether and how to hand EFI over, from the running boot's
 * `efi_info` and the sysfs files. The conditions are the kernel's own
 * (setup_efi_state: a running EFI memory map) and kexec-tools' (descriptor
 * version 1, an image with XLF_EFI_KEXEC, a runtime map), plus two that keep
 * the next kernel from breaking: 64-bit firmware (the kernel drops runtime
 * services after kexec in mixed mode) and a map whose regions were given
 * virtual addresses (all zero means runtime services were never entered,
 * e.g. `efi=noruntime`).
 *
 * @example
 * ```ts
 * import { planEfiHandover } from "./efi.ts";
 * const running = new Uint8Array(4096);
 * const v = new DataView(running.buffer);
 * v.setUint32(0x1c0, 0x34364c45, true); // "EL64"
 * v.setUint32(0x1c4, 0x7f5eb018, true);
 * v.setUint32(0x1cc, 1, true);
 * v.setUint32(0x1d4, 0x17d0, true);
 * const plan = planEfiHandover({
 *   running, xloadflags: 0x1f,
 *   firmware: {
 *     runtimeMap: [{ type: 11, physAddr: 0xffc00000n, virtAddr: 0xfffffffeffc00000n,
 *       numPages: 0x400n, attribute: 0x8000000000000001n }],
 *     fwVendor: 0x7f52aa18n, runtime: 0x7f5ebb98n, configTable: 0x7f5ebc98n, smbios: 0x7f520000n,
 *   },
 * });
 * if (!("memmap" in plan) || plan.memmap.length !== 40 || plan.setupData.length !== 96) {
 *   throw new Error(JSON.stringify(plan));
 * }
 * ```
 */
export function planEfiHandover(input: EfiHandoverInput): EfiHandover | EfiNotHandedOver {
  const running = input.running;
  if (!running || running.length < EFI_INFO.loaderSignature + EFI_INFO.length) {
    return { reason: "the running kernel's boot_params are unreadable" };
  }
  const view = new DataView(running.buffer, running.byteOffset, running.byteLength);
  const u32 = (offset: number) => view.getUint32(offset, true);
  if (u32(EFI_INFO.memmapSize) === 0) {
    return { reason: "the running kernel was not booted through UEFI (no EFI memory map)" };
  }
  const signature = u32(EFI_INFO.loaderSignature);
  if (signature !== EFI64_LOADER_SIGNATURE) {
    return {
      reason: `efi_loader_signature ${hex(signature)} is not "EL64": 32-bit firmware, whose ` +
        "runtime services a kernel started by kexec cannot use",
    };
  }
  const version = u32(EFI_INFO.memdescVersion);
  if (version !== EFI_MEMDESC_VERSION) {
    return { reason: `EFI memory descriptor version ${version} is not ${EFI_MEMDESC_VERSION}` };
  }
  if (!(input.xloadflags & XLF.EFI_KEXEC)) {
    return { reason: "the kernel does not set XLF_EFI_KEXEC (it cannot reuse the runtime map)" };
  }
  const fw = input.firmware;
  const map = fw.runtimeMap ?? [];
  if (map.length === 0) {
    return {
      reason: "/sys/firmware/efi/runtime-map is missing or empty (CONFIG_EFI_RUNTIME_MAP)",
    };
  }
  if (map.every((d) => d.virtAddr === 0n)) {
    return {
      reason: "no EFI runtime region has a virtual address: runtime services are off " +
        "(efi=noruntime?)",
    };
  }
  if (fw.fwVendor === undefined || fw.configTable === undefined) {
    return { reason: "/sys/firmware/efi/fw_vendor or config_table is unreadable" };
  }
  const systab = BigInt(u32(EFI_INFO.systab)) | (BigInt(u32(EFI_INFO.systabHi)) << 32n);
  const setupData = encodeEfiSetupData(fw);
  return {
    loaderSignature: signature,
    systab,
    memdescVersion: version,
    memmap: encodeEfiMemoryMap(map),
    setupData,
    notes: [
      `EFI: runtime services handed over: ${map.length} runtime-map regions ` +
      `(${EFI_MEMORY_DESC.length}-byte descriptors), system table ${hex(systab)}; SETUP_EFI ` +
      `fw_vendor ${hex(fw.fwVendor)}, tables ${hex(fw.configTable)}, ` +
      `smbios ${fw.smbios === undefined ? "none" : hex(fw.smbios)}`,
    ],
  };
}

/**
 * The runtime map as the array of `efi_memory_desc_t` the next kernel reads.
 *
 * @example
 * ```ts
 * import { encodeEfiMemoryMap } from "./efi.ts";
 * const b = encodeEfiMemoryMap([{ type: 5, physAddr: 0x7f5ec000n, virtAddr: 0xfffffffeff1ec000n,
 *   numPages: 0x100n, attribute: 0x800000000000000fn }]);
 * const v = new DataView(b.buffer);
 * if (v.getUint32(0, true) !== 5 || v.getBigUint64(16, true) !== 0xfffffffeff1ec000n) throw new Error();
 * ```
 */
export function encodeEfiMemoryMap(map: readonly EfiMemoryDescriptor[]): Uint8Array {
  const bytes = new Uint8Array(map.length * EFI_MEMORY_DESC.length);
  const view = new DataView(bytes.buffer);
  map.forEach((d, i) => {
    const at = i * EFI_MEMORY_DESC.length;
    view.setUint32(at + EFI_MEMORY_DESC.type, d.type, true);
    view.setBigUint64(at + EFI_MEMORY_DESC.physAddr, d.physAddr, true);
    view.setBigUint64(at + EFI_MEMORY_DESC.virtAddr, d.virtAddr, true);
    view.setBigUint64(at + EFI_MEMORY_DESC.numPages, d.numPages, true);
    view.setBigUint64(at + EFI_MEMORY_DESC.attribute, d.attribute, true);
  });
  return bytes;
}

/**
 * The SETUP_EFI node's data: fw_vendor, runtime, tables, smbios, then zeros.
 *
 * @example
 * ```ts
 * import { encodeEfiSetupData } from "./efi.ts";
 * const b = encodeEfiSetupData({ fwVendor: 1n, runtime: 2n, configTable: 3n });
 * const v = new DataView(b.buffer);
 * if (b.length !== 96 || v.getBigUint64(16, true) !== 3n || v.getBigUint64(24, true) !== 0n) {
 *   throw new Error();
 * }
 * ```
 */
export function encodeEfiSetupData(fw: EfiFirmware): Uint8Array {
  const bytes = new Uint8Array(EFI_SETUP_DATA.length);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(EFI_SETUP_DATA.fwVendor, fw.fwVendor ?? 0n, true);
  view.setBigUint64(EFI_SETUP_DATA.runtime, fw.runtime ?? 0n, true);
  view.setBigUint64(EFI_SETUP_DATA.tables, fw.configTable ?? 0n, true);
  view.setBigUint64(EFI_SETUP_DATA.smbios, fw.smbios ?? 0n, true);
  return bytes;
}

/**
 * Writes `efi_info` into a boot_params page: the handover's values and the
 * memory map at `memmapAddress`.
 *
 * @example
 * ```ts
 * import { writeEfiInfo } from "./efi.ts";
 * const bp = new Uint8Array(4096);
 * writeEfiInfo(bp, { loaderSignature: 0x34364c45, systab: 0x1_2345_6000n, memdescVersion: 1,
 *   memmap: new Uint8Array(80), setupData: new Uint8Array(96), notes: [] }, 0x99d000);
 * const v = new DataView(bp.buffer);
 * if (v.getUint32(0x1d8, true) !== 1 || v.getUint32(0x1d4, true) !== 80 || bp[0x1c8] !== 40) {
 *   throw new Error();
 * }
 * ```
 */
export function writeEfiInfo(bp: Uint8Array, efi: EfiHandover, memmapAddress: number): void {
  const view = new DataView(bp.buffer, bp.byteOffset, bp.byteLength);
  const low = (v: bigint) => Number(v & 0xffffffffn);
  const high = (v: bigint) => Number(v >> 32n);
  const memmap = BigInt(memmapAddress);
  view.setUint32(EFI_INFO.loaderSignature, efi.loaderSignature, true);
  view.setUint32(EFI_INFO.systab, low(efi.systab), true);
  view.setUint32(EFI_INFO.systabHi, high(efi.systab), true);
  view.setUint32(EFI_INFO.memdescSize, EFI_MEMORY_DESC.length, true);
  view.setUint32(EFI_INFO.memdescVersion, efi.memdescVersion, true);
  view.setUint32(EFI_INFO.memmap, low(memmap), true);
  view.setUint32(EFI_INFO.memmapHi, high(memmap), true);
  view.setUint32(EFI_INFO.memmapSize, efi.memmap.length, true);
}
