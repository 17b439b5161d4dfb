# Plain -l (automatic syscall choice) with -d, then -e. The test reads from
# stderr which system call loaded the kernel. Params: KEXEC_APPEND.
step plan kexec --dry-run -l "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND"
step load kexec -d -l "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND"
value loaded_after /sys/kernel/kexec_loaded
step exec kexec -e
report "E2E-VALUE returned_from_exec=yes"
