#!/usr/bin/env bash
# A failed dump leaves the tree running as it was. For each injected fault (MINICR_FAULT=step)
# and for real failures (a missing pid, an unsupported fd kind, a task that dies mid-dump),
# minicr dump must exit 1 with exactly one error line, leave no image behind, and the tree
# must carry on: the scenario then checks itself after SIGUSR1.
set -u
. "$(dirname "$0")/lib.sh"

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
	for step in seize mounts infect drain state images check cure; do
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

# Injected faults in the socket kinds' own steps: the sockets come out as they went in (a
# queue read half way keeps its bytes and SO_PEEK_OFF; connections leave TCP repair mode).
# task-attrs/task-attrs: a failure between the syscalls injected to read THP and mlockall modes,
# which block the task's signals while they run: the tree must get its mask back.
for case in unix-pairs/sock-diag unix-pairs/sock-queue inet-tcp/tcp-repair inet-tcp/sock-finish \
	sock-chat/sock-finish task-attrs/task-attrs; do
	scenario=${case%/*} step=${case#*/}
	start "$scenario" || { not_ok "$case: scenario did not start"; continue; }
	MINICR_FAULT=$step "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
	status=$?
	[ $status = 1 ] && ok "$case: dump failed with status 1" || not_ok "$case: dump exited $status"
	expect_one_error "$case" "$dir/err"
	expect_no_images "$case" "$dir/img"
	finish "$case"
done

# An fd kind minicr does not support: the line names pid, fd, kind and path.
start unsupported-socket
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "unsupported fd" "fd [0-9]* of task $pid: unsupported kind 'netlink socket' (socket:\[[0-9]*\])" \
	"the task, the fd and the kind"
finish "unsupported fd"

# Socket states restore cannot rebuild: one line naming the task, the fd and the socket's inode.
start unix-refuse-peer
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "outside peer" \
	"fd [0-9]* of task $pid (socket:\[[0-9]*\]): its peer socket:\[[0-9]*\] is outside the dumped tree" \
	"the task, the fd, the socket and its peer"
finish "outside peer"
start unix-refuse-scm
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "fd in flight" \
	"fd [0-9]* of task $pid (socket:\[[0-9]*\]): file descriptors in flight .*SCM_RIGHTS" \
	"the task, the fd, the socket and SCM_RIGHTS"
finish "fd in flight"
start unix-refuse-unaccepted
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "data before accept" \
	"fd [0-9]* of task $pid (socket:\[[0-9]*\]): data it wrote waits, unaccepted, in the accept queue of socket:\[[0-9]*\]" \
	"the task, the fd, the socket and the listener"
finish "data before accept"
start inet-refuse-peer
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "TCP peer outside" \
	"fd [0-9]* of task $pid (socket:\[[0-9]*\]): its peer 127.0.0.1 port [0-9]* is outside the dumped tree (see --tcp-established)" \
	"the task, the fd, the socket and the peer"
finish "TCP peer outside"

# A state restore would refuse (here: a second mount namespace in the tree) is refused by the
# dump itself, through restore's own checks, before the tree is let go: the process is not lost.
start mntns-per-task
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "refused by restore's checks" \
	"cannot dump: restore would refuse the images: task [0-9]* is in mount namespace" \
	"restore's reason"
finish "refused by restore's checks"

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

# Two children sharing one fd table their parent no longer has (CLONE_FILES, then the parent's
# unshare): restore rebuilds a table shared along parent links only.
SHARED_FDTABLE_SIBLINGS=1 start shared-fdtable
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "shared fd table" "tasks [0-9]* and [0-9]*: they share one fd table" \
	"the two tasks"
finish "shared fd table"

# A pid that does not exist.
"$MINICR" dump -t 4194304 -D "$work/none" 2>"$work/missing.err"
[ $? = 1 ] && ok "missing pid: status 1" || not_ok "missing pid: dump did not fail"
expect_one_error "missing pid" "$work/missing.err"

finish_tests
