#!/usr/bin/env bash
# A failed dump leaves the tree running as it was. For each injected fault (MINICR_FAULT=step)
# and for real failures (a missing pid, an unsupported fd kind, a task that dies mid-dump),
# minicr dump must exit 1 with exactly one error line, leave no image behind, and the tree
# must carry on: the scenario then checks itself after SIGUSR1.
set -u
. "$(dirname "$0")/lib.sh"

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

# Two faults: the first fails the dump, the failure path meets no second one.
for faults in drain,cure state,cure infect,cure; do
	start shared-fds || { not_ok "$faults: scenario did not start"; continue; }
	MINICR_FAULT=$faults "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
	[ $? = 1 ] && ok "$faults: dump failed with status 1" || not_ok "$faults: dump did not fail"
	expect_one_error "$faults" "$dir/err"
	expect_no_images "$faults" "$dir/img"
	finish "$faults"
done

# Injected faults in the socket kinds' own steps: the sockets come out as they went in (a
# queue read half way keeps its bytes and SO_PEEK_OFF; connections leave TCP repair mode).
# task-attrs/task-attrs: a failure once the parasite reported the THP and mlockall modes, while
# it runs with the task's signals blocked: the tree must get its mask back; timers/timers
# the same between the POSIX timers' timer_gettime calls.
for case in unix-pairs/sock-diag unix-pairs/sock-queue inet-tcp/tcp-repair inet-tcp/sock-finish \
	sock-chat/sock-finish task-attrs/task-attrs timers/timers; do
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

# Two processes that share one address space: restore would split it.
start shared-mm
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "shared address space" \
	"cannot dump tasks $pid and [0-9]*: they share one address space (clone(CLONE_VM) without CLONE_THREAD)" \
	"both tasks and CLONE_VM"
finish "shared address space"

# A vfork() parent cannot be stopped until its child execs or exits: the freeze gives up after
# --timeout with one line that says so.
start vfork-parent
"$MINICR" dump -t "$pid" -D "$dir/img" --timeout 1 2>"$dir/err"
expect_refusal $? "vfork parent" \
	"cannot seize task $pid: it did not stop within 1 s: it is a vfork() parent" \
	"the task, the time limit and vfork()"
finish "vfork parent"

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

# A state restore would refuse (here: a peer group whose members' roots lie apart, which
# MOVE_MOUNT_SET_GROUP cannot rebuild) is refused by the dump itself, through restore's own
# checks, before the tree is let go: the process is not lost.
start mntns-peers-apart
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "refused by restore's checks" \
	"cannot dump: restore would refuse the images: mount [0-9]* (.*) of namespace [0-9]*: its peer group" \
	"restore's reason"
finish "refused by restore's checks"

# States the fd kinds refuse, each with one line naming the task, the fd and why.
for case in "epoll-orphan:watches inode [0-9]*, which no fd of the task holds" \
	"pidfd-outside:process [0-9]* is not in the dumped tree" \
	"pidfd-thread:is a thread of process" \
	"userfaultfd:unsupported kind 'userfaultfd'" \
	"perf_event:unsupported kind 'perf_event'"; do
	name=${case%%:*}
	export SCENARIO_CASE=$name
	start refused-fds || { not_ok "$name: scenario did not start"; continue; }
	if [ -s "$dir/result" ]; then # it could not make the state here
		echo "ok - $name # SKIP $(cat "$dir/result")"
		wait "$pid" 2>/dev/null
		continue
	fi
	"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
	expect_refusal $? "$name" "${case#*:}" "the fd and why"
	finish "$name"
done
# io_uring: the kernel will not pass its files over SCM_RIGHTS, so the parasite's drain fails
# (and says so) before any kind sees it; a line then names it.
export SCENARIO_CASE=io_uring
if start refused-fds && [ ! -s "$dir/result" ]; then
	"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
	[ $? = 1 ] && ok "io_uring: status 1" || not_ok "io_uring: dump did not fail"
	grep -q "fd [0-9]* of task $pid: unsupported kind 'io_uring'" "$dir/err" &&
		ok "io_uring: a line names it" || not_ok "io_uring: no line names it: $(cat "$dir/err")"
	expect_no_images io_uring "$dir/img"
	finish io_uring
elif [ -s "$dir/result" ]; then
	echo "ok - io_uring # SKIP $(cat "$dir/result")"
	wait "$pid" 2>/dev/null
fi
unset SCENARIO_CASE

# A dump that fails after a terminal's queued bytes were read puts them back: the pty-session
# scenario then finds its unread output and typed input where they were.
for step in images check; do
	start pty-session || { not_ok "pty-session/$step: scenario did not start"; continue; }
	MINICR_FAULT=$step "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
	[ $? = 1 ] && ok "pty-session/$step: dump failed with status 1" ||
		not_ok "pty-session/$step: dump did not fail"
	expect_one_error "pty-session/$step" "$dir/err"
	finish "pty-session/$step"
done

# Locks minicr cannot restore: a flock held only through a memory mapping, a lease being broken.
export LOCKS_REFUSED_CASE=mapping
start locks-refused
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "flock through a mapping" \
	"cannot dump task $pid: it holds a FLOCK WRITE lock on inode .* through no open fd" \
	"the task, the lock and why"
finish "flock through a mapping"
export LOCKS_REFUSED_CASE=breaking
start locks-refused
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "lease being broken" \
	"cannot dump fd [0-9]* of task $pid: it holds a LEASE READ lock .* the lease is being broken" \
	"the task, the fd, the lease and why"
finish "lease being broken"
unset LOCKS_REFUSED_CASE

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
