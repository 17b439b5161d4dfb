/**
 * The option table. It drives the parser (`getopt.ts`), `--help` (`help.ts`)
 * and the man page (`manpage.ts`), so an option exists in one place only.
 * Spellings follow kexec-tools 2.0.32 (kexec/kexec.h KEXEC_OPTIONS, the
 * architectures' include/arch/options.h, the loaders' option tables).
 *
 * @module
 */

/** Sections of `--help` and the man page. */
export type OptionGroup =
  | "action"
  | "syscall"
  | "image"
  | "exec"
  | "output"
  | "compat";

/** Titles of the groups, in the order they are printed. */
export const GROUP_TITLES: Record<OptionGroup, string> = {
  action: "Actions",
  syscall: "System call",
  image: "Kernel, initrd and command line",
  exec: "Booting the loaded kernel",
  output: "Output",
  compat: "Accepted for kexec-tools compatibility",
};

/** Identifiers of options, as the parser reports them. */
export type OptionId =
  | "help"
  | "help-usage"
  | "version"
  | "load"
  | "load-panic"
  | "exec"
  | "force"
  | "unload"
  | "status"
  | "print-ckr-size"
  | "file-syscall"
  | "load-syscall"
  | "auto-syscall"
  | "initrd"
  | "module"
  | "command-line"
  | "reuse-cmdline"
  | "extra-file"
  | "args-linux"
  | "uki-profile"
  | "type"
  | "dtb"
  | "mem-min"
  | "mem-max"
  | "no-checks"
  | "no-cma"
  | "force-dtb"
  | "no-ifdown"
  | "no-sync"
  | "sync-timeout"
  | "debug"
  | "dry-run"
  | "json"
  | "load-preserve-context"
  | "load-jump-back-helper"
  | "entry"
  | "hotplug"
  | "compat"
  | "unsupported";

/** One row of the option table. */
export interface OptionSpec {
  /** What the parser reports for it. */
  readonly id: OptionId;
  /** Long spellings; the first is the one `--help` shows. */
  readonly long: readonly string[];
  /** Short letter, if any. */
  readonly short?: string;
  /** Placeholder of its value when it takes one (`FILE`, `ADDR`, …). */
  readonly value?: string;
  /** Section in `--help`. */
  readonly group: OptionGroup;
  /** One-line description. */
  readonly help: string;
  /** How it differs from kexec-tools (printed in the man page). */
  readonly differs?: string;
  /** Left out of `--help` (still in the man page). */
  readonly hidden?: boolean;
}

