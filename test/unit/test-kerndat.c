/* Unit tests for kerndat-parse.c (maps and stat parsing, errno answers, the can-run decision)
 * and one run of the real probes on this kernel, checked for consistency and for leftovers. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/kerndat-parse.h"
#include "base/kerndat.h"

/* 6.18 on x86_64: three back-to-back areas, vvar data before the code. */
static const char maps_618[] =
    "55d0c0a00000-55d0c0a02000 r--p 00000000 fe:00 1311                       /usr/bin/cat\n"
    "7fc61b0b8000-7fc61b0bc000 r--p 00000000 00:00 0                          [vvar]\n"
    "7fc61b0bc000-7fc61b0be000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
    "7fc61b0be000-7fc61b0c0000 r-xp 00000000 00:00 0                          [vdso]\n"
    "7ffe4dfe8000-7ffe4e009000 rw-p 00000000 00:00 0                          [stack]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

/* A 5.x/6.1 kernel: [vvar] (4 pages) then [vdso] (2 pages), no [vvar_vclock]. */
static const char maps_two_areas[] =
    "7f1234560000-7f1234561000 rw-p 00000000 00:00 0 \n"
    "7ffd1a3f2000-7ffd1a3f6000 r--p 00000000 00:00 0                          [vvar]\n"
    "7ffd1a3f6000-7ffd1a3f8000 r-xp 00000000 00:00 0                          [vdso]\n";

Test(kerndat_parse, finds_the_three_contiguous_areas_of_6_18)
{
	struct kerndat_vdso_layout l;

	cr_assert_eq(kerndat_parse_vdso_layout(maps_618, &l), 0);
	cr_assert_eq(l.vvar.start, 0x7fc61b0b8000ULL);
	cr_assert_eq(kerndat_area_size(&l.vvar), 4 * 4096);
	cr_assert_eq(l.vvar_vclock.start, 0x7fc61b0bc000ULL);
	cr_assert_eq(kerndat_area_size(&l.vvar_vclock), 2 * 4096);
	cr_assert_eq(l.vdso.start, 0x7fc61b0be000ULL);
	cr_assert_eq(kerndat_area_size(&l.vdso), 2 * 4096);
	cr_assert(l.is_contiguous);
}

Test(kerndat_parse, accepts_the_older_two_area_layout)
{
	struct kerndat_vdso_layout l;

	cr_assert_eq(kerndat_parse_vdso_layout(maps_two_areas, &l), 0);
	cr_assert_eq(kerndat_area_size(&l.vvar), 4 * 4096);
	cr_assert_eq(l.vvar_vclock.start, 0);
	cr_assert_eq(kerndat_area_size(&l.vvar_vclock), 0);
	cr_assert_eq(kerndat_area_size(&l.vdso), 2 * 4096);
	cr_assert(l.is_contiguous);
}

Test(kerndat_parse, sees_contiguity_whatever_the_order_of_areas)
{
	static const char maps[] = "7000-9000 r-xp 00000000 00:00 0 [vdso]\n"
				   "9000-b000 r--p 00000000 00:00 0 [vvar_vclock]\n"
				   "3000-7000 r--p 00000000 00:00 0 [vvar]";
	struct kerndat_vdso_layout l;

	cr_assert_eq(kerndat_parse_vdso_layout(maps, &l), 0);
	cr_assert(l.is_contiguous);
	cr_assert_eq(l.vvar.end, 0x7000);
}

Test(kerndat_parse, reports_a_hole_between_areas)
{
	static const char maps[] = "1000-5000 r--p 00000000 00:00 0 [vvar]\n"
				   "6000-8000 r-xp 00000000 00:00 0 [vdso]\n";
	struct kerndat_vdso_layout l;

	cr_assert_eq(kerndat_parse_vdso_layout(maps, &l), 0);
	cr_assert_not(l.is_contiguous);
}

Test(kerndat_parse, ignores_names_that_only_look_like_special_areas)
{
	static const char maps[] = "1000-2000 r--p 00000000 fe:00 12 /tmp/[vdso] copy\n"
				   "2000-3000 r--p 00000000 fe:00 13 /tmp/x [vvar]\n"
				   "5000-7000 r-xp 00000000 00:00 0 [vdso]   \n";
	struct kerndat_vdso_layout l;

	cr_assert_eq(kerndat_parse_vdso_layout(maps, &l), 0);
	cr_assert_eq(l.vdso.start, 0x5000);
	cr_assert_eq(l.vvar.end, 0);
}

