#!/usr/bin/env bash
# fetch-kernel.sh: get the current Debian unstable (sid) cloud kernel for the kernel-VM lane and
# print the path of its vmlinuz as the last line of stdout.
#
#   fetch-kernel.sh [--offline]
#
# - The mirror is the one this machine's apt already uses (sources.list, one-line *.list and
#   deb822 *.sources files), with suite sid. $MINICR_VM_MIRROR overrides it.
# - apt runs on a private state directory (its own sources list, lists, cache and empty dpkg
#   status); the system's apt configuration and state are never changed.
# - No version is pinned: the kernel is found by following linux-image-cloud-amd64's
#   dependencies (only packages built from the kernel's own source packages) until a .deb that
#   ships a vmlinuz; dpkg-deb -x extracts it.
# - Kernels are cached by package version in $MINICR_VM_CACHE (default /var/cache/minicr-vm, or
#   ~/.cache/minicr-vm where that is not writable). If the mirror cannot be reached, the newest
#   cached kernel is used. With neither: "skipped: no 7.x kernel available", exit 77.
# - $MINICR_VM_MIN_MAJOR (default 7): older kernels are refused (they lack STATMOUNT_BY_FD).
set -uo pipefail

offline=
[ "${1:-}" = --offline ] && offline=1
min_major=${MINICR_VM_MIN_MAJOR:-7}
meta=${MINICR_VM_META:-linux-image-cloud-amd64}
suite=${MINICR_VM_SUITE:-sid}

log() { echo "fetch-kernel: $*" >&2; }

skip() {
	echo "skipped: no ${min_major}.x kernel available${1:+ ($1)}"
	echo "************************************************************" >&2
	echo "*** kernel-VM lane skipped: no ${min_major}.x kernel available" >&2
	echo "************************************************************" >&2
	exit 77
}

cache=${MINICR_VM_CACHE:-/var/cache/minicr-vm}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/minicr-vm
	mkdir -p "$cache" || skip "no writable cache directory"
fi

# kernel major number from a release string such as 7.2.13+deb14-cloud-amd64
major_of() { echo "${1%%.*}"; }

# The newest usable cached kernel: $cache/kernels/<pkg>_<version>/{vmlinuz,release}
newest_cached() {
	local d best='' best_rel=''
	for d in "$cache"/kernels/*/; do
		[ -s "$d/vmlinuz" ] && [ -s "$d/release" ] || continue
		local rel
		rel=$(cat "$d/release")
		[ "$(major_of "$rel")" -ge "$min_major" ] 2>/dev/null || continue
		if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best_rel" "$rel" | sort -V | tail -1)" = "$rel" ]; then
			best=${d%/} best_rel=$rel
		fi
	done
	[ -n "$best" ] && echo "$best"
}

use_cache() { # reason
	local d
	if d=$(newest_cached); then
		log "$1; using the cached kernel $(cat "$d/release") ($d)"
		echo "$d/vmlinuz"
		exit 0
	fi
	skip "$1, and nothing cached in $cache"
}

[ -n "$offline" ] && use_cache "offline requested"

for tool in apt-get apt-cache dpkg-deb; do
	command -v "$tool" >/dev/null || use_cache "$tool is not installed"
done

# ---- the mirror: the first Debian archive the machine's apt is configured with -------------
# Prints "URI SIGNED-BY" lines for every enabled deb entry, in apt's order.
apt_entries() {
	local f
	local main=/etc/apt/sources.list
	[ -f "$main" ] && one_line_entries "$main"
	for f in /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && one_line_entries "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && deb822_entries "$f"
	done
}

# deb [opt=val ...] URI SUITE COMPONENT...
one_line_entries() {
	sed -e 's/#.*//' "$1" | awk '
		$1 != "deb" { next }
		{
			signed = ""; i = 2
			if ($2 ~ /^\[/) {
				for (; i <= NF; i++) {
					opt = $i; gsub(/[][]/, "", opt)
					if (opt ~ /^signed-by=/) { signed = opt; sub(/^signed-by=/, "", signed) }
					if ($i ~ /\]$/) { i++; break }
				}
			}
			if (i + 1 <= NF) print $i, $(i + 1), (signed == "" ? "-" : signed)
		}'
}

