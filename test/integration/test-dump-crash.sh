#!/usr/bin/env bash
# minicr's own death never harms the tree it dumps. A small tree (crash-victim: a root with a
# busy thread and an altstack, a child, both blocked in reads with known register values) is
# dumped again and again while minicr is killed:
#  1. at its syscalls in turn (strace -e inject=SYSCALL:signal=KILL:when=N): every call of
#     ptrace, wait4, pwrite64, sendmsg, recvmsg, process_vm_*, rename*, unlink*, fallocate and
#     kill (every ALWAYS_STRIDE-th where a slow machine asks for less), plus every
#     SAMPLE_STRIDE-th call of each other syscall (and its first and last; none with 0);
#  2. with kill -9 at random instants of the dump, RANDOM_KILLS times.
# After each death the tree must run untraced with the same registers, signal mask, altstack,
# memory map, code bytes and fds (the victim checks itself on SIGUSR1), and must not keep a
# signal blocked. Every dump goes into the same images dir, which holds a complete set from the
# start: after each death it must hold the previous set untouched, or the new one complete, or
# no inventory.img at all (restore refuses that), never files of two dumps beside one
# inventory. Private dirs of killed dumps go with the next dump, a live dump's stay. A last,
# undisturbed dump must then succeed on the same tree and leave no private dir.
set -u
MINICR=${MINICR:-./minicr}
BIN=${SCENARIO_BIN:-./test/scenarios}
ALWAYS_STRIDE=${ALWAYS_STRIDE:-1}
SAMPLE_STRIDE=${SAMPLE_STRIDE:-8}
RANDOM_KILLS=${RANDOM_KILLS:-60}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace)"
	exit 77
fi
work=$(mktemp -d /tmp/minicr-dump-crash.XXXXXX)
vpid=
cleanup() {
	[ -n "$vpid" ] && kill -9 "$vpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# Bounded waits: a hang guard, not a timing assertion.
wait_for_file() {
	for _ in $(seq 3000); do [ -e "$1" ] && return 0; sleep 0.01; done
	return 1
}

status_field() { # pid field
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

start_victim() {
	rm -f "$work/ready" "$work/result"
	VICTIM_READY=$work/ready VICTIM_RESULT=$work/result "$BIN/launch" "$BIN/crash-victim" \
		</dev/null >"$work/victim.out" 2>&1 &
	vpid=$!
	disown "$vpid"
	n_checks=0
	wait_for_file "$work/ready" || return 1
	vchild=$(cat "/proc/$vpid/task/$vpid/children" 2>/dev/null | tr -d ' ')
	sigblk=$(status_field "$vpid" SigBlk)
	child_sigblk=$(status_field "$vchild" SigBlk)
	return 0
}

# A task that finds minicr gone puts itself back, a moment later: until it is back in its own
# read, a SIGUSR1 could run the handler first and find the read restarted rather than
# interrupted (as if the signal had come just before the call), and the check never comes.
# /proc/PID/syscall starts with "0 " while the task waits in read().
tree_has_settled() {
	local s1 s2
	for _ in $(seq 1000); do
		read -r s1 _ 2>/dev/null <"/proc/$vpid/syscall"
		read -r s2 _ 2>/dev/null <"/proc/$vchild/syscall"
		[ "$(status_field "$vpid" SigBlk)" = "$sigblk" ] &&
			[ "$(status_field "$vchild" SigBlk)" = "$child_sigblk" ] &&
			[ "$s1" = 0 ] && [ "$s2" = 0 ] && return 0
		sleep 0.01
	done
	return 1
}

# The tree is released once minicr is gone; a task still traced or stopped was left behind.
tree_is_released() {
	local p t
	for p in "$vpid" "$vchild"; do
		for _ in $(seq 1000); do
			t=$(status_field "$p" TracerPid)
			[ "$t" = 0 ] && break
			sleep 0.01
		done
		[ "$t" = 0 ] || return 1
		case "$(status_field "$p" State)" in
		t* | T*) return 1 ;;
		esac
	done
	return 0
}

# check_victim NAME: the tree checks itself; a damaged tree is replaced for the next case.
check_victim() {
	local line=
	if ! kill -0 "$vpid" 2>/dev/null; then
		not_ok "$1: the tree died ($(tail -c 200 "$work/victim.out"))"
		start_victim
		return
	fi
	if ! tree_is_released; then
		not_ok "$1: the tree is still traced or stopped"
		kill -9 "$vpid" 2>/dev/null
		start_victim
		return
	fi
	if ! tree_has_settled; then
		not_ok "$1: the tree is not back in its reads: signal masks" \
			"$(status_field "$vpid" SigBlk) and $(status_field "$vchild" SigBlk), were" \
			"$sigblk and $child_sigblk; syscalls $(cut -d' ' -f1 "/proc/$vpid/syscall")" \
			"and $(cut -d' ' -f1 "/proc/$vchild/syscall")"
		kill -9 "$vpid" 2>/dev/null
		start_victim
		return 1
	fi
	n_checks=$((n_checks + 1))
	kill -USR1 "$vpid"
	for _ in $(seq 1000); do
		read -r line 2>/dev/null <"$work/result"
		case "$line" in
		"PASS $n_checks "* | FAIL*) break ;;
		esac
		sleep 0.01
	done
	case "$line" in
	"PASS $n_checks "*) return 0 ;;
	esac
	not_ok "$1: ${line:-no answer from the tree} (check $n_checks) $(tail -c 300 "$work/victim.out")"
	kill -9 "$vpid" 2>/dev/null
	start_victim
	return 1
}

