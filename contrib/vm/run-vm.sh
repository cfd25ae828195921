#!/usr/bin/env bash
# run-vm.sh: the kernel-VM lane (make check-vm). Boots the current Debian unstable cloud kernel
# (7.x, with STATMOUNT_BY_FD) under qemu TCG with an initramfs holding this build of minicr, its
# integration tests and the scenario suite, and reports every guest result here, together with
# the host-side checks:
#   host   minicr check --json: statmount_by_fd absent on a pre-7.0 host kernel (present on 7.x)
#   vm     minicr check --json: statmount_by_fd available
#   vm     every test/integration program of the build tree
#   vm     test/scenarios/run.sh --mode dump (and --mode cr), one line per scenario
#   xcheck the detached-bind scenario dumped in the VM and on the host: the detached mount record
#          has the same root, fstype and mnt_attr; method STATMOUNT_BY_FD in the VM and
#          FILE_HANDLE on a pre-7.0 host
# It ends with "N passed, M failed, K skipped"; exit 0 when nothing failed, 1 otherwise, and 77
# (skip) when no 7.x kernel can be had (nothing cached and the mirror unreachable).
#
#   run-vm.sh [BUILD_DIR [SRC_DIR]]      (defaults: the current directory, this script's tree)
#
# Environment: MINICR_VM_PROFILE (full, the default, or ci: what the guest runs, see
# build-initramfs.sh), MINICR_VM_TIMEOUT (seconds for the whole guest run, default 1800 for the
# full profile, 1200 for ci: about twice what a loaded 2-core host needs),
# MINICR_VM_MEM (MiB, default 2048), MINICR_VM_SMP (default 2), MINICR_VM_ACCEL (default tcg),
# MINICR_VM_QEMU_ARGS (more qemu arguments, split on blanks),
# MINICR_VM_NO_INSTALL=1 (never apt-get install the tools), and those of fetch-kernel.sh and
# build-initramfs.sh. The console is kept in BUILD_DIR/vm/console.log.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-.}" && pwd)
src=$(cd "${2:-$here/../..}" && pwd)
work=$build/vm
mkdir -p "$work"
t_start=$(date +%s)

passed=0 failed=0 skipped=0
result() { # pass|fail|skip name [detail]
	case "$1" in
	pass) passed=$((passed + 1)); echo "PASS: $2${3:+ ($3)}" ;;
	skip) skipped=$((skipped + 1)); echo "SKIP: $2${3:+: $3}" ;;
	*) failed=$((failed + 1)); echo "FAIL: $2${3:+: $3}" ;;
	esac
}
finish() {
	echo "# kernel-VM lane: $(($(date +%s) - t_start)) s in all"
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
	exit $?
}

# ---- tools: a fresh machine has none of them ---------------------------------------------------
. "$here/lane-common.sh"
lane_install_tools run-vm qemu-system-x86_64=qemu-system-x86 cpio=cpio jq=jq xz=xz-utils \
	/usr/share/keyrings/debian-archive-keyring.gpg=debian-archive-keyring

[ -x "$build/minicr" ] || { echo "run-vm: no $build/minicr: build first (make && make check TESTS=)"; exit 1; }
minicr=$build/minicr

# ---- host: minicr check --json ----------------------------------------------------------------
host_rel=$(uname -r)
host_major=${host_rel%%.*}
host_by_fd=$("$minicr" check --json 2>/dev/null | grep -E '"statmount_by_fd"')
case "$host_by_fd" in
*'"available": true'*) host_has=1 ;;
*'"available": false'*) host_has=0 ;;
*) host_has= ;;
esac
if [ -z "$host_has" ]; then
	result fail "host: check-json/statmount_by_fd" "no statmount_by_fd in minicr check --json"
elif [ "$host_major" -lt 7 ] && [ "$host_has" = 0 ]; then
	result pass "host: check-json/statmount_by_fd" "absent on $host_rel, as expected"
elif [ "$host_major" -ge 7 ] && [ "$host_has" = 1 ]; then
	result pass "host: check-json/statmount_by_fd" "available on $host_rel, as expected"
else
	result fail "host: check-json/statmount_by_fd" "available=$host_has on $host_rel"
fi

# ---- the kernel ---------------------------------------------------------------------------------
t0=$(date +%s)
lane_fetch fetch-kernel fetch-kernel.sh
rc=$?
if [ $rc = 77 ]; then
	echo "$passed passed, $failed failed, $((skipped + 1)) skipped"
	exit 77
elif [ $rc != 0 ]; then
	echo "run-vm: fetch-kernel.sh failed (exit $rc)"
	result fail "vm: fetch the kernel" "exit $rc"
	finish
fi
kernel=$lane_fetched
echo "# kernel $kernel ($(($(date +%s) - t0)) s)"

