#!/bin/busybox sh
# Second-stage /init: proves which kernel command line and which initrd it got,
# and, inside a crash kernel, what /proc/vmcore looks like and whether
# makedumpfile (when the case put it in this initrd) can read it; then powers off.
/bin/busybox mkdir -p /proc /sys /dev /bin /tmp
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

RESULTS=$(cat /e2e-results-port 2>/dev/null)
report() {
	echo "$*" >"${RESULTS:-/dev/ttyS1}"
	echo "$*" >/dev/console
}
hex() { od -An -v -tx1 | tr -d ' \n'; }

report "E2E-STAGE2 token=$(cat /e2e-token) kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
report "E2E-CMDLINE<$(cat /proc/cmdline)>"
report "E2E-CMDLINE-HEX $(hex </proc/cmdline)"
if [ -e /proc/vmcore ]; then
	report "E2E-VMCORE size=$(stat -c %s /proc/vmcore) head=$(head -c 64 /proc/vmcore | hex)"
	report "E2E-VMCORE-OSRELEASE $(head -c 4194304 /proc/vmcore | grep -a -o -m1 'OSRELEASE=[^[:space:]]*')"
	if [ -x /usr/bin/makedumpfile ]; then
		# Flattened format to stdout: no disk needed; it still walks the whole dump.
		/usr/bin/makedumpfile -F -l -d 31 --message-level 7 /proc/vmcore >/dev/null 2>/tmp/makedumpfile.err
		rc=$?
		report "E2E-MAKEDUMPFILE rc=$rc"
		tail -n 20 /tmp/makedumpfile.err | while IFS= read -r line; do report "E2E-MAKEDUMPFILE-ERR $line"; done
	fi
fi
# A case may append an archive with this hook to the second-stage initrd.
if [ -r /e2e-stage2-case.sh ]; then . /e2e-stage2-case.sh; fi
report "E2E-STAGE2-END"
poweroff -f
