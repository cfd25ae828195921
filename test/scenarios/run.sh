#!/usr/bin/env bash
# Scenario driver: starts each scenario, drives the C/R engine over it, then lets it check
# itself, and prints one line per scenario and a closing "N passed, M failed, K skipped".
#
#   run.sh [--mode baseline|dump|cr] [--engine minicr|criu] [--bundles DIR] [SCENARIO...]
#   run.sh [--mode ...] [--engine ...] [--bundles DIR] --zdtm PROGRAM [ARGS...] [--zdtm ...]
#
# Modes:  baseline  no engine: ready -> signal -> self-check (proves the scenarios themselves)
#         dump      dump --leave-running, decode the images with `minicr show`, then self-check
#                   in the same, still running, process tree
#         cr        dump (kills the tree) -> wait until its pids are gone -> restore -d ->
#                   signal -> the restored process checks itself
# Engines: minicr (default: $MINICR, else the build tree's ./minicr) or criu ($CRIU, else the
#          CRIU that contrib/vm/fetch-criu.sh cached, else criu from PATH), with the same
#          command lines (-v4, logs inside the images dir), so a scenario reproduces CRIU bugs.
# --zdtm:  drives programs that speak CRIU's zdtm protocol instead of the scenario list: each is
#          started as PROGRAM --pidfile=F --outfile=O [ARGS], daemonises, writes its pid to F when
#          ready, checks itself on SIGTERM and writes a line ending in PASS, or a FAIL: line, to
#          O. An ARG that is exactly --filename or --dirname gets a fresh path appended.
# Expectations: the list below may mark a scenario name:dump-fails (the engine must refuse the
#          tree and leave it running); test/scenarios/expected overrides that per engine and
#          marks known failures with a reason. A known failure prints "not ok ... # TODO" and
#          does not fail the run; a scenario that passes against its expectation does.
# Bundles: every scenario an engine fails leaves a reproducer directory in --bundles DIR
#          ($SCENARIO_BUNDLES, default /tmp/minicr-bundles): README, the scenario's source name,
#          the exact commands, the engine's -v4 logs, the images and `minicr show` of them.
# --probe: PROBE before SESSION DIR runs before the dump and PROBE after SESSION DIR once the
#          tree runs again (restored, or left running by the dump); a failing "after" fails
#          the scenario with the probe's first line (see proc-fields.sh).
# Environment: SCENARIO_BIN (dir of built scenarios), SCENARIO_EXPECTED (the expectations file),
# KEEP_IMAGES=1 keeps every scenario's work dir in /tmp/minicr-kept-NAME.
set -u

here=$(cd "$(dirname "$0")" && pwd)
mode=cr
engine=minicr
bundles=${SCENARIO_BUNDLES:-/tmp/minicr-bundles}
selected=()
probe=
probe_live=0
zdtm=()
tcp_established=
while [ $# -gt 0 ] && [ ${#zdtm[@]} = 0 ]; do
	case "$1" in
	--mode) mode=$2; shift 2 ;;
	--mode=*) mode=${1#--mode=}; shift ;;
	--engine) engine=$2; shift 2 ;;
	--engine=*) engine=${1#--engine=}; shift ;;
	--bundles) bundles=$2; shift 2 ;;
	--bundles=*) bundles=${1#--bundles=}; shift ;;
	--probe) probe=$2; shift 2 ;;
	--probe=*) probe=${1#--probe=}; shift ;;
	--zdtm) zdtm=("$@"); break ;;
	-h|--help) sed -n '2,36p' "$0"; exit 0 ;;
	*) selected+=("$1"); shift ;;
	esac
done
case "$mode" in
baseline|dump|cr) ;;
*) echo "run.sh: unknown mode '$mode'"; exit 2 ;;
esac