# ---- the modules init loads ---------------------------------------------------------------------
# Debian's cloud kernel builds sock_diag's handlers (unix_diag, inet_diag, tcp_diag, udp_diag)
# and loop as modules, which it would load through modprobe; the guest has none. Without them
# every socket is refused ("sock_diag cannot describe them") and orphan-ext4 has no loop device.
lane_fetch fetch-modules fetch-modules.sh "$kernel"
rc=$?
if [ $rc = 77 ]; then
	echo "$passed passed, $failed failed, $((skipped + 1)) skipped"
	exit 77
elif [ $rc != 0 ]; then
	result fail "vm: fetch the kernel's modules" "exit $rc"
	finish
fi
export MINICR_VM_MODULES
MINICR_VM_MODULES=$lane_fetched
echo "# modules: $(tr '\n' ' ' <"$MINICR_VM_MODULES/load-order")"

# ---- the initramfs ------------------------------------------------------------------------------
t0=$(date +%s)
if ! bash "$here/build-initramfs.sh" "$build" "$src" "$work/initrd.gz" 2>"$work/initramfs.err"; then
	cat "$work/initramfs.err"
	result fail "vm: build the initramfs"
	finish
fi
sed 's/^/# /' "$work/initramfs.err"
echo "# initramfs built in $(($(date +%s) - t0)) s"

# ---- boot ---------------------------------------------------------------------------------------
case "${MINICR_VM_PROFILE:-full}" in
ci) timeout=${MINICR_VM_TIMEOUT:-1200} ;;
*) timeout=${MINICR_VM_TIMEOUT:-1800} ;;
esac
guest_timeout=$((timeout > 60 ? timeout - 30 : timeout))
log=$work/console.log
rm -f "$work/json-"* "$work/qemu.rc"
# (tr line-buffered: each result shows as the guest prints it, not 4 kB later)
# One boot of the guest; the results stream out as it runs. Sets reached_init (any guest line
# seen), panicked, finished, done_seen, xcheck.
boot_guest() {
	echo "# booting under qemu (${MINICR_VM_ACCEL:-tcg}), at most $timeout s"
	t0=$(date +%s)
	xcheck='' json_name='' done_seen='' finished='' reached_init='' panicked='' int3_oops=''
	while IFS= read -r line; do
		# the firmware's terminal codes (or a kernel message) may precede a guest line
		case "$line" in
		?*"@@vm "*) line="@@vm ${line#*@@vm }" ;;
		esac
		case "$line" in
		"@@vm "*) reached_init=1 ;;
		esac
		case "$line" in
		"@@vm result "*)
			l=${line#@@vm result }
			status=${l%% *} l=${l#* }
			name=${l%%: *} detail=
			[ "$name" != "$l" ] && detail=${l#*: }
			result "$status" "vm: $name" "$detail"
			;;
		"@@vm log "*)
			echo "    ${line#@@vm log }"
			;;
		"@@vm info "*)
			echo "# vm: ${line#@@vm info }"
			;;
		"@@vm json-begin "*)
			json_name=${line#@@vm json-begin }
			: >"$work/json-$json_name"
			;;
		"@@vm json-end "*)
			json_name=
			;;
		"@@vm json "*)
			[ -n "$json_name" ] && echo "${line#@@vm json }" >>"$work/json-$json_name"
			;;
		"@@vm xcheck "*)
			xcheck=${line#@@vm xcheck }
			;;
		"@@vm done "*)
			done_seen=${line#@@vm done }
			;;
		"@@vm finished"*)
			finished=1
			;;
		"@@vm init: "*)
			echo "# vm: $line"
			;;
		*)
			lane_console_line "$line"
			;;
		esac
	done < <({
		timeout -k 10 "$timeout" qemu-system-x86_64 -accel "${MINICR_VM_ACCEL:-tcg}" -cpu max \
			-m "${MINICR_VM_MEM:-2048}" -smp "${MINICR_VM_SMP:-2}" -nographic -no-reboot \
			-nic none -kernel "$kernel" -initrd "$work/initrd.gz" \
			-append "console=ttyS0 panic=-1 quiet vm.timeout=$guest_timeout" \
			${MINICR_VM_QEMU_ARGS:-} </dev/null 2>&1
		echo $? >"$work/qemu.rc"
	} | stdbuf -oL tr -d '\r' | tee "$log")
}

counts_before_boot="$passed $failed $skipped"
boot_guest
# A guest kernel death that says nothing about minicr (lane_boot_again) gets one more boot, whose
# results replace the first's; a second death stands.
if lane_boot_again; then
	echo "# the guest kernel died (console kept in $log.first-boot); booting once more"
	cp "$log" "$log.first-boot"
	read -r passed failed skipped <<<"$counts_before_boot"
	boot_guest
