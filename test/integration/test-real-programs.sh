#!/usr/bin/env bash
# Real programs, dumped and restored: tail -f (inotify, poll without a timeout), a node timer
# loop (epoll, eventfds, pipes, threads), an interactive bash in a pty under script(1) (pty
# master and slave, controlling terminal, signalfd), python's http.server (a TCP listener) and
# socat forking a cat per connection on a unix listener, and nginx (a master and two workers
# sharing one listener, an accept mutex in shared memory, epoll, eventfds, signal handlers).
# Each must go on after restore: tail prints a line appended later, node keeps ticking, bash
# runs a command typed later, the servers answer a new client, nginx quits cleanly on SIGQUIT. A program that is not installed is skipped (contrib/setup.sh
# installs them).
set -u
MINICR=${MINICR:-./minicr}
BIN=${SCENARIO_BIN:-./test/scenarios}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace, clone3 set_tid)"
	exit 77
fi
work=$(mktemp -d /tmp/minicr-real.XXXXXX)
passed=0 failed=0 skipped=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
skip() { skipped=$((skipped + 1)); echo "ok - $* # SKIP"; }

tree_pids() { [ -n "$1" ] || return 0; echo "$1"; for c in $(pgrep -P "$1"); do tree_pids "$c"; done; }
kill_tree() { local p; for p in $(tree_pids "$1"); do kill -9 "$p" 2>/dev/null; done; }
trap 'for f in "$work"/*.pid; do [ -f "$f" ] && kill_tree "$(cat "$f")"; done; rm -rf "$work"' EXIT

# Waits until text appears in file (a hang guard, not a timing assertion).
wait_for() { for _ in $(seq 1000); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.01; done; return 1; }

# Starts "$@" through the scenarios' launcher (a session of its own, fds above 2 closed); its
# pid in $work/$name.pid.
start() { # name stdin stdout command...
	local name=$1 in=$2 out=$3
	shift 3
	"$BIN/launch" /bin/sh -c 'echo $$ > "$0"; exec "$@"' "$work/$name.pid" "$@" <"$in" \
		>"$out" 2>&1 &
	disown $! # the shell still reaps it, without a "Killed" notice when the dump kills it
	for _ in $(seq 1000); do [ -s "$work/$name.pid" ] && break; sleep 0.01; done
}

# Dumps the tree of name, waits until every pid of it is gone, restores it.
cr() { # name
	local pid pids
	pid=$(cat "$work/$1.pid")
	pids=$(tree_pids "$pid")
	if ! "$MINICR" dump -t "$pid" -D "$work/$1.img" 2>"$work/$1.dump.err"; then
		not_ok "$1: dump failed: $(cat "$work/$1.dump.err")"
		kill_tree "$pid"
		return 1
	fi
	for p in $pids; do
		for _ in $(seq 1000); do [ -d "/proc/$p" ] || break; sleep 0.01; done
	done
	# right away: restore itself waits for pid numbers their exited owners give back late
	"$MINICR" restore -D "$work/$1.img" -d 2>"$work/$1.restore.err" && return 0
	not_ok "$1: restore failed: $(cat "$work/$1.restore.err")"
	return 1
}

mkdir -p "$work/tail.img" "$work/node.img" "$work/shell.img" "$work/http.img" "$work/socat.img" \
	"$work/nginx.img"

free_port() {
	local p
	for p in $(seq 20000 20999 | shuf); do
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
	done
}
# Retries cmd until it succeeds (a hang guard, not a timing assertion).
retry() { for _ in $(seq 1000); do "$@" && return 0; sleep 0.01; done; return 1; }

# (1) tail -f: inotify on the file, poll(2) on its output without a timeout
if command -v tail >/dev/null; then
	echo first >"$work/watched"
	start tail /dev/null "$work/tail.out" tail -f "$work/watched"
	wait_for "$work/tail.out" first
	if cr tail; then
		echo second >>"$work/watched"
		wait_for "$work/tail.out" second && ok "tail -f: prints a line appended after restore" ||
			not_ok "tail -f: nothing after restore: $(cat "$work/tail.out")"
	fi
	kill_tree "$(cat "$work/tail.pid")"
else
	skip "tail -f: tail is not installed"
fi

# (2) node: a setInterval loop (libuv: epoll, eventfds, pipes, worker threads)
if command -v node >/dev/null; then
	start node /dev/null "$work/node.out" node -e \
		'let n = 0; setInterval(() => console.log("tick " + ++n), 50)'
	wait_for "$work/node.out" "tick 3"
	if cr node; then
		last=$(grep -c tick "$work/node.out")
		wait_for "$work/node.out" "tick $((last + 5))" &&
			ok "node: keeps ticking after restore ($(tail -1 "$work/node.out"))" ||
			not_ok "node: stopped at $(tail -1 "$work/node.out")"
	fi
	kill_tree "$(cat "$work/node.pid")"
