#!/usr/bin/env bash
# build-initramfs.sh: the kernel-VM lane's initramfs (a gzip'd newc cpio).
#
#   build-initramfs.sh BUILD_DIR SRC_DIR OUTPUT
#
# It holds: /init (test/vm/init.c, linked statically here), /vm/guest-tests.sh, the build tree's
# minicr, integration tests and scenario programs under /vm/build, the scenario harness and the
# integration test scripts under /vm/src, /vm/config (settings, from $MINICR_VM_* variables), and the host's bash and the few
# tools the scripts use, each with the shared libraries ldd lists (so everything dynamically
# linked runs unchanged).
# Environment: CC (default cc); MINICR_VM_MODULES (a directory of kernel modules and their
# load-order, put into /vm/modules for init to load: fetch-modules.sh's); MINICR_VM_PROFILE
# (full or ci, below), MINICR_VM_SCENARIO_MODES and MINICR_VM_TESTS (integration test names, or
# all) to override a part of it; inside the guest, in seconds: MINICR_VM_TEST_TIMEOUT per
# integration test (90), MINICR_VM_TEST_TIMEOUTS for some of them ("NAME=SECONDS ...", default
# test-dump-failures.sh=300: some sixty dumps), MINICR_VM_SCENARIO_TIMEOUT per scenario (60),
# MINICR_VM_SCENARIO_BUDGET per mode (600); MINICR_VM_RETRY=0: no second try for a failed test
# or scenario.
set -euo pipefail

if [ $# != 3 ]; then
	echo "usage: $0 BUILD_DIR SRC_DIR OUTPUT" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
out=$3

for tool in cpio gzip ldd; do
	command -v "$tool" >/dev/null || { echo "build-initramfs: $tool is not installed" >&2; exit 1; }
done
[ -x "$build/minicr" ] || { echo "build-initramfs: no $build/minicr (run make first)" >&2; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/minicr-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

# A merged-/usr layout, as on Debian, so ldd's paths are valid inside as they are outside.
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,tmp,run,root,var/tmp,vm}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp" "$root/var/tmp"
ln -s /proc/self/mounts "$root/etc/mtab"
echo "root:x:0:0:root:/root:/bin/bash" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true

# copy_file SRC DEST: DEST is the absolute path inside the image
copy_file() {
	mkdir -p "$root$(dirname "$2")"
	cp -L "$1" "$root$2"
}

# copy_libs ELF: every shared library it needs, at the path ldd prints
copy_libs() {
	local lib
	# "libx.so => /path (addr)", or "/lib64/ld-linux-x86-64.so.2 (addr)"; static: nothing
	ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while read -r lib; do
			[ -e "$root$lib" ] || copy_file "$lib" "$lib"
		done
}

# copy_elf SRC DEST
copy_elf() {
	copy_file "$1" "$2"
	copy_libs "$1"
}

# ---- init ------------------------------------------------------------------------------------
${CC:-cc} -static -O2 -Wall -o "$root/init" "$src/test/vm/init.c"

# ---- host tools the guest scripts use (run.sh: ps awk sed mktemp sleep ...) -------------------
tools=(bash timeout sleep cat head tail grep sed awk ps pgrep mktemp mkdir rm cp mv ls ln id
	kill nproc uname tr wc sort cut env dirname basename readlink realpath stat touch chmod cmp
	diff true false seq tee date find xargs expr od du mount umount sync unshare mountpoint
	truncate mke2fs prlimit mkfifo script rmdir)
for t in "${tools[@]}"; do
	p=$(type -P "$t" 2>/dev/null) || true
	case "$p" in
	/*) copy_elf "$(readlink -f "$p")" "/usr/bin/$t" ;;
	*) echo "build-initramfs: warning: $t not found on the host" >&2 ;;
	esac
done
ln -sf bash "$root/usr/bin/sh"

# ---- the build tree: minicr, integration tests, scenario programs ----------------------------
copy_elf "$build/minicr" /vm/build/minicr
is_elf() { [ -f "$1" ] && [ -x "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }
for dir in test/integration test/scenarios; do
	for f in "$build/$dir"/*; do
		is_elf "$f" && copy_elf "$f" "/vm/build/$dir/${f##*/}"
	done
