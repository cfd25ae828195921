#!/usr/bin/env bash
# run-criu-lane.sh: the CRIU lane (make check-criu). Boots the kernel-VM lane's Debian unstable
# kernel (7.x) under qemu TCG with this build's minicr and scenarios plus Debian unstable's own
# criu package (contrib/vm/fetch-criu.sh), runs the whole scenario suite and the zdtm-protocol
# scenarios under both engines in the guest (test/vm/criu-lane-guest.sh), and prints one table:
# scenario, minicr's verdict, CRIU's verdict. Each verdict is held against the scenario's
# expectation for that engine (test/scenarios/expected): the lane fails when one changes, either
# way, so a CRIU release that fixes or breaks something shows at once. The reproducer bundles of
# every failure come back through a second serial port into BUILD_DIR/criu-lane/bundles.
# It ends with "minicr: N passed, M failed"; exit 0, 1 (an expectation changed, or the guest
# did not finish), or 77 (no 7.x kernel or no CRIU could be had: nothing cached, mirror
# unreachable).
#
#   run-criu-lane.sh [BUILD_DIR [SRC_DIR]]
#
# Environment: MINICR_CRIU_LANE_MODES (scenario modes, default "cr": a dump, a kill and a
# restore, the whole of both engines), MINICR_CRIU_LANE_TIMEOUT (whole guest run, default 1800 s),
# MINICR_CRIU_LANE_SCENARIO_TIMEOUT (one run.sh call, 120 s), MINICR_CRIU_LANE_RETRY=0 (no second
# try for a failure), and those of fetch-kernel.sh, fetch-criu.sh and build-initramfs.sh;
# MINICR_VM_MEM, MINICR_VM_SMP, MINICR_VM_NO_INSTALL as in run-vm.sh.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
src=$(cd "${2:-$here/../..}" && pwd)
work=$build/criu-lane
mkdir -p "$work"
rm -f "$work/table.txt"
t_start=$(date +%s)
modes=${MINICR_CRIU_LANE_MODES:-cr}

# ---- tools: a fresh machine has none of them ---------------------------------------------------
. "$here/lane-common.sh"
lane_install_tools run-criu-lane qemu-system-x86_64=qemu-system-x86 cpio=cpio xz=xz-utils \
	/usr/share/keyrings/debian-archive-keyring.gpg=debian-archive-keyring
[ -x "$build/minicr" ] || { echo "run-criu-lane: no $build/minicr: build first"; exit 1; }

# ---- the kernel and CRIU ------------------------------------------------------------------------
t0=$(date +%s)
lane_fetch fetch-kernel fetch-kernel.sh
rc=$?
if [ $rc = 77 ]; then
	exit 77
elif [ $rc != 0 ]; then
	echo "run-criu-lane: fetch-kernel.sh failed (exit $rc)"
	exit 1
fi
kernel=$lane_fetched
# the modules the guest's init loads: sock_diag's handlers (CRIU asks about every socket
# family of a tree) and loop, as in the kernel-VM lane
lane_fetch fetch-modules fetch-modules.sh "$kernel"
rc=$?
if [ $rc = 77 ]; then
	exit 77
elif [ $rc != 0 ]; then
	echo "run-criu-lane: fetch-modules.sh failed (exit $rc)"
	exit 1
fi
export MINICR_VM_MODULES
MINICR_VM_MODULES=$lane_fetched
lane_fetch fetch-criu fetch-criu.sh
rc=$?
if [ $rc = 77 ]; then
	exit 77
elif [ $rc != 0 ]; then
	echo "run-criu-lane: fetch-criu.sh failed (exit $rc)"
	exit 1
fi
criu=$lane_fetched
criu_root=$(dirname "$(readlink -f "$criu")")/root
echo "# kernel $kernel, $("$criu" --version | head -n 1 | sed 's/Version: /criu /') ($(($(date +%s) - t0)) s)"

# ---- the initramfs: the kernel-VM lane's, and an overlay archive after it ----------------------
# The kernel unpacks concatenated archives in order, so the overlay adds CRIU and replaces
# /vm/guest-tests.sh (the script test/vm/init.c starts) with the CRIU lane's.
t0=$(date +%s)
if ! MINICR_VM_SCENARIO_MODES="$modes" bash "$here/build-initramfs.sh" "$build" "$src" \
	"$work/base.gz" 2>"$work/initramfs.err"; then
	cat "$work/initramfs.err"
	echo "run-criu-lane: cannot build the initramfs"
	exit 1