# The images written by the dump that starts now are newer than this mark (the sleep lets the
# file system's coarse clock move on).
mark_dump_start() {
	touch "$work/mark"
	sleep 0.01
}

# check_published NAME: the images dir holds one whole set, or none.
n_no_inventory=0 n_new_sets=0
check_published() {
	local old new
	if [ ! -e "$work/img/inventory.img" ]; then
		n_no_inventory=$((n_no_inventory + 1))
		return 0
	fi
	old=$(find "$work/img" -maxdepth 1 -name '*.img' ! -newer "$work/mark" -printf '%f\n' | sort)
	new=$(find "$work/img" -maxdepth 1 -name '*.img' -newer "$work/mark" -printf '%f\n' | sort)
	if [ -n "$old" ] && [ -n "$new" ]; then
		not_ok "$1: images of two dumps: $(echo $old) and $(echo $new)"
		return 1
	fi
	if [ -n "$old" ] && [ "$old" != "$set_files" ]; then
		not_ok "$1: the previous set changed: $(echo $old), was $(echo $set_files)"
		return 1
	fi
	if [ -n "$new" ]; then
		set_files=$new
		n_new_sets=$((n_new_sets + 1))
	fi
}

start_victim || { echo "not ok - the victim did not start"; exit 1; }

# ---- 0. a reference dump: which syscalls minicr makes, and how long it takes ------------------
if ! command -v strace >/dev/null; then
	echo "not ok - strace is missing (contrib/setup.sh installs it)"
	exit 1
fi
strace -f -qq -o "$work/trace" "$MINICR" dump -t "$vpid" -D "$work/img" --leave-running \
	2>"$work/err" || { not_ok "reference dump failed: $(cat "$work/err")"; exit 1; }
check_victim "reference dump"
start_ns=$(date +%s%N)
"$MINICR" dump -t "$vpid" -D "$work/img" --leave-running 2>"$work/err" ||
	not_ok "plain dump failed: $(cat "$work/err")"
dump_ms=$((($(date +%s%N) - start_ns) / 1000000))
check_victim "plain dump"
set_files=$(cd "$work/img" && ls -- *.img | sort)

# "1234 ptrace(PTRACE_SEIZE, ...) = 0" -> ptrace; resumed halves and signal lines are skipped;
# "count name" per syscall
awk '{ n = index($2, "("); if (n > 1 && $2 !~ /^</) c[substr($2, 1, n - 1)]++ }
	END { for (k in c) print c[k], k }' "$work/trace" | sort -k2 >"$work/counts"
