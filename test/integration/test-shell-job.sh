#!/usr/bin/env bash
# --shell-job: a job running on a terminal the tree did not open (script(1) holds the master).
# Without --shell-job the dump refuses it with one line and the job runs on; with it, the dump
# succeeds, and a restore with --shell-job from another terminal (a second script(1)) makes
# that terminal the job's: the scenario checks its fds, its foreground group and /dev/tty, and
# writes on it. A restore without --shell-job refuses the images with one line.
set -u
MINICR=${MINICR:-./minicr}
BIN=${SCENARIO_BIN:-./test/scenarios}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace, clone3 set_tid)"
	exit 77
fi
if ! command -v script >/dev/null; then
	echo "skipped: script(1) is not installed (util-linux)"
	exit 77
fi
work=$(mktemp -d /tmp/minicr-shell-job.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

wait_file() { for _ in $(seq 3000); do [ -s "$1" ] && return 0; sleep 0.01; done; return 1; }
wait_gone() { for _ in $(seq 3000); do [ -d "/proc/$1" ] || return 0; sleep 0.01; done; return 1; }

export SCENARIO_READY="$work/ready" SCENARIO_RESULT="$work/result"
script -qfec "exec $BIN/shell-job" "$work/typescript" </dev/null >/dev/null 2>&1 &
script_pid=$!
if ! wait_file "$work/ready"; then
	echo "not ok - the job did not start: $(cat "$work/typescript" 2>/dev/null)"
	kill "$script_pid" 2>/dev/null
	exit 1
fi
pid=$(pgrep -P "$script_pid")

# (1) refused without --shell-job; the job runs on
"$MINICR" dump -t "$pid" -D "$work/refused" 2>"$work/refused.err"
status=$?
if [ $status = 1 ] && [ "$(grep -c error "$work/refused.err")" = 1 ] &&
	grep -q "a terminal the tree did not open" "$work/refused.err"; then
	ok "without --shell-job: refused with one line: $(cat "$work/refused.err")"
else
	not_ok "without --shell-job: status $status: $(cat "$work/refused.err")"
fi
[ -z "$(ls -A "$work/refused" 2>/dev/null)" ] && ok "without --shell-job: no images" ||
	not_ok "without --shell-job: images left"
state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
[ "$state" = S ] && ok "without --shell-job: the job runs on" ||
	not_ok "without --shell-job: the job is '$state'"

# (2) dumped with --shell-job
if "$MINICR" dump -t "$pid" -D "$work/img" --shell-job 2>"$work/dump.err"; then
	ok "with --shell-job: dumped"
else
	not_ok "with --shell-job: dump failed: $(cat "$work/dump.err")"
	kill -9 "$pid"
	exit 1
fi
wait "$script_pid" 2>/dev/null
wait_gone "$pid" || not_ok "the dumped job is still alive"
grep -q "before-dump" "$work/typescript" && ok "the job wrote on its first terminal" ||
	not_ok "nothing on the first terminal: $(cat "$work/typescript")"

# (3) restore without --shell-job: refused
if "$MINICR" restore -D "$work/img" -d 2>"$work/norestore.err" </dev/null; then
	not_ok "restore without --shell-job succeeded"
	kill -9 "$pid" 2>/dev/null
	wait_gone "$pid"
elif [ "$(grep -c error "$work/norestore.err")" = 1 ] && grep -q -- "--shell-job" "$work/norestore.err"; then
	ok "restore without --shell-job: refused with one line"
else
	not_ok "restore without --shell-job: $(cat "$work/norestore.err")"
fi
wait_gone "$pid"

# (4) restored with --shell-job on a second terminal; minicr waits for the job there
script -qfec "$MINICR restore -D $work/img --shell-job" "$work/typescript2" </dev/null \
	>/dev/null 2>"$work/restore.err" &
script2=$!
# resumed: back in its sigsuspend (syscall 130), no longer traced by minicr
for _ in $(seq 3000); do
	[ "$(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null)" = 130 ] &&
		[ "$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status")" = 0 ] && break
	sleep 0.01
done
kill -USR1 "$pid" 2>/dev/null
wait_file "$work/result"
if [ "$(head -1 "$work/result" 2>/dev/null)" = PASS ]; then
	ok "with --shell-job: restored onto the second terminal: $(grep after-restore "$work/typescript2" | tr -d '\r')"
else
	not_ok "with --shell-job: $(cat "$work/result" 2>/dev/null) $(cat "$work/restore.err") $(cat "$work/typescript2")"
	kill -9 "$pid" 2>/dev/null
fi
wait "$script2"
status=$?
[ $status = 0 ] && ok "minicr (the job's parent) ended with the job's status" ||
	not_ok "the second script(1) ended with $status"
grep -q "after-restore" "$work/typescript2" && ok "the job wrote on the second terminal" ||
	not_ok "nothing on the second terminal: $(cat "$work/typescript2")"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
