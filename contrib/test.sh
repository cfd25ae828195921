#!/usr/bin/env bash
# test.sh: the whole test suite on a fresh Debian machine (CI runs exactly this):
#   1. gcc, -Werror: build, unit tests, integration tests, scenario suite (make check)
#   2. the same suite built with ASan + UBSan (--enable-sanitizers)
#   3. the fuzzers (image decoder, mountinfo, /proc parsers, smaps, signal frames, task image
#      checks), briefly, with clang + libFuzzer + ASan/UBSan
#   4. make distcheck (the tarball builds and passes out of tree)
#   5. the kernel-VM lane: Debian sid's current 7.x kernel under qemu runs minicr check, the
#      integration tests whose paths depend on the kernel and every scenario in cr mode (its
#      ci profile), so the STATMOUNT_BY_FD path runs for real
#   6. the CRIU lane: the same VM with Debian sid's criu package runs every scenario under
#      minicr and under CRIU, prints their verdicts side by side and fails when one differs
#      from its expectation (test/scenarios/expected)
# Prints each stage's test summary and time, and a closing "N passed, M failed" over the stages.
# The whole must stay well under 20 minutes on the 2-core machine CI runs on.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0

timings=()
stage() { # name command...
	local name=$1 t0=$SECONDS verdict
	shift
	echo "==== $name"
	if "$@"; then
		passed=$((passed + 1))
		verdict=passed
	else
		failed=$((failed + 1))
		verdict=FAILED
	fi
	echo "==== $name: $verdict ($((SECONDS - t0)) s)"
	timings+=("$(printf '%6d s  %-7s %s' $((SECONDS - t0)) "$verdict" "$name")")
}

check_in() { # build-dir make-target configure-args...
	local dir=$1 target=$2
	shift 2
	local build
	build=$("$top/contrib/setup.sh" "$dir" "$@" | tail -1) || return 1
	make -C "$build" -s -j"$(nproc)" "$target" ${MAKE_TESTS:+TESTS="$MAKE_TESTS"} \
		>"$build/$target.out" 2>&1
	local status=$?
	# Show the automake summary and every test's own summary lines, then failures in full.
	grep -E '^(PASS|FAIL|SKIP|XFAIL|ERROR|# (TOTAL|PASS|SKIP|FAIL|ERROR))' "$build/$target.out"
	if [ $status != 0 ]; then
		tail -50 "$build/$target.out"
		for log in $(grep -l -E '^(FAIL|ERROR)' "$build"/test/*/*.log 2>/dev/null); do
			echo "---- $log"
			tail -40 "$log"
		done
	fi
	return $status
}

stage "gcc -Werror: make check" check_in "$top/build" check --enable-werror
# Under the sanitizers, minicr itself is checked; test-restore and test-resume are left out
# because their victims are forks of a sanitized test program, whose terabytes of shadow
# mappings make a memory dump meaningless (the scenario victims are plain programs), and the
# scenarios run in baseline and dump modes only: a restored process starts as a fork of
# minicr, and a sanitized minicr's shadow mappings cover the addresses the dumped process
# needs back. Every restore step before the resume still runs sanitized: test-restore-stopped
# restores scenario dumps without their memory images, leaving the tasks stopped.
sanitized_tests="test/unit/test-base test/unit/test-cli test/unit/test-image test/unit/test-mountinfo
	test/unit/test-fdinfo test/unit/test-kerndat test/unit/test-pstree test/unit/test-mm-parse
	test/unit/test-sigframe test/unit/test-procfs test/unit/test-core-check
	test/unit/test-tree-plan test/unit/test-cgroup test/integration/test-parasite
	test/integration/test-fds
	test/integration/test-detached test/integration/test-dump-failures.sh
	test/integration/test-check-only.sh test/integration/test-restore-stopped.sh
	test/scenarios/check-scenarios.sh"
NO_RESUME=1 SCENARIO_MODES="baseline dump" MAKE_TESTS=$(echo $sanitized_tests) \
	stage "ASan+UBSan: make check" \
	check_in "$top/build-sanitizers" check --enable-sanitizers --enable-werror
# The fuzzers alone: stage 1 ran the rest of the suite on the same code.
stage "clang fuzzing smoke" check_in "$top/build-fuzz" check-fuzz-smoke --enable-fuzzing \
	--enable-werror CC=clang
# distcheck proves the tarball builds and passes out of tree; its scenarios run in dump mode
# only (stage 1 ran every mode on the same code), which keeps the whole suite well under 20 min.
SCENARIO_MODES=dump stage "make distcheck" check_in "$top/build" distcheck --enable-werror
# The kernel-VM lane's ci profile (contrib/vm/README.md): every scenario in cr mode and the
# integration tests whose paths depend on the kernel; the rest of them ran in stage 1 and say
# nothing new on 7.x, and TCG runs code 10-50 times slower. `make check-vm` alone runs them all.
MINICR_VM_PROFILE=${MINICR_VM_PROFILE:-ci} \
	stage "kernel-VM lane (Debian sid 7.x under qemu)" check_in "$top/build" check-vm --enable-werror
# The CRIU lane's table is the point of it: shown whatever the verdict.
criu_lane() {
	local status
	check_in "$top/build" check-criu --enable-werror
	status=$?
	[ -f "$top/build/criu-lane/table.txt" ] && cat "$top/build/criu-lane/table.txt"
	grep -E '^(minicr|criu): [0-9]+ passed' "$top/build/check-criu.out"
	return $status
}
stage "CRIU lane (Debian sid's criu beside minicr, 7.x under qemu)" criu_lane

echo "==== time per stage ($SECONDS s in all)"
printf '%s\n' "${timings[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