[ -s "$work/counts" ] || { not_ok "no syscalls in the reference trace: $(head -3 "$work/trace")"; exit 1; }

# ---- 1. killed at its syscalls in turn --------------------------------------------------------
always=" ptrace wait4 pwrite64 pwritev sendmsg recvmsg process_vm_readv process_vm_writev
	rename renameat renameat2 unlink unlinkat fallocate kill tgkill "
n_points=0 n_killed=0
while read -r count name; do
	# (no process substitution: the VM lane's guest has no /dev/fd)
	stride=$SAMPLE_STRIDE
	[[ "$always" == *" $name "* ]] && stride=$ALWAYS_STRIDE
	[ "$stride" -gt 0 ] || continue
	points=$({ seq 1 "$stride" "$count"; echo "$count"; } | sort -nu)
	for n in $points; do
		n_points=$((n_points + 1))
		mark_dump_start
		strace -f -qq -o /dev/null -e trace="$name" -e inject="$name:signal=KILL:when=$n" \
			"$MINICR" dump -t "$vpid" -D "$work/img" --leave-running </dev/null >/dev/null 2>&1
		[ $? = 137 ] && n_killed=$((n_killed + 1))
		check_published "killed at $name #$n"
		check_victim "killed at $name #$n" && passed=$((passed + 1))
	done
done <"$work/counts"
echo "# killed minicr at $n_killed of $n_points chosen syscalls ($(awk '{ s += $1 } END { print s }' "$work/counts") in a dump)"
echo "# images dir after those: $n_new_sets times a new set, $n_no_inventory times no inventory"
[ "$n_killed" -gt 0 ] && ok "minicr died at $n_killed syscalls" || not_ok "strace killed nothing"

# ---- 2. kill -9 at random instants ---------------------------------------------------------------
window_us=$((dump_ms * 1500 + 2000))
for i in $(seq "$RANDOM_KILLS"); do
	delay_us=$(((RANDOM * 32768 + RANDOM) % window_us))
	mark_dump_start
	"$MINICR" dump -t "$vpid" -D "$work/img" --leave-running >/dev/null 2>&1 &
	mpid=$!
	sleep "$(printf '0.%06d' "$delay_us")"
	kill -9 "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
	check_published "kill -9 after ${delay_us} us (round $i)"
	check_victim "kill -9 after ${delay_us} us (round $i)" && passed=$((passed + 1))
done
echo "# $RANDOM_KILLS kills spread over $((window_us / 1000)) ms (a dump takes about $dump_ms ms)"

# ---- 3. a last dump, undisturbed, beside a live dump's private dir ----------------------------
mkdir -p "$work/img/.minicr-dump.1.0"
touch "$work/img/.minicr-dump.1.0/pages-1.img"
flock "$work/img/.minicr-dump.1.0" sleep 60 &
holder=$!
for _ in $(seq 300); do flock -n "$work/img/.minicr-dump.1.0" true || break; sleep 0.01; done
if "$MINICR" dump -t "$vpid" -D "$work/img" --leave-running 2>"$work/err"; then
	ok "a dump after all that succeeds"
else
	not_ok "the last dump failed: $(cat "$work/err")"
fi
check_victim "last dump" && ok "the tree is intact after $n_checks checks"
left=$(cd "$work/img" && ls -d .minicr-dump.* 2>/dev/null | tr '\n' ' ')
if [ "$left" = ".minicr-dump.1.0 " ]; then
	ok "private dirs of killed dumps are gone, a live dump's stays"
else
	not_ok "private dirs left: '$left'"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
mkdir "$work/partial"
cp "$work/img"/*.img "$work/partial/" && rm "$work/partial/inventory.img"
if "$MINICR" restore -D "$work/partial" -d 2>"$work/err"; then
	not_ok "restore accepted an images dir without inventory.img"
elif [ "$(grep -c error "$work/err")" = 1 ] && grep -q "inventory.img" "$work/err"; then
	ok "restore refuses an images dir without inventory.img: $(cat "$work/err")"
else
	not_ok "restore of an images dir without inventory.img: $(cat "$work/err")"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
