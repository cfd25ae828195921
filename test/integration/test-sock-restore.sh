#!/usr/bin/env bash
# A restore that fails while it rebuilds sockets (MINICR_FAULT=unix-create, unix-queues, inet)
# gives one error line and leaves no process of the tree behind; the same images then restore
# for real, and the scenario checks itself. Pairs that fail in the fast pass (unix-lone-pairs:
# every one) are made again by the general steps: that restore succeeds, silently.
set -u
MINICR=${MINICR:-./minicr}
BIN=${SCENARIO_BIN:-./test/scenarios}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace, clone3 set_tid)"
	exit 77
fi
work=$(mktemp -d /tmp/minicr-sock-restore.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# The tree is the scenario's session (launch makes it one); pid 1 reaps orphans late.
wait_gone() { # session id
	for _ in $(seq 3000); do
		[ -z "$(ps -eo sid= | awk -v s="$1" '$1 == s')" ] && return 0
		sleep 0.01
	done
	return 1
}

for case in unix-names/unix-create unix-pairs/unix-queues inet-tcp/inet inet-udp/inet; do
	scenario=${case%/*} step=${case#*/}
	dir="$work/$scenario.$step"
	mkdir -p "$dir/img"
	export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
	"$BIN/launch" "$BIN/$scenario" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 3000); do [ -s "$dir/ready" ] && break; sleep 0.01; done
	if ! "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/dump.err"; then
		not_ok "$case: dump failed: $(cat "$dir/dump.err")"
		kill -9 "$pid"; wait "$pid" 2>/dev/null; continue
	fi
	wait "$pid" 2>/dev/null
	wait_gone "$pid" || { not_ok "$case: the dumped tree is still alive"; continue; }
	MINICR_FAULT=$step "$MINICR" restore -D "$dir/img" -d 2>"$dir/err"
	status=$?
	[ $status = 1 ] && ok "$case: restore failed with status 1" ||
		not_ok "$case: restore exited $status"
	n=$(grep -c error "$dir/err")
	[ "$n" = 1 ] && ok "$case: one error line: $(cat "$dir/err")" ||
		not_ok "$case: $n error lines: $(cat "$dir/err")"
	wait_gone "$pid" && ok "$case: no process left" || not_ok "$case: task $pid is left"
	if ! "$MINICR" restore -D "$dir/img" -d 2>"$dir/err2"; then
		not_ok "$case: the restore after the failed one failed: $(cat "$dir/err2")"
		continue
	fi
	kill -USR1 "$pid"
	for _ in $(seq 3000); do [ -s "$dir/result" ] && break; sleep 0.01; done
	if [ "$(head -1 "$dir/result" 2>/dev/null)" = PASS ]; then
		ok "$case: restored after the failure, the scenario passes"
	else
		not_ok "$case: $(cat "$dir/result" 2>/dev/null)"
		kill -9 "$pid" 2>/dev/null
	fi
done

# Every lone pair fails in the fast pass: the general steps make them all, without a word.
dir="$work/unix-pairs.lone"
mkdir -p "$dir/img"
export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
"$BIN/launch" "$BIN/unix-pairs" </dev/null >"$dir/out" 2>&1 &
pid=$!
for _ in $(seq 3000); do [ -s "$dir/ready" ] && break; sleep 0.01; done
if ! "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/dump.err"; then
	not_ok "unix-lone-pairs: dump failed: $(cat "$dir/dump.err")"
	kill -9 "$pid"; wait "$pid" 2>/dev/null
else
	wait "$pid" 2>/dev/null
	wait_gone "$pid" || not_ok "unix-lone-pairs: the dumped tree is still alive"
	if MINICR_FAULT=unix-lone-pairs "$MINICR" restore -D "$dir/img" -d 2>"$dir/err" &&
		[ ! -s "$dir/err" ]; then
		ok "unix-lone-pairs: restored by the general steps, nothing logged"
		kill -USR1 "$pid"
		for _ in $(seq 3000); do [ -s "$dir/result" ] && break; sleep 0.01; done
		[ "$(head -1 "$dir/result" 2>/dev/null)" = PASS ] &&
			ok "unix-lone-pairs: the scenario passes" ||
			{ not_ok "unix-lone-pairs: $(cat "$dir/result" 2>/dev/null)"; kill -9 "$pid"; }
	else
		not_ok "unix-lone-pairs: restore failed or logged: $(cat "$dir/err")"
		kill -9 "$pid" 2>/dev/null
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
