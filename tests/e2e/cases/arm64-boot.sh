# arm64: load a kernel with the second-stage initrd and a command line full of
# quotes and spaces, then boot it. Params: BOOT_KERNEL (default $KERNEL: the
# booted kernel), LOAD_FLAGS (e.g. "-d", "-s -d", "-d --dtb=FILE"), KEXEC_APPEND.
# The second stage reports its /proc/cmdline and initrd token.
K=${BOOT_KERNEL:-$KERNEL}
step load kexec $LOAD_FLAGS -l "$K" --initrd="$INITRD" --append="$KEXEC_APPEND"
value loaded_after /sys/kernel/kexec_loaded
step exec kexec -e
# Reached only when -e returned instead of booting the loaded kernel.
report "E2E-VALUE returned_from_exec=yes"
