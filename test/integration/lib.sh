# lib.sh: what the shell integration tests share: root check, a scratch directory removed on
# exit, ok/not_ok counters, a scenario started and checked around a dump that must fail, and
# the closing summary. Source it; then call finish_tests last.
MINICR=${MINICR:-./minicr}
BIN=${SCENARIO_BIN:-./test/scenarios}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace)"
	exit 77
fi
work=$(mktemp -d "/tmp/minicr-$(basename "$0" .sh).XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# The pids of the session sid (a launched scenario leads its own session).
session_pids() { ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'; }

# ---- a scenario as the victim of a dump that must fail --------------------------------------

start() { # scenario -> sets pid, dir
	dir="$work/$1.$RANDOM"
	mkdir -p "$dir"
	export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
	"$BIN/launch" "$BIN/$1" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 3000); do [ -s "$dir/ready" ] && return 0; sleep 0.01; done
	return 1
}

finish() { # name -> checks the scenario's own verdict
	kill -USR1 "$pid"
	for _ in $(seq 3000); do [ -s "$dir/result" ] && break; sleep 0.01; done
	wait "$pid" 2>/dev/null
	if [ "$(head -1 "$dir/result" 2>/dev/null)" = PASS ]; then
		ok "$1: the tree carried on intact"
	else
		not_ok "$1: the tree was damaged: $(cat "$dir/result" 2>/dev/null)"
	fi
}

expect_one_error() { # name log
	local n
	n=$(grep -c "error" "$2")
	if [ "$n" = 1 ]; then
		ok "$1: one error line: $(cat "$2")"
	else
		not_ok "$1: expected one error line, got $n: $(cat "$2")"
	fi
}

# A refused dump (the command's exit status in $1): status 1, one error line that matches
# pattern, no images.
expect_refusal() { # status name pattern what-the-line-names
	[ "$1" = 1 ] && ok "$2: status 1" || not_ok "$2: dump did not fail (status $1)"
	expect_one_error "$2" "$dir/err"
	if grep -q "$3" "$dir/err"; then
		ok "$2: the line names $4"
	else
		not_ok "$2: unclear message: $(cat "$dir/err")"
	fi
	expect_no_images "$2" "$dir/img"
}

expect_no_images() { # name images-dir
	if [ -z "$(ls -A "$2" 2>/dev/null)" ]; then
		ok "$1: no image left behind"
	else
		not_ok "$1: images left behind: $(ls -A "$2" | tr '\n' ' ')"
	fi
}

finish_tests() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}
