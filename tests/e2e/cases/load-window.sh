# kexec_load (-c) confined to [MEM_MIN, MEM_MAX]: the unconstrained plan and
# the constrained one (--dry-run --json), a window too small for the kernel,
# then the constrained load and -e. Params: MEM_MIN, MEM_MAX, TINY_MAX, KEXEC_APPEND.
step plan_free kexec -c --dry-run --json -l "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND"
step plan_window kexec -c --dry-run --json --mem-min="$MEM_MIN" --mem-max="$MEM_MAX" \
	-l "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND"
step plan_tiny kexec -c --dry-run --mem-min="$MEM_MIN" --mem-max="$TINY_MAX" \
	-l "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND"
step load kexec -c -d --mem-min="$MEM_MIN" --mem-max="$MEM_MAX" \
	-l "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND"
value loaded_after /sys/kernel/kexec_loaded
step exec kexec -e
report "E2E-VALUE returned_from_exec=yes"
