/**
 * The bzImage setup header (Linux Documentation/arch/x86/boot.rst "The Real-Mode
 * Kernel Header", "Details of Header Fields") and its validation for a 64-bit
 * `kexec_load`: what the kernel's own bzImage64_probe
 * (arch/x86/kernel/kexec-bzimage64.c) and kexec-tools' bzImage64_probe
 * (kexec/arch/x86_64/kexec-bzImage64.c) check, plus a truncation check that
 * neither makes.
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import { isPowerOfTwo } from "../../memory/align.ts";
import { hex } from "../../format.ts";

/**
 * Setup header field offsets. They are file offsets in the bzImage and, since
 * the header is copied to the same place, offsets in boot_params too
 * (boot.rst, "The Real-Mode Kernel Header" table).
 */
export const SETUP_HEADER = {
  /** u8: number of 512-byte setup sectors after the boot sector (0 means 4). */
  setupSects: 0x1f1,
  /** u16: root mounted read-only when nonzero. */
  rootFlags: 0x1f2,
  /** u32: protected-mode size in 16-byte paragraphs (protocol 2.04+). */
  syssize: 0x1f4,
  /** u16: 0xAA55. */
  bootFlag: 0x1fe,
  /** u16: short jump; its displacement byte (0x201) gives the header length. */
  jump: 0x200,
  /** u8: displacement of the jump at 0x200; the header ends at 0x202 + this. */
  jumpDisplacement: 0x201,
  /** u32: "HdrS". */
  header: 0x202,
  /** u16: boot protocol version, major in the high byte. */
  version: 0x206,
  /** u8: boot loader identifier; must be nonzero or the kernel ignores the initrd. */
  typeOfLoader: 0x210,
  /** u8: LOADED_HIGH, KASLR, QUIET, KEEP_SEGMENTS, CAN_USE_HEAP bits. */
  loadflags: 0x211,
  /** u32: initrd physical address, low 32 bits. */
  ramdiskImage: 0x218,
  /** u32: initrd size, low 32 bits. */
  ramdiskSize: 0x21c,
  /** u32: command line physical address, low 32 bits (2.02+). */
  cmdLinePtr: 0x228,
  /** u32: highest address the initrd may occupy, inclusive (2.03+). */
  initrdAddrMax: 0x22c,
  /** u32: required alignment of the protected-mode load address (2.05+). */
  kernelAlignment: 0x230,
  /** u8: nonzero when the kernel may load at any aligned address (2.05+). */
  relocatableKernel: 0x234,
  /** u8: log2 of the minimum alignment (2.10+). */
  minAlignment: 0x235,
  /** u16: XLF_* capability bits (2.12+). */
  xloadflags: 0x236,
  /** u32: maximum command-line characters without the NUL (2.06+). */
  cmdlineSize: 0x238,
  /** u32: hardware subarchitecture, 0 = PC (2.07+). */
  hardwareSubarch: 0x23c,
  /** u64: subarchitecture data (2.07+). */
  hardwareSubarchData: 0x240,
  /** u32: compressed payload offset from the protected-mode start (2.08+). */
  payloadOffset: 0x248,
  /** u32: compressed payload length (2.08+). */
  payloadLength: 0x24c,
  /** u64: physical address of the first setup_data node (2.09+). */
  setupData: 0x250,
  /** u64: preferred load address (2.10+). */
  prefAddress: 0x258,
  /** u32: bytes needed from the load address before the kernel knows its memory map (2.10+). */
  initSize: 0x260,
  /** u32: EFI handover entry offset (2.11+). */
  handoverOffset: 0x264,
  /** u32: offset of kernel_info (2.15+). */
  kernelInfoOffset: 0x268,
} as const;