done
copy_file "$src/test/scenarios/run.sh" /vm/src/test/scenarios/run.sh
for f in "$src"/test/integration/*.sh; do
	[ -f "$f" ] && copy_file "$f" "/vm/src/test/integration/${f##*/}"
done
# test-completion.sh sources the completion from the source tree
copy_file "$src/contrib/completion/minicr.bash" /vm/src/contrib/completion/minicr.bash
copy_file "$src/test/vm/guest-tests.sh" /vm/guest-tests.sh

# What the guest runs: MINICR_VM_PROFILE (see contrib/vm/README.md), each part of which
# MINICR_VM_SCENARIO_MODES and MINICR_VM_TESTS override.
#   full (make check-vm's default): every integration test, and the scenarios in the modes make
#        check runs on the host (check-scenarios.sh's default) less baseline (dump mode runs
#        each scenario's own check as well, and TCG time is precious);
#   ci   (contrib/test.sh): every scenario in dump mode, and only the integration tests whose
#        paths depend on the kernel: statmount and the mount API (detached, orphaned and
#        anonymous mounts, mount namespaces, propagation), ptrace and the parasite, clone3 and
#        the restorer, sock_diag and TCP repair, O_DIRECT page writes, restore's checks of the
#        running kernel. The others (fault injection in minicr's own steps, the CLI, the
#        completion, reports, real programs, terminals) ran in the host's make check and say
#        nothing new on 7.x. Every scenario in cr mode (dump, kill, restore) is the CRIU lane's
#        minicr column, which contrib/test.sh runs next on the same kernel, modules and
#        initramfs: running it here as well would double the longest part of both lanes.
profile=${MINICR_VM_PROFILE:-full}
case "$profile" in
full)
	modes=$(sed -n 's/.*SCENARIO_MODES:-\([^}]*\)}.*/\1/p' \
		"$src/test/scenarios/check-scenarios.sh" 2>/dev/null | head -n 1 | sed 's/baseline//')
	tests=all
	;;
ci)
	modes=dump
	tests="test-detached test-fds test-parasite test-restore test-resume test-check-only.sh
		test-detached-devices.sh test-mntns-master.sh test-pages-io.sh test-refused-mounts.sh
		test-restore-stopped.sh test-sock-restore.sh"
	;;
*)
	echo "build-initramfs: unknown MINICR_VM_PROFILE '$profile' (full or ci)" >&2
	exit 1
	;;
esac
modes=${MINICR_VM_SCENARIO_MODES:-$modes}
tests=${MINICR_VM_TESTS:-$tests}
read -ra modes_list <<<"$modes"
modes="${modes_list[*]}"
read -ra tests_list <<<"$(echo $tests)"
{
	echo "VM_PROFILE=$profile"
	echo "VM_SCENARIO_MODES=\"${modes:-dump}\""
	echo "VM_TESTS=\"${tests_list[*]:-all}\""
	echo "VM_TEST_TIMEOUT=${MINICR_VM_TEST_TIMEOUT:-90}"
	echo "VM_TEST_TIMEOUTS=\"${MINICR_VM_TEST_TIMEOUTS:-test-dump-failures.sh=300}\""
	echo "VM_SCENARIO_TIMEOUT=${MINICR_VM_SCENARIO_TIMEOUT:-60}"
	echo "VM_SCENARIO_BUDGET=${MINICR_VM_SCENARIO_BUDGET:-600}"
	echo "VM_RETRY=${MINICR_VM_RETRY:-1}"
} >"$root/vm/config"

# ---- kernel modules init loads (sock_diag's handlers, loop: the guest has no modprobe) --------
if [ -n "${MINICR_VM_MODULES:-}" ] && [ -s "$MINICR_VM_MODULES/load-order" ]; then
	mkdir -p "$root/vm/modules"
	while read -r m; do
		cp "$MINICR_VM_MODULES/$m" "$root/vm/modules/"
	done <"$MINICR_VM_MODULES/load-order"
	cp "$MINICR_VM_MODULES/load-order" "$root/vm/modules/"
fi

# ---- pack -------------------------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner 0:0 --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "build-initramfs: $out ($(du -k "$out" | cut -f1) kB: $(find "$root/vm/build" -type f | wc -l) programs from $build)" >&2