else
	skip "node: not installed"
fi

# (3) an interactive bash in a pty: script(1) holds the master, reads a FIFO we write
if command -v script >/dev/null && command -v bash >/dev/null; then
	mkfifo "$work/keys"
	exec 7<>"$work/keys" # keeps the FIFO open across the dump
	start shell "$work/keys" "$work/shell.out" script -qfc "bash --norc --noprofile -i" /dev/null
	echo 'echo before-$((6*7))' >&7
	wait_for "$work/shell.out" before-42
	if cr shell; then
		echo 'echo after-$((6*7)); tty' >&7
		wait_for "$work/shell.out" "after-42" &&
			ok "bash in a pty: runs a command typed after restore ($(grep -a /dev/pts "$work/shell.out" | tail -1 | tr -d '\r'))" ||
			not_ok "bash in a pty: $(tr -d '\r' <"$work/shell.out")"
	fi
	kill_tree "$(cat "$work/shell.pid")"
	exec 7>&-
else
	skip "bash in a pty: script(1) or bash is not installed"
fi

# (4) python3 -m http.server: a TCP listener; a page made before the dump and one made after
if command -v python3 >/dev/null && command -v curl >/dev/null; then
	port=$(free_port)
	mkdir -p "$work/www"
	echo before >"$work/www/page"
	(cd "$work/www" && start http /dev/null "$work/http.out" \
		python3 -m http.server --bind 127.0.0.1 "$port")
	if ! retry curl -sf -o /dev/null "http://127.0.0.1:$port/page"; then
		not_ok "python3 http.server: never served: $(tail -1 "$work/http.out")"
	elif cr http; then
		echo after >"$work/www/new"
		[ "$(curl -sf "http://127.0.0.1:$port/page")" = before ] &&
			[ "$(curl -sf "http://127.0.0.1:$port/new")" = after ] &&
			ok "python3 http.server: serves an old and a new page after restore" ||
			not_ok "python3 http.server: does not serve after restore"
	fi
	kill_tree "$(cat "$work/http.pid")"
else
	skip "python3 http.server: python3 or curl is not installed"
fi

# (5) socat: a unix listener forking a cat for each connection
if command -v socat >/dev/null; then
	start socat /dev/null "$work/socat.out" socat "UNIX-LISTEN:$work/echo.sock,fork" EXEC:cat
	if ! retry test -S "$work/echo.sock"; then
		not_ok "socat: never listened: $(tail -1 "$work/socat.out")"
	elif cr socat; then
		[ "$(echo hello | socat -t1 - "UNIX-CONNECT:$work/echo.sock")" = hello ] &&
			ok "socat: echoes for a new client after restore" ||
			not_ok "socat: no echo after restore"
	fi
	kill_tree "$(cat "$work/socat.pid")"
else
	skip "socat: not installed"
fi

# (6) nginx: a master and two workers in the foreground, one TCP listener they share
if command -v nginx >/dev/null && command -v curl >/dev/null; then
	port=$(free_port)
	mkdir -p "$work/nginx"
	cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log notice;
events { worker_connections 64; }
http {
	access_log $work/nginx/access.log;
	client_body_temp_path $work/nginx;
	proxy_temp_path $work/nginx;
	fastcgi_temp_path $work/nginx;
	uwsgi_temp_path $work/nginx;
	scgi_temp_path $work/nginx;
	server { listen 127.0.0.1:$port; location / { return 200 "hello \$request_uri"; } }
}
EOF
	start nginx /dev/null "$work/nginx.out" nginx -g 'daemon off;' -c "$work/nginx/nginx.conf" \
		-p "$work/nginx"
	if ! retry curl -sf -o /dev/null "http://127.0.0.1:$port/before"; then
		not_ok "nginx: never served: $(tail -1 "$work/nginx/error.log" 2>/dev/null)"
	elif [ "$(tree_pids "$(cat "$work/nginx.pid")" | wc -l)" != 3 ]; then
		not_ok "nginx: not a master and two workers: $(tree_pids "$(cat "$work/nginx.pid")")"
	elif cr nginx; then
		master=$(cat "$work/nginx.pid")
		if [ "$(curl -sf "http://127.0.0.1:$port/after")" = "hello /after" ]; then
			kill -QUIT "$master"
			for _ in $(seq 1000); do [ -z "$(pgrep -P "$master")" ] && break; sleep 0.01; done
			grep -q "gracefully shutting down" "$work/nginx/error.log" &&
				[ -z "$(pgrep -P "$master")" ] &&
				ok "nginx: serves a new request after restore and quits cleanly" ||
				not_ok "nginx: no clean quit after restore: $(tail -2 "$work/nginx/error.log")"
		else
			not_ok "nginx: does not serve after restore: $(tail -2 "$work/nginx/error.log")"
		fi
	fi
	kill_tree "$(cat "$work/nginx.pid")"
else
	skip "nginx: not installed"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
