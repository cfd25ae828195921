#!/usr/bin/env bash
# make check entry for the scenario suite: baseline (the scenarios alone), dump mode (dump
# --leave-running, decode, self-check in the same tree) and cr mode (dump, kill, restore, and
# the restored processes check themselves). In dump and cr modes proc-fields.sh also compares
# every field /proc shows of the tree before and after (nothing dropped silently).
set -u
run=${SCENARIO_RUN:-$(dirname "$0")/run.sh}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: scenarios need root (ptrace, mount namespaces, clone3 set_tid)"
	exit 77
fi
status=0
probe=$(cd "$(dirname "$run")" && pwd)/proc-fields.sh
for mode in ${SCENARIO_MODES:-baseline dump cr}; do
	bash "$run" --mode "$mode" --probe "$probe" || status=1
done
exit $status
