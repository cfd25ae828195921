#!/usr/bin/env bash
# setup.sh [BUILD_DIR] [CONFIGURE_ARGS...]: everything a fresh Debian machine needs to build
# minicr: missing Debian packages (apt-get), autoreconf, configure, make. Idempotent; prints
# the build dir on its last line. Used by demo.sh, test.sh and CI.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
shift || true

packages=(build-essential autoconf automake pkg-config protobuf-c-compiler libprotobuf-c-dev
	libcap-dev libseccomp-dev libbsd-dev libcriterion-dev libgraphviz-dev graphviz xxd binutils
	clang procps util-linux
	# programs written elsewhere that test-real-programs.sh dumps and restores
	python3 curl socat nodejs iproute2 strace nginx-light)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}" >&2
	if [ "$(id -u)" != 0 ]; then
		echo "setup: error: missing Debian packages (${missing[*]}) and not root to install them" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
	(cd "$top" && autoreconf -fi) >&2
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$*" != "$(cat .minicr-configure-args 2>/dev/null)" ]; then
	"$top/configure" -q "$@" >&2
	printf '%s' "$*" > .minicr-configure-args
fi
make -s -j"$(nproc)" >&2
echo "$build"
