# Harness self-test (busybox only, no kexec): exercises step/value reporting.
step echo_both sh -c 'echo "to stdout"; echo "to stderr" >&2; echo "second line"'
step fails sh -c 'exit 3'
step no_newline printf 'partial'
value cmdline /proc/cmdline
value missing /no/such/file
value param "$SELFTEST_FILE"
report "E2E-VALUE quoted=$SELFTEST_VALUE"