bin_dir=${SCENARIO_BIN:-$(pwd)/test/scenarios}
minicr=${MINICR:-$(pwd)/minicr}
expected_file=${SCENARIO_EXPECTED:-$here/expected}
# as messages name it: test/scenarios/expected, wherever the tree is
expected_name=${expected_file#"${expected_file%test/scenarios/expected}"}

# name[@method][:expectation]; "dump-fails" means the engine must refuse the tree and leave it
# running; "tcp-established" dumps with --tcp-established (a connection to a process outside
# the tree); @method restores with --detached-mounts=method (minicr only). A name
# "program/case" runs one case of a program that holds several (its only argument).
# Scenarios whose processes keep changing some fields while the --probe reads them (see
# proc-fields.table, same-unless-live).
live_scenarios=(event-loop)
all_scenarios=(
	file-offsets
	pipe-data
	shared-fds
	misc-fds
	threads
	detached-bind
	detached-bind-disk
	unsupported-socket:dump-fails
	avx-registers
	blocking-syscalls
	futex-shared
	signal-restart
	dirty-memory
	process-tree
	mntns-tmpfs
	rlimits
	task-attrs
	timers
	timers/high-id
	timers/thread-clock:dump-fails
	timers/overrun:dump-fails
	mapped-file
	sessions
	session-elsewhere:dump-fails
	shared-fdtable
	mntns-per-task
	mntns-tree
	mntns-peers-apart:dump-fails
	mntns-propagation
	mntns-overmount
	mntns-removed-bind
	mntns-odd-names
	mntns-clean
	mntns-container
	unix-pairs
	unix-names
	unix-refuse-peer:dump-fails
	unix-refuse-scm:dump-fails
	unix-refuse-unaccepted:dump-fails
	inet-tcp
	inet-udp
	sock-chat
	inet-refuse-peer:dump-fails
	inet-external:tcp-established
	timer-signal-fds
	epoll-items
	pidfds
	fsnotify-watches
	pty-session
	event-loop
	file-locks
	removed-files/dirs
	removed-files/linked
	removed-files/unlinked
	removed-files/fifo
	removed-files/tmpfile
	removed-files/symlinks
	removed-files/names
	removed-files/detached
	removed-files/tmpfs
	open-flags/opath
	open-flags/directory
	open-flags/append
	open-flags/direct
	open-flags/noatime
	open-flags/sync
	open-flags/async
	open-flags/cloexec
	open-flags/pipe-size
	open-flags/seals
	detached-bind@mountpoint
	orphan-tmpfs
	orphan-tmpfs@mountpoint
	orphan-tmpfs-file
	orphan-tmpfs-two
	orphan-cwd
	orphan-ext4
	orphan-ext4@mountpoint
	anon-clone
	anon-recursive
	anon-fsmount
	cgroup-tree
)

# The CRIU this machine can run: $CRIU, the one fetch-criu.sh cached, or criu from PATH.
find_criu() {
	local d
	if [ -n "${CRIU:-}" ]; then
		echo "$CRIU"
		return
	fi
	for d in "${MINICR_VM_CACHE:-/var/cache/minicr-vm}" "${XDG_CACHE_HOME:-$HOME/.cache}/minicr-vm"; do
		[ -x "$d/criu/current/criu" ] && { echo "$d/criu/current/criu"; return; }
	done
	command -v criu || echo criu
}

case "$engine" in
minicr)
	[ -x "$minicr" ] || { echo "run.sh: minicr binary '$minicr' not found (set MINICR)"; exit 2; }
	engine_bin=$minicr
	engine_version=$("$minicr" --version 2>/dev/null)
	;;
