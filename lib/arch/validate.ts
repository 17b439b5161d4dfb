/**
 * Architecture checks of a kernel image and command line made before any
 * system call, so a bad image never replaces the loaded one (a truncated
 * bzImage is accepted by both syscalls and fails only at boot:
 * observed-in-guests.md).
 *
 * @module
 */

import type { Arch } from "../abi.ts";
import { KexecError } from "../errors.ts";
import { encodeRaw } from "../raw_text.ts";
import { formatProtocol, parseSetupHeader, XLF } from "./x86_64/setup_header.ts";

/**
 * Room the kernel's x86 file loader keeps for `elfcorehdr=0x…` in every
 * command line (arch/x86/kernel/kexec-bzimage64.c `MAX_ELFCOREHDR_STR_LEN`).
 */
export const MAX_ELFCOREHDR_STR_LEN = 30;

/** Which load syscalls a command line fits, and why. */
export interface ImageCheck {
  /** Lines for -d and --dry-run. */
  readonly notes: readonly string[];
  /** The command line fits kexec_file_load's limit. */
  readonly fitsFileLoad: boolean;
  /** The command line fits kexec_load's limit. */
  readonly fitsSegmentLoad: boolean;
  /** Longest command line (bytes, without NUL) for each syscall, when known. */
  readonly fileLoadMax?: number;
  readonly segmentLoadMax?: number;
  /**
   * Why the kernel's own x86 file loader would answer ENOEXEC for this image
   * (arch/x86/kernel/kexec-bzimage64.c `bzImage64_probe`), if it would.
   */
  readonly fileLoaderRefusal?: string;
}

/**
 * Validates the image for `arch` and measures the command line against the
 * kernel's limits.
 *
 * @example
 * ```ts
 * import { checkImage } from "./validate.ts";
 * // An arm64 kernel image has no x86-style limits to check here.
 * const c = checkImage("aarch64", new Uint8Array(64), "/Image", "console=ttyAMA0");
 * if (!c.fitsFileLoad || !c.fitsSegmentLoad) throw new Error();
 * ```
 */
export function checkImage(
  arch: Arch,
  bytes: Uint8Array,
  path: string,
  cmdline: string,
  fiveLevelPaging = false,
): ImageCheck {
  if (arch !== "x86_64") return { notes: [], fitsFileLoad: true, fitsSegmentLoad: true };
  const h = parseSetupHeader(bytes, path);
  const length = encodeRaw(cmdline).length;
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
    fileLoaderRefusal: !(h.xloadflags & XLF.CAN_BE_LOADED_ABOVE_4G)
      ? "it lacks XLF_CAN_BE_LOADED_ABOVE_4G, which the kernel's file loader requires"
      : fiveLevelPaging && !(h.xloadflags & XLF.FIVE_LEVEL)
      ? "this machine runs with 5-level paging and the kernel lacks XLF_5LEVEL"
      : undefined,
  };
}

/**
 * The error for a command line too long for every syscall allowed.
 *
 * @example
 * ```ts
 * import { cmdlineTooLong } from "./validate.ts";
 * const e = cmdlineTooLong(3000, 2046, "/boot/vmlinuz", "kexec_load");
 * if (!e.message.includes("3000 bytes")) throw new Error(e.message);
 * ```
 */
export function cmdlineTooLong(
  length: number,
  max: number,
  path: string,
  syscall: string,
): KexecError {
  const excess = length - max;
  return new KexecError(
    `command line is ${length} bytes; kernel ${path} accepts at most ${max} with ${syscall}`,
    {
      hint: `shorten it by ${excess} byte${excess === 1 ? "" : "s"} (the kernel would ` +
        "otherwise cut the tail silently or refuse the load)",
    },
  );
}
