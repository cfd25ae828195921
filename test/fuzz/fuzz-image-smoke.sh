#!/bin/sh
# make check: a short fuzz-image run over a copy of the seed corpus (automake sets srcdir).
exec "${srcdir:-.}/test/fuzz/run-fuzz.sh" ./test/fuzz/fuzz-image \
	"${srcdir:-.}/test/fuzz/corpus-image" "${FUZZ_SECONDS:-10}"
