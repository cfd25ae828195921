#!/usr/bin/env bash
# A restore killed at any instant leaves nothing behind. The detached-bind-disk scenario (fds on a
# lazily unmounted bind mount, in a mount namespace of its own) is dumped once, then restored
# with --detached-mounts=mountpoint, the method that makes temporary /.minicr.detached.*
# mountpoints, while minicr is killed:
#  1. while the restored root task sits between creating and removing its temporary
#     mountpoint (strace holds it in mkdirat's exit);
#  2. at minicr's own syscalls in turn: every ptrace, wait4, clone3 and kill call and every
#     SAMPLE_STRIDE-th call of the others.
# After each death no /.minicr.detached.* may exist, this test's mount table must be as it
# was, and no task of the tree may be left half-restored: its pid is gone, or the restore had
# finished, untraced and whole. A last, undisturbed restore must then bring the tree back, and
# the tree checks itself (SIGUSR1) and passes. The test runs as pid 1 of a pid namespace of
# its own (so it reaps the tasks of a killed restore at once; the host's init reaps orphans
# late and their pids would block the next restore) with a private mount namespace.
set -u
MINICR=${MINICR:-./minicr}
BIN=${SCENARIO_BIN:-./test/scenarios}
SAMPLE_STRIDE=${SAMPLE_STRIDE:-4}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace, mounts)"
	exit 77
fi
if [ -z "${RESTORE_CRASH_IN_OWN_NS:-}" ]; then
	RESTORE_CRASH_IN_OWN_NS=1 exec unshare --mount --pid --fork --mount-proc bash "$0" "$@"
fi
mount --make-rprivate / || exit 1
work=$(mktemp -d /tmp/minicr-restore-crash.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# Bounded waits: a hang guard, not a timing assertion.
wait_gone() {
	for _ in $(seq 3000); do [ -d "/proc/$1" ] || return 0; sleep 0.01; done
	return 1
}

status_field() { # pid field
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# Other sessions on this host may hold (or have leaked) their own /.minicr.detached.* in "/",
# which this test shares: only a directory that was not there before a restore and stays
# counts as left by it, and only those are removed.
detached_dirs() { ls -d /.minicr.detached.* 2>/dev/null; }
dirs_before=
new_detached_dirs() {
	local d new
	for _ in $(seq 100); do
		new=
		for d in $(detached_dirs); do
			case " $dirs_before " in *" $d "*) ;; *) new="$new$d " ;; esac
		done
		[ -z "$new" ] && return 0
		sleep 0.01
	done
	echo "$new"
}

restore() { # [strace args...]: minicr restore of the tree, the mountpoint method
	dirs_before=$(detached_dirs | tr '\n' ' ')
	"$@" "$MINICR" restore -D "$work/img" -d --detached-mounts=mountpoint \
		</dev/null >/dev/null 2>"$work/restore.err"
}

# The tree's root after a restore that finished: it checks itself, then exits.
verdict() { # name
	rm -f "$work/result"
	kill -USR1 "$pid"
	for _ in $(seq 1000); do [ -s "$work/result" ] && break; sleep 0.01; done
	if [ "$(head -1 "$work/result" 2>/dev/null)" = PASS ]; then
		wait_gone "$pid" && return 0
		not_ok "$1: the restored tree did not exit after its check"
	else
		not_ok "$1: the restored tree says: $(cat "$work/result" 2>/dev/null)"
	fi
	kill -9 "$pid" 2>/dev/null
	wait_gone "$pid"
	return 1
}

# check_nothing_left NAME: after minicr died, only a whole tree or nothing remains.
check_nothing_left() {
	local t left
	for _ in $(seq 1000); do
		[ -d "/proc/$pid" ] || break
		t=$(status_field "$pid" TracerPid)
		# a finished restore: untraced, waiting for its signal
		[ "$t" = 0 ] && [ "$(status_field "$pid" State)" = S ] && break
		sleep 0.01
	done
	if [ -d "/proc/$pid" ]; then
		# whole: the restore had finished (its own check waits for the last restore, since
		# the scenario removes its files when it ends)
		if [ "$(status_field "$pid" TracerPid)" != 0 ]; then
			not_ok "$1: task $pid is left traced"
			kill -9 "$pid"
			wait_gone "$pid"
			return 1
		fi
		# before the restorer ran, a task is still a copy of minicr
		if [ "$(readlink "/proc/$pid/exe")" != "$exe" ]; then
			not_ok "$1: task $pid is left half-restored ($(readlink "/proc/$pid/exe"))"
			kill -9 "$pid"
			wait_gone "$pid"
			return 1
		fi
		n_whole=$((n_whole + 1))
		kill -9 "$pid"
		wait_gone "$pid"
	fi
	left=$(new_detached_dirs)
	if [ -n "$left" ]; then
		not_ok "$1: temporary mountpoints left: $left"
		# shellcheck disable=SC2086 # a list of paths without blanks
		rmdir $left 2>/dev/null || rm -f $left
		return 1
	fi
	if [ "$(awk '{ print $5 }' /proc/self/mountinfo | sort)" != "$mounts" ]; then
		not_ok "$1: the mount table changed"
		return 1
	fi
	return 0
}