# deb822 stanzas: Types / URIs / Suites / Signed-By / Enabled
deb822_entries() {
	awk '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "") {
				n = split(uris, u, " "); m = split(suites, s, " ")
				for (i = 1; i <= n; i++)
					print u[i], (m ? s[1] : "-"), (signed == "" ? "-" : signed)
			}
			types = uris = suites = signed = enabled = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ { next }    # continuation lines (an inline key): not needed
		{
			key = tolower($1); sub(/:$/, "", key)
			val = $0; sub(/^[^:]*:[ \t]*/, "", val)
			if (key == "types") types = val
			else if (key == "uris") uris = val
			else if (key == "suites") suites = val
			else if (key == "signed-by") signed = val
			else if (key == "enabled") enabled = tolower(val)
		}
		END { flush() }' "$1"
}

# Prefer an entry that looks like the Debian archive itself (not security, not a third party).
pick_mirror() {
	local uri suite signed first=
	while read -r uri suite signed; do
		case "$uri" in
		*security*|cdrom:*) continue ;;
		esac
		case "$suite" in
		*-security|*-updates|*-backports) continue ;;
		esac
		case "$uri" in
		*/debian|*/debian/)
			echo "$uri $signed"
			return 0
			;;
		esac
		case "$signed" in
		*debian-archive-keyring*) [ -z "$first" ] && first="$uri $signed" ;;
		esac
	done < <(apt_entries)
	[ -n "$first" ] && { echo "$first"; return 0; }
	return 1
}

if [ -n "${MINICR_VM_MIRROR:-}" ]; then
	mirror=$MINICR_VM_MIRROR signed=-
else
	read -r mirror signed < <(pick_mirror) || true
	if [ -z "${mirror:-}" ]; then
		mirror=http://deb.debian.org/debian signed=-
		log "no Debian archive in the apt sources; trying $mirror"
	fi
fi
mirror=${mirror%/}
if [ "$signed" = - ] || [ ! -e "$signed" ]; then
	signed=/usr/share/keyrings/debian-archive-keyring.gpg
fi
log "mirror $mirror, suite $suite"

# ---- a private apt: its own sources, lists, cache and an empty dpkg status ------------------
state=$cache/apt
mkdir -p "$state/lists/partial" "$state/archives/partial" "$state/sources.list.d" \
	"$state/preferences.d" "$state/dl"
: >"$state/status"
opts="arch=amd64"
[ -e "$signed" ] && opts+=" signed-by=$signed"
echo "deb [$opts] $mirror $suite main" >"$state/sources.list"

apt_opts=(
	-o "Dir::Etc::SourceList=$state/sources.list"
	-o "Dir::Etc::SourceParts=$state/sources.list.d"
	-o "Dir::Etc::Preferences=$state/preferences"
	-o "Dir::Etc::PreferencesParts=$state/preferences.d"
	-o "Dir::State=$state"
	-o "Dir::State::Lists=$state/lists"
	-o "Dir::State::status=$state/status"
	-o "Dir::Cache=$state"
	-o "Dir::Cache::archives=$state/archives"
	-o "APT::Architecture=amd64"
	-o "APT::Default-Release="
	-o "APT::Sandbox::User=root"
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

# One fetch at a time per cache (make -j, two lanes at once).
exec 9>"$cache/lock"
flock 9

log "updating the private package lists"
if ! papt_get update >"$state/update.log" 2>&1 || grep -q '^\(E:\|Err:\)' "$state/update.log"; then
	sed 's/^/    /' "$state/update.log" >&2
	use_cache "the mirror $mirror could not be reached"
fi

# ---- follow the dependency chain to the package that ships vmlinuz ---------------------------
# Only packages built from the kernel's source packages (linux, linux-signed-*) are followed.
pkg_field() { # package field
	papt_cache show --no-all-versions "$1" 2>/dev/null |
		awk -v f="$2" 'BEGIN { f = tolower(f) ":" } tolower($1) == f { sub(/^[^:]*:[ \t]*/, ""); print; exit }'
}
deps_of() { # package -> one dependency name per line
	{ pkg_field "$1" Pre-Depends; pkg_field "$1" Depends; } | tr ',|' '\n\n' |
		sed -e 's/([^)]*)//g' -e 's/\[[^]]*\]//g' -e 's/:[a-z0-9]*//' -e 's/[[:space:]]//g' |
		grep -v '^$'
}
is_kernel_pkg() {
	local src
	src=$(pkg_field "$1" Source)
	src=${src%% *}
	case "${src:-$1}" in
	linux|linux-signed-*) return 0 ;;
	esac
	return 1
}

