#!/bin/sh
# make check: a short fuzz-image-set run over a copy of its seeds (automake sets srcdir).
exec "${srcdir:-.}/test/fuzz/run-fuzz.sh" ./test/fuzz/fuzz-image-set \
	"${srcdir:-.}/test/fuzz/corpus-image-set" "${FUZZ_SECONDS:-10}"
