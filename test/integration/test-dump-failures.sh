#!/usr/bin/env bash
# A failed dump leaves the tree running as it was. For each injected fault (MINICR_FAULT=step)
# and for real failures (a missing pid, an unsupported fd kind, a task that dies mid-dump),
# minicr dump must exit 1 with exactly one error line, leave no image behind, and the tree
# must carry on: the scenario then checks itself after SIGUSR1.
set -u
MINICR=${MINICR:-./minicr}
BIN=${SCENARIO_BIN:-./test/scenarios}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace)"
	exit 77
fi
work=$(mktemp -d /tmp/minicr-dump-failures.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

start() { # scenario -> sets pid, dir
	dir="$work/$1.$RANDOM"
	mkdir -p "$dir"
	export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
	"$BIN/launch" "$BIN/$1" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 3000); do [ -s "$dir/ready" ] && return 0; sleep 0.01; done
	return 1
}

finish() { # name -> checks the scenario's own verdict
	kill -USR1 "$pid"
	for _ in $(seq 3000); do [ -s "$dir/result" ] && break; sleep 0.01; done
	wait "$pid" 2>/dev/null
	if [ "$(head -1 "$dir/result" 2>/dev/null)" = PASS ]; then
		ok "$1: the tree carried on intact"
	else
		not_ok "$1: the tree was damaged: $(cat "$dir/result" 2>/dev/null)"
	fi
}

expect_one_error() { # name log
	local n
	n=$(grep -c "error" "$2")
	if [ "$n" = 1 ]; then
		ok "$1: one error line: $(cat "$2")"
	else
		not_ok "$1: expected one error line, got $n: $(cat "$2")"
	fi
}

# A refused dump (the command's exit status in $1): status 1, one error line that matches
# pattern, no images.
expect_refusal() { # status name pattern what-the-line-names
	[ "$1" = 1 ] && ok "$2: status 1" || not_ok "$2: dump did not fail (status $1)"
	expect_one_error "$2" "$dir/err"
	if grep -q "$3" "$dir/err"; then
		ok "$2: the line names $4"
	else
		not_ok "$2: unclear message: $(cat "$dir/err")"
	fi
	expect_no_images "$2" "$dir/img"
}

expect_no_images() { # name images-dir
	if [ -z "$(ls -A "$2" 2>/dev/null)" ]; then
		ok "$1: no image left behind"
	else
		not_ok "$1: images left behind: $(ls -A "$2" | tr '\n' ' ')"
	fi
}

# Injected faults, at every step of the sequence, on a tree with a child process and a
# shared file description (shared-fds) and on one with threads.
for scenario in shared-fds threads; do
	for step in seize mounts infect drain state images cure; do
		start "$scenario" || { not_ok "$scenario/$step: scenario did not start"; continue; }
		MINICR_FAULT=$step "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
		status=$?
		if [ $status = 1 ]; then
			ok "$scenario/$step: dump failed with status 1"
		else
			not_ok "$scenario/$step: dump exited $status"
		fi
		expect_one_error "$scenario/$step" "$dir/err"
		expect_no_images "$scenario/$step" "$dir/img"
		finish "$scenario/$step"
	done
done

# Two faults: the first fails the dump, the failure path meets no second one.
for faults in drain,cure state,cure infect,cure; do
	start shared-fds || { not_ok "$faults: scenario did not start"; continue; }
	MINICR_FAULT=$faults "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
	[ $? = 1 ] && ok "$faults: dump failed with status 1" || not_ok "$faults: dump did not fail"
	expect_one_error "$faults" "$dir/err"
	expect_no_images "$faults" "$dir/img"
	finish "$faults"
done

# An fd kind minicr does not support: the line names pid, fd, kind and path.
start unsupported-socket
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "unsupported fd" "fd [0-9]* of task $pid: unsupported kind 'socket'" \
	"the task, the fd and the kind"
finish "unsupported fd"

# A task of the tree dies while the tree is seized (MINICR_FAULT=exit kills the last one).
start shared-fds
child=$(ps -o pid= --ppid "$pid" | tr -d ' ')
MINICR_FAULT=exit "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
[ $? = 1 ] && ok "task exits mid-dump: status 1" || not_ok "task exits mid-dump: dump did not fail"
expect_one_error "task exits mid-dump" "$dir/err"
state=$(awk '/^State:/ {print $2} /^TracerPid:/ {print $2}' "/proc/$pid/status" | tr '\n' ' ')
if [ "$state" = "S 0 " ] || [ "$state" = "R 0 " ]; then
	ok "task exits mid-dump: the rest of the tree runs untraced ($state)"
else
	not_ok "task exits mid-dump: the root is left '$state'"
fi
[ -n "$child" ] && [ ! -d "/proc/$child/task" ] || [ "$(awk '/^State:/ {print $2}' "/proc/$child/status" 2>/dev/null)" = Z ] &&
	ok "task exits mid-dump: the killed child is gone" || not_ok "task exits mid-dump: child $child still alive"
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

# More fds than minicr may hold under its hard fd limit: refused before any is drained.
start shared-fds
prlimit --nofile=48:48 "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "fd limit" "cannot dump task $pid: it has [0-9]* fds, more than minicr can hold" \
	"the task and the limit"
finish "fd limit"

# Refusals to seize name their reason (status 1, one line, no images).
refused() { # name pattern what-the-line-names command... (@img: the images dir)
	local name=$1 pattern=$2 what=$3 scenario_dir=$dir
	shift 3
	dir="$work/refused.$RANDOM"
	mkdir -p "$dir"
	"${@//@img/$dir/img}" 2>"$dir/err"
	expect_refusal $? "$name" "$pattern" "$what"
	dir=$scenario_dir
}
start shared-fds
strace -p "$pid" -o /dev/null 2>/dev/null &
tracer=$!
for _ in $(seq 300); do [ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$pid/status")" != 0 ] && break; sleep 0.01; done
refused "already traced" "cannot seize task $pid: it is already traced by task $tracer (strace)" \
	"the task and its tracer" "$MINICR" dump -t "$pid" -D @img
kill "$tracer"
wait "$tracer" 2>/dev/null
finish "already traced"
refused "minicr itself" "cannot seize task [0-9]*: it is minicr itself" "minicr" \
	bash -c 'exec "$0" dump -t $$ -D "$1"' "$MINICR" @img
refused "minicr in the tree" "cannot seize task [0-9]*: minicr itself (pid [0-9]*) runs in its tree" \
	"minicr in the tree" bash -c '"$0" dump -t $$ -D "$1"; exit $?' "$MINICR" @img
refused "pid 1" "cannot seize task 1: it is the init process" "pid 1" \
	"$MINICR" dump -t 1 -D @img
kthread=
for p in /proc/[0-9]*; do
	grep -qE '^Kthread:[[:space:]]*1' "$p/status" 2>/dev/null && { kthread=${p#/proc/}; break; }
done
if [ -n "$kthread" ]; then
	refused "kernel thread" "cannot seize task $kthread: it is a kernel thread" "a kernel thread" \
		"$MINICR" dump -t "$kthread" -D @img
else
	echo "ok - kernel thread # SKIP no kernel thread visible in this pid namespace"
fi

# A pid that does not exist.
"$MINICR" dump -t 4194304 -D "$work/none" 2>"$work/missing.err"
[ $? = 1 ] && ok "missing pid: status 1" || not_ok "missing pid: dump did not fail"
expect_one_error "missing pid" "$work/missing.err"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
