# Issue 10, with a first kernel whose command line holds BOOT_IMAGE=, initrd=
# and double spaces (the test passes them):
# - `kexec -e -l -s KERNEL` loads and does not boot: the last action wins;
# - `kexec -u` unloads it again;
# - LTP's ima_kexec load with --reuse-cmdline (and -c before -s: the last mode
#   wins), plus --append, then -e: the second kernel's /proc/cmdline must be
#   kexec-tools' get_command_line() result followed by one space and the text.
# Params: REUSE_APPEND.
step load_last_wins kexec -e -l -s "$KERNEL"
value loaded_after_e_l /sys/kernel/kexec_loaded
report "E2E-VALUE alive_after_e_l=yes"
step unload kexec -u
value loaded_after_unload /sys/kernel/kexec_loaded
step load kexec -c -s -d -l "$KERNEL" --initrd="$INITRD" --reuse-cmdline --append="$REUSE_APPEND"
value loaded_after /sys/kernel/kexec_loaded
step exec kexec -e
report "E2E-VALUE returned_from_exec=yes"