/** Values the validation compares against (boot.rst). */
export const SETUP_MAGIC = {
  /** boot_flag at 0x1FE. */
  bootFlag: 0xaa55,
  /** "HdrS" read as a little-endian u32. */
  header: 0x53726448,
  /** First opcode byte of the short jump at 0x200. */
  jumpOpcode: 0xeb,
  /** Oldest protocol with xloadflags and the ext_* fields: 2.12 (Linux 3.8). */
  minVersion: 0x020c,
  /** The header cannot extend past 0x202 + 0x7F (the jump displacement is signed). */
  maxJumpDisplacement: 0x7f,
  /** Setup sectors assumed when the field holds 0. */
  defaultSetupSects: 4,
  /** Sector size of the boot sector and setup code. */
  sectorSize: 512,
  /** Smallest meaningful bzImage: boot sector plus one setup sector. */
  minFileSize: 1024,
  /** First protocol with kernel_info_offset: 2.15 (Linux 5.5). */
  kernelInfoVersion: 0x020f,
} as const;

/** `loadflags` bits (boot.rst). */
export const LOADFLAGS = {
  LOADED_HIGH: 1 << 0,
  KASLR_FLAG: 1 << 1,
  QUIET_FLAG: 1 << 5,
  KEEP_SEGMENTS: 1 << 6,
  CAN_USE_HEAP: 1 << 7,
} as const;

/** `xloadflags` bits (boot.rst; bits 5–7 from arch/x86/include/uapi/asm/bootparam.h). */
export const XLF = {
  KERNEL_64: 1 << 0,
  CAN_BE_LOADED_ABOVE_4G: 1 << 1,
  EFI_HANDOVER_32: 1 << 2,
  EFI_HANDOVER_64: 1 << 3,
  EFI_KEXEC: 1 << 4,
  FIVE_LEVEL: 1 << 5,
  FIVE_LEVEL_ENABLED: 1 << 6,
  MEM_ENCRYPTION: 1 << 7,
} as const;

/** The fields of a bzImage setup header a loader uses, plus derived sizes. */
export interface SetupHeader {
  /** Setup sectors actually used (0 in the file means 4). */
  readonly setupSects: number;
  /** File offset of the protected-mode kernel: (setupSects + 1) × 512. */
  readonly pmOffset: number;
  /** Bytes of the protected-mode kernel in the file (to its end, signature included). */
  readonly pmSize: number;
  /** Offset just past the header: 0x202 + byte[0x201]. */
  readonly headerEnd: number;
  /** Protocol version, e.g. 0x020f. */
  readonly version: number;
  /** syssize: the protected-mode code in 16-byte paragraphs. */
  readonly syssize: number;
  /** loadflags (LOADED_HIGH, …). */
  readonly loadflags: number;
  /** xloadflags (XLF_KERNEL_64, XLF_CAN_BE_LOADED_ABOVE_4G, …). */
  readonly xloadflags: number;
  /** Highest initrd address, inclusive. */
  readonly initrdAddrMax: number;
  /** kernel_alignment: the alignment a relocatable kernel needs. */
  readonly kernelAlignment: number;
  /** relocatable_kernel: the kernel may be loaded away from pref_address. */
  readonly relocatableKernel: boolean;
  /** min_alignment: log2 of the smallest alignment the kernel accepts. */
  readonly minAlignment: number;
  /** Maximum command-line characters without the NUL. */
  readonly cmdlineSize: number;
  /** hardware_subarch. */
  readonly hardwareSubarch: number;
  /** payload_offset: the compressed kernel inside the protected-mode part. */
  readonly payloadOffset: number;
  /** payload_length. */
  readonly payloadLength: number;
  /** pref_address: where the kernel prefers to be loaded. */
  readonly prefAddress: number;
  /** init_size: the memory the kernel needs from its load address. */
  readonly initSize: number;
  /** handover_offset: the EFI handover entry. */
  readonly handoverOffset: number;
  /** 0 before protocol 2.15. */
  readonly kernelInfoOffset: number;
}

/**
 * Formats a protocol version as boot.rst writes it: 0x020f → "2.15".
 *
 * @example
 * ```ts
 * import { formatProtocol } from "./setup_header.ts";
 * if (formatProtocol(0x020f) !== "2.15") throw new Error();
 * ```
 */
export function formatProtocol(version: number): string {
  return `${version >> 8}.${String(version & 0xff).padStart(2, "0")}`;
}

