#!/usr/bin/env bash
# Slaves and peers of groups outside the tree's namespaces: in a private mount namespace of its
# own (which plays the host, where minicr runs), this makes two shared tmpfs, starts the
# mntns-host-master scenario (a namespace of slaves, as `unshare --propagation slave` makes, but
# for its copy of the second tmpfs, a peer of the host's), dumps it, restores it, then mounts
# under both: the restored slaves and the peer must receive those mounts, their mountinfo must
# be the same as before, and a mount the tree makes under its peer must reach the host.
set -u
MINICR=${MINICR:-./minicr}
BIN=${SCENARIO_BIN:-./test/scenarios}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace, mount namespaces)"
	exit 77
fi
if [ -z "${MINICR_TEST_PRIVATE_NS:-}" ]; then
	MINICR_TEST_PRIVATE_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
MINICR=$(realpath "$MINICR")
BIN=$(realpath "$BIN")
work=$(mktemp -d /tmp/minicr-mntns-master.XXXXXX)
master=$work/master
peer=$work/peer
cleanup() {
	[ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null
	umount -l "$master" 2>/dev/null
	umount -l "$peer" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

gone() { # session: every process of it has exited
	local i
	for ((i = 0; i < 3000; i++)); do
		[ -z "$(ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }')" ] && return 0
		sleep 0.01
	done
	return 1
}

mkdir -p "$master" "$peer" "$work/img"
mount -t tmpfs -o size=1m scn-host-master "$master" || { echo "skipped: cannot mount"; exit 77; }
mount -t tmpfs -o size=1m scn-host-peer "$peer"
mkdir -p "$master/sub/probe" "$peer/sub/probe" "$peer/sub/back"
mount --make-shared "$master"
mount --make-shared "$peer"

export SCENARIO_READY=$work/ready SCENARIO_RESULT=$work/result MINICR_TEST_MASTER=$master \
	MINICR_TEST_PEER=$peer
"$BIN/launch" "$BIN/mntns-host-master" </dev/null >"$work/out" 2>&1 &
pid=$!
for _ in $(seq 3000); do [ -s "$work/ready" ] && break; sleep 0.01; done
if [ ! -s "$work/ready" ]; then
	wait "$pid"
	status=$?
	[ $status = 77 ] && { echo "skipped: $(cat "$work/result")"; exit 77; }
	echo "not ok - the scenario did not start: $(cat "$work/out")"
	exit 1
fi
if ! "$MINICR" dump -t "$pid" -D "$work/img" -o "$work/img/dump.log"; then
	echo "not ok - dump failed: $(tail -n 3 "$work/img/dump.log")"
	exit 1
fi
wait "$pid" 2>/dev/null
gone "$pid" || { echo "not ok - the dumped tree is still alive"; exit 1; }
if ! "$MINICR" restore -D "$work/img" -d -o "$work/img/restore.log"; then
	echo "not ok - restore failed: $(tail -n 3 "$work/img/restore.log")"
	exit 1
fi
echo "ok - dumped and restored slaves and a peer of the host's shared mounts"
# the host mounts under its shared tmpfs: the restored slaves and the peer must see it
mount -t tmpfs -o size=64k scn-host-probe "$master/sub/probe"
mount -t tmpfs -o size=64k scn-host-probe "$peer/sub/probe"
kill -USR1 "$pid"
for _ in $(seq 3000); do [ -s "$work/result" ] && break; sleep 0.01; done
umount -l "$master/sub/probe"
umount -l "$peer/sub/probe"
if [ "$(head -n 1 "$work/result" 2>/dev/null)" != PASS ]; then
	echo "not ok - $(cat "$work/result" 2>/dev/null)"
	exit 1
fi
pid=
echo "ok - the restored slaves and peer follow the host's peer groups"
if ! grep -q " $peer/sub/back " /proc/self/mountinfo; then
	echo "not ok - the tree's mount under its peer did not reach the host"
	exit 1
fi
umount -l "$peer/sub/back"
echo "ok - the tree's mount under its peer reached the host"
echo "3 passed, 0 failed"
exit 0
