# kexec_load (-c) with a large initrd: the second-stage initrd followed by the
# case's archive BIG_PART (a large random file and the stage-2 hook
# load-big-initrd.stage2.sh), as ONE initrd file. Params: BIG_PART, KEXEC_APPEND.
# The second stage reports the file's SHA-256; the test knows what it must be.
BIG_INITRD=/tmp/stage2-big.cpio
step concat sh -c 'cat "$1" "$2" >"$3" && rm -f "$2"' sh "$INITRD" "$BIG_PART" "$BIG_INITRD"
report "E2E-VALUE big_initrd_size=$(stat -c %s "$BIG_INITRD")"
# The loader's trace of the load (glibc's LD_DEBUG=files, to files /tmp/ld.PID)
# shows which SHA-256 hashed the segments: libcrypto, opened by dlopen.
step load env LD_DEBUG=files LD_DEBUG_OUTPUT=/tmp/ld kexec -c -d -l "$KERNEL" --initrd="$BIG_INITRD" --append="$KEXEC_APPEND"
step libcrypto sh -c 'grep -h "libcrypto" /tmp/ld.*'
value loaded_after /sys/kernel/kexec_loaded
step exec kexec -e
# Reached only when -e returned instead of booting the loaded kernel.
report "E2E-VALUE returned_from_exec=yes"
