/* kerndat-parse.h: the pure half of the kernel feature probes: parsing /proc text, mapping
 * probe errnos to answers, deciding whether dump and restore can run. No syscalls, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>

struct kerndat;

/* One special area of /proc/PID/maps; start == end == 0 when absent. */
struct kerndat_area {
	uint64_t start;
	uint64_t end;
};

/* Where the kernel put the vdso and its data pages. 6.18 maps three areas, [vvar] (4 pages),
 * [vvar_vclock] (2 pages), [vdso] (2 pages), back to back; older kernels map [vvar] and [vdso]
 * only. The restorer must move them as one block when they are contiguous. */
struct kerndat_vdso_layout {
	struct kerndat_area vvar;
	struct kerndat_area vvar_vclock;
	struct kerndat_area vdso;
	bool is_contiguous; /* the present areas cover one range with no hole */
};

/* Parses maps text (NUL-terminated) for [vvar], [vvar_vclock] and [vdso]. Returns 0, -ENOENT if
 * there is no [vdso] line, or -EINVAL on a malformed line or a duplicated area. *ret is set only on
 * success. */
int kerndat_parse_vdso_layout(const char *maps, struct kerndat_vdso_layout *ret);

static inline uint64_t kerndat_area_size(const struct kerndat_area *a)
{
	return a->end - a->start;
}

/* What an errno from a probe means for a syscall or flag. */
enum kerndat_answer {
	KERNDAT_ABSENT = 0,
	KERNDAT_PRESENT,
	KERNDAT_NO_SYSCALL, /* the syscall the flag belongs to is missing */
	KERNDAT_UNKNOWN,    /* the probe failed for a reason that says nothing about the feature */
};

/* The errno of statmount({size=32, mnt_fd=-1}, ..., STATMOUNT_BY_FD): the fd is looked up only by
 * kernels that know the flag (EBADF); older ones reject the flag first (EINVAL). */
enum kerndat_answer kerndat_statmount_by_fd_answer(int err);

/* The errno of a syscall called with arguments it must refuse: only ENOSYS means it is missing. */
enum kerndat_answer kerndat_syscall_answer(int err);

/* The errno of clone3() with set_tid = a pid already in use (0 if it succeeded): EEXIST means
 * the kernel took set_tid, checked our capability and only then found the pid taken. */
enum kerndat_answer kerndat_clone3_set_tid_answer(int err);

/* Names of the missing features that stop dump (resp. restore) from running here, at most n of
 * them stored in ret_missing. Returns the total count: 0 means it can run. */
size_t kerndat_missing_for_dump(const struct kerndat *kd, const char **ret_missing, size_t n);
size_t kerndat_missing_for_restore(const struct kerndat *kd, const char **ret_missing, size_t n);

static inline bool kerndat_can_dump(const struct kerndat *kd)
{
	return kerndat_missing_for_dump(kd, NULL, 0) == 0;
}

static inline bool kerndat_can_restore(const struct kerndat *kd)
{
	return kerndat_missing_for_restore(kd, NULL, 0) == 0;
}
