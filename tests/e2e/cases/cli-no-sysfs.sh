# Issue 10, in a first stage whose init never mounted sysfs (E2E_NO_SYSFS=1),
# like a minimal initramfs:
# - `kexec -e` with nothing loaded looks in a private sysfs mount, refuses with
#   "Nothing has been loaded!", and leaves the caller's mounts and lo as they were;
# - systemd's load (src/systemctl/systemctl-start-special.c: --load K --append C
#   --initrd I, separate words) with a byte 0xff in the command line, then `-e`
#   (systemd-shutdown) boots it; the second stage reports /proc/cmdline's bytes.
# Params: KEXEC_APPEND (the text before the 0xff byte).
grep -c ' sysfs ' /proc/self/mounts >/tmp/sysfs-before
value sysfs_before /tmp/sysfs-before
ip -o link show lo | grep -o '<[^>]*>' >/tmp/lo-before
value lo_before /tmp/lo-before
step exec_nothing kexec -e
grep -c ' sysfs ' /proc/self/mounts >/tmp/sysfs-after
value sysfs_after /tmp/sysfs-after
ip -o link show lo | grep -o '<[^>]*>' >/tmp/lo-after
value lo_after /tmp/lo-after
FF=$(printf '\377')
step load kexec --load "$KERNEL" --append "$KEXEC_APPEND e2e.byte=$FF" --initrd "$INITRD"
step exec kexec -e
# Reached only when -e returned instead of booting the loaded kernel.
report "E2E-VALUE returned_from_exec=yes"