fi
overlay=$(mktemp -d "${TMPDIR:-/tmp}/minicr-criu-overlay.XXXXXX")
trap 'rm -rf "$overlay"' EXIT
mkdir -p "$overlay/criu" "$overlay/vm/src/test/scenarios" "$overlay/usr/bin"
# criu, unstable's loader and the libraries the loader resolves for it (nothing of the host's)
lib=$criu_root/usr/lib/x86_64-linux-gnu
mkdir -p "$overlay/criu/root/usr/sbin" "$overlay/criu/root/usr/lib/x86_64-linux-gnu"
cp "$criu_root/usr/sbin/criu" "$overlay/criu/root/usr/sbin/"
cp "$(dirname "$(readlink -f "$criu")")/criu" "$overlay/criu/criu"
cp -L "$lib/ld-linux-x86-64.so.2" "$overlay/criu/root/usr/lib/x86_64-linux-gnu/"
"$lib/ld-linux-x86-64.so.2" --library-path "$lib" --list "$criu_root/usr/sbin/criu" |
	awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r l; do
		cp -L "$l" "$overlay/criu/root/usr/lib/x86_64-linux-gnu/"
	done
# host tools the bundles need, with their libraries (the base archive has the rest)
for t in base64 tar gzip; do
	p=$(type -P "$t") || continue
	cp -L "$p" "$overlay/usr/bin/$t"
	ldd "$p" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while read -r l; do
			mkdir -p "$overlay$(dirname "$l")"
			cp -L "$l" "$overlay$l"
		done
done
cp "$src/test/vm/criu-lane-guest.sh" "$overlay/vm/guest-tests.sh"
cp "$src/test/scenarios/expected" "$overlay/vm/src/test/scenarios/expected"
{
	echo "CL_MODES=\"$modes\""
	echo "CL_SCENARIO_TIMEOUT=${MINICR_CRIU_LANE_SCENARIO_TIMEOUT:-120}"
	echo "CL_RETRY=${MINICR_CRIU_LANE_RETRY:-1}"
} >"$overlay/vm/criu-lane.conf"
(cd "$overlay" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner 0:0 --quiet) | gzip -1 >"$work/overlay.gz"
cat "$work/base.gz" "$work/overlay.gz" >"$work/initrd.gz"
echo "# initramfs built in $(($(date +%s) - t0)) s ($(du -k "$work/initrd.gz" | cut -f1) kB)"

# ---- boot ----------------------------------------------------------------------------------------
timeout=${MINICR_CRIU_LANE_TIMEOUT:-1800}
guest_timeout=$((timeout > 60 ? timeout - 30 : timeout))
log=$work/console.log
declare -A verdict detail
names=()
boot_guest() {
	echo "# booting under qemu (tcg), at most $timeout s"
	t0=$(date +%s)
	finished='' reached_init='' panicked='' int3_oops=''
	rm -f "$work/ttyS1.out" "$work/qemu.rc"
	verdict=() detail=() names=()
	while IFS= read -r line; do
		case "$line" in
		?*"@@vm "*) line="@@vm ${line#*@@vm }" ;;
		esac
		case "$line" in
		"@@vm "*) reached_init=1 ;;
		esac
		case "$line" in
		"@@vm scn "*)
			read -r engine mode name status rest <<<"${line#@@vm scn }"
			key="$name/$engine/$mode"
			[ -n "${verdict[$name/minicr/$mode]+x}${verdict[$name/criu/$mode]+x}" ] ||
				names+=("$name/$mode") # (a name may hold a slash; a mode never does)
			verdict[$key]=$status detail[$key]=$rest
			;;
		"@@vm info "*) echo "# vm: ${line#@@vm info }" ;;
		"@@vm log "*) echo "    ${line#@@vm log }" ;;
		"@@vm finished"*) finished=1 ;;
		"@@vm init: "*) echo "# vm: $line" ;;
		*) lane_console_line "$line" ;;
		esac
	done < <({
		timeout -k 10 "$timeout" qemu-system-x86_64 \
			-accel "tcg,thread=${MINICR_CRIU_LANE_TCG_THREAD:-single}" -cpu max \
			-m "${MINICR_VM_MEM:-2048}" -smp "${MINICR_VM_SMP:-2}" -display none \
			-monitor none -serial stdio -serial "file:$work/ttyS1.out" -no-reboot \
			-nic none -kernel "$kernel" -initrd "$work/initrd.gz" \
			-append "console=ttyS0 panic=-1 quiet vm.timeout=$guest_timeout" </dev/null 2>&1
		echo $? >"$work/qemu.rc"
	} | stdbuf -oL tr -d '\r' | tee "$log")
}
boot_guest
# As in run-vm.sh, a guest kernel death that says nothing about minicr (lane_boot_again) gets one
# more boot, which starts the table afresh. This lane's guest runs on one TCG thread
# (MINICR_CRIU_LANE_TCG_THREAD=single): with a thread per vCPU it died of an int3 oops in
# __schedule, twice in a row, while CRIU ran.
if lane_boot_again; then
	echo "# the guest kernel died (console kept in $log.first-boot); booting once more"
	cp "$log" "$log.first-boot"
	boot_guest
