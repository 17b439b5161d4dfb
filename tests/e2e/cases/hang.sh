# Harness self-test: a guest that never finishes, to prove the hard timeout.
report "E2E-VALUE hanging=yes"
sleep 100000
