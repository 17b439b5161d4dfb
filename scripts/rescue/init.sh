#!/bin/busybox sh
# /init of the rescue initramfs of kexec for Deno (`deno task initramfs`):
# busybox and kexec. Mounts what the tool reads (/proc, /sys), runs every
# executable in /etc/rescue.d/ in name order (add yours by appending a cpio
# archive that holds them), then keeps a shell on the console. To boot another
# kernel from here: kexec -l KERNEL --initrd=INITRD --append=... && kexec -e
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s /bin
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/tmp TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
for script in /etc/rescue.d/*; do
	[ -x "$script" ] && "$script"
done
echo "rescue: busybox shell; kexec -l KERNEL --initrd=INITRD --append=... && kexec -e"
while true; do
	setsid cttyhack sh
done
