/**
 * The arm64 `Image` format (Documentation/arch/arm64/booting.rst, "Call the
 * kernel image"): a 64-byte header with the magic "ARM\x64" at 0x38.
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import type { ImageCheck, ImageCheckInput, KernelFormat } from "../types.ts";

// booting.rst: the header's magic and its place.
const HEADER_SIZE = 64;
const MAGIC_OFFSET = 0x38;
const MAGIC = 0x644d5241; // "ARM\x64", little-endian
// arch/arm64/include/uapi/asm/setup.h COMMAND_LINE_SIZE, NUL included.
const COMMAND_LINE_SIZE = 2048;

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
  if (bytes.length < HEADER_SIZE) return false;
  return new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE).getUint32(MAGIC_OFFSET, true) ===
    MAGIC;
}

function checkArm64Image(input: ImageCheckInput): ImageCheck {
  const max = COMMAND_LINE_SIZE - 1;
  return {
    notes: [`command line: ${input.cmdlineLength} bytes (at most ${max})`],
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
 * if (!ARM64_IMAGE.typeNames.includes("Image")) throw new Error();
 * ```
 */
export const ARM64_IMAGE: KernelFormat = {
  name: "Image",
  typeNames: ["Image"],
  probe: probeArm64Image,
  describe: () => "arm64 Image",
  check: checkArm64Image,
  fileLoad: true,
  planSegments: () => {
    throw new KexecError("kexec_load is not implemented yet for arm64 (aarch64)", {
      hint: "use kexec_file_load with -s",
    });
  },
};
