# Kernel B's hook of kjump.sh (sourced by stage2-init.sh after it reported the
# token and /proc/cmdline): with the tool from the first stage's base archive,
# load the jump-back helper from kexec_jump_back_entry= and jump back. Nothing
# after the kexec -e runs unless A jumps into B again.
export PATH=/sbin:/bin:/usr/bin HOME=/tmp DENO_DIR=/tmp/deno DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
E2E_RESULTS_PORT=$RESULTS
. /e2e/lib.sh
mkdir -p /tmp/e2e /tmp/deno
report "E2E-VALUE b_ram=$(grep 'System RAM' /proc/iomem | tr '\n' ' ')"
step b_helper kexec -d --load-jump-back-helper
value b_loaded /sys/kernel/kexec_loaded
report "E2E-VALUE b_exec=$(uptime_ms)"
step b_exec kexec -e
report "E2E-VALUE b_exec_returned=yes"
