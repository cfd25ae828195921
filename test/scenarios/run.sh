#!/usr/bin/env bash
# Scenario driver: starts each scenario, drives the C/R engine over it, then lets it check
# itself, and prints one line per scenario and a closing "N passed, M failed, K skipped".
#
#   run.sh [--mode baseline|dump|cr] [--engine minicr|criu] [SCENARIO...]
#
# Modes:  baseline  no engine: ready -> SIGUSR1 -> self-check (proves the scenarios themselves)
#         dump      dump --leave-running, decode the images with `minicr show`, then self-check
#                   in the same, still running, process tree
#         cr        dump (kills the tree) -> wait until its pids are gone -> restore -d ->
#                   SIGUSR1 -> the restored process checks itself
# Engines: minicr (default: $MINICR, else the build tree's ./minicr) or criu ($CRIU, else criu
#          from PATH), so the same scenarios can reproduce a CRIU bug.
# Environment: SCENARIO_BIN (dir of built scenarios), KEEP_IMAGES=1 keeps the images dirs.
set -u

mode=cr
engine=minicr
selected=()
while [ $# -gt 0 ]; do
	case "$1" in
	--mode) mode=$2; shift 2 ;;
	--mode=*) mode=${1#--mode=}; shift ;;
	--engine) engine=$2; shift 2 ;;
	--engine=*) engine=${1#--engine=}; shift ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) selected+=("$1"); shift ;;
	esac
done

bin_dir=${SCENARIO_BIN:-$(pwd)/test/scenarios}
minicr=${MINICR:-$(pwd)/minicr}
criu=${CRIU:-criu}

# name[@method][:expectation]; "dump-fails" means the engine must refuse the tree and leave it
# running; @method restores with --detached-mounts=method (minicr only).
all_scenarios=(
	file-offsets
	pipe-data
	shared-fds
	misc-fds
	threads
	detached-bind
	detached-bind@mountpoint
	detached-bind-disk
	unsupported-socket:dump-fails
	avx-registers
	blocking-syscalls
	futex-shared
	signal-restart
	dirty-memory
	process-tree
	mntns-tmpfs
	mntns-per-task:dump-fails
	orphan-tmpfs
	orphan-tmpfs@mountpoint
	orphan-tmpfs-file
	orphan-tmpfs-two
	orphan-cwd
	orphan-ext4
	orphan-ext4@mountpoint
	anon-clone
	anon-recursive
	anon-fsmount
)

case "$engine" in
minicr)
	[ -x "$minicr" ] || { echo "run.sh: minicr binary '$minicr' not found (set MINICR)"; exit 2; }
	engine_dump() { "$minicr" dump -t "$1" -D "$2" ${3:+--leave-running} -o "$2/dump.log"; }
	engine_restore() { "$minicr" restore -D "$1" -d -o "$1/restore.log" ${2:+--detached-mounts=$2}; }
	;;
criu)
	command -v "$criu" >/dev/null || { echo "skipped: criu engine requested but '$criu' is not installed"; echo "0 passed, 0 failed, ${#all_scenarios[@]} skipped"; exit 0; }
	engine_dump() { "$criu" dump -t "$1" -D "$2" ${3:+--leave-running} -o dump.log; }
	engine_restore() { "$criu" restore -D "$1" -d -o restore.log; }
	;;
*) echo "run.sh: unknown engine '$engine'"; exit 2 ;;
esac

work=$(mktemp -d /tmp/minicr-scenarios.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0 skipped=0 index=0

# Bounded waits: a hang guard, not a timing assertion. With a pid, gives up as soon as that
# process is gone (a scenario that skips exits before it is ready).
wait_for_file() { # file [pid]
	local i
	for ((i = 0; i < 3000; i++)); do
		[ -s "$1" ] && return 0
		[ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null && { [ -s "$1" ]; return; }
		sleep 0.01
	done
	return 1
}

session_pids() { ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'; }

wait_session_gone() {
	local i
	for ((i = 0; i < 3000; i++)); do
		[ -z "$(session_pids "$1")" ] && return 0
		sleep 0.01
	done
	return 1
}

report() { # status name detail
	index=$((index + 1))
	case "$1" in
	pass) passed=$((passed + 1)); echo "ok $index - $2${3:+ # $3}" ;;
	skip) skipped=$((skipped + 1)); echo "ok $index - $2 # SKIP $3" ;;
	*) failed=$((failed + 1)); echo "not ok $index - $2: $3" ;;
	esac
}

