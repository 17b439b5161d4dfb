/**
 * boot_params ("zero page") built from scratch for the 64-bit entry
 * (Documentation/arch/x86/boot.rst "64-bit Boot Protocol",
 * Documentation/arch/x86/zero-page.rst, arch/x86/include/uapi/asm/bootparam.h).
 *
 * What it carries from the running kernel's /sys/kernel/boot_params/data, and why:
 * * `acpi_rsdp_addr` — the next kernel finds ACPI through it even when EFI is
 *   not handed over. A value given explicitly (from /sys/firmware/efi/systab)
 *   wins.
 * * `hardware_subarch` when nonzero (non-PC platforms such as Intel MID/CE),
 *   as kexec-tools and the kernel's own loader do.
 * * `secure_boot`, so the next kernel knows the firmware's Secure Boot state
 *   (the kernel's own loader copies it too).
 *
 * What the caller decides and passes in: `efi_info` for an EFI handover
 * (efi.ts; zero otherwise, and the next kernel boots as on a BIOS machine) and
 * `screen_info` for a firmware framebuffer (screen_info.ts; zero otherwise).
 * EDD stays zero: only the real-mode setup code fills it, and the disks it
 * describes are found again by the next kernel.
 *
 * Never copied: anything else of the running page (u-root's approach), which
 * would inherit stale initrd, command-line, setup_data and header fields.
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import { hex } from "../../format.ts";
import { E820_MAX_ENTRIES_ZEROPAGE, type E820Entry, encodeE820 } from "./e820.ts";
import { type EfiHandover, writeEfiInfo } from "./efi.ts";
import { SCREEN_INFO } from "./screen_info.ts";
import { LOADFLAGS, SETUP_HEADER, type SetupHeader } from "./setup_header.ts";

/** boot_params offsets outside the setup header (Documentation/arch/x86/zero-page.rst). */
export const BOOT_PARAMS = {
  /** Size of the whole structure. */
  size: 4096,
  /** u64: ACPI RSDP physical address (kernels ≥ 5.0 read it). */
  acpiRsdpAddr: 0x070,
  /** u32: initrd address bits 63..32. */
  extRamdiskImage: 0x0c0,
  /** u32: initrd size bits 63..32. */
  extRamdiskSize: 0x0c4,
  /** u32: command line address bits 63..32. */
  extCmdLinePtr: 0x0c8,
  /** struct efi_info, 0x20 bytes: zero unless EFI is handed over (efi.ts). */
  efiInfo: 0x1c0,
  /** u8: number of entries in the e820 table at 0x2D0. */
  e820Entries: 0x1e8,
  /** u8: firmware Secure Boot state. */
  secureBoot: 0x1ec,
  /** u8: must stay 0, or the kernel wipes most fields as coming from a broken loader. */
  sentinel: 0x1ef,
  /** The setup header, copied from the image. */
  hdr: 0x1f1,
  /** struct boot_e820_entry[128]. */
  e820Table: 0x2d0,
} as const;

/**
 * `type_of_loader` written: 0xD0, the kexec loader ID (boot.rst: type 0xD
 * "kexec-tools", version 0), exactly what the kernel's own loader writes
 * (arch/x86/kernel/kexec-bzimage64.c: `0x0D << 4`) and kexec-tools too. Any
 * nonzero value makes the kernel honour the initrd; this one also tells the
 * next kernel (/sys/kernel/boot_params/data) that kexec started it.
 */
export const TYPE_OF_LOADER = 0xd0;

// loadflags bits a kexec loader must never pass on: KEEP_SEGMENTS is obsolete
// and CAN_USE_HEAP vouches for heap_end_ptr, which only the real-mode setup
// code uses (boot.rst "Details of Header Fields"); the kernel's own loader
// clears all of loadflags (arch/x86/kernel/kexec-bzimage64.c).
const LOADFLAGS_CLEARED = LOADFLAGS.KEEP_SEGMENTS | LOADFLAGS.CAN_USE_HEAP;

const TWO_32 = 2 ** 32;

/** What goes into boot_params. */
export interface BootParamsInput {
  /** The bzImage; its setup header (0x1F1 .. header end) is copied. */
  readonly kernel: Uint8Array;
  /** The parsed header of `kernel`. */
  readonly header: SetupHeader;
  /** Physical address of the NUL-terminated command line. */
  readonly cmdLinePtr: number;
  /** Initrd placement and exact byte size, or null. */
  readonly initrd: { readonly address: number; readonly size: number } | null;
  /** Physical address of the first setup_data node, 0 when none. */
  readonly setupData: number;
  /** At most 128 entries; the rest belongs in a SETUP_E820_EXT node. */
  readonly e820: readonly E820Entry[];
  /** The running kernel's /sys/kernel/boot_params/data, when readable. */
  readonly running?: Uint8Array;
  /** RSDP address (e.g. from /sys/firmware/efi/systab); overrides `running`'s. */
  readonly acpiRsdpAddr?: number;
  /** The 64 bytes of `screen_info` (screen_info.ts), or zero. */
  readonly screenInfo?: Uint8Array;
  /** EFI handover (efi.ts) and where its memory map was placed; zero `efi_info` without. */
  readonly efi?: { readonly handover: EfiHandover; readonly memmapAddress: number };
}

/** Values taken from the running kernel's boot_params (see the module comment). */
export interface CarriedBootParams {
  readonly acpiRsdpAddr: number;
  readonly hardwareSubarch: number;
  readonly secureBoot: number;
}

