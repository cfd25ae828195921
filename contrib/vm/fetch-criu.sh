#!/usr/bin/env bash
# fetch-criu.sh: get Debian unstable's own criu package (4.2.x) and every library it needs, as a
# private root directory that runs on this machine and in the kernel-VM lane's guest, and print
# the path of a wrapper that starts it as the last line of stdout.
#
#   fetch-criu.sh [--offline] [--kernel VMLINUZ]
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
# - With --kernel (a vmlinuz that fetch-kernel.sh cached): also the socket-diag modules CRIU
#   needs to dump any tree (unix_diag, inet_diag, ...: modules in Debian's cloud kernel, and
#   nothing loads them in the lane's initramfs), taken from that kernel's linux-modules package,
#   decompressed, with their dependencies first in DIR/criu-modules/load-order, beside vmlinuz.
# - Offline, or when the mirror cannot be reached: the newest cached CRIU. With none: a line
#   "skipped: no CRIU available (...)" and exit 77.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
offline= kernel=
while [ $# -gt 0 ]; do
	case "$1" in
	--offline) offline=1; shift ;;
	--kernel) kernel=$2; shift 2 ;;
	*) echo "usage: $0 [--offline] [--kernel VMLINUZ]" >&2; exit 2 ;;
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
	if [ -n "$kernel" ] && [ ! -s "$(dirname "$kernel")/criu-modules/load-order" ]; then
		echo "skipped: no CRIU available ($1, and the kernel's socket-diag modules are not cached)"
		exit 77
	fi
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

# ---- the socket-diag modules of --kernel ---------------------------------------------------------
fetch_modules() {
	local kdir mdir rel kver pkg tmp m f deps want=" " order=()
	kdir=$(cd "$(dirname "$kernel")" && pwd)
	mdir=$kdir/criu-modules
	[ -s "$mdir/load-order" ] && return 0
	rel=$(cat "$kdir/release" 2>/dev/null) || { log "no release file beside $kernel"; return 1; }
	kver=${kdir##*_}
	pkg=linux-modules-$rel
	log "$pkg $kver (socket-diag modules for CRIU)"
	tmp=$(mktemp -d "$cache/modules.XXXXXX")
	if ! (cd "$tmp" && papt_get download "$pkg=$kver") >"$tmp/download.log" 2>&1; then
		sed 's/^/    /' "$tmp/download.log" >&2
		rm -rf "$tmp"
		return 1
	fi
	dpkg-deb -x "$tmp"/*.deb "$tmp/x" || { rm -rf "$tmp"; return 1; }
	rm -rf "$mdir.tmp" && mkdir -p "$mdir.tmp"
	# every *_diag module of the socket families CRIU asks about, dependencies first
	add() { # module-file
		local name deps d
		name=$(basename "$1"); name=${name%%.ko*}
		case "$want" in *" $name "*) return ;; esac
		want+="$name "
		case "$1" in
		*.xz) xz -dc "$1" >"$mdir.tmp/$name.ko" ;;
		*.zst) zstd -qdc "$1" >"$mdir.tmp/$name.ko" ;;
		*) cp "$1" "$mdir.tmp/$name.ko" ;;
		esac
		deps=$(grep -a -o 'depends=[a-z0-9_,-]*' "$mdir.tmp/$name.ko" | head -n 1)
		deps=${deps#depends=}
		for d in ${deps//,/ }; do
			add "$(find "$tmp/x" -name "$d.ko*" | head -n 1)"
		done
		order+=("$name.ko")
	}
	for m in unix_diag inet_diag tcp_diag udp_diag raw_diag netlink_diag af_packet_diag; do
		f=$(find "$tmp/x" -name "$m.ko*" | head -n 1)
		[ -n "$f" ] && add "$f"
	done
	printf '%s\n' "${order[@]}" >"$mdir.tmp/load-order"
	rm -rf "$mdir" && mv "$mdir.tmp" "$mdir"
	rm -rf "$tmp"
	log "modules for CRIU: ${order[*]} ($mdir)"
}
if [ -n "$kernel" ] && ! fetch_modules; then
	use_cache "cannot fetch the socket-diag modules of $kernel"
fi
log "$("$dir/criu" --version | head -1) from criu $ver ($dir)"
echo "$dir/criu"
