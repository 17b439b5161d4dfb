/**
 * kexec-tools' x86_64 option semantics (kexec/arch/i386/include/arch/options.h,
 * shared by i386 and x86_64; kexec/arch/x86_64/kexec-x86_64.c; the loaders in
 * kexec/arch/x86_64/ and kexec/arch/i386/).
 *
 * @module
 */

import type { ArchCli } from "../cli.ts";

const PURGATORY_CONSOLE =
  "this purgatory sets up no console; it reports only a failed digest check, on COM1";

/** The x86_64 table. */
export const X86_64_CLI: ArchCli = {
  // OPT_ARCH_MAX and above: the loader options plus the three x86 options
  // numbered after them (OPT_PASS_MEMMAP_CMDLINE, OPT_NOEFI, OPT_REUSE_VIDEO_TYPE).
  loadOnly: new Set([
    "command-line",
    "append",
    "reuse-cmdline",
    "initrd",
    "ramdisk",
    "args-elf",
    "args-linux",
    "args-none",
    "module",
    "real-mode",
    "entry-32bit",
    "dtb",
    "pass-memmap-cmdline",
    "noefi",
    "reuse-video-type",
  ]),
  effects: {
    "dtb": {
      noEffect: "x86_64 kernels get no device tree here (kexec-tools' bzImage64 loader ignores " +
        "it too; arm64 uses --dtb)",
    },
    "reset-vga": { noEffect: PURGATORY_CONSOLE },
    "console-vga": { noEffect: PURGATORY_CONSOLE },
    "console-serial": { noEffect: PURGATORY_CONSOLE },
    "serial": { noEffect: PURGATORY_CONSOLE },
    "serial-baud": { noEffect: PURGATORY_CONSOLE },
    "elf32-core-headers": { noEffect: "the crash kernel's ELF core header is always ELF64" },
    "elf64-core-headers": { noEffect: "the crash kernel's ELF core header is always ELF64" },
    "pass-memmap-cmdline": {
      noEffect: "the crash kernel's memory map always goes in boot_params (e820), not memmap=",
    },
    "noefi": { noEffect: "boot_params are built from scratch; no EFI runtime data is passed" },
    "reuse-video-type": { noEffect: "boot_params are built from scratch; no video mode is set" },
    "args-elf": {
      noEffect: "an ELF vmlinux always gets Linux boot parameters here (--args-linux)",
    },
    "args-none": {
      noEffect: "an ELF vmlinux always gets Linux boot parameters here (--args-linux)",
    },
    "real-mode": {
      refused: "16-bit entry is not supported: kernels are entered through the 64-bit entry",
      exitCode: 255,
    },
    "entry-32bit": {
      refused: "32-bit entry is not supported: kernels are entered through the 64-bit entry",
      exitCode: 255,
    },
  },
  unsupportedTypes: {
    "elf-x86": "ELF vmlinux images are not loaded here",
    "beoboot-x86": "there is no beoboot loader here",
    "nbi-x86": "there is no NBI loader here",
  },
};