/**
 * Reads the fields this loader carries over from a running kernel's
 * boot_params; zeros when absent or too short.
 *
 * @example
 * ```ts
 * import { carriedBootParams } from "./boot_params.ts";
 * const running = new Uint8Array(4096);
 * new DataView(running.buffer).setBigUint64(0x70, 0xf5a20n, true);
 * running[0x1ec] = 3;
 * const c = carriedBootParams(running);
 * if (c.acpiRsdpAddr !== 0xf5a20 || c.secureBoot !== 3 || c.hardwareSubarch !== 0) {
 *   throw new Error();
 * }
 * ```
 */
export function carriedBootParams(running: Uint8Array | undefined): CarriedBootParams {
  if (!running || running.length < BOOT_PARAMS.size) {
    return { acpiRsdpAddr: 0, hardwareSubarch: 0, secureBoot: 0 };
  }
  const view = new DataView(running.buffer, running.byteOffset, running.byteLength);
  return {
    acpiRsdpAddr: Number(view.getBigUint64(BOOT_PARAMS.acpiRsdpAddr, true)),
    hardwareSubarch: view.getUint32(SETUP_HEADER.hardwareSubarch, true),
    secureBoot: view.getUint8(BOOT_PARAMS.secureBoot),
  };
}

/**
 * Builds the 4096-byte boot_params: zeros, the image's setup header at 0x1F1,
 * then type_of_loader, loadflags (without KEEP_SEGMENTS/CAN_USE_HEAP), the
 * command line and initrd pointers (both halves), the setup_data head, the
 * e820 table and the carried fields. The sentinel at 0x1EF stays 0.
 *
 * @example
 * ```ts
 * import { buildBootParams } from "./boot_params.ts";
 * import { parseSetupHeader } from "./setup_header.ts";
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
 * v.setUint32(0x260, 0x100000, true);
 * const bp = buildBootParams({
 *   kernel: k, header: parseSetupHeader(k, "k"), cmdLinePtr: 0x99c000,
 *   initrd: null, setupData: 0, e820: [{ addr: 0x100000, size: 0x3ff00000, type: 1 }],
 * });
 * const b = new DataView(bp.buffer);
 * if (b.getUint32(0x228, true) !== 0x99c000 || bp[0x210] !== 0xd0 || bp[0x1e8] !== 1) {
 *   throw new Error();
 * }
 * ```
 */
export function buildBootParams(input: BootParamsInput): Uint8Array {
  const { kernel, header } = input;
  if (input.e820.length > E820_MAX_ENTRIES_ZEROPAGE) {
    throw new RangeError(
      `${input.e820.length} e820 entries; boot_params holds ${E820_MAX_ENTRIES_ZEROPAGE}`,
    );
  }
  const bp = new Uint8Array(BOOT_PARAMS.size);
  const view = new DataView(bp.buffer);
  // Only the header itself: copying from below 0x1F1 would set the sentinel.
  bp.set(kernel.subarray(BOOT_PARAMS.hdr, header.headerEnd), BOOT_PARAMS.hdr);

  view.setUint8(SETUP_HEADER.typeOfLoader, TYPE_OF_LOADER);
  view.setUint8(SETUP_HEADER.loadflags, header.loadflags & ~LOADFLAGS_CLEARED);

  writeSplit64(view, SETUP_HEADER.cmdLinePtr, BOOT_PARAMS.extCmdLinePtr, input.cmdLinePtr);
  writeSplit64(
    view,
    SETUP_HEADER.ramdiskImage,
    BOOT_PARAMS.extRamdiskImage,
    input.initrd?.address ?? 0,
  );
  writeSplit64(
    view,
    SETUP_HEADER.ramdiskSize,
    BOOT_PARAMS.extRamdiskSize,
    input.initrd?.size ?? 0,
  );
  view.setBigUint64(SETUP_HEADER.setupData, BigInt(input.setupData), true);

  const carried = carriedBootParams(input.running);
  view.setUint32(
    SETUP_HEADER.hardwareSubarch,
    carried.hardwareSubarch || header.hardwareSubarch,
    true,
  );
  view.setBigUint64(SETUP_HEADER.hardwareSubarchData, 0n, true);
  view.setBigUint64(
    BOOT_PARAMS.acpiRsdpAddr,
    BigInt(input.acpiRsdpAddr ?? carried.acpiRsdpAddr),
    true,
  );
  view.setUint8(BOOT_PARAMS.secureBoot, carried.secureBoot);

  view.setUint8(BOOT_PARAMS.e820Entries, input.e820.length);
  bp.set(encodeE820(input.e820), BOOT_PARAMS.e820Table);
  if (input.screenInfo) {
    if (input.screenInfo.length !== SCREEN_INFO.length) {
      throw new RangeError(`screen_info must be ${SCREEN_INFO.length} bytes`);
    }
    bp.set(input.screenInfo, 0);
  }
  if (input.efi) writeEfiInfo(bp, input.efi.handover, input.efi.memmapAddress);
  return bp;
}

// Writes a 64-bit value as a low u32 in the setup header and a high u32 in an ext_* field.
function writeSplit64(view: DataView, lowOffset: number, highOffset: number, value: number) {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new KexecError(`boot_params: ${hex(value)} is not a valid address or size`);
  }
  view.setUint32(lowOffset, value % TWO_32, true);
  view.setUint32(highOffset, Math.floor(value / TWO_32), true);
}
