# Guest benchmark (bench/guest.ts), sourced by the e2e first stage: this
# tool and Debian's kexec-tools load the same kernel and 64 MiB initrd with
# real system calls, in turn, rounds $BENCH_FIRST to $BENCH_LAST; each load is unloaded before
# the next. Nothing is executed: the guest powers off when this returns.
# Every timed command is a `step` (wall time from /proc/uptime, 10 ms).
# -u is measured on the host only (bench/host.ts): the guest has a 360 s limit.

APPEND="console=ttyS0 root=/dev/vda ro"
KT=/usr/local/sbin/kexec-tools
TRIVIAL="/usr/bin/deno run --allow-all --no-prompt /bench/trivial.js"
export DENO_DIR=/tmp/deno HOME=/tmp DENO_NO_UPDATE_CHECK=1

# `files` are placed read-only.
chmod 755 "$KT"

# Warm-up: page cache of the tool, deno and both files.
kexec --dry-run -c -l "$KERNEL" --initrd="$BENCH_INITRD" >/dev/null 2>&1
kexec --version >/dev/null 2>&1
$TRIVIAL >/dev/null 2>&1
cat /sbin/kexec /usr/lib/kexec/*.js "$KERNEL" "$BENCH_INITRD" >/dev/null
$KT -u >/dev/null 2>&1

i=$BENCH_FIRST
while [ "$i" -le "$BENCH_LAST" ]; do
	step "trivial-$i" $TRIVIAL
	step "ours-version-$i" kexec --version
	step "kt-version-$i" $KT --version
	step "ours-c-$i" kexec -c -l "$KERNEL" --initrd="$BENCH_INITRD" --append="$APPEND"
	$KT -u
	step "kt-c-$i" $KT -c -l "$KERNEL" --initrd="$BENCH_INITRD" --append="$APPEND"
	$KT -u
	step "ours-s-$i" kexec -s -l "$KERNEL" --initrd="$BENCH_INITRD" --append="$APPEND"
	$KT -s -u
	step "kt-s-$i" $KT -s -l "$KERNEL" --initrd="$BENCH_INITRD" --append="$APPEND"
	$KT -s -u
	# The same without the initrd: what the 64 MiB costs each tool.
	step "ours-s0-$i" kexec -s -l "$KERNEL" --append="$APPEND"
	$KT -s -u
	step "kt-s0-$i" $KT -s -l "$KERNEL" --append="$APPEND"
	$KT -s -u
	# V8 without background threads: does the initrd cost more beside them?
	step "ours-st-s-$i" busybox env DENO_V8_FLAGS=--single-threaded kexec -s -l "$KERNEL" --initrd="$BENCH_INITRD" --append="$APPEND"
	$KT -s -u
	step "ours-st-s0-$i" busybox env DENO_V8_FLAGS=--single-threaded kexec -s -l "$KERNEL" --append="$APPEND"
	$KT -s -u
	i=$((i + 1))
done
