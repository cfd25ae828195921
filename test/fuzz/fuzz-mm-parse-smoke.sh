#!/bin/sh
# make check: a short fuzz-mm-parse run over a copy of the seed corpus (automake sets srcdir).
exec "${srcdir:-.}/test/fuzz/run-fuzz.sh" ./test/fuzz/fuzz-mm-parse \
	"${srcdir:-.}/test/fuzz/corpus-mm-parse" "${FUZZ_SECONDS:-10}"
