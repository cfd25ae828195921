#!/bin/sh
# make check: a short fuzz-fdinfo run over a copy of the seed corpus (automake sets srcdir).
exec "${srcdir:-.}/test/fuzz/run-fuzz.sh" ./test/fuzz/fuzz-fdinfo \
	"${srcdir:-.}/test/fuzz/corpus-fdinfo" "${FUZZ_SECONDS:-10}"
