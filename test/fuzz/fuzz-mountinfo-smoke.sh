#!/bin/sh
# make check: a short fuzz-mountinfo run over a copy of the seed corpus (automake sets srcdir).
exec "${srcdir:-.}/test/fuzz/run-fuzz.sh" ./test/fuzz/fuzz-mountinfo \
	"${srcdir:-.}/test/fuzz/corpus-mountinfo" "${FUZZ_SECONDS:-10}"
