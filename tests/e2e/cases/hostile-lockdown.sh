# Lockdown (issue 6): the first kernel runs with lockdown=integrity. Unsigned
# loads are refused; auto mode never falls back to kexec_load and says why;
# -c names lockdown; unload and status still work. The first row runs before
# securityfs is mounted (as in a bare initramfs), the rest after. Params:
# FILE_LOAD_TOO_LONG (a command line only kexec_load would accept), and those
# of hostile-lib.sh.
. /e2e/hostile-lib.sh
value lockdown_unmounted /sys/kernel/security/lockdown
row unmounted_load_segments kexec -c -l "$KERNEL"

mount -t securityfs securityfs /sys/kernel/security
value lockdown /sys/kernel/security/lockdown
row load_file kexec -s -l "$KERNEL" --initrd="$INITRD"
# -d lists every attempt: the only syscall must be kexec_file_load.
row load_auto kexec -d -l "$KERNEL" --initrd="$INITRD"
row load_segments kexec -c -l "$KERNEL" --initrd="$INITRD"
# ENOEXEC is a fallback errno; under lockdown the fallback is refused, with the reason.
row no_above_4g_auto kexec -d -l "$H/no-above-4g"
row no_above_4g_file kexec -s -l "$H/no-above-4g"
# A command line that only kexec_load accepts cannot be loaded at all.
row cmdline_only_segments kexec -l "$KERNEL" --append="$FILE_LOAD_TOO_LONG"
row unload kexec -u
row status kexec -S --json
# -e with nothing loaded refuses before touching anything (lo is the only
# interface: every NIC driver and dummy are modules, and the guest has none).
value lo_flags_before /sys/class/net/lo/flags
row exec_nothing kexec -e
value lo_flags_after /sys/class/net/lo/flags
report "E2E-VALUE alive_after_exec=yes"
