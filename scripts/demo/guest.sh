# The demo's first stage (sourced by the e2e harness's stage1-init.sh, with its
# step/value helpers): what the tool would load, then the real load and the
# jump into the second kernel, whose initrd reports its /proc/cmdline.
# Params: DEMO_APPEND, the second kernel's command line.
step version kexec --version
step dry_run kexec -c -l "$KERNEL" --initrd="$INITRD" --append="$DEMO_APPEND" --dry-run
value loaded_before /sys/kernel/kexec_loaded
step load kexec -c -l "$KERNEL" --initrd="$INITRD" --append="$DEMO_APPEND"
value loaded_after /sys/kernel/kexec_loaded
step exec kexec -e
# Reached only when -e returned instead of booting the loaded kernel.
report "E2E-VALUE returned_from_exec=yes"