/**
 * Cheap check: does this look like a Linux x86 boot image (boot flag and "HdrS")?
 *
 * @example
 * ```ts
 * import { hasSetupHeader } from "./setup_header.ts";
 * const b = new Uint8Array(1024);
 * const v = new DataView(b.buffer);
 * v.setUint16(0x1fe, 0xaa55, true);
 * v.setUint32(0x202, 0x53726448, true);
 * if (!hasSetupHeader(b) || hasSetupHeader(new Uint8Array(100))) throw new Error();
 * ```
 */
export function hasSetupHeader(bytes: Uint8Array): boolean {
  if (bytes.length < SETUP_HEADER.header + 4) return false;
  const view = viewOf(bytes);
  return view.getUint16(SETUP_HEADER.bootFlag, true) === SETUP_MAGIC.bootFlag &&
    view.getUint32(SETUP_HEADER.header, true) === SETUP_MAGIC.header;
}

/**
 * Reads and validates the setup header of a bzImage for a 64-bit `kexec_load`
 * (see the module comment): size, magic, protocol ≥ 2.12, bzImage, 64-bit entry,
 * header length, alignment, init_size and truncation. Every failure is a
 * {@link KexecError} naming `path` and what is wrong.
 *
 * @example
 * ```ts
 * import { parseSetupHeader } from "./setup_header.ts";
 * const b = new Uint8Array(0x3000);
 * const v = new DataView(b.buffer);
 * b[0x1f1] = 1; // PM part at 0x400
 * v.setUint16(0x1fe, 0xaa55, true);
 * v.setUint16(0x200, 0x6aeb, true);
 * v.setUint32(0x202, 0x53726448, true);
 * v.setUint16(0x206, 0x020f, true);
 * b[0x211] = 1;
 * v.setUint32(0x230, 0x200000, true);
 * v.setUint16(0x236, 3, true);
 * v.setUint32(0x260, 0x100000, true);
 * const h = parseSetupHeader(b, "/boot/vmlinuz");
 * if (h.pmOffset !== 0x400 || h.pmSize !== 0x2c00 || h.headerEnd !== 0x26c) throw new Error();
 * ```
 */
