#!/usr/bin/env bash
# A full images disk during the dump of a large tree: crash-victim with 200 MB of distinct dirty
# pages and 5000 more fds is dumped onto a 32 MB tmpfs (FULL_DISK_MEMORY_MB and FULL_DISK_FDS
# make it smaller where the machine is slow, with the tmpfs a sixth of the memory). The dump must fail with one error line
# naming the image and the reason, leave the images dir as it was (no image, no private dir)
# and the tree running as before (it checks its registers, signal masks, maps, code, fds and
# memory). Then minicr is killed with kill -9 at random instants of that failing dump,
# FULL_DISK_KILLS times: after each the tree must be intact too, and the next dump must clean
# up what the killed one left in the images dir. Mounts happen in a private mount namespace.
set -u
MINICR=${MINICR:-./minicr}
BIN=${SCENARIO_BIN:-./test/scenarios}
FULL_DISK_KILLS=${FULL_DISK_KILLS:-10}
FULL_DISK_MEMORY_MB=${FULL_DISK_MEMORY_MB:-200}
FULL_DISK_FDS=${FULL_DISK_FDS:-5000}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: needs root (ptrace, mounts)"
	exit 77
fi
if [ -z "${FULL_DISK_IN_OWN_MNTNS:-}" ]; then
	FULL_DISK_IN_OWN_MNTNS=1 exec unshare --mount bash "$0" "$@"
fi
mount --make-rprivate / || exit 1
work=$(mktemp -d /tmp/minicr-full-disk.XXXXXX)
vpid=
cleanup() {
	[ -n "$vpid" ] && kill -9 "$vpid" 2>/dev/null
	mountpoint -q "$work/mnt" && umount "$work/mnt"
	rm -rf "$work"
}
trap cleanup EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

status_field() { # pid field
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

mkdir "$work/mnt"
mount -t tmpfs -o size=$((FULL_DISK_MEMORY_MB / 6))m minicr-full-disk "$work/mnt" ||
	{ echo "not ok - cannot mount tmpfs"; exit 1; }
img=$work/mnt/img

VICTIM_MEMORY_MB=$FULL_DISK_MEMORY_MB VICTIM_FDS=$FULL_DISK_FDS VICTIM_READY=$work/ready VICTIM_RESULT=$work/result \
	"$BIN/launch" "$BIN/crash-victim" </dev/null >"$work/victim.out" 2>&1 &
vpid=$!
disown "$vpid"
for _ in $(seq 3000); do [ -e "$work/ready" ] && break; sleep 0.01; done
[ -e "$work/ready" ] || { echo "not ok - the victim did not start: $(cat "$work/victim.out")"; exit 1; }
vchild=$(cat "/proc/$vpid/task/$vpid/children" | tr -d ' ')
sigblk=$(status_field "$vpid" SigBlk)
n_checks=0

# check_tree NAME: untraced, back in its reads, and its own check passes.
check_tree() {
	local line= s1 s2
	for _ in $(seq 1000); do
		read -r s1 _ 2>/dev/null <"/proc/$vpid/syscall"
		read -r s2 _ 2>/dev/null <"/proc/$vchild/syscall"
		[ "$(status_field "$vpid" TracerPid)" = 0 ] && [ "$(status_field "$vchild" TracerPid)" = 0 ] &&
			[ "$(status_field "$vpid" SigBlk)" = "$sigblk" ] && [ "$s1" = 0 ] && [ "$s2" = 0 ] &&
			break
		sleep 0.01
	done
	n_checks=$((n_checks + 1))
	kill -USR1 "$vpid" 2>/dev/null
	for _ in $(seq 3000); do
		read -r line 2>/dev/null <"$work/result"
		case "$line" in "PASS $n_checks "* | FAIL*) break ;; esac
		sleep 0.01
	done
	case "$line" in
	"PASS $n_checks "*) return 0 ;;
	esac
	not_ok "$1: ${line:-no answer from the tree} ($(tail -c 200 "$work/victim.out"))"
	exit 1
}

images_dir_is_clean() { # name
	local left
	left=$(ls -A "$img" 2>/dev/null | tr '\n' ' ')
	if [ -z "$left" ]; then
		return 0
	fi
	not_ok "$1: left in the images dir: $left"
	return 1
}

# ---- 1. the dump fails cleanly ----------------------------------------------------------------
start_ns=$(date +%s%N)
if "$MINICR" dump -t "$vpid" -D "$img" 2>"$work/err"; then
	not_ok "the dump succeeded on a tmpfs of $((FULL_DISK_MEMORY_MB / 6)) MB"
	exit 1
fi
dump_ms=$((($(date +%s%N) - start_ns) / 1000000))
if [ "$(grep -c error "$work/err")" = 1 ] && grep -q "image 'pages-$vpid.img': No space left on device" "$work/err"; then
	ok "one error line: $(cat "$work/err")"
else
	not_ok "expected one line naming the image and ENOSPC: $(cat "$work/err")"
fi
images_dir_is_clean "failed dump" && ok "nothing left in the images dir"
check_tree "failed dump" && ok "the tree runs on as it was"

# ---- 2. killed at random instants of that failing dump ----------------------------------------
window_us=$((dump_ms * 1200 + 1000))
for i in $(seq "$FULL_DISK_KILLS"); do
	delay_us=$(((RANDOM * 32768 + RANDOM) % window_us))
	"$MINICR" dump -t "$vpid" -D "$img" >/dev/null 2>&1 &
	mpid=$!
	sleep "$(printf '0.%06d' "$delay_us")"
	kill -9 "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
	check_tree "kill -9 after $delay_us us (round $i)" && passed=$((passed + 1))
done
echo "# $FULL_DISK_KILLS kills spread over $((window_us / 1000)) ms (the failing dump takes about $dump_ms ms)"
"$MINICR" dump -t "$vpid" -D "$img" 2>/dev/null
images_dir_is_clean "the dump after the kills" && ok "the next dump cleaned up after the killed ones"
check_tree "last dump" && ok "the tree is intact after $n_checks checks"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
