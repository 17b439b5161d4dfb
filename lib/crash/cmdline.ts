/**
 * What a crash load adds to the crash kernel's command line (both parameters in
 * Documentation/admin-guide/kernel-parameters.txt): `elfcorehdr=` always,
 * `acpi_rsdp=` only where boot_params cannot carry the RSDP.
 *
 * Form chosen: `elfcorehdr=0x<address>` put first, exactly as the kernel's own
 * `kexec_file` loader does (arch/x86/kernel/kexec-bzimage64.c, setup_cmdline;
 * kexec-tools appends `elfcorehdr=<address/1024>K` instead). The kernel reads
 * it with memparse, which takes the `0x` form for any address, with no 1 KiB
 * alignment rule; and a crash kernel then sees the same line whichever syscall
 * loaded it. An `elfcorehdr=` the user passed is removed: it would point at
 * memory this load does not describe.
 *
 * @module
 */

import { splitKernelArgs } from "../cmdline.ts";

/** Boot protocol that added boot_params `acpi_rsdp_addr` (2.14, Linux 5.0). */
export const PROTOCOL_ACPI_RSDP_ADDR = 0x020e;

/** What {@link crashCmdline} needs. */
export interface CrashCmdlineInput {
  /** The command line the user asked for. */
  readonly cmdline: string;
  /** Physical address of the elfcorehdr segment. */
  readonly elfcorehdr: number;
  /** RSDP address on UEFI machines (from /sys/firmware/efi/systab), else undefined. */
  readonly efiRsdp?: number;
  /** Boot protocol version of the crash kernel (e.g. 0x020f). */
  readonly protocol: number;
}

/** The resulting line and what was done to it. */
export interface CrashCmdline {
  readonly cmdline: string;
  readonly notes: string[];
}

const argName = (arg: string) => arg.split("=", 1)[0];

/**
 * The crash kernel's command line.
 *
 * @example
 * ```ts
 * import { crashCmdline } from "./cmdline.ts";
 * const { cmdline } = crashCmdline({
 *   cmdline: "console=ttyS0 irqpoll", elfcorehdr: 0x78fff000, protocol: 0x020f,
 * });
 * if (cmdline !== "elfcorehdr=0x78fff000 console=ttyS0 irqpoll") throw new Error(cmdline);
 * ```
 */
export function crashCmdline(input: CrashCmdlineInput): CrashCmdline {
  const notes: string[] = [];
  let rest = input.cmdline;
  const args = splitKernelArgs(rest);
  if (args.some((a) => argName(a) === "elfcorehdr")) {
    // Rebuilt only when needed, so that the user's spacing is otherwise kept byte for byte.
    rest = args.filter((a) => argName(a) !== "elfcorehdr").join(" ");
    notes.push("command line: the given elfcorehdr= was removed (this load places its own)");
  }
  const elfcorehdr = `elfcorehdr=0x${input.elfcorehdr.toString(16)}`;
  let cmdline = rest.trim() === "" ? elfcorehdr : `${elfcorehdr} ${rest}`;
  notes.push(`command line: ${elfcorehdr} put first, as the kernel's own loader does`);
  if (input.efiRsdp !== undefined && input.protocol < PROTOCOL_ACPI_RSDP_ADDR) {
    if (args.some((a) => argName(a) === "acpi_rsdp")) {
      notes.push("command line: acpi_rsdp= kept as given");
    } else {
      cmdline += ` acpi_rsdp=0x${input.efiRsdp.toString(16)}`;
      notes.push(
        "command line: acpi_rsdp= added: the crash kernel boots without EFI and its boot " +
          "protocol predates boot_params.acpi_rsdp_addr",
      );
    }
  } else if (input.efiRsdp !== undefined) {
    notes.push("ACPI RSDP passed in boot_params.acpi_rsdp_addr (no acpi_rsdp= needed)");
  }
  return { cmdline, notes };
}
