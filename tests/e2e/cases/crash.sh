# Load a crash kernel (-p) and crash the first kernel with sysrq-c; the crash
# kernel's second stage reports /proc/vmcore. Needs crashkernel= on the first
# kernel. Params: LOAD_FLAGS (e.g. -s or -c), CRASH_APPEND. The argv is the one
# Debian's kdump-config builds (debian/kdump-config.in kdump_load()):
# kexec -p [-s] --command-line="…" --initrd=… KERNEL.
value crash_size /sys/kernel/kexec_crash_size
step crash_load kexec -p $LOAD_FLAGS --command-line="$CRASH_APPEND" --initrd="$INITRD" "$KERNEL"
value crash_loaded /sys/kernel/kexec_crash_loaded
echo 1 >/proc/sys/kernel/sysrq
report "E2E-VALUE triggering_crash=yes"
echo c >/proc/sysrq-trigger
# Reached only if the crash did not happen.
report "E2E-VALUE survived_crash=yes"
