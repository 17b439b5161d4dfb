/**
 * The kernel's kexec ABI: syscall numbers, flags, reboot magic, sysfs paths.
 * Values from include/uapi/linux/kexec.h, include/uapi/linux/reboot.h and the
 * syscall tables (arch/x86/entry/syscalls/syscall_64.tbl,
 * include/uapi/asm-generic/unistd.h).
 *
 * @module
 */

/** CPU architectures the tool runs on, named as `Deno.build.arch` names them (lib/arch/abi.ts). */
export type Arch = "x86_64" | "aarch64";

/** `kexec_load(2)` flags (include/uapi/linux/kexec.h). */
export const KEXEC_ON_CRASH = 0x1;
/** Preserve context (kexec jump); needs CONFIG_KEXEC_JUMP. */
export const KEXEC_PRESERVE_CONTEXT = 0x2;
/** Crash hotplug: the kernel may rewrite the elfcorehdr segment (x86, Linux ≥ 6.5). */
export const KEXEC_UPDATE_ELFCOREHDR = 0x4;
/** Generalised crash hotplug flag (Linux ≥ 6.10). */
export const KEXEC_CRASH_HOTPLUG_SUPPORT = 0x8;
/** High 16 bits of the kexec_load flags: the image's architecture. */
export const KEXEC_ARCH_MASK = 0xffff0000;
/** Most segments one kexec_load call accepts (`KEXEC_SEGMENT_MAX`). */
export const KEXEC_SEGMENT_MAX = 16;
/** Bytes per `struct kexec_segment` on 64-bit kernels: buf, bufsz, mem, memsz (u64 each). */
export const KEXEC_SEGMENT_SIZE = 32;

/** `kexec_file_load(2)` flags (include/uapi/linux/kexec.h). */
export const KEXEC_FILE_UNLOAD = 0x1;
/** Load or unload the crash image. */
export const KEXEC_FILE_ON_CRASH = 0x2;
/** No initrd: the initrd fd is ignored. Required when there is none. */
export const KEXEC_FILE_NO_INITRAMFS = 0x4;
/** Kernel prints segment placement (Linux ≥ 6.8); optional, probed. */
export const KEXEC_FILE_DEBUG = 0x8;
/** Do not use CMA for the payload (2025 kernels). */
export const KEXEC_FILE_NO_CMA = 0x10;
/** x86 only: carry the boot DTB over as SETUP_DTB (2025 kernels). */
export const KEXEC_FILE_FORCE_DTB = 0x20;

/** `reboot(2)` magic numbers and the kexec command (include/uapi/linux/reboot.h). */
export const LINUX_REBOOT_MAGIC1 = 0xfee1dead;
/** Second reboot magic. */
export const LINUX_REBOOT_MAGIC2 = 0x28121969;
/** Boot the loaded kexec image. */
export const LINUX_REBOOT_CMD_KEXEC = 0x45584543;
/** Power the machine off (used by test guests). */
export const LINUX_REBOOT_CMD_POWER_OFF = 0x4321fedc;

/**
 * sysfs/procfs files the tool reads. Formats: Documentation/ABI/testing/
 * (sysfs-kernel-kexec-kdump, sysfs-firmware-memmap, sysfs-kernel-boot_params,
 * sysfs-firmware-efi, sysfs-kernel-vmcoreinfo, sysfs-devices-system-cpu),
 * Documentation/admin-guide/sysctl/kernel.rst (kexec_load_disabled,
 * kexec_load_limit_*) and Documentation/filesystems/proc.rst.
 */
export const PATHS = {
  kexecLoaded: "/sys/kernel/kexec_loaded",
  kexecCrashLoaded: "/sys/kernel/kexec_crash_loaded",
  kexecCrashSize: "/sys/kernel/kexec_crash_size",
  lockdown: "/sys/kernel/security/lockdown",
  kexecLoadDisabled: "/proc/sys/kernel/kexec_load_disabled",
  kexecLoadLimitReboot: "/proc/sys/kernel/kexec_load_limit_reboot",
  kexecLoadLimitPanic: "/proc/sys/kernel/kexec_load_limit_panic",
  procSelfStatus: "/proc/self/status",
  procSelfUidMap: "/proc/self/uid_map",
  procCmdline: "/proc/cmdline",
  procIomem: "/proc/iomem",
  firmwareMemmap: "/sys/firmware/memmap",
  bootParams: "/sys/kernel/boot_params/data",
  efiSystab: "/sys/firmware/efi/systab",
  vmcoreinfo: "/sys/kernel/vmcoreinfo",
  cpuPossible: "/sys/devices/system/cpu/possible",
  kallsyms: "/proc/kallsyms",
  kcore: "/proc/kcore",
  netClass: "/sys/class/net",
  imaPolicy: "/sys/kernel/security/ima/policy",
  secureBoot: "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c",
} as const;

/** `CAP_SYS_BOOT` bit number in the capability sets of /proc/self/status. */
export const CAP_SYS_BOOT = 22;