# ---- the images ---------------------------------------------------------------------------
export SCENARIO_READY=$work/ready SCENARIO_RESULT=$work/result
"$BIN/launch" "$BIN/detached-bind-disk" </dev/null >"$work/out" 2>&1 &
pid=$!
disown "$pid"
for _ in $(seq 3000); do [ -s "$work/ready" ] && break; sleep 0.01; done
exe=$(readlink "/proc/$pid/exe")
if ! "$MINICR" dump -t "$pid" -D "$work/img" 2>"$work/err"; then
	echo "not ok - dump failed: $(cat "$work/err")"
	exit 1
fi
wait_gone "$pid"
mounts=$(awk '{ print $5 }' /proc/self/mountinfo | sort)
if ! command -v strace >/dev/null; then
	echo "not ok - strace is missing (contrib/setup.sh installs it)"
	exit 1
fi

# A reference restore: minicr's syscalls.
if restore strace -qq -o "$work/trace"; then
	ok "a restore under strace brings the tree back"
	kill -9 "$pid"
	wait_gone "$pid"
else
	not_ok "reference restore failed: $(cat "$work/restore.err")"
	exit 1
fi
awk '{ n = index($1, "("); if (n > 1) c[substr($1, 1, n - 1)]++ }
	END { for (k in c) print c[k], k }' "$work/trace" | sort -k2 >"$work/counts"
[ -s "$work/counts" ] || { not_ok "no syscalls in the reference trace: $(head -3 "$work/trace")"; exit 1; }
# Which of the root task's mkdirat calls makes its temporary mountpoint ("PID mkdirat(...,
# ".minicr.detached.X", 0700) = 0"). strace -f traces the restored tasks too, so minicr's
# later seize of them fails: that restore ends there, after the mountpoints, and minicr kills
# the tree it made.
restore strace -f -qq -o "$work/trace-f" -e trace=mkdirat
wait_gone "$pid"
mkdir_at=$(awk '/mkdirat\(.*\.minicr\.detached/ { print $1; exit }' "$work/trace-f")
mkdir_n=$(awk -v p="$mkdir_at" '$1 == p && $2 ~ /^mkdirat\(/ { n++; if (/\.minicr\.detached/) { print n; exit } }' \
	"$work/trace-f")

# ---- 1. minicr dies while the root task holds a temporary mountpoint --------------------------
if [ -z "$mkdir_n" ]; then
	not_ok "the reference restore made no temporary mountpoint"
else
	dirs_before=$(detached_dirs | tr '\n' ' ')
	strace -f -qq -o /dev/null -e trace=mkdirat \
		-e inject="mkdirat:delay_exit=30000000:when=$mkdir_n" \
		"$MINICR" restore -D "$work/img" -d --detached-mounts=mountpoint \
		</dev/null >/dev/null 2>&1 &
	tracer=$!
	held=
	for _ in $(seq 1000); do
		for p in /proc/[0-9]*; do
			p=${p#/proc/}
			read -r nr _ <"/proc/$p/syscall" 2>/dev/null || continue
			# 258 = mkdirat, stopped in its exit by strace
			[ "$nr" = 258 ] && [ "$(status_field "$p" TracerPid)" = "$tracer" ] && held=$p
		done
		[ -n "$held" ] && break
		sleep 0.01
	done
	minicr_pid=$(awk '{ print $1 }' "/proc/$tracer/task/$tracer/children" 2>/dev/null)
	if [ -z "$held" ] || [ -z "$minicr_pid" ]; then
		not_ok "the root task never reached its mountpoint's mkdirat"
	else
		kill -9 "$minicr_pid"
		# strace would sit out its delay before it lets go of the root task
		kill -9 "$tracer"
		wait "$tracer" 2>/dev/null
		wait_gone "$held"
		check_nothing_left "minicr killed while the root task holds its mountpoint" &&
			ok "minicr killed while the root task holds its mountpoint: nothing left"
	fi
	kill -9 "$tracer" 2>/dev/null
	wait "$tracer" 2>/dev/null
fi

# ---- 2. killed at its syscalls in turn ------------------------------------------------------------
always=" ptrace wait4 clone3 kill "
n_points=0 n_whole=0
while read -r count name; do
	# (no process substitution: the VM lane's guest has no /dev/fd)
	stride=$SAMPLE_STRIDE
	[[ "$always" == *" $name "* ]] && stride=1
	points=$({ seq 1 "$stride" "$count"; echo "$count"; } | sort -nu)
	for n in $points; do
		n_points=$((n_points + 1))
		restore strace -qq -o /dev/null -e trace="$name" \
			-e inject="$name:signal=KILL:when=$n"
		check_nothing_left "killed at $name #$n" && passed=$((passed + 1))
	done
done <"$work/counts"
[ "$n_points" -gt 0 ] || not_ok "no restore syscall to kill minicr at"
echo "# killed minicr at $n_points syscalls of a restore ($(awk '{ s += $1 } END { print s }' "$work/counts") in all); $n_whole times the tree was already whole"

# ---- 3. a last restore, undisturbed ---------------------------------------------------------------
if restore; then
	verdict "last restore" && ok "a restore after all that brings the tree back whole"
else
	not_ok "the last restore failed: $(cat "$work/restore.err")"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
