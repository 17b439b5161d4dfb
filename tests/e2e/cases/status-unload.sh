# Status (-S, -S -l, -S --json), unload (-u, -p -u) of normal and crash images,
# and -e with nothing loaded, all in one boot. Needs crashkernel= on the first
# kernel. Params: KEXEC_APPEND, CRASH_APPEND.
step status_crash_none kexec -S
step status_normal_none kexec -S -l
step json_none kexec -S --json

step load kexec -s -l "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND"
value loaded_after_load /sys/kernel/kexec_loaded
step status_normal_loaded kexec -S -l
step status_crash_still_none kexec -S
step json_normal_loaded kexec -S --json
step unload kexec -u
value loaded_after_unload /sys/kernel/kexec_loaded
step status_normal_unloaded kexec -S -l

step crash_load kexec -p -s "$KERNEL" --initrd="$INITRD" --append="$CRASH_APPEND"
value crash_loaded_after_load /sys/kernel/kexec_crash_loaded
value crash_size /sys/kernel/kexec_crash_size
step status_crash_loaded kexec -S
step status_normal_while_crash kexec -S -l
step json_crash_loaded kexec -S --json
step crash_unload kexec -p -u
value crash_loaded_after_unload /sys/kernel/kexec_crash_loaded
step status_crash_unloaded kexec -S

# -e with nothing loaded must refuse before touching anything; lo stays up.
value lo_flags_before /sys/class/net/lo/flags
step exec_nothing kexec -e
value lo_flags_after /sys/class/net/lo/flags
value loaded_at_end /sys/kernel/kexec_loaded
report "E2E-VALUE alive_after_exec=yes"
