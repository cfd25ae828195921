#!/bin/bash
# guest-tests.sh: what the kernel-VM lane runs inside the guest (started by test/vm/init.c).
# Every line meant for the host starts with "@@vm ":
#   @@vm result pass|fail|skip NAME[: DETAIL]   one test result
#   @@vm log NAME: LINE                          output of a failed test (its last lines)
#   @@vm info TEXT                               facts about the guest
#   @@vm json-begin NAME / @@vm json LINE / @@vm json-end NAME
#                                                a JSON document handed to the host
# Layout (made by contrib/vm/build-initramfs.sh): /vm/build = the build tree's binaries,
# /vm/src = the source tree's scripts, /vm/config = settings from the host.
set -u
B=/vm/build
S=/vm/src
VM_SCENARIO_MODES="dump"
VM_TESTS=all
VM_TEST_TIMEOUT=90
VM_TEST_TIMEOUTS=
VM_SCENARIO_TIMEOUT=60
VM_SCENARIO_BUDGET=240
# shellcheck disable=SC1091
[ -r /vm/config ] && . /vm/config
export MINICR=$B/minicr SCENARIO_BIN=$B/test/scenarios
cd /tmp || exit 1

result() { # pass|fail|skip name [detail]
	echo "@@vm result $1 $2${3:+: $3}"
}
show_log() { # name file: its failure lines, then its last lines
	{
		grep -E '^(not ok|FAIL)' "$2" | head -n 15
		echo "..."
		tail -n 10 "$2"
	} | sed "s|^|@@vm log $1: |"
}
emit_json() { # name file
	echo "@@vm json-begin $1"
	sed 's/^/@@vm json /' "$2"
	echo "@@vm json-end $1"
}
# kill_strays NAME: processes a test left behind (restored trees run in sessions of their own,
# out of timeout's reach) would eat the guest's little CPU: kill all but init, the kernel's
# threads and this script.
kill_strays() {
	local p pp k v n=0
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = 1 ] || [ "$p" = 2 ] || [ "$p" = $$ ] && continue
		pp=
		while read -r k v; do
			[ "$k" = PPid: ] && { pp=$v; break; }
		done 2>/dev/null <"/proc/$p/status"
		[ -z "$pp" ] || [ "$pp" = 2 ] && continue
		kill -9 "$p" 2>/dev/null && n=$((n + 1))
	done
	[ "$n" = 0 ] || echo "@@vm info $1 left $n processes running: killed"
}
now_ms() { local t; read -r t _ </proc/uptime; t=${t/./}; echo $((10#$t * 10)); }
# test_timeout NAME: its own limit from VM_TEST_TIMEOUTS ("NAME=SECONDS ..."), or the default
test_timeout() {
	local kv
	for kv in $VM_TEST_TIMEOUTS; do
		[ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return; }
	done
	echo "$VM_TEST_TIMEOUT"
}
left_out=''

echo "@@vm info kernel $(uname -r), guest up $(cut -d" " -f1 /proc/uptime) s"
echo "@@vm info cpus $(nproc) mem $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"
echo "@@vm info modules: $(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ')"

# ---- 1. minicr check: statmount_by_fd must be there on this kernel -------------------------
"$MINICR" check --json >/tmp/check.json 2>/tmp/check.err
rc=$?
by_fd=$(grep -E '"statmount_by_fd"' /tmp/check.json)
echo "@@vm info check exit $rc: ${by_fd# }"
if [ -z "$by_fd" ]; then
	result fail "check-json/statmount_by_fd" "no statmount_by_fd in minicr check --json (exit $rc)"
	show_log check /tmp/check.err
elif echo "$by_fd" | grep -Eq '"available": *true'; then
	result pass "check-json/statmount_by_fd" "available"
else
	result fail "check-json/statmount_by_fd" "reported absent on $(uname -r)"
fi

# ---- 2. the integration tests of the build tree ----------------------------------------------
# programs from the build tree, scripts (*.sh) from the source tree, in make check's environment
export SCENARIO_RUN=$S/test/scenarios/run.sh
# test-dump-crash.sh kills minicr at hundreds of points; under TCG a sample of them fits its
# timeout (it prints how many it covered): some ptrace, wait4, pwrite, socket and rename calls
export ALWAYS_STRIDE=${VM_CRASH_ALWAYS_STRIDE:-16} SAMPLE_STRIDE=${VM_CRASH_SAMPLE_STRIDE:-0}
export RANDOM_KILLS=${VM_CRASH_RANDOM_KILLS:-10} FULL_DISK_KILLS=${VM_FULL_DISK_KILLS:-3}
export FULL_DISK_MEMORY_MB=${VM_FULL_DISK_MEMORY_MB:-48} FULL_DISK_FDS=${VM_FULL_DISK_FDS:-1000}
for t in "$B"/test/integration/* "$S"/test/integration/*.sh; do
	[ -f "$t" ] && [ "${t##*/}" != lib.sh ] || continue
	name=integration/${t##*/}
	run=("$t")
	if [ "${t%.sh}" != "$t" ]; then
		run=(bash "$t")
	elif [ ! -x "$t" ]; then
		continue
	fi
	# VM_TESTS: "all", or the tests this run is for (the others are listed once, below)
	case " $VM_TESTS " in
	" all "|*" ${t##*/} "*) ;;
	*) left_out+=" ${t##*/}"; continue ;;
	esac
	limit=$(test_timeout "${t##*/}")
	start=$(now_ms)
	timeout -k 5 "$limit" "${run[@]}" >/tmp/out.log 2>&1
	rc=$?
	again=''
	# a failure (not a timeout or a skip) gets a second try, as a scenario does (see below)
	if [ "${VM_RETRY:-1}" = 1 ] && [ $rc != 0 ] && [ $rc != 77 ] && [ $rc != 124 ] &&
	   [ $rc != 137 ]; then
		echo "@@vm info $name: failed (exit $rc), trying once more:" \
			"$(grep -m 1 -E '^(not ok|FAIL)' /tmp/out.log)"
		kill_strays "$name"
		start=$(now_ms) again=", on the second try"
		timeout -k 5 "$limit" "${run[@]}" >/tmp/out.log 2>&1
		rc=$?
	fi
	secs="$(( ($(now_ms) - start) / 1000 )) s$again"
	# evidence of the fd-based statmount path, where a test prints it
	grep -iE 'by[_ -]fd' /tmp/out.log | head -n 3 | sed "s|^|@@vm info $name: |"
	case $rc in
	0) result pass "$name" "$secs" ;;
	77) result skip "$name" "$(tail -n 1 /tmp/out.log)" ;;
	124|137) result fail "$name" "timed out after $limit s"; show_log "$name" /tmp/out.log ;;
	*) result fail "$name" "exit $rc after $secs"; show_log "$name" /tmp/out.log ;;
	esac
	kill_strays "$name"
