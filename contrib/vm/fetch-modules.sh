#!/usr/bin/env bash
# fetch-modules.sh: the kernel modules both VM lanes load in the guest (test/vm/init.c loads
# them with finit_module: the initramfs has no kmod, so nothing would load them on demand), taken
# from the linux-modules package of a kernel fetch-kernel.sh cached, decompressed, with their
# dependencies first in DIR/load-order. Prints DIR as the last line of stdout.
#
#   fetch-modules.sh [--offline] VMLINUZ
#
# The modules (Debian's cloud kernel builds them as modules; ext4, af_packet, ipv6 and
# sock_diag itself are built in):
#   unix_diag inet_diag tcp_diag udp_diag   sock_diag's handlers for the sockets minicr dumps;
#                                           without them sock_diag answers as if it knew no
#                                           such socket, and every socket is refused
#   raw_diag netlink_diag af_packet_diag    the other families CRIU asks about on every dump
#   loop                                    loop devices (orphan-ext4 mounts an ext4 image)
# $MINICR_VM_MODULE_LIST replaces that list. A module the package does not ship is taken to be
# built in (it is logged). The set is cached beside VMLINUZ in modules/, with the list it was
# made for: a changed list fetches again.
# Uses the private apt state of fetch-kernel.sh ($MINICR_VM_CACHE/apt); the system's apt is
# never touched. Offline, or with the mirror unreachable: the cached set if it was made for the
# same list; otherwise "skipped: no modules for KERNEL (...)" and exit 77.
set -uo pipefail

offline=
[ "${1:-}" = --offline ] && { offline=1; shift; }
if [ $# != 1 ] || [ ! -s "$1" ]; then
	echo "usage: $0 [--offline] VMLINUZ (a kernel fetch-kernel.sh cached)" >&2
	exit 2
fi
kdir=$(cd "$(dirname "$1")" && pwd)
mdir=$kdir/modules
list=${MINICR_VM_MODULE_LIST:-unix_diag inet_diag tcp_diag udp_diag raw_diag netlink_diag af_packet_diag loop}
read -ra wanted <<<"$list"
wanted_line="${wanted[*]}"

log() { echo "fetch-modules: $*" >&2; }
skip() {
	echo "skipped: no modules for $kdir ($1)"
	exit 77
}

if [ -s "$mdir/load-order" ] && [ "$(cat "$mdir/wanted" 2>/dev/null)" = "$wanted_line" ]; then
	echo "$mdir"
	exit 0
fi
[ -n "$offline" ] && skip "offline requested, and none cached for: $wanted_line"
for tool in apt-get dpkg-deb xz; do
	command -v "$tool" >/dev/null || skip "$tool is not installed"
done
rel=$(cat "$kdir/release" 2>/dev/null) || skip "no release file beside $1"
kver=${kdir##*_}
cache=$(dirname "$(dirname "$kdir")")
state=$cache/apt
[ -s "$state/sources.list" ] || skip "no private apt state in $state (fetch-kernel.sh makes it)"
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
	-o "APT::Sandbox::User=root"
	-o "Acquire::Languages=none"
	-o "Acquire::http::Timeout=30"
	-o "Acquire::https::Timeout=30"
	-o "Acquire::Retries=1"
	-o "Debug::NoLocking=1"
)

# One fetch at a time per cache (shared with fetch-kernel.sh and fetch-criu.sh).
exec 9>"$cache/lock"
flock 9

pkg=linux-modules-$rel
log "$pkg $kver: ${wanted[*]}"
tmp=$(mktemp -d "$cache/modules.XXXXXX")
trap 'rm -rf "$tmp" "$mdir.tmp"' EXIT
if ! (cd "$tmp" && apt-get -q "${apt_opts[@]}" download "$pkg=$kver") >"$tmp/download.log" 2>&1; then
	sed 's/^/    /' "$tmp/download.log" >&2
	skip "cannot download $pkg $kver"
fi
dpkg-deb -x "$tmp"/*.deb "$tmp/x" || skip "cannot extract $pkg"
rm -rf "$mdir.tmp" && mkdir -p "$mdir.tmp"

order=() have=" "
# add FILE: the module in FILE after the modules its depends= field names
add() {
	local name deps d f
	name=$(basename "$1")
	name=${name%%.ko*}
	case "$have" in *" $name "*) return 0 ;; esac
	have+="$name "
	case "$1" in
	*.xz) xz -dc "$1" >"$mdir.tmp/$name.ko" ;;
	*.zst) zstd -qdc "$1" >"$mdir.tmp/$name.ko" ;;
	*.gz) gzip -dc "$1" >"$mdir.tmp/$name.ko" ;;
	*) cp "$1" "$mdir.tmp/$name.ko" ;;
	esac || return 1
	deps=$(grep -a -o 'depends=[a-z0-9_,-]*' "$mdir.tmp/$name.ko" | head -n 1)
	deps=${deps#depends=}
	for d in ${deps//,/ }; do
		f=$(find "$tmp/x" -name "$d.ko*" | head -n 1)
		[ -n "$f" ] || { log "$name needs $d, which $pkg does not ship"; return 1; }
		add "$f" || return 1
	done
	order+=("$name.ko")
}
for m in "${wanted[@]}"; do
	f=$(find "$tmp/x" -name "$m.ko*" | head -n 1)
	if [ -z "$f" ]; then
		log "$m: not in $pkg (built into the kernel)"
		continue
	fi
	add "$f" || skip "cannot unpack $m"
done
printf '%s\n' "${order[@]}" >"$mdir.tmp/load-order"
echo "$wanted_line" >"$mdir.tmp/wanted"
rm -rf "$mdir" && mv "$mdir.tmp" "$mdir"
log "modules: ${order[*]} ($mdir)"
echo "$mdir"
