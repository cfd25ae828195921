#!/usr/bin/env bash
# Detached and anonymous mounts restore could not rebuild are refused by the dump with one line
# naming the fd or mount and why, and the tree carries on (test/scenarios/refused-mounts.c).
set -u
. "$(dirname "$0")/lib.sh"

# An orphaned filesystem that is neither a tmpfs nor on a block device, an anonymous tree
# whose mount fd is held outside the tree, a shared anonymous mount.
start refused-orphan-ramfs
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "orphaned ramfs" \
	"fd [0-9]* of task $pid .*its ramfs filesystem .* is mounted nowhere else (orphaned)" \
	"the fd and why"
finish "orphaned ramfs"
start refused-anon-outside
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "anonymous tree held outside" \
	"anonymous mount tree [0-9]* .*: no task of the tree holds its mount fd" "the tree and why"
finish "anonymous tree held outside"
start refused-anon-shared
"$MINICR" dump -t "$pid" -D "$dir/img" 2>"$dir/err"
expect_refusal $? "shared anonymous mount" \
	"anonymous mount [0-9]* .*: it is shared, and the propagation of anonymous mounts" \
	"the mount and why"
finish "shared anonymous mount"

finish_tests
