#!/usr/bin/env bash
# Page data goes to pages-<pid>.img with O_DIRECT where the images' file system offers direct
# I/O (a loop-mounted ext4 here) and through buffered writes where it does not (ramfs). Either
# way the dirty-memory scenario (100 MB of distinct pages, a sparse mapping, heap, a COW file
# mapping) must come back intact after dump, kill and restore. A file system too small for the
# pages must fail the dump with one error line naming the image and the reason, leave no image
# behind and the tree running, on both paths (ext4, ext2: direct; tmpfs: buffered). The restore
# reads long runs of pages with O_DIRECT where it can, else buffered. All mounts are made in a
# private mount namespace, with / made rprivate first.
set -u
MINICR=${MINICR:-./minicr}
BIN=${SCENARIO_BIN:-./test/scenarios}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace, mounts)"
	exit 77
fi
if [ -z "${PAGES_IO_IN_OWN_MNTNS:-}" ]; then
	PAGES_IO_IN_OWN_MNTNS=1 exec unshare --mount bash "$0" "$@"
fi
mount --make-rprivate / || exit 1

work=$(mktemp -d /tmp/minicr-pages-io.XXXXXX)
cleanup() {
	for m in "$work"/mnt-*; do
		mountpoint -q "$m" && umount "$m"
	done
	rm -rf "$work"
}
trap cleanup EXIT
passed=0 failed=0 skipped=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
skip() { skipped=$((skipped + 1)); echo "ok - $* # SKIP"; }

# Bounded waits: a hang guard, not a timing assertion.
wait_for_file() {
	for _ in $(seq 3000); do [ -s "$1" ] && return 0; sleep 0.01; done
	return 1
}

wait_pid_gone() {
	for _ in $(seq 3000); do [ -d "/proc/$1" ] || return 0; sleep 0.01; done
	return 1
}

start() { # case -> sets pid, dir (logs and scenario files stay on /tmp, off the small mounts)
	dir="$work/$1"
	mkdir -p "$dir"
	export SCENARIO_READY="$dir/ready" SCENARIO_RESULT="$dir/result"
	"$BIN/launch" "$BIN/dirty-memory" </dev/null >"$dir/out" 2>&1 &
	pid=$!
	disown "$pid" # bash reaps it still, without a "Killed" line when the dump kills it
	wait_for_file "$dir/ready"
}

verdict() { # case -> the scenario's own check after SIGUSR1
	kill -USR1 "$pid" 2>/dev/null
	if wait_for_file "$dir/result" && [ "$(head -1 "$dir/result")" = PASS ]; then
		ok "$1: the memory is intact"
	else
		not_ok "$1: the scenario says: $(cat "$dir/result" 2>/dev/null)"
		kill -9 "$pid" 2>/dev/null
	fi
	wait_pid_gone "$pid"
}

# mount_fs name type [ext2/ext4 size | mount options]: a fresh file system at $work/mnt-<name>
mount_fs() {
	local at="$work/mnt-$1"
	mkdir -p "$at"
	if [ "$2" = ext4 ] || [ "$2" = ext2 ]; then
		command -v mke2fs >/dev/null || return 1
		truncate -s "$3" "$work/$1.img" && mke2fs -q -F -t "$2" "$work/$1.img" 2>/dev/null &&
			mount -o loop "$work/$1.img" "$at" 2>/dev/null
	else
		mount -t "$2" ${3:+-o "$3"} "$1" "$at"
	fi
}

# A dump, kill and restore whose pages are written and read back as the last two arguments say.
round_trip() { # case fs-name how-written how-read
	local img="$work/mnt-$2/img"
	if ! start "$1"; then
		not_ok "$1: scenario did not start"
		return
	fi
	if ! "$MINICR" dump -t "$pid" -D "$img" -v4 -o "$dir/dump.log"; then
		not_ok "$1: dump failed: $(grep error "$dir/dump.log")"
		kill -9 "$pid"
		return
	fi
	wait_pid_gone "$pid" || not_ok "$1: task $pid is still alive"
	if grep -q "image 'pages-$pid.img': $3" "$dir/dump.log"; then
		ok "$1: pages written with $3"
	else
		not_ok "$1: pages not written with $3: $(grep "pages-$pid" "$dir/dump.log")"
	fi
	if ! "$MINICR" restore -D "$img" -d -v4 -o "$dir/restore.log"; then
		not_ok "$1: restore failed: $(grep error "$dir/restore.log")"
		return
	fi
	if grep -q "image 'pages-$pid.img': $4" "$dir/restore.log"; then
		ok "$1: pages read with $4"
	else
		not_ok "$1: pages not read with $4: $(grep "pages-$pid" "$dir/restore.log")"
	fi
	verdict "$1"
}

# A dump onto a file system too small for the pages: it fails cleanly.
full_fs() { # case fs-name
	local img="$work/mnt-$2/img" n
	if ! start "$1"; then
		not_ok "$1: scenario did not start"
		return
	fi
	if "$MINICR" dump -t "$pid" -D "$img" -o "$dir/dump.log"; then
		not_ok "$1: the dump succeeded on a full file system"
	else
		ok "$1: the dump failed"
	fi
	n=$(grep -c error "$dir/dump.log")
	if [ "$n" = 1 ] && grep -q "image 'pages-$pid.img': No space left on device" "$dir/dump.log"; then
		ok "$1: one error line: $(cat "$dir/dump.log")"
	else
		not_ok "$1: expected one line naming the image and ENOSPC, got $n: $(cat "$dir/dump.log")"
	fi
	if [ -z "$(ls -A "$img" 2>/dev/null)" ]; then
		ok "$1: no image left behind"
	else
		not_ok "$1: images left behind: $(ls -A "$img" | tr '\n' ' ')"
	fi
	verdict "$1"
}

# ramfs offers no direct I/O at all: statx reports no alignment and O_DIRECT opens fail.
if mount_fs ramfs ramfs; then
	round_trip buffered ramfs "buffered writes" "buffered reads"
else
	not_ok "buffered: cannot mount ramfs"
fi
if mount_fs ext4 ext4 512M; then
	round_trip direct ext4 "direct I/O" "runs of 1 MiB and more read with O_DIRECT"
else
	skip "direct: no loop-mounted ext4 (mke2fs or loop devices missing)"
fi
if mount_fs small-ext4 ext4 32M; then
	full_fs full-ext4-direct small-ext4
else
	skip "full-ext4-direct: no loop-mounted ext4"
fi
# ext2 files have no extents, so no fallocate: the file is only truncated to size and the full
# disk shows in a direct write of the writer thread.
if mount_fs small-ext2 ext2 32M; then
	full_fs full-ext2-direct-write small-ext2
else
	skip "full-ext2-direct-write: no loop-mounted ext2"
fi
if mount_fs small-tmpfs tmpfs size=32m; then
	full_fs full-tmpfs-buffered small-tmpfs
else
	not_ok "full-tmpfs-buffered: cannot mount tmpfs"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
