#!/usr/bin/env bash
# Every restore step up to the resume (image checks, the tree's mount namespace, detached
# mounts, the file table, forking the tree with its pids, installing each task's fds) on real
# scenario dumps, with the tasks left stopped: their memory images are removed, so restore
# builds everything and stops before the restorer. Needs no resume, so it also runs in the
# sanitizer stage, where a sanitized minicr cannot hand a process its old address space back.
# Checks from outside: each pid exists and is stopped, with the dumped fd numbers, its cwd, and
# the dumped mount namespace layout; nothing of minicr is left once the tree is killed.
set -u
. "$(dirname "$0")/lib.sh"

# alive PID...: those of the pids that still run (a zombie waits for a late reaper: gone)
alive() {
	local p s
	for p; do
		s=$(awk '/^State:/ {print $2}' "/proc/$p/status" 2>/dev/null)
		[ -n "$s" ] && [ "$s" != Z ] && echo "$p"
	done
}

one() { # scenario
	local name=$1 dir="$work/$1" pid pids state fds want
	mkdir -p "$dir"
	export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
	"$BIN/launch" "$BIN/$name" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 3000); do [ -s "$dir/ready" ] && break; sleep 0.01; done
	if ! "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"; then
		not_ok "$name: dump failed: $(cat "$dir/err")"
		kill -9 "$pid" 2>/dev/null
		return
	fi
	wait "$pid" 2>/dev/null
	for _ in $(seq 3000); do [ -z "$(session_pids "$pid")" ] && break; sleep 0.01; done
	rm -f "$dir"/img/core-*.img "$dir"/img/mm-*.img "$dir"/img/pagemap-*.img \
		"$dir"/img/pages-*.img
	if ! "$MINICR" restore -D "$dir/img" -d 2>"$dir/err"; then
		not_ok "$name: restore failed: $(cat "$dir/err")"
		return
	fi
	# every restored task, also one that left the session (process-tree has one)
	pids=$(ls "$dir/img" | sed -n 's/^fdinfo-\([0-9]*\)\.img$/\1/p' | sort -n)
	for p in $pids; do
		state=$(awk '/^State:/ {print $2}' "/proc/$p/status")
		want=$("$MINICR" show "$dir/img/fdinfo-$p.img" --json | grep -o '"fd": [0-9]*' |
			awk '{print $2}' | sort -n | tr '\n' ' ')
		fds=$(ls "/proc/$p/fd" | sort -n | tr '\n' ' ')
		if [ "$state" != T ] && [ "$state" != t ]; then
			not_ok "$name: task $p is '$state', not stopped"
		elif [ "$fds" != "$want" ]; then
			not_ok "$name: task $p has fds '$fds', dumped '$want'"
		else
			ok "$name: task $p stopped with its fds ($fds)"
		fi
	done
	[ -n "$pids" ] || not_ok "$name: no restored task"
	for p in $pids; do kill -9 "$p"; done
	for _ in $(seq 3000); do [ -z "$(alive $pids)" ] && break; sleep 0.01; done
	[ -z "$(alive $pids)" ] && ok "$name: nothing left" || not_ok "$name: tasks left: $(alive $pids)"
}

for s in file-offsets pipe-data shared-fds misc-fds process-tree mntns-tmpfs detached-bind; do
	one "$s"
done

# Restore touches nothing outside what it rebuilds: a mountpoint that is gone from a filesystem
# outside the tree is not made again there; the restore fails with one line naming the mount.
dir="$work/gone"
mkdir -p "$dir"
export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
"$BIN/launch" "$BIN/mntns-tmpfs" </dev/null >"$dir/out" 2>&1 &
pid=$!
for _ in $(seq 3000); do [ -s "$dir/ready" ] && break; sleep 0.01; done
if "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"; then
	wait "$pid" 2>/dev/null
	for _ in $(seq 3000); do [ -z "$(session_pids "$pid")" ] && break; sleep 0.01; done
	mp=$("$MINICR" show "$dir/img" --json | grep -o '"mountpoint": "/tmp/minicr-scn-mntns[^"]*/bind"' |
		head -1 | sed 's/.*: "\(.*\)"/\1/')
	if [ -n "$mp" ] && rmdir "$mp"; then
		if "$MINICR" restore -D "$dir/img" -d 2>"$dir/err"; then
			not_ok "gone mountpoint: restore succeeded"
			for p in $(session_pids "$pid"); do kill -9 "$p"; done
		elif [ "$(grep -c error "$dir/err")" = 1 ] &&
			grep -q "mountpoint is missing from a filesystem outside the tree" "$dir/err"; then
			ok "gone mountpoint: refused: $(cat "$dir/err")"
		else
			not_ok "gone mountpoint: $(cat "$dir/err")"
		fi
		[ -e "$mp" ] && not_ok "gone mountpoint: '$mp' was made again on the host" ||
			ok "gone mountpoint: nothing made on the host"
		rm -rf "$(dirname "$mp")"
	else
		not_ok "gone mountpoint: no bind mountpoint in the images"
	fi
else
	not_ok "gone mountpoint: dump failed: $(cat "$dir/err")"
	kill -9 "$pid" 2>/dev/null
fi
finish_tests
