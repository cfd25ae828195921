#!/usr/bin/env bash
# A task in a network, pid, user, UTS, IPC, cgroup or time namespace of its own (unshare(1)
# then exec of sleep): minicr rebuilds mount namespaces only, so the dump refuses it with one
# line naming the task and the namespace, writes no image, and the task runs on.
set -u
. "$(dirname "$0")/lib.sh"

command -v unshare >/dev/null || { echo "skipped: unshare(1) is not installed"; exit 77; }

for case in "-n:is in a network namespace of its own" "-u:is in a UTS namespace of its own" \
	"-i:is in an IPC namespace of its own" "-C:is in a cgroup namespace of its own" \
	"--user:is in a user namespace of its own" "-T:is in a time namespace of its own" \
	"-p:made a pid namespace for its children that no process is in yet"; do
	flag=${case%%:*} what=${case#*:}
	dir="$work/ns$flag"
	mkdir -p "$dir"
	"$BIN/launch" /usr/bin/unshare "$flag" /bin/sleep 1000 </dev/null >"$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 1000); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/bin/sleep ] && break
		sleep 0.01
	done
	if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != /usr/bin/sleep ]; then
		echo "ok - unshare $flag # SKIP this kernel or unshare cannot: $(cat "$dir/out")"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		continue
	fi
	"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
	expect_refusal $? "unshare $flag" "cannot dump task $pid: it $what" \
		"the task and its namespace"
	kill -0 "$pid" 2>/dev/null && ok "unshare $flag: the task runs on" ||
		not_ok "unshare $flag: the task is gone"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
finish_tests
