#!/usr/bin/env bash
# test.sh: the whole test suite on a fresh Debian machine (CI runs exactly this):
#   1. gcc, -Werror: build, unit tests, integration tests, scenario suite (make check)
#   2. the same suite built with ASan + UBSan (--enable-sanitizers)
#   3. the image decoder and mountinfo fuzzers, briefly, with clang + libFuzzer + ASan/UBSan
#   4. make distcheck (the tarball builds and passes out of tree)
# Prints each stage's test summary and a closing "N passed, M failed" over the stages.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0

stage() { # name command...
	local name=$1
	shift
	echo "==== $name"
	if "$@"; then
		passed=$((passed + 1))
		echo "==== $name: passed"
	else
		failed=$((failed + 1))
		echo "==== $name: FAILED"
	fi
}

check_in() { # build-dir make-target configure-args...
	local dir=$1 target=$2
	shift 2
	local build
	build=$("$top/contrib/setup.sh" "$dir" "$@" | tail -1) || return 1
	make -C "$build" -s -j"$(nproc)" "$target" >"$build/$target.out" 2>&1
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
stage "ASan+UBSan: make check" check_in "$top/build-sanitizers" check --enable-sanitizers --enable-werror
stage "clang fuzzing smoke" check_in "$top/build-fuzz" check --enable-fuzzing --enable-werror CC=clang
stage "make distcheck" check_in "$top/build" distcheck --enable-werror

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
