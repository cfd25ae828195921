#!/bin/sh
# make check: a short fuzz-sigframe run over a copy of the seed corpus (automake sets srcdir).
exec "${srcdir:-.}/test/fuzz/run-fuzz.sh" ./test/fuzz/fuzz-sigframe \
	"${srcdir:-.}/test/fuzz/corpus-sigframe" "${FUZZ_SECONDS:-10}"