criu)
	engine_bin=$(find_criu)
	if ! engine_version=$("$engine_bin" --version 2>/dev/null | head -n 1) ||
	   [ -z "$engine_version" ]; then
		n=${#all_scenarios[@]}
		[ ${#zdtm[@]} -gt 0 ] && n=$(printf '%s\n' "${zdtm[@]}" | grep -c '^--zdtm$')
		echo "skipped: no working criu ('$engine_bin'; contrib/vm/fetch-criu.sh fetches one)"
		echo "0 passed, 0 failed, $n skipped"
		exit 0
	fi
	engine_version="criu ${engine_version#Version: }"
	;;
*) echo "run.sh: unknown engine '$engine'"; exit 2 ;;
esac

work=$(mktemp -d /tmp/minicr-scenarios.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0 skipped=0 known=0 index=0

# wait_for_verdict PID: waits for the result file. A scenario checks its flag, then sleeps in
# sigsuspend (the state it is dumped in); a signal that lands between the two, as one sent
# right after a restore can (the kernel restarts the sigsuspend itself, not the loop around
# it), leaves it asleep: while its main thread still sleeps there (rt_sigsuspend, syscall
# 130) a second later, the signal is sent again.
wait_for_verdict() {
	local i
	for ((i = 1; i <= 3000; i++)); do
		[ -s "$dir/result" ] && return 0
		if ((i % 100 == 0)) && [ "$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)" = 130 ]; then
			kill -USR1 "$1" 2>/dev/null
		fi
		sleep 0.01
	done
	return 1
}

# alive PID: the process exists and is not a zombie waiting for a late reaper.
alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Bounded waits: a hang guard, not a timing assertion. With a pid, gives up as soon as that
# process is gone (a scenario that skips exits before it is ready).
wait_for_file() { # file [pid]
	local i
	for ((i = 0; i < 3000; i++)); do
		[ -s "$1" ] && return 0
		[ -n "${2:-}" ] && ! alive "$2" && { [ -s "$1" ]; return; }
		sleep 0.01
	done
	return 1
}

# first_error LOG STDERR-FILE: what an engine's log says went wrong: its first error line
# and, when there are more, the last (CRIU logs non-fatal probe errors first); CRIU's
# non-fatal RLIMIT_NOFILE complaint and its closing "... FAILED." aside. Else the last line
# of its stderr.
first_error() {
	local errs first last
	errs=$(grep -i 'error' "$1" 2>/dev/null | grep -v -e 'RLIMIT_NOFILE' -e 'FAILED\.$')
	first=$(head -n 1 <<<"$errs" | cut -c1-240)
	last=$(tail -n 1 <<<"$errs" | cut -c1-240)
	if [ -z "$first" ]; then
		tail -n 1 "$2" 2>/dev/null
	elif [ "$first" = "$last" ]; then
		echo "$first"
	else
		echo "$first ... $last"
	fi
}

session_pids() { ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'; }

# The tree's pids: its descendants may have sessions of their own.
tree_pids() { echo "$1"; for c in $(pgrep -P "$1"); do tree_pids "$c"; done; }

wait_session_gone() { # sid [pid...]
	local i p alive
	for ((i = 0; i < 3000; i++)); do
		alive=$(session_pids "$1")
		for p in "${@:2}"; do [ -d "/proc/$p" ] && alive+=" $p"; done
		[ -z "$alive" ] && return 0
		sleep 0.01
	done
	return 1
}

# ---- expectations ------------------------------------------------------------------------------
# expectation NAME LIST-EXPECTATION: sets expect ("" pass, dump-fails, fails) and expect_why from
# the expectations file (ENGINE/MODE before ENGINE), else the list's own mark. Baseline runs no
# engine: every scenario must pass there, but a list's dump-fails is kept (it sends no signal
# to the dump path then).
expectation() {
	local name=$1 line
	expect=$2 expect_why=
	[ "$mode" = baseline ] && return
	[ -r "$expected_file" ] || return
	line=$(awk -v n="$name" -v e="$engine" -v m="$engine/$mode" '
		/^[[:space:]]*(#|$)/ { next }
		$1 == n && $2 == m { exact = $0 }
		$1 == n && $2 == e { plain = $0 }
		END { print (exact != "" ? exact : plain) }' "$expected_file")
	[ -n "$line" ] || return
	read -r _ _ expect expect_why <<<"$line"
	[ "$expect" = pass ] && expect=
}

# ---- engine commands, each recorded for the reproducer bundle ----------------------------------
# run_cmd LOG-NAME COMMAND...: runs it with stderr to $dir/LOG-NAME.err, appending the command
# line to $dir/commands.
run_cmd() {
	local name=$1
	shift
	{ printf '%q ' "$@"; echo; } >>"$dir/commands"
	"$@" 2>>"$dir/$name.err"
}
engine_dump() { # pid images-dir [leave-running]
	run_cmd dump "$engine_bin" dump -t "$1" -D "$2" ${3:+--leave-running} -v4 -o dump.log \
		${tcp_established:+--tcp-established}
}
engine_restore() { # images-dir [detached-mounts method]
	local method=
	[ "$engine" = minicr ] && method=${2:-}
	run_cmd restore "$engine_bin" restore -D "$1" -d -v4 -o restore.log \
		${method:+--detached-mounts=$method}
}

report() { # status name detail
	index=$((index + 1))
	case "$1" in
	pass) passed=$((passed + 1)); echo "ok $index - $2${3:+ # $3}" ;;
	skip) skipped=$((skipped + 1)); echo "ok $index - $2 # SKIP $3" ;;
	known) known=$((known + 1)); echo "not ok $index - $2 # TODO known failure under $engine: $3" ;;
	*) failed=$((failed + 1)); echo "not ok $index - $2: $3" ;;
	esac
}

# ---- reproducer bundles ------------------------------------------------------------------------
# wrap_words: stdin's words as lines of at most 100 columns (in bash: the VM has no fold).
wrap_words() {
	local line='' w words
	read -r -d '' -a words
	for w in "${words[@]}"; do
		if [ -n "$line" ] && [ $((${#line} + ${#w} + 1)) -gt 100 ]; then
			echo "$line"
			line=$w
		else
			line=${line:+$line }$w
		fi
	done
	[ -z "$line" ] || echo "$line"
}

# bundle NAME SOURCE VERDICT: a directory another person can attach to a bug report.
bundle() {
	local name=$1 source=$2 verdict=$3 b
	b="$bundles/$engine-$mode-${name//\//-}"
	rm -rf "$b"
	mkdir -p "$b" || return
	echo "$source" >"$b/source"
	echo "$verdict" >"$b/verdict"
	cp "$dir/commands" "$b/commands" 2>/dev/null || : >"$b/commands"
	local f
	for f in out result output ready probe; do
		[ -f "$dir/$f" ] && cp "$dir/$f" "$b/scenario-$f"
	done
	for f in dump restore; do
		[ -f "$dir/img/$f.log" ] && cp "$dir/img/$f.log" "$b/$f.log"
		[ -s "$dir/$f.err" ] && cp "$dir/$f.err" "$b/$f.stderr"
	done
	mkdir -p "$b/images"
	if [ -d "$dir/img" ]; then
		find "$dir/img" -mindepth 1 -maxdepth 1 ! -name '*.log' -exec cp -r {} "$b/images/" \;
	fi
	if [ -z "$(ls -A "$b/images")" ]; then
		echo "no images: the engine wrote none before it failed" >"$b/show.txt"
	elif [ -x "$minicr" ] && "$minicr" show "$b/images" >"$b/show.txt" 2>&1; then
		:
	else
		{
			echo "minicr show cannot decode these images (CRIU's images: decode them with crit):"
			ls -l "$b/images"
		} >>"$b/show.txt"
	fi
	local what="is left running by the engine's dump" decoded="show.txt their decoding by minicr show"
	[ "$mode" = cr ] && what="is dumped and restored by the engine"
	[ "$mode" = baseline ] && what="is not touched by any engine"
	[ "$engine" = minicr ] || decoded="show.txt lists them (they are CRIU's images: crit decodes them)"
	local what_to_run=$name
	case "$source" in *.c) ;; *) what_to_run="--zdtm $source" ;; esac
	{
		echo "Scenario '$name' ($source) fails under $engine_version on Linux $(uname -r)" \
			"($(uname -m)) in mode $mode: $verdict." \
			"The scenario builds its state, signals that it is ready, $what, then checks" \
			"its own state and writes the verdict above (scenario-result or scenario-output)." \
			"'commands' holds the exact command lines that were run; dump.log and restore.log" \
			"are the engine's logs at -v4; images/ holds the images it wrote and $decoded." \
			"To reproduce: build minicr's test scenarios and run" \
			"test/scenarios/run.sh --engine $engine --mode $mode $what_to_run."
	} | wrap_words >"$b/README"
	echo "# bundle: $b"
}

# probe_before PID, probe_after PID: the --probe command around the engine's work; the
# differences it prints stay in $dir/probe for the bundle.
probe_before() {
	[ -z "$probe" ] || PROBE_LIVE=$probe_live "$probe" before "$1" "$dir" >"$dir/probe" 2>&1
}
probe_after() {
	[ -z "$probe" ] && return 0
	PROBE_LIVE=$probe_live "$probe" after "$1" "$dir" >"$dir/probe" 2>&1 && return 0
	verdict="probe: $(head -n 1 "$dir/probe") ($(wc -l <"$dir/probe") difference(s), see probe)"
	return 1
}

# method_of NAME: the --detached-mounts method of a list entry name@method, or nothing.
method_of() {
	case "$1" in
	*@*) echo "${1#*@}" ;;
	esac
}

# ---- one scenario, whatever protocol it speaks -------------------------------------------------
# drive NAME PID EXPECTATION: the engine's part of the mode. Returns 0 when the scenario should
# now be signalled to check itself, 1 when the verdict is already given (report called).
drive() {
	local name=$1 pid=$2 expect=$3 pids
	probe_live=0
	[[ " ${live_scenarios[*]} " == *" $name "* ]] && probe_live=1
	case "$mode:$expect" in
	baseline:*) ;;
	*:dump-fails)
		if engine_dump "$pid" "$dir/img"; then
			verdict="the dump of an unsupported tree succeeded"
			return 1
		fi
		if [ "$engine" = minicr ] && [ "$(grep -c 'minicr: error:' "$dir/img/dump.log" 2>/dev/null)" != 1 ]; then
			verdict="expected one error line, got: $(grep 'minicr: error:' "$dir/img/dump.log" | head -5)"
			return 1
		fi
		;;
	dump:*)
		probe_before "$pid"
		if ! engine_dump "$pid" "$dir/img" leave-running; then
			verdict="dump failed: $(first_error "$dir/img/dump.log" "$dir/dump.err")"
			return 1
		fi
		if [ "$engine" = minicr ] && ! "$minicr" show "$dir/img" >"$dir/show" 2>&1; then
			verdict="images do not decode: $(tail -1 "$dir/show")"
			return 1
		fi
		probe_after "$pid" || return 1
		;;
	cr:*)
		probe_before "$pid"
		# every pid of the tree, also those that left its session (a pty's session)
		pids=$(tree_pids "$pid")
		if ! engine_dump "$pid" "$dir/img"; then
			verdict="dump failed: $(first_error "$dir/img/dump.log" "$dir/dump.err")"
			return 1
		fi
		wait "$pid" 2>/dev/null
		# shellcheck disable=SC2086
		if ! wait_session_gone "$pid" $pids; then
			verdict="the dumped tree is still alive"
			return 1
		fi
		if ! engine_restore "$dir/img" "$(method_of "$name")"; then
			verdict="restore failed: $(first_error "$dir/img/restore.log" "$dir/restore.err")"
			return 1
		fi
		probe_after "$pid" || return 1
		;;
	esac
	return 0
}

