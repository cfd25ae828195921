#!/usr/bin/env bash
# A restore that fails at one of the fd kinds' steps (MINICR_FAULT=step) leaves nothing: exit
# status 1, one error line naming the step, no task of the tree alive; and the same images
# then restore for real, the scenario checking itself. Steps: late (the root opening the files
# that wait for the whole tree: pidfds), after-install (epoll items, timers, terminals).
set -u
MINICR=${MINICR:-./minicr}
BIN=${SCENARIO_BIN:-./test/scenarios}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace, clone3 set_tid)"
	exit 77
fi
work=$(mktemp -d /tmp/minicr-restore-faults.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

tree_pids() { ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'; }

wait_gone() { # sid
	for _ in $(seq 3000); do [ -z "$(tree_pids "$1")" ] && return 0; sleep 0.01; done
	return 1
}

check() { # scenario step
	local name="$1/$2" dir="$work/$1.$2" pid status
	mkdir -p "$dir/img"
	export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
	"$BIN/launch" "$BIN/$1" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 3000); do [ -s "$dir/ready" ] && break; sleep 0.01; done
	if ! "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/dump.err"; then
		not_ok "$name: dump failed: $(cat "$dir/dump.err")"
		kill -9 "$pid"; wait "$pid"
		return
	fi
	wait "$pid" 2>/dev/null
	wait_gone "$pid" || { not_ok "$name: the dumped tree is still alive"; return; }
	MINICR_FAULT=$2 "$MINICR" restore -D "$dir/img" -d 2>"$dir/err"
	status=$?
	[ $status = 1 ] && ok "$name: restore failed with status 1" ||
		not_ok "$name: restore exited $status"
	if [ "$(grep -c error "$dir/err")" = 1 ] && grep -q "injected fault at step '$2'" "$dir/err"; then
		ok "$name: one error line naming the step"
	else
		not_ok "$name: expected one error line naming '$2': $(cat "$dir/err")"
	fi
	if wait_gone "$pid"; then
		ok "$name: no task left"
	else
		not_ok "$name: tasks left: $(tree_pids "$pid" | tr '\n' ' ')"
		tree_pids "$pid" | xargs -r kill -9
		wait_gone "$pid"
	fi
	if ! "$MINICR" restore -D "$dir/img" -d 2>"$dir/err2"; then
		not_ok "$name: the restore after the fault failed: $(cat "$dir/err2")"
		return
	fi
	kill -USR1 "$pid"
	for _ in $(seq 3000); do [ -s "$dir/result" ] && break; sleep 0.01; done
	if [ "$(head -1 "$dir/result" 2>/dev/null)" = PASS ]; then
		ok "$name: restored after the fault, and the scenario passes"
	else
		not_ok "$name: the scenario after the fault: $(cat "$dir/result" 2>/dev/null)"
		tree_pids "$pid" | xargs -r kill -9
	fi
}

check pidfds late
check epoll-items after-install
check timer-signal-fds after-install

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
