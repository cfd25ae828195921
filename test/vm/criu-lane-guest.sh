#!/bin/bash
# criu-lane-guest.sh: what the CRIU lane runs inside the guest (contrib/vm/run-criu-lane.sh puts
# it in the initramfs as /vm/guest-tests.sh, which test/vm/init.c starts). It runs every
# scenario of test/scenarios/run.sh and minicr's zdtm-protocol scenarios under minicr and under
# Debian unstable's criu (/criu/criu), one run.sh call per scenario under a timeout, and reports
# each verdict to the host. Lines meant for the host start with "@@vm ":
#   @@vm info TEXT                                   facts about the guest and the engines
#   @@vm scn ENGINE MODE NAME pass|fail|known|xpass|skip [DETAIL]
#                                                    one scenario's verdict against its
#                                                    expectation (known: an expected failure;
#                                                    xpass: it passed, but is expected to fail)
#   @@vm log NAME: LINE                              output of a failed run.sh call
# The reproducer bundles of every failure go out as a base64 tar on the second serial port
# (/dev/ttyS1), between the lines "@@bundles-begin" and "@@bundles-end".
set -u
B=/vm/build
S=/vm/src
CL_MODES=cr
CL_SCENARIO_TIMEOUT=120
CL_RETRY=1
CL_MAX_IMAGE_KB=2048
# shellcheck disable=SC1091
[ -r /vm/criu-lane.conf ] && . /vm/criu-lane.conf
export MINICR=$B/minicr SCENARIO_BIN=$B/test/scenarios CRIU=/criu/criu
export SCENARIO_EXPECTED=$S/test/scenarios/expected SCENARIO_BUNDLES=/tmp/bundles
cd /tmp || exit 1

now_ms() { local t; read -r t _ </proc/uptime; t=${t/./}; echo $((10#$t * 10)); }
# Processes a scenario left behind (restored trees run in sessions of their own) would eat the
# guest's little CPU: kill all but init, the kernel's threads and this script.
kill_strays() {
	local p pp k v
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = 1 ] || [ "$p" = 2 ] || [ "$p" = $$ ] && continue
		pp=
		while read -r k v; do
			[ "$k" = PPid: ] && { pp=$v; break; }
		done 2>/dev/null <"/proc/$p/status"
		[ -z "$pp" ] || [ "$pp" = 2 ] && continue
		kill -9 "$p" 2>/dev/null
	done
}

# init brought the loopback up (CRIU's feature probes connect to 127.0.0.1) and loaded the
# modules of /vm/modules (sock_diag's handlers: CRIU asks about every socket family of a tree)
echo "@@vm info modules: $(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ')"
echo "@@vm info kernel $(uname -r), cpus $(nproc), guest up $(cut -d' ' -f1 /proc/uptime) s"
echo "@@vm info minicr: $("$MINICR" --version 2>&1)"
echo "@@vm info criu: $("$CRIU" --version 2>&1 | head -n 1)"
"$CRIU" check >/tmp/criu-check.log 2>&1
echo "@@vm info criu check (exit $?): $(grep -v RLIMIT_NOFILE /tmp/criu-check.log | tail -n 1)"

scenarios=$(sed -n '/^all_scenarios=(/,/^)/p' "$S/test/scenarios/run.sh" | sed '1d;$d' |
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e 's/:.*//' | grep -v '^$')
zdtm=(--zdtm "$SCENARIO_BIN/zdtm-file-pipe" --filename --zdtm "$SCENARIO_BIN/zdtm-cwd-dir" --dirname)

# emit ENGINE MODE LOG: run.sh's lines as @@vm scn lines; prints how many it found
emit() {
	local engine=$1 mode=$2 log=$3 line l name n=0
	while IFS= read -r line; do
		case "$line" in
		"ok "*" # SKIP "*)
			l=${line#ok * - }; name=${l%% # SKIP *}
			echo "@@vm scn $engine $mode $name skip ${l#* # SKIP }" ;;
		"ok "*)
			l=${line#ok * - }; name=${l%% # *}
			echo "@@vm scn $engine $mode $name pass" ;;
		"not ok "*" # TODO known failure under "*)
			l=${line#not ok * - }; name=${l%% # TODO *}
			echo "@@vm scn $engine $mode $name known ${l#* # TODO known failure under $engine: }" ;;
		"not ok "*": passed, but "*)
			l=${line#not ok * - }; name=${l%%: *}
			echo "@@vm scn $engine $mode $name xpass ${l#*: }" ;;
		"not ok "*)
			l=${line#not ok * - }; name=${l%%: *}
			echo "@@vm scn $engine $mode $name fail ${l#*: }" ;;
		*) continue ;;
		esac
		n=$((n + 1))
	done <"$log"
	echo "$n" >/tmp/emit.count
}

# run ENGINE MODE LABEL RUN.SH-ARGS...: one run.sh call under a timeout, once more if it failed
# against its expectation (TCG on a loaded host can stall a vCPU past a scenario's timing
# window); the first failure stays visible as an info line.
run() {
	local engine=$1 mode=$2 label=$3 rc
	shift 3
	timeout -k 5 "$CL_SCENARIO_TIMEOUT" bash "$S/test/scenarios/run.sh" --engine "$engine" \
		--mode "$mode" "$@" >/tmp/run.log 2>&1
	rc=$?
	if [ "$CL_RETRY" = 1 ] && grep -q '^not ok .* - [^#]*$' /tmp/run.log &&
	   ! grep -q 'passed, but' /tmp/run.log; then
		echo "@@vm info $engine/$mode/$label: failed, trying once more:" \
			"$(grep -m 1 '^not ok' /tmp/run.log | cut -c1-300)"
		kill_strays
		timeout -k 5 "$CL_SCENARIO_TIMEOUT" bash "$S/test/scenarios/run.sh" --engine "$engine" \
			--mode "$mode" "$@" >/tmp/run.log 2>&1
		rc=$?
	fi
	emit "$engine" "$mode" /tmp/run.log
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "@@vm scn $engine $mode $label fail timed out after $CL_SCENARIO_TIMEOUT s"
	elif [ "$(cat /tmp/emit.count)" = 0 ]; then
		echo "@@vm scn $engine $mode $label fail run.sh exit $rc"
		tail -n 5 /tmp/run.log | sed "s|^|@@vm log $engine/$label: |"
	fi
	kill_strays
}

for engine in minicr criu; do
	for mode in $CL_MODES; do
		start=$(now_ms)
		for name in $scenarios; do
			run "$engine" "$mode" "$name" "$name"
		done
		run "$engine" "$mode" zdtm "${zdtm[@]}"
		echo "@@vm info $engine --mode $mode: $((($(now_ms) - start) / 1000)) s"
	done
done

# ---- the reproducer bundles, out through the second serial port -------------------------------
# Images too large for the serial line are replaced by a note with their size.
if [ -d /tmp/bundles ]; then
	find /tmp/bundles -type f -size +"${CL_MAX_IMAGE_KB}"k | while read -r f; do
		echo "left out of the bundle (too large for the serial line): $(stat -c %s "$f") bytes" >"$f.left-out"
		rm -f "$f"
	done
	n=$(find /tmp/bundles -mindepth 1 -maxdepth 1 -type d | wc -l)
	{
		echo "@@bundles-begin"
		tar -C /tmp -czf - bundles | base64 -w 76
		echo "@@bundles-end"
	} >/dev/ttyS1
	echo "@@vm info $n bundles sent ($(du -sk /tmp/bundles | cut -f1) kB)"
fi
echo "@@vm info guest done, up $(cut -d' ' -f1 /proc/uptime) s"
echo "@@vm finished"
