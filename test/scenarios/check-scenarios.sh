#!/usr/bin/env bash
# make check entry for the scenario suite: baseline (the scenarios alone), dump mode (dump
# --leave-running, decode, self-check in the same tree) and cr mode (dump, kill, restore, and
# the restored processes check themselves).
set -u
run=${SCENARIO_RUN:-$(dirname "$0")/run.sh}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: scenarios need root (ptrace, mount namespaces, clone3 set_tid)"
	exit 77
fi
status=0
for mode in ${SCENARIO_MODES:-baseline dump cr}; do
	bash "$run" --mode "$mode" || status=1
done
exit $status
