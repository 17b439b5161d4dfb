# Load a Multiboot kernel with two modules and boot it; the kernel itself
# reports what it got (E2E-MB lines) and powers off. On the way, a load
# naming a missing module must fail before any system call and leave the
# loaded kernel loaded. Params: MB_KERNEL, MB_APPEND, MB_MODULE0, MB_MODULE1,
# MB_TYPE (a -t value, or empty), MB_SKIP_BAD (1: no bad load, to save time).
TYPE_FLAG=""
[ -n "$MB_TYPE" ] && TYPE_FLAG="-t $MB_TYPE"
step load kexec -d $TYPE_FLAG -l "$MB_KERNEL" --append="$MB_APPEND" \
	--module "$MB_MODULE0" --module "$MB_MODULE1"
value loaded_after_load /sys/kernel/kexec_loaded
report "E2E-VALUE module1_size=$(wc -c <"${MB_MODULE1%% *}")"
if [ "$MB_SKIP_BAD" != 1 ]; then
	step load_missing_module kexec -l "$MB_KERNEL" --module "/e2e/no-such-module arg"
	value loaded_after_missing_module /sys/kernel/kexec_loaded
fi
step exec kexec -e
# Reached only when -e returned instead of booting the loaded kernel.
report "E2E-VALUE returned_from_exec=yes"
