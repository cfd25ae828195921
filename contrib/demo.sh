#!/usr/bin/env bash
# demo.sh: minicr's main job on a real workload. Builds minicr (installing what a fresh Debian
# machine lacks), starts a workload that holds a journal fd on a lazily unmounted bind mount,
# dumps it, kills it, restores it, and shows it carrying on from where it stopped.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$("$top/contrib/setup.sh" "$top/build" | tail -1)
make -C "$build" -s contrib/demo-workload test/scenarios/launch >/dev/null
minicr=$build/minicr
work=$(mktemp -d /tmp/minicr-demo-run.XXXXXX)
images=$work/images
pid=

cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	base=$(sed -n 's/.* of \(\/tmp\/minicr-demo\.[A-Za-z0-9]*\)$/\1/p' "$work/out" 2>/dev/null)
	[ -n "$base" ] && rm -rf "$base"
	rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "minicr check: what this kernel offers"
"$minicr" check | grep -E "statmount|file_handles|clone3_set_tid|dump:|restore:" || true

say "start the workload: a journal on a tmpfs bind mount that it then lazily unmounts"
# Started through a shell that exits at once, so the workload is not this script's child.
pid=$(sh -c '"$0" "$1" </dev/null >"$2" 2>&1 & echo $!' \
	"$build/test/scenarios/launch" "$build/contrib/demo-workload" "$work/out")
while ! grep -q "tick 5 " "$work/out" 2>/dev/null; do sleep 0.1; done
head -1 "$work/out"
journal_fd=$(sed -n 's/.*journal fd \([0-9]*\).*/\1/p' "$work/out")
mnt_id=$(awk '/^mnt_id:/ {print $2}' "/proc/$pid/fdinfo/$journal_fd")
echo "fd $journal_fd -> $(readlink "/proc/$pid/fd/$journal_fd") on mount $mnt_id;" \
	"listed in its mountinfo: $(grep -c "^$mnt_id " "/proc/$pid/mountinfo" || true) times"

say "minicr dump -t $pid -D $images"
"$minicr" dump -t "$pid" -D "$images" -v3 --explain -o dump.log
# --explain tells each step in one sentence; -o puts the log in the images directory
sed -n 's/^.*explain: /  /p' "$images/dump.log"
last=$(tail -1 "$work/out")
echo "last line before the dump: $last"
while [ -d "/proc/$pid" ]; do sleep 0.05; done
echo "the workload is gone (pid $pid no longer exists)"

say "what the images say about the detached mount"
"$minicr" show "$images/detached-mnt.img"

say "minicr restore -D $images -d"
if "$minicr" restore -D "$images" -d --explain -o restore.log 2>"$work/restore.err"; then
	sed -n 's/^.*explain: /  /p' "$images/restore.log"
	sleep 1
	mnt_id=$(awk '/^mnt_id:/ {print $2}' "/proc/$pid/fdinfo/$journal_fd")
	echo "restored as pid $pid: fd $journal_fd -> $(readlink "/proc/$pid/fd/$journal_fd")" \
		"on mount $mnt_id; listed in its mountinfo: $(grep -c "^$mnt_id " "/proc/$pid/mountinfo" || true) times"
	echo "its output since the dump:"
	sed -n "/^${last}\$/,\$p" "$work/out" | head -6
	kill -9 "$pid" 2>/dev/null || true
	say "the workload carried on from '$last', its journal still on a detached mount"
	say "a picture of the checkpoint"
	report=$top/minicr-demo-report.html
	"$minicr" show "$images" --html "$report"
	echo "open $report in a browser: the tree, its fds, the mounts and the detached one"
else
	cat "$work/restore.err"
	say "restore failed"
	exit 1
fi
