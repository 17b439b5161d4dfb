#!/bin/busybox sh
# First-stage /init of an end-to-end guest: prepares a minimal system, runs the
# case script /e2e/case.sh, reports, and powers off. If the case boots a second
# kernel, stage2-init.sh takes over there. With E2E_NO_SYSFS=1 (a case param)
# sysfs is never mounted, like in a minimal initramfs.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /bin /sbin
/bin/busybox --install -s /bin
export PATH=/sbin:/bin:/usr/bin
. /e2e/params.sh
mount -t proc proc /proc
[ "$E2E_NO_SYSFS" = 1 ] || mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# Deno wants a writable home and cache; NO_COLOR keeps captured output plain.
export HOME=/tmp/home DENO_DIR=/tmp/deno DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
mkdir -p "$HOME" "$DENO_DIR" /tmp/e2e
ip link set lo up

. /e2e/lib.sh

report "E2E-STAGE1 token=$E2E_STAGE1_TOKEN kernel=$(uname -r) uptime=$(uptime_ms)"
exec </dev/null
. /e2e/case.sh
report "E2E-CASE-END rc=$? uptime=$(uptime_ms)"
report "E2E-STAGE1-END"
poweroff -f