export function parseSetupHeader(bytes: Uint8Array, path: string): SetupHeader {
  const fail = (what: string, hint: string) => new KexecError(`kernel ${path}: ${what}`, { hint });
  const notBzImage = "give a Linux x86 bzImage (e.g. /boot/vmlinuz-*)";
  if (bytes.length < SETUP_MAGIC.minFileSize) {
    throw fail(
      `${bytes.length} bytes is too short for a bzImage (at least ${SETUP_MAGIC.minFileSize})`,
      notBzImage,
    );
  }
  const view = viewOf(bytes);
  const u8 = (off: number) => view.getUint8(off);
  const u16 = (off: number) => view.getUint16(off, true);
  const u32 = (off: number) => view.getUint32(off, true);
  const u64 = (off: number) => {
    const value = view.getBigUint64(off, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw fail(`header field at ${hex(off)} holds ${value}, beyond any address`, notBzImage);
    }
    return Number(value);
  };

  if (u16(SETUP_HEADER.bootFlag) !== SETUP_MAGIC.bootFlag) {
    throw fail(
      `no boot flag 0xaa55 at offset 0x1fe (found ${hex(u16(SETUP_HEADER.bootFlag))})`,
      notBzImage,
    );
  }
  if (u32(SETUP_HEADER.header) !== SETUP_MAGIC.header) {
    throw fail(
      'no "HdrS" signature at offset 0x202: not a Linux boot image, or older than protocol 2.00',
      notBzImage,
    );
  }
  const version = u16(SETUP_HEADER.version);
  if (version < SETUP_MAGIC.minVersion) {
    throw fail(
      `boot protocol ${formatProtocol(version)} is too old; the 64-bit entry needs ` +
        `${formatProtocol(SETUP_MAGIC.minVersion)} or newer (Linux 3.8+)`,
      "load a kernel with boot protocol 2.12 or newer (Linux 3.8+)",
    );
  }
  const jumpDisplacement = u8(SETUP_HEADER.jumpDisplacement);
  if (
    u8(SETUP_HEADER.jump) !== SETUP_MAGIC.jumpOpcode ||
    jumpDisplacement > SETUP_MAGIC.maxJumpDisplacement
  ) {
    throw fail(
      `setup header length byte at 0x201 is ${hex(jumpDisplacement)} ` +
        `(jump opcode ${hex(u8(SETUP_HEADER.jump))}); the header is corrupt`,
      notBzImage,
    );
  }
  const headerEnd = SETUP_HEADER.header + jumpDisplacement;
  const setupSects = u8(SETUP_HEADER.setupSects) || SETUP_MAGIC.defaultSetupSects;
  const pmOffset = (setupSects + 1) * SETUP_MAGIC.sectorSize;
  if (pmOffset >= bytes.length) {
    throw fail(
      `file ends at ${bytes.length} bytes, before the protected-mode kernel at ${pmOffset} ` +
        `(${setupSects} setup sectors): truncated`,
      "the file is cut short; copy the kernel again",
    );
  }
  const loadflags = u8(SETUP_HEADER.loadflags);
  if (!(loadflags & LOADFLAGS.LOADED_HIGH)) {
    throw fail(
      "is a zImage (loadflags LOADED_HIGH clear), not a bzImage",
      "load a bzImage kernel",
    );
  }
  const xloadflags = u16(SETUP_HEADER.xloadflags);
  if (!(xloadflags & XLF.KERNEL_64)) {
    throw fail(
      "has no 64-bit entry point (xloadflags XLF_KERNEL_64 clear): a 32-bit-only kernel",
      "load a kernel built for x86_64 (CONFIG_X86_64=y)",
    );
  }
  const kernelAlignment = u32(SETUP_HEADER.kernelAlignment);
  if (!isPowerOfTwo(kernelAlignment)) {
    throw fail(
      `kernel_alignment ${hex(kernelAlignment)} is not a power of two; the header is corrupt`,
      notBzImage,
    );
  }
  const initSize = u32(SETUP_HEADER.initSize);
  if (initSize === 0) {
    throw fail("init_size is 0; the header is corrupt", notBzImage);
  }
  const pmSize = bytes.length - pmOffset;
  const payloadOffset = u32(SETUP_HEADER.payloadOffset);
  const payloadLength = u32(SETUP_HEADER.payloadLength);
  const truncatedHint = "the file is cut short (interrupted copy or full disk); copy the kernel " +
    "again — loading it would replace the current image and fail only at boot";
  if (payloadOffset + payloadLength > pmSize) {
    throw fail(
      `truncated: the compressed payload ends at ${payloadOffset + payloadLength} bytes into ` +
        `the protected-mode part, which has only ${pmSize}`,
      truncatedHint,
    );
  }
  // syssize is what the build wrote; builds round the size up to 16 bytes and
  // (EFI stub) to the 512-byte PE file alignment, so allow one sector of slack.
  const syssize = u32(SETUP_HEADER.syssize);
  if (syssize * 16 > pmSize + SETUP_MAGIC.sectorSize) {
    throw fail(
      `truncated: syssize says the protected-mode part is ${syssize * 16} bytes, ` +
        `the file has ${pmSize}`,
      truncatedHint,
    );
  }
  return {
    setupSects,
    pmOffset,
    pmSize,
    headerEnd,
    version,
    syssize,
    loadflags,
    xloadflags,
    initrdAddrMax: u32(SETUP_HEADER.initrdAddrMax),
    kernelAlignment,
    relocatableKernel: u8(SETUP_HEADER.relocatableKernel) !== 0,
    minAlignment: u8(SETUP_HEADER.minAlignment),
    cmdlineSize: u32(SETUP_HEADER.cmdlineSize),
    hardwareSubarch: u32(SETUP_HEADER.hardwareSubarch),
    payloadOffset,
    payloadLength,
    prefAddress: u64(SETUP_HEADER.prefAddress),
    initSize,
    handoverOffset: u32(SETUP_HEADER.handoverOffset),
    kernelInfoOffset: version >= SETUP_MAGIC.kernelInfoVersion
      ? u32(SETUP_HEADER.kernelInfoOffset)
      : 0,
  };
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
