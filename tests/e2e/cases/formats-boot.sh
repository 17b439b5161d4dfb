# Boots the test kernel from another format (issue 11): loads IMAGE with
# LOAD_FLAGS and EXTRA_ARGS (words without spaces), --initrd="$INITRD" and
# --append="$KEXEC_APPEND" unless KEXEC_APPEND is empty (a UKI's embedded line
# is used). With BOMB set, a decompression bomb is then refused while the
# loaded kernel stays loaded, and / and /tmp are compared with before the
# loads. Then kexec -e. Params: IMAGE, LOAD_FLAGS, EXTRA_ARGS, KEXEC_APPEND,
# BOMB (optional).
before=$(ls -A /tmp /)
if [ -n "$KEXEC_APPEND" ]; then
	step load kexec $LOAD_FLAGS -d -l "$IMAGE" --initrd="$INITRD" $EXTRA_ARGS --append="$KEXEC_APPEND"
else
	step load kexec $LOAD_FLAGS -d -l "$IMAGE" --initrd="$INITRD" $EXTRA_ARGS
fi
value loaded_after /sys/kernel/kexec_loaded
if [ -n "$BOMB" ]; then
	step bomb kexec -l "$BOMB"
	value loaded_after_bomb /sys/kernel/kexec_loaded
	after=$(ls -A /tmp /)
	if [ "$before" = "$after" ]; then
		report "E2E-VALUE files_left=none"
	else
		report "E2E-VALUE files_left=$(echo "$after" | tr '\n' ' ')"
	fi
fi
step exec kexec -e
# Reached only when -e returned instead of booting the loaded kernel.
report "E2E-VALUE returned_from_exec=yes"
