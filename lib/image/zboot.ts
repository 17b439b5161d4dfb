/**
 * EFI zboot images (`vmlinuz.efi` of arm64, riscv64 and loongarch64 kernels
 * built with CONFIG_EFI_ZBOOT): a small EFI decompressor whose DOS header
 * carries a "zimg" marker and points at the compressed kernel inside
 * (Linux drivers/firmware/efi/libstub/zboot-header.S). The payload is
 * inflated by the registry; the kernel inside is probed again.
 *
 * @module
 */

import { KexecError } from "../errors.ts";
import { hex, size } from "../format.ts";
import { startsWithCodec } from "./compressed.ts";
import { hasMzHeader } from "./pe.ts";
import type { Codec, WrapperFormat } from "./types.ts";

/** Header fields (zboot-header.S), little-endian. */
export const ZBOOT_HEADER = {
  /** "zimg": the image type that marks a zboot image. */
  imageType: 0x04,
  /** u32: offset of the compressed payload from the start of the file. */
  payloadOffset: 0x08,
  /** u32: payload size (without the 4-byte size trailer non-gzip builds append). */
  payloadSize: 0x0c,
  /** NUL-terminated compression name ("gzip", "zstd", "zstd22", "xzkern", "lzma", …). */
  compType: 0x18,
  /** The name may run up to the Linux PE magic at 0x38. */
  compTypeEnd: 0x38,
  /** Bytes of the header this reader needs. */
  size: 0x40,
} as const;

const ZIMG = [0x7a, 0x69, 0x6d, 0x67]; // "zimg"

/**
 * The codec a zboot compression name stands for, or undefined when this tool
 * cannot inflate it. Makefile.zboot names zstd "zstd22" in some releases and
 * xz "xzkern".
 *
 * @example
 * ```ts
 * import { zbootCodec } from "./zboot.ts";
 * if (zbootCodec("zstd22") !== "zstd" || zbootCodec("lz4") !== undefined) throw new Error();
 * ```
 */
export function zbootCodec(compType: string): Codec | undefined {
  if (compType.startsWith("gzip")) return "gzip";
  if (compType.startsWith("zstd")) return "zstd";
  if (compType.startsWith("xz")) return "xz";
  return undefined;
}

function probe(bytes: Uint8Array): boolean {
  return bytes.length >= ZBOOT_HEADER.size && hasMzHeader(bytes) &&
    ZIMG.every((b, i) => bytes[ZBOOT_HEADER.imageType + i] === b);
}

function compType(bytes: Uint8Array): string {
  const field = bytes.subarray(ZBOOT_HEADER.compType, ZBOOT_HEADER.compTypeEnd);
  const end = field.indexOf(0);
  const name = field.subarray(0, end < 0 ? field.length : end);
  return String.fromCharCode(...name).replace(/[^\x21-\x7e]/g, "?");
}

/**
 * The EFI zboot wrapper.
 *
 * @example
 * ```ts
 * import { ZBOOT } from "./zboot.ts";
 * const img = new Uint8Array(0x100);
 * const v = new DataView(img.buffer);
 * img.set([0x4d, 0x5a]);
 * img.set(new TextEncoder().encode("zimg"), 4);
 * v.setUint32(8, 0x80, true);
 * v.setUint32(12, 0x20, true);
 * img.set(new TextEncoder().encode("gzip"), 0x18);
 * img.set([0x1f, 0x8b, 8], 0x80);
 * const u = ZBOOT.unwrap(img, "vmlinuz.efi", { maxImageBytes: 1 << 20 });
 * if (!("codec" in u.kernel) || u.kernel.data.length !== 0x20) throw new Error(u.note);
 * ```
 */
export const ZBOOT: WrapperFormat = {
  name: "EFI zboot",
  typeNames: ["zboot"],
  probe,
  unwrap(bytes, path) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const offset = view.getUint32(ZBOOT_HEADER.payloadOffset, true);
    const length = view.getUint32(ZBOOT_HEADER.payloadSize, true);
    const name = compType(bytes);
    const codec = zbootCodec(name);
    if (!codec) {
      throw new KexecError(
        `kernel ${path} is an EFI zboot image with a ${name}-compressed payload; ` +
          "this tool inflates gzip, zstd and xz",
        { hint: "use a kernel built with CONFIG_KERNEL_GZIP or CONFIG_KERNEL_ZSTD" },
      );
    }
    if (length === 0 || offset < ZBOOT_HEADER.size || offset + length > bytes.length) {
      throw new KexecError(
        `kernel ${path}: EFI zboot payload (${length} bytes at ${hex(offset)}) lies outside ` +
          `the file (${bytes.length} bytes): truncated or corrupt`,
        { hint: "the file is cut short or damaged; copy it again" },
      );
    }
    const data = bytes.subarray(offset, offset + length);
    if (!startsWithCodec(data, codec)) {
      throw new KexecError(
        `kernel ${path}: EFI zboot header says ${name}, but the payload at ${hex(offset)} ` +
          `is not ${codec} data`,
        { hint: "the file is damaged; copy it again" },
      );
    }
    return {
      kernel: { codec, data },
      note: `EFI zboot, ${name} payload of ${size(length)} at ${hex(offset)}`,
    };
  },
};
