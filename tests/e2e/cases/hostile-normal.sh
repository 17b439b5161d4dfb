# Nothing lost (issue 6) and the kexec_load extras (issue 7) with a loaded
# kernel: load a good kernel first, then every bad input, bad option, missing
# privilege and the one-way kexec_load_disabled, each a `row` that must fail
# without touching the loaded image; finally -e must boot the kernel loaded
# first (token and exact command line). No crashkernel= here (-p gives exit 1).
# Params: KEXEC_APPEND, FILE_LOAD_TOO_LONG and SEGMENT_LOAD_TOO_LONG (command
# lines one byte over each syscall's limit), and those of hostile-lib.sh.
. /e2e/hostile-lib.sh
value loaded_before /sys/kernel/kexec_loaded
step good_load kexec -s -l "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND"
value loaded_after_good_load /sys/kernel/kexec_loaded

# The kernel file. FIFO rows are bounded: opening one must not block.
row kernel_missing kexec -l "$H/nope"
row kernel_empty kexec -l "$H/empty"
row kernel_directory kexec -l "$H/adir"
row kernel_fifo timeout 30 kexec -l "$H/fifo"
row kernel_dev_zero kexec -l /dev/zero
row kernel_symlink_loop kexec -l "$H/loop-a"
row kernel_garbage kexec -l "$H/garbage"
row kernel_arm64 kexec -l "$H/arm64-Image"
for t in $TRUNCATE_AT; do row "kernel_truncated_${t%%:*}" kexec -l "$H/trunc-${t%%:*}"; done

# The initrd file.
row initrd_missing kexec -l "$KERNEL" --initrd="$H/nope"
row initrd_empty kexec -l "$KERNEL" --initrd="$H/empty"
row initrd_directory kexec -l "$KERNEL" --initrd="$H/adir"
row initrd_fifo timeout 30 kexec -l "$KERNEL" --initrd="$H/fifo"
row initrd_dev_zero kexec -l "$KERNEL" --initrd=/dev/zero
row initrd_symlink_loop kexec -l "$KERNEL" --initrd="$H/loop-a"
# Larger than RAM (sparse): kexec_file_load cannot allocate it (ENOMEM; a
# normal load keeps the old image); kexec_load's planner finds no room for it.
truncate -s 3G "$H/huge"
row initrd_huge kexec -l "$KERNEL" --initrd="$H/huge"
row initrd_huge_segments kexec -c -l "$KERNEL" --initrd="$H/huge"
rm -f "$H/huge"

# Command lines one byte over the limit of each syscall (auto mode would use
# kexec_load for a line that only kexec_load accepts, so auto gets the longer one).
row cmdline_too_long kexec -l "$KERNEL" --append="$SEGMENT_LOAD_TOO_LONG"
row cmdline_too_long_file kexec -s -l "$KERNEL" --append="$FILE_LOAD_TOO_LONG"
row cmdline_too_long_segments kexec -c -l "$KERNEL" --append="$SEGMENT_LOAD_TOO_LONG"

# No crash region. (Bad options are in hostile-crash.sh, whose crash kernel
# must survive them.)
row crash_no_region kexec -p -s "$KERNEL" --append=e2e.row=crash

# Issue 7: kexec jump on a kernel without CONFIG_KEXEC_JUMP (the probe must not
# touch the loaded image either).
row preserve_context kexec --load-preserve-context --mem-max=0x7fffffff "$KERNEL"

# No CAP_SYS_BOOT: an unprivileged user, and root in a new user namespace.
row user_load_file as_user kexec -s -l "$KERNEL"
row user_load_segments as_user kexec -c -l "$KERNEL"
row user_unload as_user kexec -u
row user_exec as_user kexec -e
row userns_load unshare -r kexec -s -l "$KERNEL"

# kernel.kexec_load_disabled is one-way, so it comes last; it blocks loads and
# unloads, not reboot(LINUX_REBOOT_CMD_KEXEC).
echo 1 >/proc/sys/kernel/kexec_load_disabled
value load_disabled /proc/sys/kernel/kexec_load_disabled
row disabled_load_file kexec -s -l "$KERNEL"
row disabled_load_segments kexec -c -l "$KERNEL"
row disabled_load_auto kexec -l "$KERNEL"
row disabled_unload kexec -u

step exec kexec -e
# Reached only when -e returned instead of booting the loaded kernel.
report "E2E-VALUE returned_from_exec=yes"