done
[ -z "$left_out" ] ||
	echo "@@vm info not run here (VM_TESTS; the host's make check runs them):$left_out"

# ---- 3. the scenario suite --------------------------------------------------------------------
# dump/restore are probed on a pid and a directory that cannot exist, so nothing is touched.
not_implemented() { # command...
	"$@" >/tmp/probe.log 2>&1
	grep -q 'not implemented' /tmp/probe.log
}
dump_ok=1 restore_ok=1
not_implemented "$MINICR" dump -t 999999 -D /tmp/no-such-images-dir --leave-running && dump_ok=
not_implemented "$MINICR" restore -D /tmp/no-such-images-dir -d && restore_ok=
d="not available" r="not available"
[ -n "$dump_ok" ] && d=available
[ -n "$restore_ok" ] && r=available
echo "@@vm info dump: $d, restore: $r; scenario modes: $VM_SCENARIO_MODES"

# The scenario names, as run.sh lists them; each runs alone under its own timeout, and a mode
# gets at most VM_SCENARIO_BUDGET seconds in all (a broken mode must not eat the lane's time).
scenarios=$(sed -n '/^all_scenarios=(/,/^)/p' "$S/test/scenarios/run.sh" | sed '1d;$d' |
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e 's/:.*//' | grep -v '^$')
[ -n "$scenarios" ] || scenarios=ALL

