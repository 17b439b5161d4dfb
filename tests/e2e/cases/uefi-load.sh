# A UEFI guest (OVMF) loads a kernel with LOAD_FLAGS (-c or -s) and -d, and
# boots it; the first stage and the second kernel (hook uefi-facts.sh) report
# what they know about EFI. Params: LOAD_FLAGS, KEXEC_APPEND; /e2e/uefi-facts.sh.
UEFI_PREFIX=s1 . /e2e/uefi-facts.sh
step load kexec $LOAD_FLAGS -l -d "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND"
value loaded_after /sys/kernel/kexec_loaded
step exec kexec -e
# Reached only when -e returned instead of booting the loaded kernel.
report "E2E-VALUE returned_from_exec=yes"
