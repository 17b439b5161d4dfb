# Helpers for case scripts (sourced by stage1-init.sh). Results go to the results
# port ($E2E_RESULTS_PORT from params.sh: /dev/ttyS1 on x86_64, the PCI UART
# /dev/ttyS0 on aarch64), which only this code writes to, so kernel messages
# cannot split them; they are mirrored on the console for the serial log.

report() {
	echo "$*" >"${E2E_RESULTS_PORT:-/dev/ttyS1}"
	echo "$*" >/dev/console
}

uptime_ms() {
	# /proc/uptime has centiseconds: "12.34 ..."
	local t cs
	t=$(cut -d' ' -f1 /proc/uptime)
	cs=${t#*.}
	cs=${cs#0}
	echo "$((${t%.*} * 1000 + cs * 10))"
}

# step NAME COMMAND [ARGS...]: runs the command, then reports
#   E2E-STEP NAME rc=N ms=M
#   E2E-OUT NAME|<each stdout line>
#   E2E-ERR NAME|<each stderr line>
#   E2E-STEP-END NAME
step() {
	local name="$1" rc start end
	shift
	start=$(uptime_ms)
	"$@" >"/tmp/e2e/$name.out" 2>"/tmp/e2e/$name.err"
	rc=$?
	end=$(uptime_ms)
	report "E2E-STEP $name rc=$rc ms=$((end - start))"
	while IFS= read -r line || [ -n "$line" ]; do report "E2E-OUT $name|$line"; done <"/tmp/e2e/$name.out"
	while IFS= read -r line || [ -n "$line" ]; do report "E2E-ERR $name|$line"; done <"/tmp/e2e/$name.err"
	report "E2E-STEP-END $name"
	return $rc
}

# value NAME FILE: reports the content of a (one-line) file as E2E-VALUE NAME=<content>,
# or E2E-VALUE NAME=<missing>.
value() {
	if [ -e "$2" ]; then
		report "E2E-VALUE $1=$(cat "$2")"
	else
		report "E2E-VALUE $1=<missing>"
	fi
}
