/**
 * Architecture-neutral parts of the checks made before any system call.
 *
 * @module
 */

import { KexecError } from "../errors.ts";

export type { ImageCheck } from "./types.ts";

/**
 * The error for a command line too long for every syscall allowed.
 *
 * @example
 * ```ts
 * import { cmdlineTooLong } from "./check.ts";
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
