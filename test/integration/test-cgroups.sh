#!/usr/bin/env bash
# Cgroup membership. The test makes a cgroup in every hierarchy it can write (cgroup v2 and each
# v1 hierarchy; each below the test's own cgroup there, so the limits over the test still hold)
# and starts the cgroup-tree scenario (a process with a thread, and a child) in them. Dumped and
# restored, every restored task and thread is in them again, and restore --check-only passed
# first; with --manage-cgroups=ignore the tree lands in minicr's cgroups instead (which the
# scenario notices). A thread moved into a cgroup of its own is refused at dump, the tree
# intact. A cgroup removed between dump and restore, or a hierarchy not mounted, makes
# --check-only and restore refuse with one line naming the task, the hierarchy and the path,
# and nothing is created. Malformed cgroup records in pstree.img are refused by restore's image
# checks (which dump runs too). Every cgroup made is removed however the test ends.
set -u
# Where no cgroup filesystem is mounted (the kernel-VM lane's guest), the test runs in a mount
# namespace of its own with cgroup2 mounted there: the v2-only path.
if [ -z "${MINICR_CG_NS:-}" ] && [ "$(id -u)" = 0 ] && ! grep -qE ' - cgroup2? ' /proc/self/mountinfo &&
	grep -qw cgroup2 /proc/filesystems && unshare -m true 2>/dev/null; then
	exec env MINICR_CG_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

name="minicr test:cg.$$" # names are bytes: a space and a colon (the field separator)
cg_dirs=()   # the cgroups made, one per hierarchy
cg_mnts=()   # the mountpoint of each one's hierarchy
cg_v1=()     # each one's v1 controllers, "" for v2
started=()   # every scenario root started, killed at the end

