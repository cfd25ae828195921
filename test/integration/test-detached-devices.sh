#!/usr/bin/env bash
# A detached mount bound from a tmpfs of the tree's own namespace: restore makes that tmpfs
# anew, and the new one has the dumped device number only when the kernel happens to reuse it.
# Here another filesystem takes that number between the dump and the restore (as any mount
# made meanwhile would); the detached mount must still be rebuilt from the namespace's tmpfs,
# by both methods.
set -u
. "$(dirname "$0")/lib.sh"

for method in clone mountpoint; do
	name="detached-bind/$method"
	start detached-bind || { not_ok "$name: scenario did not start"; continue; }
	if ! "$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"; then
		not_ok "$name: dump failed: $(cat "$dir/err")"
		kill -9 "$pid"
		continue
	fi
	wait "$pid" 2>/dev/null
	for _ in $(seq 3000); do [ -z "$(session_pids "$pid")" ] && break; sleep 0.01; done
	mkdir -p "$dir/hog"
	# anonymous device numbers are handed out lowest first: these take the freed one
	if unshare -m --propagation private sh -c \
		'mount -t tmpfs hog "$1" && mount -t tmpfs hog "$1" && "$2" restore -D "$3" -d \
		--detached-mounts="$4" 2>"$5"' \
		- "$dir/hog" "$MINICR" "$dir/img" "$method" "$dir/err"; then
		ok "$name: restored"
		finish "$name"
	else
		not_ok "$name: restore failed: $(cat "$dir/err")"
	fi
done
finish_tests
