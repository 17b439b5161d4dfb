# Kexec jump there and back again (issue 14), on the test kernel with
# CONFIG_KEXEC_JUMP. This kernel (A) runs with mem=1280M; kernel B gets only
# the window above it (--mem-min/--mem-max, and memmap=exactmap on its command
# line). B's initrd is the first stage's base archive (busybox, deno, the
# tool), the second-stage initrd and B_PART (its hook kjump.stage2.sh), so B
# runs this tool too: it loads the jump-back helper and kexec -e returns here.
# Params: BASE, B_PART, KEXEC_APPEND, MEM_MIN, MEM_MAX.
B_INITRD=/tmp/kjump-b.cpio
step concat sh -c 'cat "$1" "$2" "$3" >"$4" && rm -f "$1" "$3"' sh "$BASE" "$INITRD" "$B_PART" "$B_INITRD"

# Refused before any call: a window over A's memory (--mem-min defaults to 0).
step refuse_window kexec -c -l --load-preserve-context --mem-max="$MEM_MAX" "$KERNEL" \
	--initrd="$INITRD" --append="$KEXEC_APPEND"
value loaded_after_refusal /sys/kernel/kexec_loaded

# A corrupted image (the test-only entry flips a byte of the initrd's segment
# after its digest): the purgatory's check fails and it returns to A. One
# process loads and executes (--load-preserve-context -f) to save a start.
step corrupt env KEXEC_TEST_CORRUPT_FILE="$INITRD" kexec-test-corrupt -c \
	--load-preserve-context -f --mem-min="$MEM_MIN" --mem-max="$MEM_MAX" "$KERNEL" \
	--initrd="$INITRD" --append="$KEXEC_APPEND"
report "E2E-VALUE after_corrupt=$(uptime_ms)"

# The real trip. A's state to find again afterwards.
echo "$E2E_STAGE1_TOKEN" >/tmp/a-state
step load kexec -c -d -l --load-preserve-context --mem-min="$MEM_MIN" --mem-max="$MEM_MAX" \
	"$KERNEL" --initrd="$B_INITRD" --append="$KEXEC_APPEND"
value loaded_after_load /sys/kernel/kexec_loaded
report "E2E-VALUE before_exec=$(uptime_ms)"
step exec kexec -e
# Only reached when B jumped back.
report "E2E-VALUE kjump_back=$(uptime_ms) state=$(cat /tmp/a-state)"
report "E2E-VALUE a_cmdline=$(cat /proc/cmdline)"
value loaded_after_back /sys/kernel/kexec_loaded
