/**
 * A crash load whose files cannot fit the reserved crash region, refused
 * before the syscall: the kernel frees the loaded crash image before it finds
 * out (kernel/kexec.c do_kexec_load, kernel/kexec_file.c kexec_file_load:
 * "Free any current crash dump kernel before we corrupt it"), so a failed
 * attempt would leave the machine without a crash kernel.
 *
 * @module
 */

import { KexecError } from "../errors.ts";

/** What a crash load would put in the crash region. */
export interface CrashFitInput {
  readonly kernelPath: string;
  /** Bytes of the kernel file; the image in memory is at least this large. */
  readonly kernelSize: number;
  readonly initrdPaths: readonly string[];
  /** Bytes of all initrds together. */
  readonly initrdSize: number;
  /** /sys/kernel/kexec_crash_size. */
  readonly crashSize: number;
}

/**
 * Throws when the kernel and initrd files alone are larger than the crash
 * region. This is a lower bound of what the kernel places there (it adds
 * boot parameters, purgatory and the ELF core header, and the kernel's
 * in-memory size exceeds its file), so it never refuses a load that fits.
 *
 * @example
 * ```ts
 * import { requireFitsCrashRegion } from "./crash_fit.ts";
 * const MiB = 2 ** 20;
 * const input = {
 *   kernelPath: "/boot/vmlinuz", kernelSize: 8 * MiB, initrdPaths: ["/boot/initrd.img"],
 *   crashSize: 256 * MiB,
 * };
 * requireFitsCrashRegion({ ...input, initrdSize: 64 * MiB });
 * let message = "";
 * try { requireFitsCrashRegion({ ...input, initrdSize: 300 * MiB }); } catch (e) { message = String(e); }
 * if (!message.includes("crash region")) throw new Error(message);
 * ```
 */
export function requireFitsCrashRegion(input: CrashFitInput): void {
  const needed = input.kernelSize + input.initrdSize;
  if (needed <= input.crashSize) return;
  const initrd = input.initrdPaths.length === 0
    ? ""
    : ` and initrd ${input.initrdPaths.join(" + ")} (${input.initrdSize} bytes)`;
  throw new KexecError(
    `crash kernel ${input.kernelPath} (${input.kernelSize} bytes)${initrd} need at least ` +
      `${needed} bytes, more than the ${input.crashSize}-byte crash region; the kernel would ` +
      "drop the loaded crash kernel and then fail",
    { hint: "boot with a larger crashkernel= or use a smaller crash initrd" },
  );
}
