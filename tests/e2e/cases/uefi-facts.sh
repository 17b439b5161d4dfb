# What a kernel knows about UEFI, reported as E2E-VALUE <prefix>_<name>=…
# (prefix $UEFI_PREFIX, default s2). Sourced by the UEFI cases in the first
# stage and, as the second-stage hook, by stage2-init.sh in the kernel that
# kexec started; both define `report`.
p=${UEFI_PREFIX:-s2}
yes_no() { if [ -e "$1" ]; then echo yes; else echo no; fi; }
report "E2E-VALUE ${p}_efi=$(yes_no /sys/firmware/efi)"
report "E2E-VALUE ${p}_runtime_map=$(ls /sys/firmware/efi/runtime-map 2>/dev/null | wc -l)"
report "E2E-VALUE ${p}_systab=$(tr '\n' ' ' </sys/firmware/efi/systab 2>/dev/null)"
report "E2E-VALUE ${p}_efivars_ops=$(dmesg | grep -c 'Registered efivars operations')"
report "E2E-VALUE ${p}_efi_errors=$(dmesg | grep -i 'efi' | grep -c -i -E 'fail|error|corrupt')"
report "E2E-VALUE ${p}_dmi_product=$(cat /sys/class/dmi/id/product_name 2>/dev/null)"
report "E2E-VALUE ${p}_fb=$(tr '\n' ' ' </proc/fb 2>/dev/null)"
report "E2E-VALUE ${p}_type_of_loader=$(od -An -tx1 -j 528 -N 1 /sys/kernel/boot_params/data | tr -d ' ')"
dmesg | grep -E 'efi:|efifb:' | while IFS= read -r line; do report "E2E-VALUE ${p}_dmesg=$line"; done