fi
qemu_rc=$(cat "$work/qemu.rc" 2>/dev/null || echo '?')
echo "# guest ran $(($(date +%s) - t0)) s (qemu exit $qemu_rc)"
if [ -z "$finished" ] || [ -z "$done_seen" ]; then
	why="qemu exit $qemu_rc"
	[ "$qemu_rc" = 124 ] && why="timed out after $timeout s"
	result fail "vm: the guest run completed" "$why; last console lines:"
	tail -n 30 "$log" | sed 's/^/    /'
fi

# ---- cross-check: the detached mount record, VM against host -----------------------------------
# Dump the detached-bind scenario here, as the guest did.
host_dump() { # images-dir -> 0 ok, 1 failed, 2 dump not available
	local dir=$1 pid i
	mkdir -p "$dir/img"
	SCENARIO_READY=$dir/ready SCENARIO_RESULT=$dir/result \
		"$build/test/scenarios/launch" "$build/test/scenarios/detached-bind" </dev/null \
		>"$dir/out" 2>&1 &
	pid=$!
	for ((i = 0; i < 3000; i++)); do
		[ -s "$dir/ready" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	local rc=0
	if [ ! -s "$dir/ready" ]; then
		echo "detached-bind never became ready: $(tail -n 1 "$dir/out")" >"$dir/why"
		rc=1
	elif ! "$minicr" dump -t "$pid" -D "$dir/img" --leave-running -o "$dir/dump.log" 2>/dev/null; then
		echo "dump failed: $(tail -n 1 "$dir/dump.log")" >"$dir/why"
		rc=1
		grep -q 'not implemented' "$dir/dump.log" && rc=2
	elif ! "$minicr" show --json "$dir/img" >"$dir/show.json" 2>"$dir/why"; then
		rc=1
	fi
	# the scenario checks itself and exits, removing what it made; SIGKILL only if it hangs
	kill -USR1 "$pid" 2>/dev/null
	for ((i = 0; i < 500; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return $rc
}

# field FILE JQ-EXPR: the value in the one detached mount record
field() { jq -c "[.[\"detached-mnt.img\"] // [] | .[]] | if length == 1 then .[0] | $2 else \"<\(length) records>\" end" "$1"; }

case "$xcheck" in
"skip "*)
	result skip "xcheck: detached-bind, VM vs host" "${xcheck#skip }"
	;;
"fail "*)
	result fail "xcheck: detached-bind, VM vs host" "in the VM: ${xcheck#fail }"
	;;
done)
	if [ "$(id -u)" != 0 ]; then
		result skip "xcheck: detached-bind, VM vs host" "the host dump needs root"
		finish
	fi
	hdir=$(mktemp -d /tmp/minicr-vm-xcheck.XXXXXX)
	host_dump "$hdir"
	rc=$?
	if [ $rc = 2 ]; then
		result skip "xcheck: detached-bind, VM vs host" "dump not available on the host"
	elif [ $rc != 0 ]; then
		result fail "xcheck: detached-bind, VM vs host" "on the host: $(cat "$hdir/why")"
	else
		vm=$work/json-detached-bind host=$work/json-detached-bind.host
		cp "$hdir/show.json" "$host"
		for f in source options root_is_file; do
			echo "# xcheck $f: VM $(field "$vm" ".$f"), host $(field "$host" ".$f")"
		done
		for f in root fstype mnt_attr 'users | map([.fd, .path]) | sort'; do
			v=$(field "$vm" ".$f") h=$(field "$host" ".$f")
			label=${f%% *}
			if [ "$v" = "$h" ] && [ "$v" != null ]; then
				result pass "xcheck: $label" "$v in both"
			elif [ "$v" = "$h" ]; then
				result pass "xcheck: $label" "absent in both"
			else
				result fail "xcheck: $label" "VM $v, host $h"
			fi
		done
		v=$(field "$vm" .method) h=$(field "$host" .method)
		if [ "$v" = '"DETACHED_MNT_METHOD_STATMOUNT_BY_FD"' ]; then
			result pass "xcheck: method in the VM" "$v"
		else
			result fail "xcheck: method in the VM" "$v, expected STATMOUNT_BY_FD"
		fi
		want='"DETACHED_MNT_METHOD_FILE_HANDLE"'
		[ "$host_has" = 1 ] && want='"DETACHED_MNT_METHOD_STATMOUNT_BY_FD"'
		if [ "$h" = "$want" ]; then
			result pass "xcheck: method on the host" "$h"
		else
			result fail "xcheck: method on the host" "$h, expected $want"
		fi
		echo "# xcheck images kept: $vm, $host"
	fi
	rm -rf "$hdir"
	;;
*)
	[ -n "$finished" ] && result fail "xcheck: detached-bind, VM vs host" "the guest sent no images"
	;;
esac

finish