# conclude NAME SOURCE: turns $verdict ("" = PASS, "SKIP: ..." or a failure) and the
# expectation into one reported line, and a bundle for every failure.
conclude() {
	local name=$1 source=$2
	case "$verdict" in
	"") if [ "$expect" = fails ]; then
		report fail "$name" "passed, but $expected_name says it fails under $engine ($expect_why): update it"
	    else
		report pass "$name"
	    fi ;;
	SKIP*) report skip "$name" "${verdict#SKIP: }" ;;
	*) bundle "$name" "$source" "$verdict"
	   if [ "$expect" = fails ]; then
		report known "$name" "$expect_why ($verdict)"
	   else
		report fail "$name" "$verdict"
	   fi ;;
	esac
	if [ -n "${KEEP_IMAGES:-}" ]; then
		rm -rf "/tmp/minicr-kept-${name//\//-}"
		cp -r "$dir" "/tmp/minicr-kept-${name//\//-}"
	fi
}

# A scenario of the list: test/scenarios/lib/scenario.h's protocol (ready file, SIGUSR1, result
# file).
run_one() { # name list-expectation
	local name=$1 base=${1%%@*} pid status result prog args=()
	prog=${base%%/*}
	[ "$prog" != "$base" ] && args=("${base#*/}")
	dir="$work/$1" verdict=
	tcp_established=
	[ "$2" = tcp-established ] && tcp_established=1
	expectation "$name" "$2"
	mkdir -p "$dir/img"
	export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
	{ printf 'SCENARIO_READY=%q SCENARIO_RESULT=%q ' "$dir/ready" "$dir/result"
	  printf '%q ' "$bin_dir/launch" "$bin_dir/$prog" "${args[@]}"; echo; } >"$dir/commands"
	"$bin_dir/launch" "$bin_dir/$prog" "${args[@]}" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	if ! wait_for_file "$dir/ready" "$pid"; then
		wait "$pid"; status=$?
		if [ "$status" = 77 ]; then
			verdict="SKIP: $(sed 's/^SKIP: //' "$dir/result" 2>/dev/null)"
		else
			verdict="never became ready (status $status): $(tail -1 "$dir/out")"
		fi
		conclude "$name" "test/scenarios/$prog.c"
		return
	fi
	if ! drive "$name" "$pid" "$expect" 2>>"$dir/driver.err"; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		conclude "$name" "test/scenarios/$prog.c"
		return
	fi
	echo "kill -USR1 $pid" >>"$dir/commands"
	kill -USR1 "$pid" 2>/dev/null
	if ! wait_for_verdict "$pid"; then
		verdict="no verdict from the scenario"
		kill -9 "$pid" 2>/dev/null
	else
		result=$(head -1 "$dir/result")
		case "$result" in
		PASS) verdict= ;;
		SKIP*) verdict=$result ;;
		*) verdict=$result ;;
		esac
	fi
	wait "$pid" 2>/dev/null
	conclude "$name" "test/scenarios/$prog.c"
}