# A meta-package version already followed once names its kernel directly.
meta_ver=$(pkg_field "$meta" Version)
[ -n "$meta_ver" ] || use_cache "$meta is not in $suite at $mirror"
resolved="$cache/resolved/${meta}_${meta_ver}"
queue=("$meta") seen=" " found='' found_ver='' tries=0
if [ -s "$resolved" ]; then
	read -r found found_ver <"$resolved"
	[ -s "$cache/kernels/${found}_${found_ver}/vmlinuz" ] || found='' found_ver=''
	[ -n "$found" ] && queue=()
fi
while [ ${#queue[@]} -gt 0 ] && [ $tries -lt 12 ]; do
	pkg=${queue[0]}
	queue=("${queue[@]:1}")
	case "$seen" in *" $pkg "*) continue ;; esac
	seen+="$pkg "
	ver=$(pkg_field "$pkg" Version)
	if [ -z "$ver" ]; then
		[ "$pkg" = "$meta" ] && use_cache "$meta is not in $suite at $mirror"
		continue
	fi
	is_kernel_pkg "$pkg" || continue
	tries=$((tries + 1))
	key="${pkg}_${ver}"
	if [ -s "$cache/kernels/$key/vmlinuz" ] && [ -s "$cache/kernels/$key/release" ]; then
		found=$pkg found_ver=$ver
		break
	fi
	log "$pkg $ver"
	# Packages with no payload of their own (meta-packages) are a few kB: download to look.
	rm -f "$state/dl"/*.deb
	if ! (cd "$state/dl" && papt_get download "$pkg=$ver") >"$state/download.log" 2>&1; then
		sed 's/^/    /' "$state/download.log" >&2
		use_cache "cannot download $pkg $ver"
	fi
	deb=$(ls "$state/dl"/*.deb 2>/dev/null | head -1)
	if [ -n "$deb" ] && [ "$(dpkg-deb -c "$deb" | grep -Ec '(boot/vmlinuz-|/vmlinuz)[^/]*$')" != 0 ]; then
		tmp=$(mktemp -d "$cache/extract.XXXXXX")
		dpkg-deb -x "$deb" "$tmp"
		vml=$(find "$tmp" -name 'vmlinuz*' -type f | head -1)
		case "$vml" in
		*/boot/vmlinuz-*) rel=${vml##*/vmlinuz-} ;;
		*/modules/*/vmlinuz) rel=${vml%/vmlinuz}; rel=${rel##*/} ;;
		*) rel=$ver ;;
		esac
		mkdir -p "$cache/kernels/$key"
		cp "$vml" "$cache/kernels/$key/vmlinuz.tmp" && mv "$cache/kernels/$key/vmlinuz.tmp" "$cache/kernels/$key/vmlinuz"
		echo "$rel" >"$cache/kernels/$key/release"
		rm -rf "$tmp" "$deb"
		found=$pkg found_ver=$ver
		break
	fi
	rm -f "$deb"
	while read -r dep; do
		queue+=("$dep")
	done < <(deps_of "$pkg")
done

[ -n "$found" ] || use_cache "no package in $meta's dependencies ships a vmlinuz"
mkdir -p "$cache/resolved" && echo "$found $found_ver" >"$resolved"
dir="$cache/kernels/${found}_${found_ver}"
rel=$(cat "$dir/release")
if ! [ "$(major_of "$rel")" -ge "$min_major" ] 2>/dev/null; then
	log "sid's kernel is $rel, older than ${min_major}.0"
	use_cache "sid has no ${min_major}.x kernel"
fi
log "kernel $rel from $found $found_ver ($dir)"
echo "$dir/vmlinuz"
