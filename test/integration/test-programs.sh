#!/usr/bin/env bash
# Programs written elsewhere, as Debian ships them, dumped and restored while they work: each is
# started in its own session, checked once through its own interface (a page served, a line
# followed, a counter ticking), dumped (which kills it), restored, and checked again through the
# same interface — with state made before the dump still there and new work done after. A
# program that is not installed is skipped with its package name (contrib/setup.sh installs
# them all).
set -u
. "$(dirname "$0")/lib.sh"

wait_until() { # tries command...: a hang guard, not a timing assertion
	local n=$1
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

free_port() {
	local p
	for p in $(seq 20000 20999 | shuf); do
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
	done
}

# program NAME PACKAGE COMMAND...: starts it under launch (own session, fds 0-2 only) in $dir.
program() {
	name=$1 package=$2
	shift 2
	dir="$work/$name"
	mkdir -p "$dir"
	cd "$dir" || return
	"$BIN/launch" "$@" </dev/null >"$dir/out" 2>"$dir/err" &
	pid=$!
	disown "$pid" # the shell still reaps it, without a "Killed" notice once the dump kills it
	cd - >/dev/null || return
}

# cr: dump the session, wait until it is gone, restore it detached. Returns 1 with a reason.
cr() {
	if ! "$MINICR" dump -t "$pid" -D "$dir/img" -o dump.log -v4 2>"$dir/dump.err"; then
		not_ok "$name: dump failed: $(grep -m1 'error' "$dir/img/dump.log" || tail -n 1 "$dir/dump.err")"
		stop
		return 1
	fi
	if ! wait_until 600 test -z "$(session_pids "$pid")"; then
		not_ok "$name: the dumped tree is still alive"
		return 1
	fi
	if ! "$MINICR" restore -D "$dir/img" -d -o restore.log -v4 2>"$dir/restore.err"; then
		not_ok "$name: restore failed: $(grep -m1 'error' "$dir/img/restore.log" || tail -n 1 "$dir/restore.err")"
		return 1
	fi
	return 0
}

stop() { # kills what is left of the session
	local p
	for p in $(session_pids "$pid"); do kill -9 "$p" 2>/dev/null; done
	wait_until 600 test -z "$(session_pids "$pid")"
}

have() { # PACKAGE COMMAND: skip unless installed
	command -v "$2" >/dev/null && return 0
	echo "ok - $1 # SKIP $2 not installed (Debian package $1)"
	return 1
}

# python3 -m http.server: a listening TCP socket; a file served before and after, and a file
# created after the restore.
test_http_server() {
	have python3 python3 || return
	local port
	port=$(free_port)
	program http-server python3 /usr/bin/python3 -m http.server --bind 127.0.0.1 "$port"
	echo before >"$dir/page"
	if ! wait_until 600 curl -sf "http://127.0.0.1:$port/page" -o /dev/null; then
		not_ok "$name: never served ($(tail -n 1 "$dir/err"))"
		stop
		return
	fi
	cr || return
	echo after >"$dir/new"
	if [ "$(curl -sf "http://127.0.0.1:$port/page")" = before ] &&
		[ "$(curl -sf "http://127.0.0.1:$port/new")" = after ]; then
		ok "$name: serves the old page and a new one after the restore"
	else
		not_ok "$name: does not serve after the restore"
	fi
	stop
}

# tail -f: inotify on a followed file; a line appended after the restore is printed.
test_tail_follow() {
	have coreutils tail || return
	program tail-follow coreutils /usr/bin/tail -f "$work/followed"
	: >"$work/followed"
	echo first >>"$work/followed"
	if ! wait_until 600 grep -q first "$dir/out"; then
		not_ok "$name: never followed ($(tail -n 1 "$dir/err"))"
		stop
		return
	fi
	cr || return
	echo second >>"$work/followed"
	if wait_until 600 grep -q second "$dir/out"; then
		ok "$name: follows the file after the restore"
	else
		not_ok "$name: the line appended after the restore never came out"
	fi
	stop
}

# node: a timer (libuv's epoll, eventfd and thread pool) ticking into a file, and a TCP server.
test_node_timer() {
	have nodejs node || return
	local port
	port=$(free_port)
	program node-timer nodejs /usr/bin/node -e "
		const fs = require('fs'), net = require('net');
		let n = 0;
		setInterval(() => fs.writeFileSync('ticks', String(++n)), 20);
		net.createServer(s => s.end('ticks ' + n + '\n')).listen($port, '127.0.0.1');"
	if ! wait_until 600 test -s "$dir/ticks"; then
		not_ok "$name: never ticked ($(tail -n 1 "$dir/err"))"
		stop
		return
	fi
	cr || return
	local at
	at=$(cat "$dir/ticks")
	if wait_until 600 test "$(cat "$dir/ticks")" -gt "$((at + 5))" &&
		curl -sf "telnet://127.0.0.1:$port" </dev/null | grep -q '^ticks '; then
		ok "$name: ticks on and answers after the restore"
	else
		not_ok "$name: stopped ticking or answering after the restore (at $at)"
	fi
	stop
}

# socat: a unix listener that forks a cat per connection.
test_socat_echo() {
	have socat socat || return
	program socat-echo socat /usr/bin/socat "UNIX-LISTEN:$work/echo.sock,fork" EXEC:cat
	if ! wait_until 600 test -S "$work/echo.sock"; then
		not_ok "$name: never listened ($(tail -n 1 "$dir/err"))"
		stop
		return
	fi
	cr || return
	if [ "$(echo hello | socat -t1 - "UNIX-CONNECT:$work/echo.sock")" = hello ]; then
		ok "$name: echoes after the restore"
	else
		not_ok "$name: no echo after the restore"
	fi
	stop
}

test_http_server
test_tail_follow
test_node_timer
test_socat_echo
finish_tests
