# A crash kernel from another format (issue 11), as kdumpctl (UKI, -s) or
# kdump-config (ELF vmlinux, --args-linux) load it: IMAGE with LOAD_FLAGS and
# EXTRA_ARGS, the second-stage initrd plus MAKEDUMPFILE (makedumpfile, its
# libraries and a second-stage hook that runs it on /proc/vmcore), then
# sysrq-c. Params: IMAGE, LOAD_FLAGS, EXTRA_ARGS, CRASH_APPEND, MAKEDUMPFILE.
value crash_size /sys/kernel/kexec_crash_size
step crash_load kexec -p $LOAD_FLAGS -d "$IMAGE" --initrd="$INITRD" --initrd="$MAKEDUMPFILE" \
	$EXTRA_ARGS --append="$CRASH_APPEND"
value crash_loaded /sys/kernel/kexec_crash_loaded
echo 1 >/proc/sys/kernel/sysrq
report "E2E-VALUE triggering_crash=yes"
echo c >/proc/sysrq-trigger
# Reached only if the crash did not happen.
report "E2E-VALUE survived_crash=yes"