/** Every option the command accepts. */
export const OPTIONS: readonly OptionSpec[] = [
  // Actions
  {
    id: "load",
    long: ["load"],
    short: "l",
    group: "action",
    help: "load KERNEL for a later --exec (normal image)",
    differs: "does not call sync() (kexec-tools does, and hangs on dead network mounts)",
  },
  {
    id: "load-panic",
    long: ["load-panic"],
    short: "p",
    group: "action",
    help: "load KERNEL as the crash (kdump) kernel; with -u, unload it",
  },
  {
    id: "exec",
    long: ["exec"],
    short: "e",
    group: "action",
    help: "boot the loaded kernel now (sync, interfaces down, reboot into it); " +
      "cancels an earlier -l, as in kexec-tools",
    differs: "nothing is synced or brought down before a loaded kernel is seen in " +
      "/sys/kernel/kexec_loaded, which is read in a private mount when sysfs is not mounted",
  },
  {
    id: "force",
    long: ["force"],
    short: "f",
    group: "action",
    help: "load KERNEL and boot it at once (no shutdown of services)",
  },
  {
    id: "unload",
    long: ["unload"],
    short: "u",
    group: "action",
    help: "unload the normal image; -p -u unloads the crash image (-u -p unloads it and then " +
      "loads KERNEL as the crash kernel)",
  },
  {
    id: "status",
    long: ["status"],
    short: "S",
    group: "action",
    help: "exit 1 if the crash image (with -l: the normal image) is loaded, else 0; " +
      "prints a report of both images",
    differs: "prints a report (kexec-tools is silent); -d does not change the image checked",
  },
  {
    id: "print-ckr-size",
    long: ["print-ckr-size"],
    group: "action",
    help: "print the size of the crash kernel region in bytes",
  },
  // System call
  {
    id: "file-syscall",
    long: ["kexec-file-syscall"],
    short: "s",
    group: "syscall",
    help: "use kexec_file_load only (the last of -s, -c, -a wins)",
    differs: "exit 253 keeps kexec-tools' meaning but the message names the real errno",
  },
  {
    id: "load-syscall",
    long: ["kexec-syscall"],
    short: "c",
    group: "syscall",
    help: "use kexec_load only (the last of -s, -c, -a wins)",
  },
  {
    id: "auto-syscall",
    long: ["kexec-syscall-auto"],
    short: "a",
    group: "syscall",
    help: "kexec_file_load, falling back to kexec_load on ENOSYS, EINVAL, ENOEXEC, ENOTSUP " +
      "(default)",
  },
  // Image
  {
    id: "initrd",
    long: ["initrd", "ramdisk"],
    value: "FILE",
    group: "image",
    help: "initrd to pass; repeat to concatenate several in order",
    differs: "every --initrd is used, concatenated in order (kexec-tools keeps only the last)",
  },
  {
    id: "module",
    long: ["module"],
    value: '"FILE ARGS"',
    group: "image",
    help: "Multiboot module (x86_64: Xen's dom0 kernel, its initrd, …): FILE is loaded and the " +
      "kernel gets the whole string as the module's command line; repeat for more, in order",
    differs: "module files are passed as they are (kexec-tools decompresses gzip'd ones)",
  },
  {
    id: "command-line",
    long: ["command-line", "append"],
    value: "STRING",
    group: "image",
    help: "the new kernel's command line; the last one given wins (replaces, does not append)",
  },
  {
    id: "reuse-cmdline",
    long: ["reuse-cmdline"],
    group: "image",
    help: "start from /proc/cmdline minus BOOT_IMAGE (and crashkernel with -p), every other " +
      "byte kept; --append text is added after one space",
  },
  {
    id: "extra-file",
    long: ["extra-file"],
    value: "HOST[:GUEST]",
    group: "image",
    help: "add file HOST to the initrd as GUEST (an absolute path; default: HOST's path) in a " +
      "newc archive built in memory, after every other initrd; repeatable",
    differs: "not in kexec-tools",
  },
  {
    id: "uki-profile",
    long: ["uki-profile"],
    value: "N",
    group: "image",
    help: "use profile @N of a multi-profile UKI (default 0, as systemd-stub)",
    differs: "not in kexec-tools",
  },
  {
    id: "type",
    long: ["type"],
    short: "t",
    value: "TYPE",
    group: "image",
    help: "insist on a kernel format, refused when the content disagrees; kexec-tools' names " +
      "(x86_64: bzImage64, bzImage, multiboot2-x86, multiboot-x86, elf-x86_64; any: gzip, " +
      "zstd, xz, zboot, uki); the default detects it by content",
    differs: "applies to both system calls (kexec-tools ignores it for kexec_file_load); its " +
      "names without a format here are refused unless -s, an unknown name even with -s",
  },
  {
    id: "dtb",
    long: ["dtb"],
    value: "FILE",
    group: "image",
    help: "the device tree the new kernel boots with (arm64, kexec_load; /chosen is rewritten); " +
      "the default is the running kernel's /sys/firmware/fdt",
    differs: "makes the automatic mode use kexec_load; refused with -s",
  },
  {
    id: "mem-min",
    long: ["mem-min"],
    value: "ADDR",
    group: "image",
    help: "lowest physical address for kexec_load segments",
  },
  {
    id: "mem-max",
    long: ["mem-max"],
    value: "ADDR",
    group: "image",
    help: "highest physical address for kexec_load segments",
  },
  {
    id: "no-checks",
    long: ["no-checks"],
    short: "i",
    group: "image",
    help: "skip the purgatory's SHA-256 check of the segments (kexec_load)",
  },
  {
    id: "no-cma",
    long: ["no-cma"],
    group: "image",
    help: "pass KEXEC_FILE_NO_CMA (kexec_file_load)",
  },
  {
    id: "force-dtb",
    long: ["force-dtb"],
    group: "image",
    help: "pass KEXEC_FILE_FORCE_DTB: carry the boot device tree over (x86, kexec_file_load)",
  },
  {
    id: "load-preserve-context",
    long: ["load-preserve-context"],
    group: "image",
    help: "load an image that may return (kexec jump, KEXEC_PRESERVE_CONTEXT; x86 only): " +
      "needs kexec_load and a --mem-min/--mem-max window clear of this kernel's RAM",
    differs: "uses kexec_load by itself in the default mode (kexec-tools 2.0.27 and later " +
      "refuse it unless -c is given)",
  },
  {
    id: "load-jump-back-helper",
    long: ["load-jump-back-helper"],
    group: "image",
    help: "in a kernel started by a kexec jump: load the image whose -e returns to the " +
      "kernel that started it (kexec_jump_back_entry= from /proc/cmdline, or --entry)",
    differs: "uses kexec_load by itself in the default mode; no sync or interface change " +
      "(kexec-tools does both); the image is a page of code that maps the address first " +
      "(kexec-tools' empty image fails with ENOMEM on current kernels)",
  },
  {
    id: "entry",
    long: ["entry"],
    value: "ADDR",
    group: "image",
    help: "the address --load-jump-back-helper returns to",
    differs: "refused together with a kernel load (kexec-tools overrides the loaded image's " +
      "entry point)",
  },
  // Exec
  {
    id: "no-ifdown",
    long: ["no-ifdown"],
    short: "x",
    group: "exec",
    help: "do not bring network interfaces down before booting",
  },
  {
    id: "no-sync",
    long: ["no-sync"],
    short: "y",
    group: "exec",
    help: "do not sync file systems before booting",
  },
  {
    id: "sync-timeout",
    long: ["sync-timeout"],
    value: "SECONDS",
    group: "exec",
    help: "give up waiting for sync after SECONDS and boot anyway (default 30)",
  },
  // Output
  {
    id: "debug",
    long: ["debug"],
    short: "d",
    group: "output",
    help: "explain every step on stderr (plan, syscalls, errno)",
    differs: "never changes what is sent to the kernel; KEXEC_FILE_DEBUG is retried without " +
      "when the kernel does not know it (under kexec_load_limit_*, where a refused call spends a " +
      "load, it is sent only to kernels from 6.8 on)",
  },
  {
    id: "dry-run",
    long: ["dry-run"],
    group: "output",
    help: "print the plan (syscall, flags, files or segments, command line) and a map of " +
      "physical memory showing where each segment lands; call nothing",
  },
  {
    id: "json",
    long: ["json"],
    group: "output",
    help: "print --status and --dry-run output as JSON",
  },
  { id: "help", long: ["help"], short: "h", group: "output", help: "print this help" },
  {
    id: "help-usage",
    long: [],
    short: "?",
    group: "output",
    help: "print this help and exit 1",
    hidden: true,
  },
  {
    id: "version",
    long: ["version"],
    short: "v",
    group: "output",
    help: "print the version",
  },
  // kexec-tools' architecture and loader options: what each does here depends
  // on the architecture (lib/arch/<arch>/cli.ts); the man page lists it.
  {
    id: "args-linux",
    long: ["args-linux"],
    group: "compat",
    help: "accepted: an ELF vmlinux always gets Linux boot parameters (x86_64: boot_params in " +
      "%rsi); elsewhere as the architecture's table says",
    hidden: true,
  },
  {
    id: "compat",
    long: [
      "elf32-core-headers",
      "elf64-core-headers",
      "noefi",
      "reset-vga",
      "console-vga",
      "console-serial",
      "reuse-video-type",
      "pass-memmap-cmdline",
      "args-elf",
      "args-none",
      "real-mode",
      "entry-32bit",
    ],
    group: "compat",
    help: "kexec-tools architecture and loader options",
    hidden: true,
  },
  {
    id: "compat",
    long: ["serial", "serial-baud"],
    value: "VALUE",
    group: "compat",
    help: "kexec-tools purgatory console options",
    hidden: true,
  },
  {
    id: "hotplug",
    long: ["hotplug"],
    group: "compat",
    help: "accepted with a warning: the crash kernel's ELF core header is not updated on CPU " +
      "or memory hotplug; reload the crash kernel after hotplug, as udev rules do",
    hidden: true,
  },
  {
    id: "unsupported",
    long: ["reuseinitrd", "load-live-update", "exec-live-update"],
    group: "compat",
    help: "refused, naming the reason (initrd reuse, Xen live update)",
    hidden: true,
  },
];

/** Why an unsupported option is refused, by long name (exit 1, as kexec-tools' die()). */
export const UNSUPPORTED_REASONS: Readonly<Record<string, string>> = {
  "reuseinitrd": "reusing the first boot's initrd is not implemented on this architecture; " +
    "pass it with --initrd",
  "load-live-update": "Xen live update is not supported",
  "exec-live-update": "Xen live update is not supported",
};
