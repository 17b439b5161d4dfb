# kexec_load (-c) through the test-only entry /sbin/kexec-test-corrupt
# (tests/e2e/tool/corrupt_main.ts), which passes the segment of the file
# CORRUPT_FILE with one byte flipped after its SHA-256 was taken; then -e with
# the product. The purgatory must print its mismatch line on the console and
# halt: no second stage ever reports, and the guest runs until the harness
# kills it. Params: CORRUPT_FILE, KEXEC_APPEND.
step load env KEXEC_TEST_CORRUPT_FILE="$CORRUPT_FILE" kexec-test-corrupt -c -d -l "$KERNEL" \
	--initrd="$INITRD" --append="$KEXEC_APPEND"
value loaded_after /sys/kernel/kexec_loaded
report "E2E-VALUE executing=yes"
step exec kexec -e
report "E2E-VALUE returned_from_exec=yes"
