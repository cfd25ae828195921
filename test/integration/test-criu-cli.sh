#!/usr/bin/env bash
# CRIU's command-line conventions, end to end on a real process (test/unit/test-cli.c covers the
# parsing): a relative -o lands in the images dir, -W moves it and the pidfile, restore -d
# --pidfile writes the restored root's pid, -v0 prints nothing, -v3 stamps lines with times,
# -v4 adds debug lines, a CRIU option minicr cannot honour is one line and exit status 3, and
# check --feature answers for one feature.
set -u
minicr=${MINICR:-$(pwd)/minicr}
bin=${SCENARIO_BIN:-$(pwd)/test/scenarios}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace, clone3 set_tid)"
	exit 77
fi
w=$(mktemp -d /tmp/minicr-criu-cli.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$w"
}
trap cleanup EXIT
passed=0 failed=0 n=0
ok() { n=$((n + 1)) passed=$((passed + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)) failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # description command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
wait_gone() {
	local i
	for ((i = 0; i < 3000; i++)); do
		[ -d "/proc/$1" ] || return 0
		sleep 0.01
	done
	return 1
}

mkdir -p "$w/cwd" "$w/work"
cd "$w/cwd" || exit 1
export SCENARIO_READY=$w/ready SCENARIO_RESULT=$w/result
"$bin/launch" "$bin/pipe-data" </dev/null >"$w/out" 2>&1 &
pid=$!
for ((i = 0; i < 3000; i++)); do
	[ -s "$w/ready" ] && break
	sleep 0.01
done

# bash reports the dumped (killed) child on its stderr whenever it reaps it: not here
exec 3>&2 2>"$w/shell.err"
# dump: relative -o inside -D (created by the dump), -v4 with timestamps and debug lines
"$minicr" dump -t "$pid" -D "$w/img" -o dump.log -v4 2>"$w/dump.err"
rc=$?
check "dump -D DIR -o dump.log succeeds (exit $rc)" test "$rc" = 0
check "the relative -o log is in the images dir, not the current one" \
	bash -c 'test -s "$1/img/dump.log" && ! test -e "$1/cwd/dump.log"' _ "$w"
check "-v4 logs debug lines, each stamped with the seconds since start" \
	grep -qE '^\([0-9]{2}\.[0-9]{6}\) minicr: debug: ' "$w/img/dump.log"
wait "$pid" 2>/dev/null
exec 2>&3 3>&-
wait_gone "$pid" || not_ok "the dumped task $pid is still there"

# restore -d with -W: the log and the pidfile go to the work dir; the pidfile holds the root pid
"$minicr" restore -D "$w/img" -d -W "$w/work" -o restore.log --pidfile root.pid -v3 \
	2>"$w/restore.err"
rc=$?
check "restore -d -W DIR -o restore.log --pidfile root.pid succeeds (exit $rc)" test "$rc" = 0
check "-W holds the restore log and the pidfile" \
	bash -c 'test -s "$1/work/restore.log" && test -s "$1/work/root.pid" &&
		 ! test -e "$1/img/root.pid"' _ "$w"
check "the pidfile holds the restored root's pid ($pid)" \
	test "$(cat "$w/work/root.pid" 2>/dev/null)" = "$pid"
check "-v3 logs information, stamped, and no debug lines" \
	bash -c 'grep -qE "^\([0-9]{2}\.[0-9]{6}\) minicr: restore: restored " "$1" &&
		 ! grep -q "minicr: debug: " "$1"' _ "$w/work/restore.log"
kill -USR1 "$pid"
for ((i = 0; i < 3000; i++)); do
	[ -s "$w/result" ] && break
	sleep 0.01
done
check "the restored task checks itself: $(head -n 1 "$w/result" 2>/dev/null)" \
	test "$(head -n 1 "$w/result" 2>/dev/null)" = PASS
pid=

# -v0: nothing at all, even for a failure
out=$("$minicr" -v0 dump -t 999999 -D "$w/nothing" 2>&1)
rc=$?
check "-v0: a failing dump prints nothing and exits 1" test "$rc:$out" = "1:"
out=$("$minicr" dump -t 999999 -D "$w/nothing" 2>&1)
check "the default level (2) prints the error" grep -q 'minicr: error: ' <<<"$out"

# CRIU options minicr cannot honour: one line, exit status 3, nothing done
out=$("$minicr" dump -t 999999 -D "$w/refused" --skip-in-flight 2>&1)
rc=$?
check "--skip-in-flight: exit 3, one line naming it" \
	test "$rc:$(wc -l <<<"$out")" = "3:1" -a -n "$(grep -- '--skip-in-flight' <<<"$out")"
check "a refused dump touches nothing" test ! -e "$w/refused"
"$minicr" restore -D "$w/img" --pidfile p >/dev/null 2>&1
check "--pidfile without -d: exit 3" test $? = 3
"$minicr" dump -t 999999 -D "$w/noop" --link-remap --manage-cgroups=ignore -v0 >/dev/null 2>&1
check "no-op CRIU options are accepted (the dump runs: exit 1 on a missing pid, not 2 or 3)" \
	test $? = 1

# check --feature
out=$("$minicr" check --feature clone3 2>&1)
rc=$?
check "check --feature clone3: one line for it, exit 0 or 3 (exit $rc)" \
	bash -c '[[ "$1" == clone3\ * ]] && [ "$(wc -l <<<"$1")" = 1 ] && { [ "$2" = 0 ] || [ "$2" = 3 ]; }' \
	_ "$out" "$rc"
"$minicr" check --feature no_such_feature >/dev/null 2>&1
check "check --feature with an unknown name: exit 2" test $? = 2
check "check --feature list names the features" \
	bash -c '"$1" check --feature list | grep -qx statmount_by_fd' _ "$minicr"
# check: labelled columns; a feature with no fallback says it is required, not "none"
out=$("$minicr" check 2>&1)
check "check labels its columns" \
	grep -qE '^FEATURE +PRESENT +WHAT MINICR DOES WITHOUT IT$' <<<"$out"
check "a feature without a fallback reads 'required: ...'" \
	grep -qE '^clone3_set_tid +(yes|no) +required: restore cannot give tasks their old pids$' <<<"$out"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