fi
qemu_rc=$(cat "$work/qemu.rc" 2>/dev/null || echo '?')
echo "# guest ran $(($(date +%s) - t0)) s (qemu exit $qemu_rc)"

# ---- the reproducer bundles -------------------------------------------------------------------
rm -rf "$work/bundles"
bad_bundles=()
if [ -s "$work/ttyS1.out" ]; then
	if tr -d '\r' <"$work/ttyS1.out" | sed -n '/^@@bundles-begin$/,/^@@bundles-end$/p' |
	   sed '1d;$d' | base64 -d | tar -C "$work" -xzf - 2>"$work/bundles.err"; then
		echo "# reproducer bundles: $work/bundles ($(find "$work/bundles" -mindepth 1 -maxdepth 1 -type d | wc -l))"
		# every bundle has its parts (an engine log where an engine ran)
		for b in "$work/bundles"/*/; do
			parts=(README source verdict commands images show.txt)
			grep -q ' dump -t ' "$b/commands" 2>/dev/null && parts+=(dump.log)
			for part in "${parts[@]}"; do
				if [ ! -s "$b/$part" ] && [ ! -d "$b/$part" ]; then
					bad_bundles+=("$(basename "$b") lacks $part")
				fi
			done
		done
	else
		echo "# the bundles did not arrive whole: $(head -n 1 "$work/bundles.err")"
	fi
fi

# ---- the table ------------------------------------------------------------------------------------
# cell STATUS: what a verdict looks like in the table
cell() {
	case "$1" in
	pass) echo "PASS" ;;
	known) echo "FAIL (known)" ;;
	xpass) echo "PASS (unexpected)" ;;
	skip) echo "SKIP" ;;
	fail) echo "FAIL" ;;
	"") echo "-" ;;
	*) echo "$1" ;;
	esac
}
changed=0 m_pass=0 m_fail=0 c_pass=0 c_fail=0 c_known=0
{
	printf '%-26s %-5s %-14s %s\n' scenario mode minicr criu
	for nm in "${names[@]}"; do
		name=${nm%/*} mode=${nm##*/}
		mv=${verdict[$name/minicr/$mode]:-} cv=${verdict[$name/criu/$mode]:-}
		printf '%-26s %-5s %-14s %s\n' "$name" "$mode" "$(cell "$mv")" "$(cell "$cv")"
	done
} >"$work/table.txt"
notes=()
for nm in "${names[@]}"; do
	name=${nm%/*} mode=${nm##*/}
	for engine in minicr criu; do
		v=${verdict[$name/$engine/$mode]:-} d=${detail[$name/$engine/$mode]:-}
		case "$engine:$v" in
		minicr:pass|minicr:xpass) m_pass=$((m_pass + 1)) ;;
		minicr:skip) ;;
		minicr:*) m_fail=$((m_fail + 1)) ;;
		criu:pass|criu:xpass) c_pass=$((c_pass + 1)) ;;
		criu:known) c_known=$((c_known + 1)) ;;
		criu:skip) ;;
		criu:*) c_fail=$((c_fail + 1)) ;;
		esac
		case "$v" in
		fail|xpass|"") changed=$((changed + 1))
			notes+=("CHANGED $engine $name ($mode): ${d:-no verdict from the guest}") ;;
		known|skip) notes+=("$engine $name ($mode): $v: $d") ;;
		esac
	done
done
{
	echo "----"
	for n in "${notes[@]}"; do
		echo "$n"
	done
} >>"$work/table.txt"
echo "== CRIU lane: scenario verdicts (expectations: test/scenarios/expected)"
cat "$work/table.txt"
if [ -z "$finished" ]; then
	why="qemu exit $qemu_rc"
	[ "$qemu_rc" = 124 ] && why="timed out after $timeout s"
	echo "CHANGED: the guest run did not complete ($why); last console lines:"
	tail -n 20 "$log" | sed 's/^/    /'
	changed=$((changed + 1))
fi
for b in "${bad_bundles[@]}"; do
	echo "CHANGED: bundle $b"
	changed=$((changed + 1))
done
echo "# CRIU lane: $(($(date +%s) - t_start)) s in all; $changed verdicts differ from their expectations"
echo "criu: $c_pass passed, $c_fail failed, $c_known known failures"
echo "minicr: $m_pass passed, $m_fail failed"
[ "$changed" = 0 ]
