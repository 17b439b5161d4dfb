# Load the test kernel with the second-stage initrd and a command line full of
# quotes and spaces, then boot it. Params: LOAD_FLAGS (e.g. -s or -c),
# KEXEC_APPEND. The second stage reports its /proc/cmdline and initrd token.
value loaded_before /sys/kernel/kexec_loaded
step load kexec $LOAD_FLAGS -l "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND"
value loaded_after /sys/kernel/kexec_loaded
step exec kexec -e
# Reached only when -e returned instead of booting the loaded kernel.
report "E2E-VALUE returned_from_exec=yes"
