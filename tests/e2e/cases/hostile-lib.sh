# Shared by the hostile-* cases, which source it from /e2e/hostile-lib.sh:
# builds the bad inputs in /tmp/hostile and defines the row helpers. Params:
# TRUNCATE_AT (LABEL:BYTES pairs: $KERNEL cut at BYTES becomes trunc-LABEL),
# XLOADFLAGS_OFFSET and XLOADFLAGS_NO_ABOVE_4G (its new low byte, in octal).
H=/tmp/hostile
mkdir -p "$H/adir"
: >"$H/empty"
mkfifo "$H/fifo"
ln -s loop-b "$H/loop-a"
ln -s loop-a "$H/loop-b"
head -c 65536 /dev/urandom >"$H/garbage"
for t in $TRUNCATE_AT; do head -c "${t#*:}" "$KERNEL" >"$H/trunc-${t%%:*}"; done
# A 64-byte arm64 Image header: the magic "ARM\x64" ("ARMd") at 0x38
# (arm64 booting.rst), the rest zero.
{ head -c 56 /dev/zero; printf 'ARMd'; head -c 4 /dev/zero; } >"$H/arm64-Image"
# The real kernel with XLF_CAN_BE_LOADED_ABOVE_4G cleared: the tool's checks
# accept it, kexec_file_load answers ENOEXEC, kexec_load would load it.
cp "$KERNEL" "$H/no-above-4g"
printf "\\$XLOADFLAGS_NO_ABOVE_4G" |
	dd of="$H/no-above-4g" bs=1 seek="$XLOADFLAGS_OFFSET" conv=notrunc 2>/dev/null

# An unprivileged user for the CAP_SYS_BOOT rows; deno needs a writable home.
mkdir -p /etc /tmp/unpriv
echo 'root:x:0:0:root:/tmp:/bin/sh' >/etc/passwd
echo 'kexecuser:x:1000:1000:kexec test:/tmp/unpriv:/bin/sh' >>/etc/passwd
printf 'root:x:0:\nkexecuser:x:1000:\n' >/etc/group
chown 1000:1000 /tmp/unpriv

# as_user CMD ARGS...: runs CMD as uid 1000 (no capabilities). Arguments must
# not contain spaces or quotes (they pass through su -c).
as_user() {
	su -s /bin/sh kexecuser -c "DENO_DIR=/tmp/unpriv/deno HOME=/tmp/unpriv $*"
}

# row NAME CMD ARGS...: a step, then the state of both images after it, as
# E2E-VALUE loaded.NAME and crash_loaded.NAME.
row() {
	step "$@"
	report "E2E-VALUE loaded.$1=$(cat /sys/kernel/kexec_loaded)"
	report "E2E-VALUE crash_loaded.$1=$(cat /sys/kernel/kexec_crash_loaded)"
}
