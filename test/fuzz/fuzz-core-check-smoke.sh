#!/bin/sh
# make check: a short fuzz-core-check run over a copy of the seed corpus (automake sets srcdir).
exec "${srcdir:-.}/test/fuzz/run-fuzz.sh" ./test/fuzz/fuzz-core-check \
	"${srcdir:-.}/test/fuzz/corpus-core-check" "${FUZZ_SECONDS:-10}"
