# arm64 kexec_load, then boot the loaded kernel. Optionally first -s, which a
# kernel without KEXEC_FILE (Debian's arm64 kernels) refuses with exit 253.
# Params: BOOT_KERNEL (default $KERNEL), LOAD_FLAGS (e.g. "-d" or "-d --dtb=FILE"),
# KEXEC_APPEND, FILE_ONLY_STEP (yes: try -s first).
K=${BOOT_KERNEL:-$KERNEL}
report "E2E-VALUE page_size=$(getconf PAGESIZE 2>/dev/null || echo unknown)"
if [ "$FILE_ONLY_STEP" = yes ]; then
	step file_only kexec -s -l "$K" --initrd="$INITRD" --append="$KEXEC_APPEND"
	value loaded_after_file_only /sys/kernel/kexec_loaded
fi
step load kexec $LOAD_FLAGS -l "$K" --initrd="$INITRD" --append="$KEXEC_APPEND"
value loaded_after /sys/kernel/kexec_loaded
step exec kexec -e
# Reached only when -e returned instead of booting the loaded kernel.
report "E2E-VALUE returned_from_exec=yes"
