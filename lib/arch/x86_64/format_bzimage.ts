/**
 * The bzImage kernel format (Documentation/arch/x86/boot.rst): recognised by
 * its setup header, checked before any system call (a truncated bzImage is
 * accepted by both syscalls and fails only at boot), booted through its
 * 64-bit entry by kexec_load, or handed whole to kexec_file_load.
 *
 * @module
 */

import type { ImageCheck, ImageCheckInput, KernelFormat } from "../types.ts";
import { formatProtocol, hasSetupHeader, parseSetupHeader, XLF } from "./setup_header.ts";

/**
 * Room the kernel's x86 file loader keeps for `elfcorehdr=0x…` in every
 * command line (arch/x86/kernel/kexec-bzimage64.c `MAX_ELFCOREHDR_STR_LEN`).
 */
export const MAX_ELFCOREHDR_STR_LEN = 30;

/**
 * Validates a bzImage and measures the command line against its
 * `cmdline_size` for each syscall.
 *
 * @example
 * ```ts
 * import { checkBzImage } from "./format_bzimage.ts";
 * let message = "";
 * try {
 *   checkBzImage({
 *     bytes: new Uint8Array(64), path: "/k", cmdlineLength: 0, wideUserAddresses: false,
 *     pageSize: 4096,
 *   });
 * } catch (e) { message = (e as Error).message; }
 * if (!message.includes("/k")) throw new Error(message);
 * ```
 */
export function checkBzImage(input: ImageCheckInput): ImageCheck {
  const h = parseSetupHeader(input.bytes, input.path);
  const length = input.cmdlineLength;
  // boot.rst: cmdline_size excludes the NUL; loaders are one byte stricter.
  const segmentLoadMax = Math.max(0, h.cmdlineSize - 1);
  const fileLoadMax = Math.max(0, h.cmdlineSize - 1 - MAX_ELFCOREHDR_STR_LEN);
  return {
    notes: [
      `bzImage: boot protocol ${formatProtocol(h.version)}, setup ${h.setupSects} sectors, ` +
      `protected-mode part ${h.pmSize} bytes, init_size 0x${h.initSize.toString(16)}, ` +
      `cmdline_size ${h.cmdlineSize}`,
      `command line: ${length} bytes (kexec_file_load allows ${fileLoadMax}, kexec_load ` +
      `${segmentLoadMax})`,
    ],
    fitsFileLoad: length <= fileLoadMax,
    fitsSegmentLoad: length <= segmentLoadMax,
    fileLoadMax,
    segmentLoadMax,
    // arch/x86/kernel/kexec-bzimage64.c bzImage64_probe answers ENOEXEC for these.
    fileLoaderRefusal: !(h.xloadflags & XLF.CAN_BE_LOADED_ABOVE_4G)
      ? "it lacks XLF_CAN_BE_LOADED_ABOVE_4G, which the kernel's file loader requires"
      : input.wideUserAddresses && !(h.xloadflags & XLF.FIVE_LEVEL)
      ? "this machine runs with 5-level paging and the kernel lacks XLF_5LEVEL"
      : undefined,
  };
}

/**
 * The bzImage format: kexec-tools' `bzImage64` loader (and `bzImage`, its
 * 32-bit entry, which is not offered: the 64-bit entry is used).
 *
 * @example
 * ```ts
 * import { BZIMAGE } from "./format_bzimage.ts";
 * const k = new Uint8Array(0x400);
 * const v = new DataView(k.buffer);
 * v.setUint16(0x1fe, 0xaa55, true);
 * v.setUint32(0x202, 0x53726448, true); // "HdrS"
 * if (!BZIMAGE.probe(k) || BZIMAGE.probe(new Uint8Array(0x400))) throw new Error();
 * ```
 */
export const BZIMAGE: KernelFormat = {
  name: "bzImage",
  typeNames: ["bzImage64", "bzImage"],
  probe: hasSetupHeader,
  describe: () => "x86 bzImage",
  check: (input) => Promise.resolve(checkBzImage(input)),
  fileLoad: true,
  planSegments: async (sys, input) => (await import("./plan_load.ts")).planX86Load(sys, input),
};
