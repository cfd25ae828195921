#!/usr/bin/env bash
# fetch-criu.sh: get Debian unstable's own criu package (4.2.x) and every library it needs, as a
# private root directory that runs on this machine and in the kernel-VM lane's guest, and print
# the path of a wrapper that starts it as the last line of stdout.
#
#   fetch-criu.sh [--offline]
#
# - apt runs on the kernel-VM lane's private state directory (made by fetch-kernel.sh: its own
#   sources list for sid, lists, cache and an empty dpkg status, in $MINICR_VM_CACHE/apt); when
#   it is missing, fetch-kernel.sh runs first. The system's apt is never touched.
# - Nothing is pinned: with an empty dpkg status, `apt-get install --download-only criu` resolves
#   criu's whole dependency closure from the package metadata (libc6 and the rest), and every
#   .deb it downloads is extracted with dpkg-deb -x into $cache/criu/criu_<version>/root.
# - The wrapper ($cache/criu/criu_<version>/criu) runs criu through unstable's own dynamic loader
#   with unstable's libraries, so it never mixes with the host's older glibc (see
#   /work/shared/reference/criu-here.md). $cache/criu/current points to the newest one.
# - The socket-diag modules CRIU needs in the guest are fetch-modules.sh's (both lanes load
#   them).
# - Offline, or when the mirror cannot be reached: the newest cached CRIU. With none: a line
#   "skipped: no CRIU available (...)" and exit 77.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
offline=
while [ $# -gt 0 ]; do
	case "$1" in
	--offline) offline=1; shift ;;
	*) echo "usage: $0 [--offline]" >&2; exit 2 ;;
	esac
done

log() { echo "fetch-criu: $*" >&2; }

cache=${MINICR_VM_CACHE:-/var/cache/minicr-vm}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/minicr-vm
	mkdir -p "$cache" || { echo "skipped: no CRIU available (no writable cache directory)"; exit 77; }
fi

use_cache() { # reason
	local cur=$cache/criu/current/criu
	if [ -x "$cur" ] && "$cur" --version >/dev/null 2>&1; then
		log "$1; using the cached CRIU ($(readlink -f "$cache/criu/current"))"
		echo "$cur"
		exit 0
	fi
	echo "skipped: no CRIU available ($1, and none cached in $cache/criu)"
	exit 77
}

[ -n "$offline" ] && use_cache "offline requested"
for tool in apt-get apt-cache dpkg-deb; do
	command -v "$tool" >/dev/null || use_cache "$tool is not installed"
done

state=$cache/apt
if [ ! -s "$state/sources.list" ]; then
	log "no private apt state yet: running fetch-kernel.sh to make it"
	bash "$here/fetch-kernel.sh" >/dev/null || use_cache "fetch-kernel.sh could not set up apt"
fi
apt_opts=(
	-o "Dir::Etc::SourceList=$state/sources.list"
	-o "Dir::Etc::SourceParts=$state/sources.list.d"
	-o "Dir::Etc::Preferences=$state/preferences"
	-o "Dir::Etc::PreferencesParts=$state/preferences.d"
	-o "Dir::State=$state"
	-o "Dir::State::Lists=$state/lists"
	-o "Dir::State::status=$state/status"
	-o "Dir::Cache=$state"
	-o "APT::Architecture=amd64"
	-o "APT::Default-Release="
	-o "APT::Sandbox::User=root"
	-o "APT::Install-Recommends=false"
	-o "Acquire::Languages=none"
	-o "Acquire::PDiffs=false"
	-o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
	-o "Acquire::http::Timeout=30"
	-o "Acquire::https::Timeout=30"
	-o "Acquire::Retries=1"
	-o "Debug::NoLocking=1"
)
papt_get() { apt-get -q "${apt_opts[@]}" "$@"; }
papt_cache() { apt-cache "${apt_opts[@]}" "$@"; }

# One fetch at a time per cache (shared with fetch-kernel.sh).
exec 9>"$cache/lock"
flock 9

# Lists younger than a day are used as they are (fetch-kernel.sh refreshes them in the lane).
if [ -z "$(find "$state/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
	log "updating the private package lists"
	: >"$state/status"
	if ! papt_get update >"$state/update-criu.log" 2>&1 ||
	   grep -q '^\(E:\|Err:\)' "$state/update-criu.log"; then
		sed 's/^/    /' "$state/update-criu.log" >&2
		use_cache "the mirror could not be reached"
	fi
fi

ver=$(papt_cache show --no-all-versions criu 2>/dev/null | awk '$1 == "Version:" { print $2; exit }')
[ -n "$ver" ] || use_cache "criu is not in the private package lists"
dir=$cache/criu/criu_$ver
if [ ! -x "$dir/criu" ] || ! "$dir/criu" --version >/dev/null 2>&1; then
	log "criu $ver and its dependencies"
	dl=$cache/criu/dl
	rm -rf "$dl" "$dir"
	mkdir -p "$dl/partial" "$dir/root"
	# An empty dpkg status makes apt fetch the whole closure, libc6 included.
	: >"$state/status"
	if ! papt_get install --download-only -y -o "Dir::Cache::archives=$dl" criu \
		>"$cache/criu/download.log" 2>&1; then
		sed 's/^/    /' "$cache/criu/download.log" >&2
		rm -rf "$dir"
		use_cache "cannot download criu $ver"
	fi
	n=0
	for deb in "$dl"/*.deb; do
		dpkg-deb -x "$deb" "$dir/root" || { rm -rf "$dir"; use_cache "cannot extract $deb"; }
		n=$((n + 1))
	done
	log "extracted $n packages into $dir/root"
	rm -rf "$dl"
	cat >"$dir/criu" <<'EOF'
#!/bin/sh
# criu from Debian unstable, run through unstable's own loader and libraries (fetch-criu.sh).
root=$(dirname "$(readlink -f "$0")")/root
lib=$root/usr/lib/x86_64-linux-gnu
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$root/usr/sbin/criu" "$@"
EOF
	chmod 755 "$dir/criu"
	if ! "$dir/criu" --version >"$cache/criu/version.log" 2>&1; then
		sed 's/^/    /' "$cache/criu/version.log" >&2
		rm -rf "$dir"
		use_cache "criu $ver does not start here"
	fi
fi
ln -sfn "criu_$ver" "$cache/criu/current"

log "$("$dir/criu" --version | head -1) from criu $ver ($dir)"
echo "$dir/criu"