# run_scenario MODE NAME: one run.sh invocation; its "ok"/"not ok" lines become results.
# A scenario that fails (not one that times out) runs once more: TCG on a loaded host can stall
# a vCPU for longer than a scenario's timing window. The first failure stays in the output.
run_scenario() {
	local mode=$1 name=$2 rc n=0 line l first=''
	local args=(--mode "$mode")
	[ "$name" != ALL ] && args+=("$name")
	timeout -k 5 "$VM_SCENARIO_TIMEOUT" bash "$S/test/scenarios/run.sh" "${args[@]}" \
		>/tmp/scn.log 2>&1
	rc=$?
	if [ "$name" != ALL ] && [ "${VM_RETRY:-1}" = 1 ] && grep -q '^not ok' /tmp/scn.log; then
		first=$(grep -m 1 '^not ok' /tmp/scn.log)
		echo "@@vm info scenarios-$mode/$name: failed, trying once more: ${first#not ok * - }"
		kill_strays "scenarios-$mode/$name"
		timeout -k 5 "$VM_SCENARIO_TIMEOUT" bash "$S/test/scenarios/run.sh" "${args[@]}" \
			>/tmp/scn.log 2>&1
		rc=$?
	fi
	while IFS= read -r line; do
		case "$line" in
		"ok "*" # SKIP "*)
			l=${line#ok * - }; result skip "scenarios-$mode/${l%% # SKIP *}" "${l#* # SKIP }" ;;
		"ok "*)
			l=${line#ok * - }
			result pass "scenarios-$mode/${l%% # *}" "${first:+passed on the second try}" ;;
		"not ok "*)
			l=${line#not ok * - }; result fail "scenarios-$mode/${l%%: *}" "${l#*: }" ;;
		*) continue ;;
		esac
		n=$((n + 1))
	done </tmp/scn.log
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		result fail "scenarios-$mode/$name" "timed out after $VM_SCENARIO_TIMEOUT s"
		show_log "scenarios-$mode/$name" /tmp/scn.log
	elif [ "$n" = 0 ] || { [ "$rc" != 0 ] && ! grep -q '^not ok' /tmp/scn.log; }; then
		result fail "scenarios-$mode/$name" "run.sh exit $rc"
		show_log "scenarios-$mode/$name" /tmp/scn.log
	fi
}

for mode in $VM_SCENARIO_MODES; do
	if [ -z "$dump_ok" ] && [ "$mode" != baseline ]; then
		result skip "scenarios-$mode" "dump not available"
		continue
	fi
	if [ "$mode" = cr ] && [ -z "$restore_ok" ]; then
		result skip "scenarios-$mode" "restore not available"
		continue
	fi
	start=$(now_ms)
	for name in $scenarios; do
		spent=$((($(now_ms) - start) / 1000))
		if [ "$spent" -ge "$VM_SCENARIO_BUDGET" ]; then
			result fail "scenarios-$mode/$name" "not run: --mode $mode used up its $VM_SCENARIO_BUDGET s"
			continue
		fi
		run_scenario "$mode" "$name"
		kill_strays "scenarios-$mode/$name"
	done
	echo "@@vm info scenarios --mode $mode: $((($(now_ms) - start) / 1000)) s"
done

# ---- 4. cross-check: the detached-bind scenario's images, compared on the host ---------------
xc=/tmp/xc
if [ -z "$dump_ok" ]; then
	echo "@@vm xcheck skip dump not available"
else
	mkdir -p "$xc/img"
	export SCENARIO_READY=$xc/ready SCENARIO_RESULT=$xc/result
	"$B/test/scenarios/launch" "$B/test/scenarios/detached-bind" </dev/null >"$xc/out" 2>&1 &
	pid=$!
	for ((i = 0; i < 3000; i++)); do
		[ -s "$xc/ready" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	if [ ! -s "$xc/ready" ]; then
		echo "@@vm xcheck fail detached-bind never became ready: $(tail -n 1 "$xc/out")"
	elif ! "$MINICR" dump -t "$pid" -D "$xc/img" --leave-running -o "$xc/dump.log"; then
		echo "@@vm xcheck fail dump failed: $(tail -n 1 "$xc/dump.log")"
		show_log xcheck "$xc/dump.log"
	elif ! "$MINICR" show --json "$xc/img" >"$xc/show.json" 2>"$xc/show.err"; then
		echo "@@vm xcheck fail show --json failed: $(tail -n 1 "$xc/show.err")"
	else
		emit_json detached-bind "$xc/show.json"
		echo "@@vm xcheck done"
	fi
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
fi
echo "@@vm info guest tests done, guest up $(cut -d" " -f1 /proc/uptime) s"
echo "@@vm finished"
