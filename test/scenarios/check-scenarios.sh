#!/usr/bin/env bash
# make check entry for the scenario suite: baseline (the scenarios alone) then dump mode
# (dump --leave-running, decode, self-check). The cr mode (restore) joins once restore lands.
set -u
run=${SCENARIO_RUN:-$(dirname "$0")/run.sh}
if [ "$(id -u)" != 0 ]; then
	echo "skipped: scenarios need root (ptrace, mount namespaces, clone3 set_tid)"
	exit 77
fi
status=0
for mode in ${SCENARIO_MODES:-baseline dump}; do
	bash "$run" --mode "$mode" || status=1
done
exit $status
