/**
 * kexec-tools' arm64 option semantics (kexec/arch/arm64/include/arch/options.h,
 * kexec/arch/arm64/kexec-arm64.c). Every arm64 option is numbered below
 * OPT_ARCH_MAX, so kexec-tools never calls one bogus without a load.
 *
 * @module
 */

import type { ArchCli } from "../cli.ts";

const X86_ONLY = "it is an x86 option";

/** The arm64 table. */
export const AARCH64_CLI: ArchCli = {
  loadOnly: new Set(),
  effects: {
    "serial": { noEffect: "this kexec's purgatory prints nothing" },
    "serial-baud": { noEffect: X86_ONLY },
    "reset-vga": { noEffect: X86_ONLY },
    "console-vga": { noEffect: X86_ONLY },
    "console-serial": { noEffect: X86_ONLY },
    "elf32-core-headers": { noEffect: X86_ONLY },
    "elf64-core-headers": { noEffect: X86_ONLY },
    "pass-memmap-cmdline": { noEffect: X86_ONLY },
    "noefi": { noEffect: X86_ONLY },
    "reuse-video-type": { noEffect: X86_ONLY },
    "args-elf": { noEffect: X86_ONLY },
    "args-linux": { noEffect: X86_ONLY },
    "args-none": { noEffect: X86_ONLY },
    "module": { noEffect: X86_ONLY },
    "real-mode": { noEffect: X86_ONLY },
    "entry-32bit": { noEffect: X86_ONLY },
  },
  unsupportedTypes: {
    "vmlinuz": "compressed images are not unwrapped for kexec_load yet",
    "vmlinux": "ELF vmlinux images are not loaded here",
    "uImage": "U-Boot images are not loaded here",
    "uki": "unified kernel images are not unwrapped for kexec_load yet",
  },
};
