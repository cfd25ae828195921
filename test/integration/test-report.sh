#!/usr/bin/env bash
# minicr show --dot / --svg / --html on real dumps: the graph's structure is checked against the
# images themselves (one task node per task, one fd node and its holds/opens edges per fd, one
# node per mount and detached mount, child edges), Graphviz's dot accepts it, a large fd table
# is summarised per kind unless --full, and the HTML report renders in a real headless Chromium
# (Debian's package, installed here when missing) with every graph node in its DOM.
set -u
if ! command -v dot >/dev/null; then
	echo "skipped: Graphviz's dot is not installed (contrib/setup.sh installs it)"
	exit 77
fi
. "$(dirname "$0")/lib.sh"

count() { grep -c "$1" "$2" || true; }

dumped() { # scenario -> dumps it with --leave-running (and --explain) into $dir, sets pid
	dir="$work/$1"
	mkdir -p "$dir"
	export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
	"$BIN/launch" "$BIN/$1" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 3000); do [ -s "$dir/ready" ] && break; sleep 0.01; done
	"$MINICR" dump -t "$pid" -D "$dir/img" --leave-running --explain -o dump.log
}

structure() { # name dir
	local name=$1 img=$2/img dot=$2/graph.dot n_tasks n_fds n_mnts n_det
	"$MINICR" show "$img" --dot >"$dot" 2>"$2/err" || { not_ok "$name: --dot failed: $(cat "$2/err")"; return; }
	n_tasks=$("$MINICR" show "$img/pstree.img" --json | grep -c '"pid"')
	n_fds=$(for f in "$img"/fdinfo-*.img; do "$MINICR" show "$f" --json; done | grep -c '"file_id"')
	# the mounts of the tree's own namespace (none drawn when it lives in minicr's)
	ns=$("$MINICR" show "$img/pstree.img" --json | grep -o '"mnt_ns_id": [0-9]*' | head -1 | awk '{print $2}')
	own=$("$MINICR" show "$img/inventory.img" --json | grep -o '"root_mnt_ns_id": [0-9]*' | awk '{print $2}')
	n_mnts=0
	[ "$ns" != "$own" ] && n_mnts=$("$MINICR" show "$img/mnt-$ns.img" --json | grep -c '"mnt_id"')
	n_det=0
	[ -f "$img/detached-mnt.img" ] && n_det=$("$MINICR" show "$img/detached-mnt.img" --json | grep -c '"id"')
	[ "$(count 'class="task"' "$dot")" = "$n_tasks" ] && ok "$name: $n_tasks task node(s)" ||
		not_ok "$name: $(count 'class="task"' "$dot") task nodes, $n_tasks tasks"
	[ "$(count 'class="child"' "$dot")" = "$((n_tasks - 1))" ] && ok "$name: child edges" ||
		not_ok "$name: $(count 'class="child"' "$dot") child edges for $n_tasks tasks"
	if [ "$(count 'class="fd"' "$dot")" = "$n_fds" ] && [ "$(count 'class="holds"' "$dot")" = "$n_fds" ] &&
		[ "$(count 'class="opens"' "$dot")" = "$n_fds" ]; then
		ok "$name: $n_fds fd nodes, each held and opening its file"
	else
		not_ok "$name: fd nodes/holds/opens $(count 'class="fd"' "$dot")/$(count 'class="holds"' "$dot")/$(count 'class="opens"' "$dot"), $n_fds fds"
	fi
	[ "$(count 'class="mount"' "$dot")" = "$n_mnts" ] && ok "$name: $n_mnts mount node(s)" ||
		not_ok "$name: $(count 'class="mount"' "$dot") mount nodes, $n_mnts mounts"
	[ "$(count 'class="detached"' "$dot")" = "$n_det" ] && ok "$name: $n_det detached mount node(s)" ||
		not_ok "$name: $(count 'class="detached"' "$dot") detached nodes, $n_det detached mounts"
	dot -Tsvg "$dot" >"$2/dot.svg" 2>"$2/err" && ok "$name: dot -Tsvg accepts the graph" ||
		not_ok "$name: dot -Tsvg: $(cat "$2/err")"
}

# a task, its child, shared fds and a pipe; a detached mount; a namespace with tmpfs mounts
for s in shared-fds detached-bind mntns-tmpfs; do
	if dumped "$s"; then
		structure "$s" "$dir"
	else
		not_ok "$s: dump failed: $(tail -1 "$dir/img/dump.log")"
	fi
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done

# a table of 100 fds is one node per kind, unless --full
dir="$work/big"
mkdir -p "$dir"
"$BIN/launch" /bin/bash -c 'for i in $(seq 40 139); do eval "exec $i</dev/null"; done; exec sleep 600' \
	</dev/null >/dev/null 2>&1 &
