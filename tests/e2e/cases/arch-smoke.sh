# Smoke test of a guest (architecture, kernel, firmware): the tool starts and
# answers, and the facts a load planner starts from are reported: /proc/iomem,
# the firmware interfaces, the device tree's memory nodes. Optional parts, so
# that one boot serves a kernel:
#   SMOKE_KJUMP=yes         a --load-preserve-context load (the tool first probes
#                           that the kernel accepts KEXEC_PRESERVE_CONTEXT), then -u;
#   SMOKE_KDUMP_FLAGS=-s    a crash kernel loaded with these flags ($CRASH_APPEND),
#                           then sysrq-c: the second stage reports /proc/vmcore.
step version kexec --version
step status kexec -S --json
step dry_run kexec -l "$KERNEL" --dry-run -c
step iomem cat /proc/iomem
for f in fdt efi acpi; do
	if [ -e "/sys/firmware/$f" ]; then report "E2E-VALUE firmware_$f=yes"; else report "E2E-VALUE firmware_$f=no"; fi
done
# Memory nodes of the device tree the kernel booted with (none under UEFI).
step dt_memory sh -c 'ls -d /proc/device-tree/memory* 2>/dev/null; true'
value kexec_loaded /sys/kernel/kexec_loaded

if [ "$SMOKE_KJUMP" = yes ]; then
	# The preserved kernel's memory must stay above the image: place it below 512 MiB.
	step jump_load kexec -l --load-preserve-context --mem-max=0x20000000 -c "$KERNEL" \
		--initrd="$INITRD" --append="console=$E2E_CONSOLE"
	value jump_loaded /sys/kernel/kexec_loaded
	step jump_unload kexec -u
	value jump_loaded_after_unload /sys/kernel/kexec_loaded
fi

if [ -n "$SMOKE_KDUMP_FLAGS" ]; then
	value crash_size /sys/kernel/kexec_crash_size
	step crash_load kexec -p $SMOKE_KDUMP_FLAGS "$KERNEL" --initrd="$INITRD" --append="$CRASH_APPEND"
	value crash_loaded /sys/kernel/kexec_crash_loaded
	echo 1 >/proc/sys/kernel/sysrq
	report "E2E-VALUE triggering_crash=yes"
	echo c >/proc/sysrq-trigger
	report "E2E-VALUE survived_crash=yes"
fi
