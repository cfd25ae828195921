#!/usr/bin/env bash
# restore --check-only runs restore's checks of the images and of this system and changes
# nothing: on a good set it passes and creates no process; a taken pid, a file gone from its
# path, a missing image and a corrupt image each fail with one line naming the cause, and show
# refuses the same sets. Then a real restore of the same set still works.
set -u
. "$(dirname "$0")/lib.sh"

check_fails() { # name pattern
	if "$MINICR" restore -D "$work/img" --check-only >"$work/out" 2>"$work/err"; then
		not_ok "$1: --check-only passed"
	elif [ "$(grep -c error "$work/err")" = 1 ] && grep -q "$2" "$work/err"; then
		ok "$1: one line: $(cat "$work/err")"
	else
		not_ok "$1: unexpected message: $(cat "$work/err")"
	fi
}

export SCENARIO_READY="$work/ready" SCENARIO_RESULT="$work/result"
"$BIN/launch" "$BIN/file-offsets" </dev/null >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 3000); do [ -s "$work/ready" ] && break; sleep 0.01; done
"$MINICR" dump -t "$pid" -D "$work/img" --leave-running 2>"$work/err" ||
	{ echo "not ok - dump failed: $(cat "$work/err")"; exit 1; }

# the tree is still running: its pids are taken
check_fails "pid in use" "pid $pid is in use"
kill -9 "$pid"
wait "$pid" 2>/dev/null
for _ in $(seq 3000); do [ -d "/proc/$pid" ] || break; sleep 0.01; done

if "$MINICR" restore -D "$work/img" --check-only >"$work/out" 2>"$work/err" &&
	grep -q "restore check passed: 1 task" "$work/out"; then
	ok "good set: $(cat "$work/out")"
else
	not_ok "good set: $(cat "$work/out" "$work/err")"
fi
[ -d "/proc/$pid" ] && not_ok "good set: a process was created" || ok "good set: no process created"
[ -z "$(pgrep -P $$ -x minicr)" ] && ok "good set: nothing left running" ||
	not_ok "good set: a minicr is still running"

# a file the tree had open is gone from its path
data=$("$MINICR" show "$work/img" --json |
	sed -n 's/^.*"\(\/tmp\/minicr-scn-offsets[^"]*\/data\)".*$/\1/p' | head -1)
if [ -n "$data" ] && mv "$data" "$data.away"; then
	check_fails "missing file" "cannot open '$data'"
	mv "$data.away" "$data"
else
	not_ok "missing file: the data file was not found in the images"
fi

# show runs the same checks on a whole set: it refuses a set restore would refuse
if "$MINICR" show "$work/img" >/dev/null 2>"$work/err"; then
	ok "show of a good set"
else
	not_ok "show of a good set: $(cat "$work/err")"
fi
mv "$work/img/fs-$pid.img" "$work/fs.img.good"
if "$MINICR" show "$work/img" >/dev/null 2>"$work/err"; then
	not_ok "show of an incomplete set passed"
elif grep -q "fs-$pid.img' is missing" "$work/err"; then
	ok "show of an incomplete set: $(cat "$work/err")"
else
	not_ok "show of an incomplete set: unexpected message: $(cat "$work/err")"
fi
check_fails "incomplete set" "fs-$pid.img' is missing"
mv "$work/fs.img.good" "$work/img/fs-$pid.img"

# a corrupt image
cp "$work/img/files.img" "$work/files.img.good"
printf 'junk' >>"$work/img/files.img"
check_fails "corrupt image" "files.img"
cp "$work/files.img.good" "$work/img/files.img"

# the real restore of the same set still works (not where a sanitized minicr cannot resume a
# process: NO_RESUME=1 in the sanitizer stage)
if [ -n "${NO_RESUME:-}" ]; then
	kill -9 "$pid" 2>/dev/null
elif "$MINICR" restore -D "$work/img" -d 2>"$work/err"; then
	kill -USR1 "$pid"
	for _ in $(seq 3000); do [ -s "$work/result" ] && break; sleep 0.01; done
	[ "$(head -1 "$work/result")" = PASS ] && ok "restore after the checks" ||
		not_ok "restore after the checks: $(cat "$work/result")"
else
	not_ok "restore after the checks failed: $(cat "$work/err")"
fi
[ -n "$data" ] && rm -rf "$(dirname "$data")"
finish_tests
