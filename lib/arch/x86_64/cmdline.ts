/**
 * The x86 command line as the kernel will read it (Documentation/arch/x86/boot.rst,
 * "The Kernel Command Line": NUL-terminated, at most `cmdline_size` characters,
 * longer lines silently truncated).
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import { encodeRaw } from "../../raw_text.ts";

/**
 * Encodes the command line (a raw string: lib/raw_text.ts) plus the terminating NUL, refusing what the
 * next kernel would silently truncate: more than `cmdline_size − 1` bytes (the
 * limit kexec-tools and the kernel's own loader apply; 2046 for every current
 * kernel: arch/x86/kernel/kexec-bzimage64.c counts the NUL against
 * `cmdline_size`) or an embedded NUL.
 *
 * @example
 * ```ts
 * import { encodeCmdline } from "./cmdline.ts";
 * const b = encodeCmdline("console=ttyS0", 2047, "/boot/vmlinuz");
 * if (b.length !== 14 || b[13] !== 0) throw new Error();
 * ```
 */
export function encodeCmdline(
  cmdline: string,
  cmdlineSize: number,
  kernelPath: string,
): Uint8Array {
  const text = encodeRaw(cmdline);
  if (text.includes(0)) {
    throw new KexecError(
      `command line contains a NUL byte at offset ${
        text.indexOf(0)
      }; the kernel would cut it there`,
      { hint: "remove the NUL from --append/--command-line" },
    );
  }
  const limit = cmdlineSize - 1;
  if (text.length > limit) {
    throw new KexecError(
      `command line is ${text.length} bytes; kernel ${kernelPath} accepts at most ${limit} ` +
        `(cmdline_size ${cmdlineSize} minus the terminating NUL)`,
      {
        hint: `shorten it by ${text.length - limit} bytes; ` +
          "a longer line would be cut silently at boot",
      },
    );
  }
  const bytes = new Uint8Array(text.length + 1);
  bytes.set(text);
  return bytes;
}

/**
 * The command line of a preserve-context load: {@link encodeCmdline}'s bytes
 * followed by `room - 1` more zero bytes. The purgatory writes up to `room`
 * bytes (` kexec_jump_back_entry=0x…` and its NUL) at the line's NUL after it
 * checked the digests, so the digest covers these bytes as loaded. A line
 * that would not fit `cmdline_size` with that text is refused.
 *
 * @example
 * ```ts
 * import { encodeCmdlineWithRoom } from "./cmdline.ts";
 * const b = encodeCmdlineWithRoom("quiet", 2048, "/boot/vmlinuz", 42);
 * if (b.length !== 5 + 42 || b[5] !== 0 || b.some((x, i) => i >= 5 && x !== 0)) throw new Error();
 * ```
 */
export function encodeCmdlineWithRoom(
  cmdline: string,
  cmdlineSize: number,
  kernelPath: string,
  room: number,
): Uint8Array {
  const text = encodeCmdline(cmdline, cmdlineSize, kernelPath).subarray(0, -1);
  const limit = cmdlineSize - room;
  if (text.length > limit) {
    throw new KexecError(
      `command line is ${text.length} bytes; with the kexec_jump_back_entry= parameter a ` +
        `preserve-context load adds (up to ${room - 1} bytes), kernel ${kernelPath} accepts ` +
        `at most ${limit}`,
      { hint: `shorten it by ${text.length - limit} bytes` },
    );
  }
  const bytes = new Uint8Array(text.length + room);
  bytes.set(text);
  return bytes;
}
