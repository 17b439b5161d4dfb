# Nothing lost for the crash image (issue 6) and the crash-region check of
# issue 7. The kernel frees the loaded crash image before it validates a new
# one, so only refusals made before the syscall, and the kernel's own
# permission and lock checks (which come before the free), keep it; the first
# row shows the kernel dropping it. Then sysrq-c must boot the crash kernel
# loaded before the other rows. Needs crashkernel=. Params: CRASH_APPEND,
# FILE_LOAD_TOO_LONG, SEGMENT_LOAD_TOO_LONG, CRASH_TRUNCATED (labels of
# TRUNCATE_AT to try), CRASH_MEM_OUTSIDE (--mem-min/--mem-max below the crash
# region), BIG_INITRD_MIB (larger than the region), and those of hostile-lib.sh.
# Rows that might load carry the stage-2 initrd and e2e.row=NAME, so a wrong
# crash kernel would still report, naming the row.
. /e2e/hostile-lib.sh
value crash_size /sys/kernel/kexec_crash_size
step crash_load kexec -p -s "$KERNEL" --initrd="$INITRD" --append="$CRASH_APPEND e2e.load=first"
value crash_loaded_after_load /sys/kernel/kexec_crash_loaded

# The file loader would answer ENOEXEC (and the kernel would free the loaded
# crash image first); the tool predicts it and refuses before the syscall.
row crash_refused_by_kernel kexec -p -s "$H/no-above-4g" --initrd="$INITRD" \
	--append="$CRASH_APPEND e2e.row=crash_refused_by_kernel"

# The crash kernel that must survive every row below and boot on sysrq-c.
step crash_reload kexec -p -s "$KERNEL" --initrd="$INITRD" --append="$CRASH_APPEND"
value crash_loaded_after_reload /sys/kernel/kexec_crash_loaded

row crash_kernel_missing kexec -p "$H/nope"
row crash_kernel_directory kexec -p "$H/adir"
row crash_kernel_garbage kexec -p "$H/garbage"
row crash_kernel_arm64 kexec -p "$H/arm64-Image"
for label in $CRASH_TRUNCATED; do
	row "crash_kernel_truncated_$label" kexec -p "$H/trunc-$label"
done
row crash_initrd_missing kexec -p "$KERNEL" --initrd="$H/nope"
row crash_initrd_empty kexec -p "$KERNEL" --initrd="$H/empty"
row crash_cmdline_too_long kexec -p "$KERNEL" --append="$SEGMENT_LOAD_TOO_LONG"
row crash_cmdline_too_long_file kexec -p -s "$KERNEL" --append="$FILE_LOAD_TOO_LONG"
# Bad options, and command lines refused before any action.
row mem_min_not_a_number kexec -p -c "$KERNEL" --mem-min=abc
row mem_min_negative kexec -p -c "$KERNEL" --mem-min=-1
row mem_max_overflow kexec -p -c "$KERNEL" --mem-max=0x10000000000000000
row mem_min_above_max kexec -p -c "$KERNEL" --mem-min=0x2000000 --mem-max=0x1000000
row bogus_unload_initrd kexec -p -u --initrd="$INITRD"
row missing_kernel kexec -u -p
row crash_preserve kexec -p --load-preserve-context --mem-max=0x10000000 "$KERNEL"
# Issue 7: a kexec_load crash kernel confined outside the crash region.
row crash_mem_outside kexec -p -c "$KERNEL" --initrd="$INITRD" \
	--append="$CRASH_APPEND e2e.row=crash_mem_outside" $CRASH_MEM_OUTSIDE
# Larger than the region (a sparse file): the kernel would read it all, free
# the crash image and fail placement.
truncate -s "${BIG_INITRD_MIB}M" "$H/big"
row crash_initrd_too_big kexec -p -s "$KERNEL" --initrd="$H/big" \
	--append="$CRASH_APPEND e2e.row=crash_initrd_too_big"
# No CAP_SYS_BOOT: the kernel's permission check comes before the free.
row crash_user as_user kexec -p -s "$KERNEL" --initrd="$INITRD"
row crash_user_unload as_user kexec -p -u

# EBUSY: a normal load of the big initrd holds the kexec lock while the kernel
# reads and hashes it (seconds under TCG); a crash load meanwhile gets EBUSY,
# which the kernel answers before it frees the crash image. The holder runs
# in the background; its pid is the tool's (the launcher execs deno).
vmalloc_kib() { awk '/^VmallocUsed:/ { print $2 }' /proc/meminfo; }
vmalloc_base=$(vmalloc_kib)
kexec -s -l "$KERNEL" --initrd="$H/big" --append=e2e.row=busy_holder >/tmp/e2e/holder.log 2>&1 &
holder=$!
# The kernel takes the lock before it reads the initrd into a vmalloc buffer:
# once half of the file's size shows in VmallocUsed, the lock is held.
waited=0
while [ "$waited" -lt 300 ] &&
	[ $(($(vmalloc_kib) - vmalloc_base)) -lt $((BIG_INITRD_MIB * 512)) ]; do
	usleep 100000
	waited=$((waited + 1))
done
report "E2E-VALUE busy_waited_ds=$waited"
row crash_busy kexec -p -s "$KERNEL" --initrd="$INITRD" --append="$CRASH_APPEND e2e.row=crash_busy"
contender_done=$(uptime_ms)
wait "$holder"
report "E2E-VALUE busy_holder_rc=$?"
# The margin: how long the holder (and its lock) outlived the contender.
report "E2E-VALUE busy_margin_ms=$(($(uptime_ms) - contender_done))"
report "E2E-VALUE busy_holder_said=$(cat /tmp/e2e/holder.log)"
rm -f "$H/big"

value crash_loaded_at_end /sys/kernel/kexec_crash_loaded
echo 1 >/proc/sys/kernel/sysrq
report "E2E-VALUE triggering_crash=yes"
echo c >/proc/sysrq-trigger
# Reached only if the crash did not happen.
report "E2E-VALUE survived_crash=yes"
