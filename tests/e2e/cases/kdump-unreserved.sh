# -p on a first kernel booted without crashkernel= (issue 5): both syscalls are
# refused before any call with exit 1 and the crashkernel= hint, and nothing
# is loaded. Params: CRASH_APPEND.
value crash_size /sys/kernel/kexec_crash_size
step crash_load_syscall kexec -p -c "$KERNEL" --initrd="$INITRD" --append="$CRASH_APPEND"
step crash_load_file kexec -p -s "$KERNEL" --initrd="$INITRD" --append="$CRASH_APPEND"
value crash_loaded /sys/kernel/kexec_crash_loaded
step status kexec -S
