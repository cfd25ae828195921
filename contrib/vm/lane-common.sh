# lane-common.sh: what the kernel-VM lane (run-vm.sh) and the CRIU lane (run-criu-lane.sh) share.
# Sourced by both, with $here (this directory) and $work (the lane's scratch directory) set.

# lane_install_tools WHO NEED=PACKAGE...: installs, with apt-get, the package of each NEED that is
# missing (a command name, or a path that must exist); as root only and unless
# MINICR_VM_NO_INSTALL is set. Ends the script (exit 1) when one cannot be had.
lane_install_tools() {
	local who=$1 pair need=()
	shift
	for pair in "$@"; do
		case "${pair%%=*}" in
		/*) [ -e "${pair%%=*}" ] || need+=("${pair#*=}") ;;
		*) command -v "${pair%%=*}" >/dev/null || need+=("${pair#*=}") ;;
		esac
	done
	[ ${#need[@]} -gt 0 ] || return 0
	if [ "$(id -u)" = 0 ] && [ -z "${MINICR_VM_NO_INSTALL:-}" ] && command -v apt-get >/dev/null; then
		echo "# installing ${need[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q --no-install-recommends "${need[@]}" >"$work/apt-install.log" 2>&1 ||
			{ apt-get update -q >>"$work/apt-install.log" 2>&1 &&
			  apt-get install -y -q --no-install-recommends "${need[@]}" >>"$work/apt-install.log" 2>&1; } ||
			{ tail -20 "$work/apt-install.log"; echo "$who: cannot install ${need[*]}"; exit 1; }
	else
		echo "$who: missing ${need[*]} (apt-get install ${need[*]})"
		exit 1
	fi
}

# lane_fetch NAME SCRIPT [ARGS...]: runs contrib/vm/SCRIPT (fetch-kernel.sh, fetch-modules.sh,
# fetch-criu.sh), its stderr shown as "# " lines, its stdout kept in $work/NAME.out; sets
# lane_fetched to the last line it printed (what it fetched). Returns the script's status; on 77
# (nothing to be had) its "skipped" line is printed.
lane_fetch() {
	local name=$1 script=$2 rc
	shift 2
	bash "$here/$script" "$@" >"$work/$name.out" 2>"$work/$name.err"
	rc=$?
	sed 's/^/# /' "$work/$name.err"
	[ $rc = 77 ] && grep '^skipped' "$work/$name.out"
	lane_fetched=$(tail -n 1 "$work/$name.out")
	return $rc
}

# lane_console_line LINE: notes a guest kernel's death on its console (sets panicked, and
# int3_oops for an int3 oops) and shows the line.
lane_console_line() {
	case "$1" in
	*"Oops: int3"*) panicked=1 int3_oops=1 ;;
	*"Kernel panic"*|*"BUG:"*|*"Oops"*|*"general protection"*) panicked=1 ;;
	*) return 0 ;;
	esac
	echo "# vm console: $1"
}

# lane_boot_again: after a boot, whether one more is owed. A kernel that died before minicr's
# init ran says nothing about minicr, nor does an int3 oops at any time: TCG, on a loaded host,
# has run a breakpoint the kernel had already patched out of its own text (a jump label), at
# boot and mid-run. Any other death after init stands (contrib/vm/README.md).
lane_boot_again() {
	[ -n "$panicked" ] && { [ -z "$reached_init" ] || [ -n "$int3_oops" ]; }
}