cleanup() {
	local p d i
	for p in "${started[@]}"; do
		kill -KILL -- -"$p" 2>/dev/null # the scenario's group: it and its child
	done
	for p in "${started[@]}"; do
		for i in $(seq 500); do [ -n "$(ps -o pid= -s "$p" 2>/dev/null)" ] || break; sleep 0.01; done
	done
	for d in "${cg_dirs[@]}"; do
		[ -d "$d/thread" ] && rmdir "$d/thread" 2>/dev/null
		for i in $(seq 500); do [ -d "$d" ] && ! rmdir "$d" 2>/dev/null || break; sleep 0.01; done
		[ -d "$d" ] && echo "# cleanup: cannot remove $d" >&2
	done
	# unmounted before anything is removed: rm below a cgroup mount would remove cgroups
	if [ -n "$cg2_mnt" ]; then
		umount "$cg2_mnt" 2>/dev/null
		mountpoint -q "$cg2_mnt" || rmdir "$cg2_mnt"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
cg2_mnt=
if [ -n "${MINICR_CG_NS:-}" ]; then
	cg2_mnt=$(mktemp -d /tmp/minicr-cg2.XXXXXX)
	mount -t cgroup2 cgroup2 "$cg2_mnt" || { echo "not ok - cannot mount cgroup2"; exit 1; }
	echo "# no cgroup filesystem was mounted: cgroup2 mounted at $cg2_mnt in a mount namespace of the test's"
fi

# ---- the cgroups: one per writable hierarchy -------------------------------------------------
# Each line of /proc/self/cgroup with the mount (root /) of its hierarchy: cgroup2 for "0::",
# else a cgroup mount whose options hold every controller of the line.
while IFS='|' read -r ctrl own mnt; do
	[ -n "$mnt" ] || continue
	parent=$mnt${own%/}
	[ "$own" = / ] && parent=$mnt
	d=$parent/$name
	mkdir "$d" 2>/dev/null || continue
	if [ -f "$d/cpuset.cpus" ] && [ -z "$(cat "$d/cpuset.cpus")" ]; then
		# a v1 cpuset starts empty: no task may join it until it has cpus and memory nodes
		cat "$parent/cpuset.cpus" >"$d/cpuset.cpus" 2>/dev/null
		cat "$parent/cpuset.mems" >"$d/cpuset.mems" 2>/dev/null
	fi
	cg_dirs+=("$d")
	cg_mnts+=("$mnt")
	cg_v1+=("$ctrl")
done < <(awk -F: 'FNR == NR {
		# mountinfo: root $4, mountpoint $5; after "-": type, source, options
		split($0, half, / - /); split(half[1], a, " "); split(half[2], b, " ")
		if (a[4] != "/") next
		if (b[1] == "cgroup2") v2 = a[5]
		if (b[1] == "cgroup") { n++; opts[n] = "," b[3] ","; mp[n] = a[5] }
		next }
	{
		ctrl = $2; path = substr($0, length($1) + length($2) + 3)
		if (ctrl == "") { print "|" path "|" v2; next }
		k = split(ctrl, c, ",")
		for (m = 1; m <= n; m++) {
			all = 1
			for (j = 1; j <= k; j++) if (index(opts[m], "," c[j] ",") == 0) all = 0
			if (all) { print ctrl "|" path "|" mp[m]; break }
		}
	}' /proc/self/mountinfo /proc/self/cgroup)

if [ ${#cg_dirs[@]} = 0 ]; then
	echo "skipped: no cgroup hierarchy is mounted and writable here"
	exit 77
fi
echo "# cgroups made: ${cg_dirs[*]}"

# ---- the scenario, started inside them -------------------------------------------------------
start_in_cgroups() { # -> pid, dir
	dir="$work/run.$RANDOM"
	mkdir -p "$dir"
	export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
	bash -c 'launch=$1 prog=$2; shift 2
		for d; do echo $$ >"$d/cgroup.procs" || exit 3; done
		exec "$launch" "$prog"' _ "$BIN/launch" "$BIN/cgroup-tree" "${cg_dirs[@]}" \
		</dev/null >"$dir/out" 2>&1 &
	pid=$!
	disown "$pid" # killed by the dumps: no job report
	started+=("$pid")
	for _ in $(seq 3000); do [ -s "$dir/ready" ] && return 0; kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
	return 1
}

# Every process and thread of the scenario rooted at $1 (it and its child), one per line.
tree_tasks() {
	local p
	for p in "$1" $(pgrep -P "$1"); do
		ls "/proc/$p/task"
	done | sort -un
}

# The cgroups of every task of the tree: "TID HIERARCHY:PATH" lines.
tree_cgroups() {
	local t
	for t in $(tree_tasks "$1"); do
		sed "s/^[0-9]*:/$t /" "/proc/$t/cgroup"
	done
}

wait_gone() {
	for _ in $(seq 3000); do [ -z "$(ps -o pid= -s "$1")" ] && [ ! -d "/proc/$1" ] && return 0; sleep 0.01; done
	return 1
}

verdict() { # name -> signals the tree and checks the scenario's own verdict is PASS
	kill -USR1 "$pid"
	for _ in $(seq 3000); do [ -s "$dir/result" ] && break; sleep 0.01; done
	if [ "$(head -1 "$dir/result" 2>/dev/null)" = PASS ]; then
		ok "$1: the scenario checked its own cgroups: PASS"
	else
		not_ok "$1: the scenario says: $(cat "$dir/result" 2>/dev/null)"
	fi
}

one_line() { # name file pattern
	if [ "$(grep -c error "$2")" = 1 ] && grep -q -- "$3" "$2"; then
		ok "$1: one line: $(cat "$2")"
	else
		not_ok "$1: expected one line matching '$3', got: $(cat "$2")"
	fi
}

# 1. dump, --check-only, restore: each task and thread back in the test's cgroups
if ! start_in_cgroups; then
	not_ok "the scenario did not start in the cgroups: $(cat "$dir/out")"
	finish_tests
	exit
fi
before=$(tree_cgroups "$pid")
missing=
for d in "${cg_dirs[@]}"; do grep -q "/$name\$" <<<"$before" || missing=$d; done
n_tasks=$(tree_tasks "$pid" | wc -l)
[ -z "$missing" ] && [ "$n_tasks" -ge 3 ] && ok "the tree ($n_tasks tasks and threads) runs in the test's cgroups" ||
	not_ok "the tree is not in the test's cgroups ($missing): $before"
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err" || not_ok "dump: $(cat "$dir/err")"
wait_gone "$pid"
"$MINICR" show "$dir/img/pstree.img" >"$dir/show" 2>&1
grep -q "path: \"/.*$name\"" "$dir/show" && ok "show prints the cgroups" ||
	not_ok "show does not print the test's cgroups: $(head -40 "$dir/show")"
if "$MINICR" restore -D "$dir/img" --check-only >"$dir/out" 2>"$dir/err"; then
	ok "restore --check-only passes: $(cat "$dir/out")"
else
	not_ok "restore --check-only: $(cat "$dir/err")"
fi
if "$MINICR" restore -D "$dir/img" -d 2>"$dir/err"; then
	after=$(tree_cgroups "$pid")
	if [ "$after" = "$before" ]; then
		ok "every restored task and thread is in its cgroups again"
	else
		not_ok "the restored cgroups differ: $(diff <(echo "$before") <(echo "$after") | head -5 | tr '\n' ' ')"
	fi
	verdict "restored"
else
	not_ok "restore: $(cat "$dir/err")"
fi

# 2. --manage-cgroups=ignore: the restored tree is in minicr's cgroups (the test's own)
if start_in_cgroups && "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"; then
	wait_gone "$pid"
	if "$MINICR" restore -D "$dir/img" -d --manage-cgroups=ignore 2>"$dir/err"; then
		[ "$(sed 's/^[0-9]*://' "/proc/$pid/cgroup")" = "$(sed 's/^[0-9]*://' /proc/self/cgroup)" ] &&
			ok "--manage-cgroups=ignore: the tree joined minicr's cgroups" ||
			not_ok "--manage-cgroups=ignore: $(cat "/proc/$pid/cgroup" | tr '\n' ' ')"
		kill -USR1 "$pid"
		for _ in $(seq 3000); do [ -s "$dir/result" ] && break; sleep 0.01; done
		grep -q "^FAIL: the cgroups of the process changed" "$dir/result" &&
			ok "--manage-cgroups=ignore: the scenario notices: $(cat "$dir/result")" ||
			not_ok "--manage-cgroups=ignore: the scenario did not notice: $(cat "$dir/result")"
	else
		not_ok "restore --manage-cgroups=ignore: $(cat "$dir/err")"
	fi
else
	not_ok "second dump: $(cat "$dir/err" "$dir/out")"
fi

# 3. a thread in a cgroup of its own: refused at dump (v1: its tid in a tasks file; v2: a
# threaded cgroup), the tree left running; the thread then goes back
thread_cg= back=
for i in "${!cg_dirs[@]}"; do
	d=${cg_dirs[$i]}
	if [ -n "${cg_v1[$i]}" ] && [ "${cg_v1[$i]}" != cpuset ] && mkdir "$d/thread" 2>/dev/null; then
		thread_cg=$d/thread back=$d/tasks add=tasks
		break
	fi
done
if [ -z "$thread_cg" ]; then
	for i in "${!cg_dirs[@]}"; do
		d=${cg_dirs[$i]}
		if [ -z "${cg_v1[$i]}" ] && mkdir "$d/thread" 2>/dev/null &&
			echo threaded >"$d/thread/cgroup.type" 2>/dev/null; then
			thread_cg=$d/thread back=$d/cgroup.threads add=cgroup.threads
			break
		fi
	done
fi
if [ -z "$thread_cg" ]; then
	ok "# SKIP a thread in a cgroup of its own: no hierarchy here takes one"
elif start_in_cgroups; then
	tid=$(ls "/proc/$pid/task" | grep -vx "$pid" | head -1)
	echo "$tid" >"$thread_cg/$add"
	"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
	rc=$?
	[ "$rc" = 1 ] && ok "thread in its own cgroup: dump refused (status 1)" ||
		not_ok "thread in its own cgroup: dump status $rc"
	one_line "thread in its own cgroup" "$dir/err" "thread $tid is in cgroup"
	expect_no_images "thread in its own cgroup" "$dir/img"
	echo "$tid" >"$back"
	verdict "thread in its own cgroup: tree left running"
	wait_gone "$pid"
	rmdir "$thread_cg"
else
	not_ok "the scenario did not start: $(cat "$dir/out")"
fi

# 4. the environment: a hierarchy not mounted, a cgroup removed since the dump
check_refused() { # name pattern [command prefix...]
	local name=$1 pattern=$2
	shift 2
	if "$@" "$MINICR" restore -D "$dir/img" --check-only >"$dir/out" 2>"$dir/err"; then
		not_ok "$name: --check-only passed"
	else
		one_line "$name: --check-only" "$dir/err" "$pattern"
	fi
}
if start_in_cgroups && "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"; then
	wait_gone "$pid"
	last=$((${#cg_dirs[@]} - 1))
	gone=${cg_dirs[$last]} gone_mnt=${cg_mnts[$last]} gone_h=${cg_v1[$last]}
	what="cgroup v2"
	[ -n "$gone_h" ] && what="cgroup v1 hierarchy $gone_h"
	rel=${gone#"$gone_mnt"}
	if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
		check_refused "hierarchy not mounted" \
			"task $pid into cgroup '$rel' of $what: that hierarchy is not mounted" \
			unshare -m --propagation private sh -c 'umount -l "$0" && exec "$@"' "$gone_mnt"
	else
		ok "# SKIP hierarchy not mounted: no unshare -m here"
	fi
	if rmdir "$gone"; then
		check_refused "cgroup removed" "task $pid into cgroup '$rel' of $what: no such cgroup here"
		"$MINICR" restore -D "$dir/img" -d >"$dir/out" 2>"$dir/err"
		rc=$?
		[ "$rc" = 1 ] && ok "cgroup removed: restore refused (status 1)" ||
			not_ok "cgroup removed: restore status $rc"
		one_line "cgroup removed: restore" "$dir/err" "no such cgroup here"
		[ -d "/proc/$pid" ] && not_ok "cgroup removed: a process was created" ||
			ok "cgroup removed: no process created"
		[ -z "$(pgrep -P $$ -x minicr)" ] && ok "cgroup removed: nothing left running" ||
			not_ok "cgroup removed: a minicr is still running"
		[ ! -d "$gone" ] && ok "cgroup removed: restore made no cgroup" ||
			not_ok "cgroup removed: restore made $gone again"
		# made again by hand, the same images restore
		mkdir "$gone"
		if [ -f "$gone/cpuset.cpus" ]; then
			cat "$(dirname "$gone")/cpuset.cpus" >"$gone/cpuset.cpus"
			cat "$(dirname "$gone")/cpuset.mems" >"$gone/cpuset.mems"
		fi
		if "$MINICR" restore -D "$dir/img" -d 2>"$dir/err"; then
			verdict "cgroup made again: restored"
		else
			not_ok "cgroup made again: restore: $(cat "$dir/err")"
		fi
	else
		not_ok "cannot remove $gone after the dump"
	fi
else
	not_ok "fourth dump: $(cat "$dir/err" "$dir/out")"
fi
# 5. malformed records: restore's image checks (show and --check-only run them, and so does a
# dump on the images it is about to publish) refuse them with one line. Appended to the first
# pstree record: field 20 (cgroups) holding a hierarchy's controllers and a path.
append_cgroup_record() { # image controllers path
	local img=$1 len rec n
	len=$(od -An -tu4 -j4 -N4 "$img" | tr -d ' ')
	rec=$(printf '\\x0a\\x%02x%s\\x12\\x%02x%s' "${#2}" "$2" "${#3}" "$3")
	n=$((2 + ${#2} + 2 + ${#3}))
	rec=$(printf '\\xa2\\x01\\x%02x%s' "$n" "$rec")
	n=$((len + 3 + n))
	{
		head -c4 "$img"
		printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((n & 255)) $((n >> 8 & 255)) \
			$((n >> 16 & 255)) $((n >> 24 & 255)))"
		tail -c +9 "$img" | head -c "$len"
		printf "$rec"
		tail -c +$((9 + len)) "$img"
	} >"$img.new" && mv "$img.new" "$img"
}
malformed() { # name controllers path pattern
	local name=$1 pattern=$4
	rm -rf "$work/bad"
	cp -r "$dir/img" "$work/bad"
	append_cgroup_record "$work/bad/pstree.img" "$2" "$3"
	if "$MINICR" show "$work/bad" >/dev/null 2>"$work/bad.err"; then
		not_ok "$name: show accepted the set"
	else
		one_line "$name: show" "$work/bad.err" "$pattern"
	fi
	if "$MINICR" restore -D "$work/bad" --check-only >/dev/null 2>"$work/bad.err"; then
		not_ok "$name: --check-only passed"
	else
		one_line "$name: --check-only" "$work/bad.err" "invalid image set: .*$pattern"
	fi
}
if [ -f "$dir/img/pstree.img" ]; then
	malformed "a '..' in a cgroup path" "${cg_v1[0]}" "/a/../b" \
		"cgroup record [0-9]*: path '/a/../b': a '.' or '..' component"
	malformed "a relative cgroup path" "${cg_v1[0]}" "a" "cgroup record [0-9]*: path 'a': not absolute"
	malformed "not a hierarchy" "cpu,,x" "/" "hierarchy 'cpu,,x': not a list of controller names"
	malformed "a hierarchy twice" "${cg_v1[0]}" "/" \
		"cgroup records [0-9]* and [0-9]* are of the same hierarchy"
else
	not_ok "malformed records: no images to start from"
fi
finish_tests
