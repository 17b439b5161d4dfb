#!/bin/busybox sh
# Second-stage /init: proves which kernel command line and which initrd it got,
# and, inside a crash kernel, what /proc/vmcore looks like; then powers off.
/bin/busybox mkdir -p /proc /sys /dev /bin
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

report() {
	echo "$*" >/dev/ttyS1
	echo "$*" >/dev/console
}
hex() { od -An -v -tx1 | tr -d ' \n'; }

report "E2E-STAGE2 token=$(cat /e2e-token) kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
report "E2E-CMDLINE<$(cat /proc/cmdline)>"
report "E2E-CMDLINE-HEX $(hex </proc/cmdline)"
if [ -e /proc/vmcore ]; then
	report "E2E-VMCORE size=$(stat -c %s /proc/vmcore) head=$(head -c 64 /proc/vmcore | hex)"
	report "E2E-VMCORE-OSRELEASE $(head -c 4194304 /proc/vmcore | grep -a -o -m1 'OSRELEASE=[^[:space:]]*')"
fi
# A case may append an archive with this hook to the second-stage initrd.
if [ -r /e2e-stage2-case.sh ]; then . /e2e-stage2-case.sh; fi
report "E2E-STAGE2-END"
poweroff -f