pid=$!
for _ in $(seq 3000); do [ "$(ls /proc/$pid/fd 2>/dev/null | wc -l)" -ge 100 ] && break; sleep 0.01; done
if "$MINICR" dump -t "$pid" -D "$dir/img" --leave-running -o dump.log; then
	"$MINICR" show "$dir/img" --dot >"$dir/sum.dot"
	"$MINICR" show "$dir/img" --dot --full >"$dir/full.dot"
	# 100 on /dev/null, and stdin, stdout and stderr on it too
	if [ "$(count 'class="fd"' "$dir/sum.dot")" = 0 ] && grep -q 'label="103 fds\\nchrdev"' "$dir/sum.dot"; then
		ok "large table: summarised as '103 fds chrdev'"
	else
		not_ok "large table: not summarised: $(grep 'class="fds"' "$dir/sum.dot" | head -3)"
	fi
	[ "$(count 'class="fd"' "$dir/full.dot")" -ge 100 ] && ok "large table: --full draws every fd" ||
		not_ok "large table: --full drew $(count 'class="fd"' "$dir/full.dot") fd nodes"
else
	not_ok "large table: dump failed: $(tail -1 "$dir/img/dump.log")"
fi
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

# a progress line on a terminal (shown at once here, not after a second), none elsewhere
if command -v script >/dev/null; then
	dir="$work/progress"
	mkdir -p "$dir"
	export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
	"$BIN/launch" "$BIN/dirty-memory" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 3000); do [ -s "$dir/ready" ] && break; sleep 0.01; done
	MINICR_PROGRESS_AFTER_MS=0 script -qec \
		"$MINICR dump -t $pid -D $dir/img1 --leave-running" "$dir/tty" >/dev/null 2>&1
	MINICR_PROGRESS_AFTER_MS=0 "$MINICR" dump -t "$pid" -D "$dir/img2" --leave-running \
		>"$dir/notty" 2>&1
	if grep -q 'minicr: pages written: [0-9]*/[0-9]* MiB' "$dir/tty" &&
		! grep -q 'pages written' "$dir/notty"; then
		ok "progress: on a terminal only ($(grep -o 'pages written: [^%]*%' "$dir/tty" | tail -1))"
	else
		not_ok "progress: tty '$(tr '\r' '|' <"$dir/tty" | head -c 200)', not a tty '$(head -c 200 "$dir/notty")'"
	fi
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
fi

# --explain tells the detached mount's story in one sentence; off, it says nothing
img="$work/detached-bind/img"
if grep -Eq "explain: task [0-9]+: fd 3 \('/file'\) is on mount [0-9]+, which no mount table lists: detached; resolved (with a file handle through mount [0-9]+ \('[^']*'\) -> root /sub|by statmount on the fd itself)" "$img/dump.log"; then
	ok "--explain: $(grep -m 1 'no mount table lists' "$img/dump.log" | sed 's/.*explain: //')"
else
	not_ok "--explain: no detached sentence in: $(grep explain "$img/dump.log" | head -5)"
fi
grep -q explain "$work/big/img/dump.log" 2>/dev/null && not_ok "a dump without --explain explains" ||
	ok "a dump without --explain tells nothing"

# --svg and --html; the report in a headless Chromium
"$MINICR" show "$img" --svg "$work/g.svg" 2>"$work/err" && grep -q '<svg' "$work/g.svg" &&
	ok "--svg draws the graph" || not_ok "--svg: $(cat "$work/err")"
if "$MINICR" show "$img" --html "$work/report.html" >"$work/out" 2>"$work/err" &&
	grep -q "report written to $work/report.html" "$work/out" &&
	grep -q 'What minicr did: dump.log' "$work/report.html"; then
	ok "--html writes the report, with the narration of the dump"
else
	not_ok "--html: $(cat "$work/out" "$work/err")"
fi
grep -Eq 'src="http|href="http|<script src' "$work/report.html" &&
	not_ok "the report loads something from outside" || ok "the report is self-contained"
if ! command -v chromium >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium \
		>"$work/apt.log" 2>&1 || true
fi
if command -v chromium >/dev/null; then
	nodes=$(count 'class="[a-z-]*", shape' "$work/detached-bind/graph.dot")
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$work/chromium" --enable-logging=stderr --v=0 \
		--virtual-time-budget=5000 --dump-dom "file://$work/report.html" \
		>"$work/dom.html" 2>"$work/chromium.err"
	rendered=$(grep -o 'data-rendered="[0-9]* nodes"' "$work/dom.html")
	if [ "$rendered" = "data-rendered=\"$nodes nodes\"" ] && ! grep -q 'Uncaught' "$work/chromium.err"; then
		ok "Chromium renders the report: $nodes graph nodes, no script error"
	else
		not_ok "Chromium: '$rendered' for $nodes nodes; $(grep -m 2 'Uncaught\|CONSOLE' "$work/chromium.err")"
	fi
elif [ "${CI:-}" = true ]; then
	not_ok "Chromium could not be installed: $(tail -1 "$work/apt.log")"
else
	echo "skipped: Chromium is not installed and could not be (the report was not rendered)"
fi
finish_tests
