# kexec_load (-c) with the test hook that passes segment CORRUPT_SEGMENT with
# one byte flipped after its SHA-256 was taken, then -e. The purgatory must
# print its mismatch line on the console and halt: no second stage ever
# reports, and the guest runs until the harness kills it.
# Params: CORRUPT_SEGMENT, KEXEC_APPEND.
step load kexec -c -d -l "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND" \
	--test-corrupt-segment="$CORRUPT_SEGMENT"
value loaded_after /sys/kernel/kexec_loaded
report "E2E-VALUE executing=yes"
step exec kexec -e
report "E2E-VALUE returned_from_exec=yes"
