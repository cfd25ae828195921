#!/bin/sh
# run-fuzz.sh FUZZER SEED_DIR [SECONDS]: runs a libFuzzer target for a while over a scratch copy
# of its seed corpus, so the committed seeds are never modified. Exit status is the fuzzer's
# (non-zero when it found a crash; the reproducer is left in the scratch directory).
set -eu
fuzzer=$1
seeds=$2
seconds=${3:-10}

work=$(mktemp -d "${TMPDIR:-/tmp}/minicr-fuzz.XXXXXX")
cp "$seeds"/* "$work"/
status=0
"$fuzzer" -max_total_time="$seconds" -max_len=1048576 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work" || status=$?
if [ "$status" -eq 0 ]; then
	rm -rf "$work"
else
	echo "run-fuzz.sh: $fuzzer failed (status $status); inputs kept in $work" >&2
fi
exit "$status"
