/**
 * The arm64 `Image` format (Documentation/arch/arm64/booting.rst, "Call the
 * kernel image"): a 64-byte header with the magic "ARM\x64" at 0x38, checked
 * before any system call (endianness, page size, image_size), booted by
 * kexec_load through plan_load.ts (imported when a load is planned) or
 * handed whole to kexec_file_load.
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import type { ImageCheck, ImageCheckInput, KernelFormat } from "../types.ts";
import {
  ARM64_COMMAND_LINE_SIZE,
  ARM64_IMAGE_HEADER,
  ARM64_IMAGE_MAGIC,
  describeArm64ImageHeader,
  pageSizeName,
  parseArm64ImageHeader,
} from "./image_header.ts";

/**
 * Whether `bytes` start with an arm64 Image header.
 *
 * @example
 * ```ts
 * import { probeArm64Image } from "./format_image.ts";
 * const img = new Uint8Array(64);
 * new DataView(img.buffer).setUint32(0x38, 0x644d5241, true);
 * if (!probeArm64Image(img) || probeArm64Image(new Uint8Array(64))) throw new Error();
 * ```
 */
export function probeArm64Image(bytes: Uint8Array): boolean {
  if (bytes.length < ARM64_IMAGE_HEADER.size) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, ARM64_IMAGE_HEADER.size);
  return view.getUint32(ARM64_IMAGE_HEADER.magic, true) === ARM64_IMAGE_MAGIC;
}

/**
 * Checks an arm64 Image before any system call: refuses a big-endian
 * kernel, a kernel built for another page size than the running kernel's,
 * and a header without `image_size` (before Linux 3.17); measures the
 * command line against COMMAND_LINE_SIZE.
 *
 * @example
 * ```ts
 * import { checkArm64Image } from "./format_image.ts";
 * const img = new Uint8Array(64);
 * const v = new DataView(img.buffer);
 * v.setBigUint64(0x10, 0x2000000n, true);
 * v.setBigUint64(0x18, 0b110n, true); // 64K pages
 * v.setUint32(0x38, 0x644d5241, true);
 * let message = "";
 * try {
 *   checkArm64Image({ bytes: img, path: "/k", cmdlineLength: 0, wideUserAddresses: false, pageSize: 4096 });
 * } catch (e) { message = (e as Error).message; }
 * if (!message.includes("64K") || !message.includes("4K")) throw new Error(message);
 * ```
 */
export function checkArm64Image(input: ImageCheckInput): ImageCheck {
  const h = parseArm64ImageHeader(input.bytes, input.path);
  const kernel = `kernel ${input.path}`;
  if (h.bigEndian) {
    throw new KexecError(
      `${kernel} is a big-endian arm64 Image (header flags bit 0), but the running kernel is ` +
        "little-endian; this tool boots little-endian kernels only",
      { hint: "build the kernel without CONFIG_CPU_BIG_ENDIAN" },
    );
  }
  const running = input.pageSize;
  if (h.pageSize !== undefined && h.pageSize !== running) {
    throw new KexecError(
      `${kernel} is built for ${pageSizeName(h.pageSize)} pages (header flags bits 1-2), but ` +
        `the running kernel uses ${pageSizeName(running)} pages: whether this CPU implements ` +
        `the ${pageSizeName(h.pageSize)} translation granule cannot be seen from user space, ` +
        "so it is refused",
      { hint: `load a kernel built for ${pageSizeName(running)} pages` },
    );
  }
  if (h.imageSize === 0) {
    throw new KexecError(
      `${kernel}: image_size is 0, as in kernels before 3.17, whose size in memory is unknown ` +
        "(the kernel's own loader refuses such an Image too)",
      { hint: "load a kernel of Linux 3.17 or later" },
    );
  }
  const max = ARM64_COMMAND_LINE_SIZE - 1;
  return {
    notes: [
      describeArm64ImageHeader(h),
      `command line: ${input.cmdlineLength} bytes (at most ${max})`,
    ],
    fitsFileLoad: input.cmdlineLength <= max,
    fitsSegmentLoad: input.cmdlineLength <= max,
    fileLoadMax: max,
    segmentLoadMax: max,
  };
}

/**
 * The arm64 Image format (kexec-tools' `Image` loader).
 *
 * @example
 * ```ts
 * import { ARM64_IMAGE } from "./format_image.ts";
 * if (!ARM64_IMAGE.typeNames.includes("Image") || ARM64_IMAGE.deviceTree !== true) throw new Error();
 * ```
 */
export const ARM64_IMAGE: KernelFormat = {
  name: "Image",
  typeNames: ["Image"],
  probe: probeArm64Image,
  describe: (bytes) => {
    try {
      return parseArm64ImageHeader(bytes, "").efiStub ? "arm64 Image with EFI stub" : "arm64 Image";
    } catch {
      return "arm64 Image";
    }
  },
  check: (input) => Promise.resolve(checkArm64Image(input)),
  fileLoad: true,
  deviceTree: true,
  planSegments: async (sys, input) =>
    (await import("./plan_load.ts")).planArm64ImageLoad(sys, input),
};