Test(kerndat_parse, refuses_maps_without_vdso)
{
	struct kerndat_vdso_layout l = {.vdso.start = 42};

	cr_assert_eq(kerndat_parse_vdso_layout("1000-2000 r--p 00000000 00:00 0 [vvar]\n", &l),
		     -ENOENT);
	cr_assert_eq(kerndat_parse_vdso_layout("", &l), -ENOENT);
	cr_assert_eq(l.vdso.start, 42, "output touched on failure");
}

Test(kerndat_parse, refuses_malformed_and_duplicated_lines)
{
	struct kerndat_vdso_layout l;

	cr_assert_eq(kerndat_parse_vdso_layout("zz-2000 r--p 0 00:00 0 [vdso]\n", &l), -EINVAL);
	cr_assert_eq(kerndat_parse_vdso_layout("2000-1000 r--p 0 00:00 0 [vdso]\n", &l), -EINVAL);
	cr_assert_eq(kerndat_parse_vdso_layout("1000-2000\n", &l), -EINVAL);
	cr_assert_eq(kerndat_parse_vdso_layout("1000-2000 r--p 0 00:00\n", &l), -EINVAL);
	cr_assert_eq(kerndat_parse_vdso_layout("11111111111111111-2 r--p 0 00:00 0\n", &l),
		     -EINVAL);
	cr_assert_eq(kerndat_parse_vdso_layout("1000-2000 r-xp 0 00:00 0 [vdso]\n"
					       "3000-4000 r-xp 0 00:00 0 [vdso]\n",
					       &l),
		     -EINVAL);
}

Test(kerndat_parse, maps_statmount_by_fd_errnos)
{
	cr_assert_eq(kerndat_statmount_by_fd_answer(EBADF), KERNDAT_PRESENT);
	cr_assert_eq(kerndat_statmount_by_fd_answer(EINVAL), KERNDAT_ABSENT);
	cr_assert_eq(kerndat_statmount_by_fd_answer(ENOSYS), KERNDAT_NO_SYSCALL);
	cr_assert_eq(kerndat_statmount_by_fd_answer(EPERM), KERNDAT_UNKNOWN);
	cr_assert_eq(kerndat_statmount_by_fd_answer(0), KERNDAT_UNKNOWN);
}

Test(kerndat_parse, maps_syscall_and_clone3_errnos)
{
	cr_assert_eq(kerndat_syscall_answer(ENOSYS), KERNDAT_NO_SYSCALL);
	cr_assert_eq(kerndat_syscall_answer(EINVAL), KERNDAT_PRESENT);
	cr_assert_eq(kerndat_syscall_answer(EPERM), KERNDAT_PRESENT);

	cr_assert_eq(kerndat_clone3_set_tid_answer(EEXIST), KERNDAT_PRESENT);
	cr_assert_eq(kerndat_clone3_set_tid_answer(0), KERNDAT_PRESENT);
	cr_assert_eq(kerndat_clone3_set_tid_answer(EPERM), KERNDAT_ABSENT);
	cr_assert_eq(kerndat_clone3_set_tid_answer(E2BIG), KERNDAT_ABSENT);
	cr_assert_eq(kerndat_clone3_set_tid_answer(ENOSYS), KERNDAT_NO_SYSCALL);
	cr_assert_eq(kerndat_clone3_set_tid_answer(ENOMEM), KERNDAT_UNKNOWN);
}

static struct kerndat full_kerndat(void)
{
	struct kerndat kd = {
	    .ptrace_seize = true,
	    .ptrace_interrupt = true,
	    .ptrace_suspend_seccomp = true,
	    .ptrace_rseq_config = true,
	    .clone3 = true,
	    .clone3_set_tid = true,
	    .statmount = true,
	    .listmount = true,
	    .statmount_by_fd = true,
	    .statx_mnt_id_unique = true,
	    .file_handles = true,
	    .file_handles_mnt_id_unique = true,
	    .open_tree = true,
	    .move_mount = true,
	    .mount_setattr = true,
	    .pidfd_open = true,
	    .pidfd_getfd = true,
	    .kcmp = true,
	    .pr_set_mm_map = true,
	    .rseq = true,
	    .rseq_registered = true,
	    .has_vdso_layout = true,
	    .cap_sys_admin = true,
	    .cap_sys_ptrace = true,
	    .cap_checkpoint_restore = true,
	    .cap_dac_read_search = true,
	    .cap_sys_resource = true,
	};
	return kd;
}

Test(kerndat_decision, runs_with_everything)
{
	struct kerndat kd = full_kerndat();

	cr_assert(kerndat_can_dump(&kd));
	cr_assert(kerndat_can_restore(&kd));
}

Test(kerndat_decision, runs_on_6_18_without_statmount_by_fd_or_cap_sys_resource)
{
	struct kerndat kd = full_kerndat();

	kd.statmount_by_fd = false;
	kd.cap_sys_resource = false;
	cr_assert(kerndat_can_dump(&kd));
	cr_assert(kerndat_can_restore(&kd));
}

