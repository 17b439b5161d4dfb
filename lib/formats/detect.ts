/**
 * Identifies a kernel image by its bytes, never its name (formats.md §1), so
 * the tool can say what a file is and refuse the wrong architecture before
 * any system call.
 *
 * @module
 */

import type { Arch } from "../abi.ts";

/** What a kernel file turned out to be. */
export interface ImageKind {
  /** Short name: bzImage, arm64-Image, elf, pe-zboot, uki, pe, gzip, zstd, xz, … or unknown. */
  readonly format: string;
  /** Architecture the image is built for, when the format says so. */
  readonly arch?: Arch | string;
  /** Human description for messages. */
  readonly description: string;
}

// Magic numbers and where they live (formats.md §1–§3, x86_64-boot.md §1).
const BOOT_FLAG_OFFSET = 0x1fe; // u16 0xAA55
const BOOT_FLAG = 0xaa55;
const HDRS_OFFSET = 0x202; // "HdrS"
const HDRS = 0x53726448;
const ARM64_MAGIC_OFFSET = 0x38; // "ARM\x64"
const ARM64_MAGIC = 0x644d5241;
const ARM64_HEADER_SIZE = 64;
const ELF_MAGIC = 0x464c457f; // "\x7fELF" read little-endian
const ELF_MACHINE_OFFSET = 0x12;
const ELF_MACHINES: Record<number, string> = {
  3: "i386",
  40: "arm",
  62: "x86_64",
  183: "aarch64",
  243: "riscv64",
  258: "loongarch64",
};
const MZ = 0x5a4d;
const ZBOOT_MAGIC_OFFSET = 4; // "zimg"
const ZBOOT_MAGIC = 0x676d697a;

const COMPRESSION: [string, number[]][] = [
  ["gzip", [0x1f, 0x8b]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["lz4", [0x04, 0x22, 0x4d, 0x18]],
  ["lzo", [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]],
];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/**
 * Detects the kind of a kernel image. Never throws; short or unknown input is
 * `unknown`.
 *
 * @example
 * ```ts
 * import { detectImage } from "./detect.ts";
 * const img = new Uint8Array(1024);
 * new DataView(img.buffer).setUint32(0x38, 0x644d5241, true); // "ARM\x64"
 * if (detectImage(img).arch !== "aarch64") throw new Error("arm64 Image not detected");
 * ```
 */
export function detectImage(bytes: Uint8Array): ImageKind {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (off: number) => off + 2 <= bytes.length ? view.getUint16(off, true) : -1;
  const u32 = (off: number) => off + 4 <= bytes.length ? view.getUint32(off, true) : -1;

  if (u16(BOOT_FLAG_OFFSET) === BOOT_FLAG && u32(HDRS_OFFSET) === HDRS) {
    return { format: "bzImage", arch: "x86_64", description: "x86 bzImage" };
  }
  if (bytes.length >= ARM64_HEADER_SIZE && u32(ARM64_MAGIC_OFFSET) === ARM64_MAGIC) {
    return { format: "arm64-Image", arch: "aarch64", description: "arm64 Image" };
  }
  if (u16(0) === MZ) {
    if (u32(ZBOOT_MAGIC_OFFSET) === ZBOOT_MAGIC) {
      return { format: "pe-zboot", description: "EFI zboot image (compressed kernel in PE)" };
    }
    return { format: "pe", description: "PE/EFI executable (possibly a UKI)" };
  }
  if (u32(0) === ELF_MAGIC) {
    const machine = u16(ELF_MACHINE_OFFSET);
    const arch = ELF_MACHINES[machine] ?? `ELF machine ${machine}`;
    return { format: "elf", arch, description: `ELF file (${arch})` };
  }
  for (const [name, magic] of COMPRESSION) {
    if (startsWith(bytes, magic)) {
      return { format: name, description: `${name}-compressed file` };
    }
  }
  return { format: "unknown", description: "not a kernel image this tool recognises" };
}
