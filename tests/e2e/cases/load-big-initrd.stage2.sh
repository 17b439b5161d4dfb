# Second-stage hook of load-big-initrd.sh (sourced by stage2-init.sh, whose
# `report` it uses): size and SHA-256 of the large file that came in the initrd.
BIG_FILE=/e2e-big.bin
report "E2E-VALUE stage2_big_size=$(stat -c %s "$BIG_FILE")"
started=$(cut -d' ' -f1 /proc/uptime)
report "E2E-VALUE stage2_big_sha256=$(sha256sum "$BIG_FILE" | cut -d' ' -f1)"
report "E2E-VALUE stage2_sha256_seconds=$started..$(cut -d' ' -f1 /proc/uptime)"
# The second kernel's RAM: the end of its highest System RAM range (e820 from
# the loader) and MemTotal.
report "E2E-VALUE stage2_ram_end=$(grep ' : System RAM$' /proc/iomem | tail -n 1 | sed 's/^\([0-9a-f]*\)-\([0-9a-f]*\).*/0x\2/')"
report "E2E-VALUE stage2_memtotal_kib=$(grep '^MemTotal:' /proc/meminfo | tr -s ' ' | cut -d' ' -f2)"