Test(kerndat_decision, needs_file_handles_or_statmount_by_fd)
{
	struct kerndat kd = full_kerndat();
	const char *missing[4];

	kd.file_handles = false;
	kd.cap_dac_read_search = false;
	cr_assert(kerndat_can_dump(&kd), "statmount_by_fd alone resolves detached mounts");

	kd.statmount_by_fd = false;
	cr_assert_eq(kerndat_missing_for_dump(&kd, missing, 4), 2);
	cr_assert_str_eq(missing[0], "statmount_by_fd|file_handles");
	cr_assert_str_eq(missing[1], "cap_dac_read_search");
	cr_assert(kerndat_can_restore(&kd));
}

Test(kerndat_decision, names_what_restore_misses)
{
	struct kerndat kd = full_kerndat();
	const char *missing[1];

	kd.clone3_set_tid = false;
	kd.pr_set_mm_map = false;
	kd.open_tree = false;
	kd.mount_setattr = false;
	cr_assert(kerndat_can_dump(&kd));
	cr_assert_eq(kerndat_missing_for_restore(&kd, missing, 1), 2, "count beyond the array");
	cr_assert_str_eq(missing[0], "clone3_set_tid");
}

Test(kerndat_decision, dump_needs_ptrace_and_pidfds)
{
	static const size_t offsets[] = {
	    offsetof(struct kerndat, ptrace_seize),  offsetof(struct kerndat, ptrace_interrupt),
	    offsetof(struct kerndat, pidfd_open),    offsetof(struct kerndat, pidfd_getfd),
	    offsetof(struct kerndat, kcmp),	     offsetof(struct kerndat, cap_sys_ptrace),
	    offsetof(struct kerndat, cap_sys_admin),
	};

	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		struct kerndat kd = full_kerndat();

		*(bool *)((char *)&kd + offsets[i]) = false;
		cr_assert_not(kerndat_can_dump(&kd), "offset %zu", offsets[i]);
	}
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

Test(kerndat_probe, gives_consistent_answers_and_leaves_nothing_behind)
{
	struct kerndat kd;
	int fds_before = count_fds();

	/* No timing here: speed is measured by benchmarks, never asserted by tests. */
	cr_assert_eq(kerndat_probe(&kd), 0);

	cr_assert_neq(kd.release[0], '\0');
	cr_assert(!kd.statmount_by_fd || kd.statmount, "BY_FD is a flag of statmount");
	cr_assert_eq(kd.statmount, kd.listmount, "both came in 6.8");
	cr_assert(!kd.ptrace_interrupt || kd.ptrace_seize);
	cr_assert(!kd.ptrace_suspend_seccomp || kd.ptrace_interrupt);
	cr_assert(!kd.clone3_set_tid || kd.clone3);
	cr_assert(!kd.pidfd_getfd || kd.pidfd_open);
	cr_assert(!kd.kcmp || kd.pidfd_getfd);
	cr_assert(!kd.file_handles_mnt_id_unique || kd.file_handles);
	cr_assert(!kd.mount_setattr || kd.open_tree);
	cr_assert(!kd.pr_set_mm_map || kd.mm_map_size == sizeof(struct prctl_mm_map));
	cr_assert(!kd.rseq_registered || kd.rseq);
	cr_assert(kd.has_vdso_layout, "every x86_64 process has a [vdso]");
	cr_assert_gt(kerndat_area_size(&kd.vdso_layout.vdso), 0);

	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a probe child was left unreaped");
	cr_assert_eq(errno, ECHILD);
	cr_assert_eq(count_fds(), fds_before, "a probe leaked an fd");
}

Test(kerndat_probe, finds_what_dump_and_restore_need_when_root)
{
	struct kerndat kd;

	cr_assert_eq(kerndat_probe(&kd), 0);
	if (geteuid() != 0 || !kd.cap_sys_admin || !kd.cap_sys_ptrace)
		cr_skip_test("needs root with CAP_SYS_ADMIN and CAP_SYS_PTRACE");
	cr_assert(kd.clone3_set_tid, "clone3 with set_tid");
	cr_assert(kd.pr_set_mm_map, "PR_SET_MM_MAP with the current values");
	cr_assert(kd.ptrace_seize && kd.ptrace_interrupt);
	cr_assert(kd.pidfd_open && kd.pidfd_getfd && kd.kcmp);
	cr_assert(kd.open_tree && kd.mount_setattr && kd.move_mount);
	cr_assert(kd.statmount && kd.listmount && kd.statx_mnt_id_unique);
}
