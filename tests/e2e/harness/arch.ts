/**
 * What differs between the guest architectures on the QEMU side: the machine,
 * the console device, and how the results port is attached.
 *
 * - x86_64: the PC's default machine, `-cpu max`; console ttyS0 and results
 *   port ttyS1 on the two legacy 8250 UARTs.
 * - aarch64: `-M virt -cpu max` (with `pauth-impdef=on`, QEMU's cheap pointer
 *   authentication algorithm: the guest still has and uses PAuth, but TCG runs
 *   a whole guest about 2.5 times faster); console ttyAMA0 (the PL011), results
 *   port ttyS0, a 16550 on PCI (`pci-serial`), since `virt` has one UART only.
 *   Debian's arm64 kernels and the arm64 test kernel have both drivers built in,
 *   and the PCI UART works with a device tree and with ACPI (UEFI) alike.
 *
 * @module
 */

import type { GuestArchName } from "../../../scripts/fetch-test-assets.ts";

export type { GuestArchName };

/** QEMU settings of one guest architecture. */
export interface GuestArch {
  /** The architecture. */
  name: GuestArchName;
  /** Machine and CPU arguments. */
  machineArgs: readonly string[];
  /** Extra machine arguments when booting through UEFI firmware. */
  uefiMachineArgs: readonly string[];
  /** Console device name for `console=` (the kernel's messages and the scripts' echo). */
  console: string;
  /** Device file the guest scripts write results to. */
  resultsPort: string;
  /** QEMU arguments attaching the console (first) and the results port to files. */
  serialArgs(consoleLog: string, resultsLog: string): string[];
}

/** The guest architectures. */
export const GUEST_ARCH: Record<GuestArchName, GuestArch> = {
  x86_64: {
    name: "x86_64",
    machineArgs: ["-cpu", "max"],
    uefiMachineArgs: ["-machine", "q35"],
    console: "ttyS0",
    resultsPort: "/dev/ttyS1",
    serialArgs: (consoleLog, resultsLog) => [
      "-serial",
      `file:${consoleLog}`,
      "-serial",
      `file:${resultsLog}`,
    ],
  },
  aarch64: {
    name: "aarch64",
    machineArgs: ["-machine", "virt", "-cpu", "max,pauth-impdef=on"],
    uefiMachineArgs: [],
    console: "ttyAMA0",
    resultsPort: "/dev/ttyS0",
    serialArgs: (consoleLog, resultsLog) => [
      "-serial",
      `file:${consoleLog}`,
      "-chardev",
      `file,id=e2e-results,path=${resultsLog}`,
      "-device",
      "pci-serial,chardev=e2e-results",
    ],
  },
};

/**
 * The settings of `name` (default x86_64).
 *
 * @example
 * ```ts
 * import { guestArch } from "./arch.ts";
 * if (guestArch().console !== "ttyS0" || guestArch("aarch64").console !== "ttyAMA0") throw new Error();
 * ```
 */
export function guestArch(name: GuestArchName = "x86_64"): GuestArch {
  return GUEST_ARCH[name];
}