# zdtm_verdict: from the outfile, once the program has finished: a FAIL: line, else a last line
# ending in PASS.
zdtm_verdict() {
	local out=$dir/output last
	[ -f "$out" ] || out=$dir/output.inprogress
	if [ ! -f "$out" ]; then
		verdict="no output file from the program"
	elif grep -q 'FAIL:' "$out"; then
		verdict=$(grep -m1 'FAIL:' "$out")
		verdict="FAIL:${verdict#*FAIL:}"
	else
		last=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1)
		case "$last" in
		*PASS) verdict= ;;
		*) verdict="no PASS line from the program: ${last:-empty output}" ;;
		esac
	fi
}

# A program speaking CRIU's zdtm protocol (see the header).
run_zdtm() { # program args...
	local prog=$1 name pid i a args=()
	shift
	name=$(basename "$prog")
	dir="$work/zdtm-$index-$name" verdict=
	expectation "$name" ""
	mkdir -p "$dir/img"
	for a in "$@"; do
		case "$a" in
		--filename) args+=("--filename=$dir/test.file") ;;
		--dirname) args+=("--dirname=$dir/test.dir") ;;
		*) args+=("$a") ;;
		esac
	done
	local start=("$bin_dir/launch" "$prog" "--pidfile=$dir/pid" "--outfile=$dir/output" "${args[@]}")
	{ printf '%q ' "${start[@]}"; echo; } >"$dir/commands"
	# The program returns once its daemon is ready (or has failed); bounded as a hang guard.
	timeout 60 "${start[@]}" </dev/null >"$dir/out" 2>&1
	pid=$(cat "$dir/pid" 2>/dev/null)
	if [ -z "$pid" ] || ! alive "$pid"; then
		verdict="never became ready: $(tail -n 1 "$dir/output.inprogress" "$dir/output" "$dir/out" 2>/dev/null | grep -v '^\(==>\|$\)' | tail -n 1)"
		conclude "$name" "$prog${*:+ $*}"
		return
	fi
	if ! drive "$name" "$pid" "$expect" 2>>"$dir/driver.err"; then
		kill -9 "$pid" 2>/dev/null
		conclude "$name" "$prog${*:+ $*}"
		return
	fi
	echo "kill -TERM $pid" >>"$dir/commands"
	kill -TERM "$pid" 2>/dev/null
	# The outfile appears (renamed from O.inprogress) as the program exits.
	for ((i = 0; i < 3000; i++)); do
		[ -f "$dir/output" ] && break
		alive "$pid" || break
		sleep 0.01
	done
	if [ ! -f "$dir/output" ] && alive "$pid"; then
		verdict="no verdict: the program still runs after SIGTERM"
		kill -9 "$pid" 2>/dev/null
	else
		zdtm_verdict
	fi
	conclude "$name" "$prog${*:+ $*}"
}

echo "# scenarios: mode $mode, engine $engine ($engine_version), bundles in $bundles"
if [ ${#zdtm[@]} -gt 0 ]; then
	# --zdtm PROGRAM [ARGS...] [--zdtm PROGRAM [ARGS...]]...
	one=()
	for a in "${zdtm[@]}" --zdtm; do
		if [ "$a" = --zdtm ]; then
			[ ${#one[@]} -gt 0 ] && run_zdtm "${one[@]}"
			one=()
		else
			one+=("$a")
		fi
	done
else
	for entry in "${all_scenarios[@]}"; do
		name=${entry%%:*}
		expect=${entry#"$name"}; expect=${expect#:}
		if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " == *" $name "* ]]; then
			continue
		fi
		run_one "$name" "$expect"
	done
fi
[ "$known" = 0 ] || echo "# $known known failures under $engine (see $expected_name)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
