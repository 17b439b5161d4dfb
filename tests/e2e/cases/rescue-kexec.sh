#!/bin/sh
# Put into the rescue initramfs of `deno task initramfs` as /etc/rescue.d/50-e2e
# (an appended archive), run by its /init: loads the second kernel with the
# second-stage initrd and KEXEC_APPEND from /e2e/params.sh, and boots it.
. /e2e/params.sh
. /e2e/lib.sh
mkdir -p /tmp/e2e
report "E2E-STAGE1 token=$E2E_STAGE1_TOKEN kernel=$(uname -r) uptime=$(uptime_ms)"
step which_kexec sh -c 'command -v kexec'
step load kexec -l "$KERNEL" --initrd="$INITRD" --append="$KEXEC_APPEND"
value loaded_after /sys/kernel/kexec_loaded
step exec kexec -e
report "E2E-VALUE returned_from_exec=yes"
poweroff -f
