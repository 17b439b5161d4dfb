/**
 * The x86 command line as the kernel will read it (x86_64-boot.md §6).
 *
 * @module
 */

import { KexecError } from "../../errors.ts";
import { encodeRaw } from "../../raw_text.ts";

/**
 * Encodes the command line (a raw string: lib/raw_text.ts) plus the terminating NUL, refusing what the
 * next kernel would silently truncate: more than `cmdline_size − 1` bytes (the
 * limit kexec-tools and the kernel's own loader apply; 2046 for every current
 * kernel, the reference's recommended kexec_load limit) or an embedded NUL.
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
