#!/bin/sh
# make check: a short fuzz-procfs run over a copy of the seed corpus (automake sets srcdir).
exec "${srcdir:-.}/test/fuzz/run-fuzz.sh" ./test/fuzz/fuzz-procfs \
	"${srcdir:-.}/test/fuzz/corpus-procfs" "${FUZZ_SECONDS:-10}"
