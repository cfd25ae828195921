# lib.sh: what the shell integration tests share: root check, a scratch directory removed on
# exit, ok/not_ok counters and the closing summary. Source it; then call finish_tests last.
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

finish_tests() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}