run_one() { # name expectation
	local name=$1 expect=$2 dir="$work/$1" pid status result
	local bin=${name%%@*} method=${name#*@}
	[ "$method" = "$name" ] && method=
	mkdir -p "$dir/img"
	export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
	"$bin_dir/launch" "$bin_dir/$bin" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	if ! wait_for_file "$dir/ready" "$pid"; then
		wait "$pid"; status=$?
		if [ "$status" = 77 ]; then
			report skip "$name" "$(cat "$dir/result" 2>/dev/null | sed 's/^SKIP: //')"
		else
			report fail "$name" "never became ready (status $status): $(tail -1 "$dir/out")"
		fi
		return
	fi

	case "$mode:$expect" in
	*:dump-fails)
		if [ "$mode" != baseline ] && engine_dump "$pid" "$dir/img" 2>"$dir/err"; then
			report fail "$name" "the dump of an unsupported tree succeeded"
			kill -9 "$pid" 2>/dev/null; wait "$pid"; return
		fi
		if [ "$mode" != baseline ] && [ "$engine" = minicr ] &&
		   [ "$(grep -c 'error' "$dir/img/dump.log" 2>/dev/null)" != 1 ]; then
			report fail "$name" "expected one error line, got: $(cat "$dir/img/dump.log")"
			kill -9 "$pid" 2>/dev/null; wait "$pid"; return
		fi
		;;
	dump:*)
		if ! engine_dump "$pid" "$dir/img" leave-running 2>"$dir/err"; then
			report fail "$name" "dump failed: $(tail -1 "$dir/img/dump.log" 2>/dev/null)"
			kill -9 "$pid" 2>/dev/null; wait "$pid"; return
		fi
		if [ "$engine" = minicr ] && ! "$minicr" show "$dir/img" >"$dir/show" 2>&1; then
			report fail "$name" "images do not decode: $(tail -1 "$dir/show")"
			kill -9 "$pid" 2>/dev/null; wait "$pid"; return
		fi
		;;
	cr:*)
		if ! engine_dump "$pid" "$dir/img" 2>"$dir/err"; then
			report fail "$name" "dump failed: $(tail -1 "$dir/img/dump.log" 2>/dev/null)"
			kill -9 "$pid" 2>/dev/null; wait "$pid"; return
		fi
		wait "$pid" 2>/dev/null
		if ! wait_session_gone "$pid"; then
			report fail "$name" "the dumped tree is still alive"
			return
		fi
		if ! engine_restore "$dir/img" "$method" 2>"$dir/err"; then
			report fail "$name" "restore failed: $(tail -1 "$dir/img/restore.log" 2>/dev/null)"
			return
		fi
		;;
	esac

	kill -USR1 "$pid" 2>/dev/null
	if ! wait_for_file "$dir/result"; then
		report fail "$name" "no verdict from the scenario"
		kill -9 "$pid" 2>/dev/null
	else
		result=$(head -1 "$dir/result")
		case "$result" in
		PASS) report pass "$name" ;;
		SKIP*) report skip "$name" "${result#SKIP: }" ;;
		*) report fail "$name" "$result" ;;
		esac
	fi
	wait "$pid" 2>/dev/null
	if [ -n "${KEEP_IMAGES:-}" ]; then
		cp -r "$dir" "/tmp/minicr-kept-$name"
	fi
}

echo "# scenarios: mode $mode, engine $engine"
for entry in "${all_scenarios[@]}"; do
	name=${entry%%:*}
	expect=${entry#"$name"}; expect=${expect#:}
	if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " == *" $name "* ]]; then
		continue
	fi
	run_one "$name" "$expect"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
