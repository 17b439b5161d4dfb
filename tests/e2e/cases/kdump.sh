# A crash kernel with -p (issue 5): optionally a dry run, load, -S, -u -p and
# -S first; then a load and sysrq-c; the crash kernel's second stage reports
# /proc/vmcore. Stage 1 reports its top-level System RAM and Crash kernel lines
# of /proc/iomem so the test can compare the dump's size with the RAM outside
# the crash region.
# Needs crashkernel= on the first kernel. Params: LOAD_FLAGS (-c or -s),
# CRASH_APPEND, STATUS_STEPS (yes: the optional steps), UEFI_FACTS (yes: report
# the first kernel's EFI facts with /e2e/uefi-facts.sh).
# CRASH_APPEND, STATUS_STEPS (yes: the optional steps), FILE_ONLY_STEP (yes:
# first -s -p alone, which a kernel without KEXEC_FILE refuses).
grep -E '^[0-9a-f]+-[0-9a-f]+ : System RAM$' /proc/iomem | while IFS= read -r line; do
	report "E2E-VALUE iomem_ram=$line"
done
grep -E ' : Crash kernel$' /proc/iomem | while IFS= read -r line; do
	report "E2E-VALUE iomem_crash=$line"
done
value crash_size /sys/kernel/kexec_crash_size
if [ "${UEFI_FACTS:-no}" = yes ]; then UEFI_PREFIX=s1 . /e2e/uefi-facts.sh; fi
if [ "$FILE_ONLY_STEP" = yes ]; then
	step file_only kexec -s -p "$KERNEL" --initrd="$INITRD" --append="$CRASH_APPEND"
	value crash_loaded_after_file_only /sys/kernel/kexec_crash_loaded
fi
if [ "$STATUS_STEPS" = yes ]; then
	step status_none kexec -S
	step dry_run kexec -p $LOAD_FLAGS --dry-run "$KERNEL" --initrd="$INITRD" --append="$CRASH_APPEND"
	step crash_load kexec -p $LOAD_FLAGS "$KERNEL" --initrd="$INITRD" --append="$CRASH_APPEND"
	value crash_loaded_after_load /sys/kernel/kexec_crash_loaded
	step status_loaded kexec -S
	step crash_unload kexec -p -u
	value crash_loaded_after_unload /sys/kernel/kexec_crash_loaded
	step status_unloaded kexec -S
fi
step crash_reload kexec -p $LOAD_FLAGS "$KERNEL" --initrd="$INITRD" --append="$CRASH_APPEND"
value crash_loaded /sys/kernel/kexec_crash_loaded
echo 1 >/proc/sys/kernel/sysrq
report "E2E-VALUE triggering_crash=yes"
echo c >/proc/sysrq-trigger
# Reached only if the crash did not happen.
report "E2E-VALUE survived_crash=yes"
