/* restore-cgroup.c: see restore-cgroup.h. */
#define LOG_PREFIX "restore: "
#include "task/restore-cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/escape.h"
#include "base/log.h"
#include "base/path.h"
#include "base/util.h"
#include "image-set/image-set.h"
#include "mount/table.h"
#include "task/cgroup-parse.h"

/* One cgroup some task goes into. */
struct cgroup_target {
	const char *controllers, *path; /* in the image set */
	int procs_fd;			/* its cgroup.procs, write-only */
};

/* Task task_idx goes into targets[target]. */
struct cgroup_move {
	size_t task_idx, target;
};

struct restore_cgroups {
	const struct image_set *set;
	struct cgroup_target *targets;
	size_t n_targets;
	struct cgroup_move *moves;
	size_t n_moves;
	/* while preparing: minicr's own cgroups and, once needed, its mount table */
	struct cgroup_line *own;
	size_t n_own;
	struct mount_table *mounts;
};

struct restore_cgroups *restore_cgroups_free(struct restore_cgroups *rc)
{
	if (!rc)
		return NULL;
	for (size_t i = 0; i < rc->n_targets; i++)
		closep(&rc->targets[i].procs_fd);
	free(rc->targets);
	free(rc->moves);
	cgroup_lines_free(rc->own, rc->n_own);
	mount_table_free(rc->mounts);
	free(rc);
	return NULL;
}

void restore_cgroups_freep(struct restore_cgroups **rc)
{
	*rc = restore_cgroups_free(*rc);
}

size_t restore_cgroups_n_targets(const struct restore_cgroups *rc)
{
	return rc->n_targets;
}

size_t restore_cgroups_n_moves(const struct restore_cgroups *rc)
{
	return rc->n_moves;
}

/* Whether a child of minicr is in that cgroup already: minicr is. */
static bool minicr_is_in(const struct restore_cgroups *rc, const CgroupMemberEntry *c)
{
	for (size_t i = 0; i < rc->n_own; i++)
		if (cgroup_same_hierarchy(rc->own[i].controllers, c->controllers))
			return strcmp(rc->own[i].path, c->path) == 0;
	return false;
}

static int read_own_cgroups(struct restore_cgroups *rc)
{
	cleanup_free char *buf = NULL;
	ssize_t len = read_file_at(AT_FDCWD, "/proc/self/cgroup", &buf);
	int n;

	if (len < 0) {
		errno = (int)-len;
		return pr_errno("cannot read '/proc/self/cgroup'");
	}
	n = cgroup_parse(buf, &rc->own);
	if (n < 0)
		return pr_neg(n, "cannot parse minicr's own '/proc/self/cgroup'");
	rc->n_own = (size_t)n;
	return 0;
}

/* The cgroup directory at rel (relative, "" for the mount's root) below a mount of its
 * hierarchy: beneath it, through no symlink and no other mount. Returns an O_PATH fd or
 * -errno (not logged). */
static int open_below(int mnt_fd, const char *rel)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	int fd;

	if (!*rel)
		rel = ".";
	fd = (int)syscall(SYS_openat2, mnt_fd, rel, &how, sizeof(how));
	/* before Linux 5.6: the path is clean (no "..") and cgroup filesystems hold no symlinks */
	if (fd < 0 && errno == ENOSYS)
		fd = openat(mnt_fd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The mountpoint of m, if what it opens is a cgroup filesystem (not a mount over it). Returns an
 * O_PATH fd or -errno (not logged). */
static int open_mount(const struct mount_entry *m)
{
	cleanup_close int fd = open(m->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct statfs sfs;

	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs) < 0)
		return -errno;
	if (sfs.f_type != CGROUP_SUPER_MAGIC && sfs.f_type != CGROUP2_SUPER_MAGIC)
		return -ENOENT;
	return TAKE_FD(fd);
}

/* Opens the cgroup.procs of c's cgroup through a mount of its hierarchy in minicr's namespace,
 * or refuses it (one line). */
static int open_target(struct restore_cgroups *rc, pid_t pid, const CgroupMemberEntry *c,
		       int *ret_fd)
{
	char hier[160], esc[512];
	bool mounted = false, reached = false;
	int r;

	cgroup_hierarchy_name(hier, sizeof(hier), c->controllers);
	if (!rc->mounts) {
		r = mount_table_collect(getpid(), 0, &rc->mounts);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < mount_table_size(rc->mounts); i++) {
		const struct mount_entry *m = mount_table_get(rc->mounts, i);
		cleanup_close int mnt_fd = -EBADF, dir_fd = -EBADF;
		const char *rel;

		if (!cgroup_mount_is(m->fstype, m->options ? m->options : "", c->controllers))
			continue;
		mounted = true;
		rel = m->root ? path_below(c->path, m->root) : NULL;
		if (!rel)
			continue;
		mnt_fd = open_mount(m);
		if (mnt_fd < 0)
			continue;
		reached = true;
		while (*rel == '/')
			rel++;
		dir_fd = open_below(mnt_fd, rel);
		if (dir_fd == -ENOENT)
			break;
		if (dir_fd < 0) {
			errno = -dir_fd;
			return pr_errno(
			    "cannot restore task %d into cgroup '%s' of %s: cannot open "
			    "it below '%s'",
			    (int)pid, escape_path(esc, sizeof(esc), c->path), hier, m->mountpoint);
		}
		*ret_fd = openat(dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		if (*ret_fd < 0)
			return pr_errno(
			    "cannot restore task %d into cgroup '%s' of %s: cannot open "
			    "its cgroup.procs",
			    (int)pid, escape_path(esc, sizeof(esc), c->path), hier);
		pr_debug("task %d goes into cgroup '%s' of %s, through '%s'", (int)pid,
			 escape_path(esc, sizeof(esc), c->path), hier, m->mountpoint);
		return 0;
	}
	if (!mounted)
		pr_err("cannot restore task %d into cgroup '%s' of %s: that hierarchy is not "
		       "mounted in minicr's mount namespace",
		       (int)pid, escape_path(esc, sizeof(esc), c->path), hier);
	else if (!reached)
		pr_err("cannot restore task %d into cgroup '%s' of %s: no mount of that hierarchy "
		       "in minicr's mount namespace reaches it",
		       (int)pid, escape_path(esc, sizeof(esc), c->path), hier);
	else
		pr_err("cannot restore task %d into cgroup '%s' of %s: no such cgroup here "
		       "(restore creates none)",
		       (int)pid, escape_path(esc, sizeof(esc), c->path), hier);
	return -ENOENT;
}

/* The target for c, opened on first use. Returns its index or -errno (logged). */
static ssize_t find_target(struct restore_cgroups *rc, pid_t pid, const CgroupMemberEntry *c)
{
	struct cgroup_target *grown;
	int fd, r;

	for (size_t i = 0; i < rc->n_targets; i++)
		if (cgroup_same_hierarchy(rc->targets[i].controllers, c->controllers) &&
		    strcmp(rc->targets[i].path, c->path) == 0)
			return (ssize_t)i;
	r = open_target(rc, pid, c, &fd);
	if (r < 0)
		return r;
	grown = reallocarray(rc->targets, rc->n_targets + 1, sizeof(*grown));
	if (!grown) {
		close(fd);
		return pr_neg(-ENOMEM, "cannot allocate the cgroups of task %d", (int)pid);
	}
	rc->targets = grown;
	rc->targets[rc->n_targets] = (struct cgroup_target){c->controllers, c->path, fd};
	return (ssize_t)rc->n_targets++;
}

static int add_move(struct restore_cgroups *rc, size_t task_idx, size_t target)
{
	struct cgroup_move *grown = reallocarray(rc->moves, rc->n_moves + 1, sizeof(*grown));

	if (!grown)
		return pr_neg(-ENOMEM, "cannot allocate the cgroup moves");
	rc->moves = grown;
	rc->moves[rc->n_moves++] = (struct cgroup_move){task_idx, target};
	return 0;
}

int restore_cgroups_prepare(const struct image_set *set, struct restore_cgroups **ret)
{
	cleanup(restore_cgroups_freep) struct restore_cgroups *rc = calloc(1, sizeof(*rc));
	size_t n_unrecorded = 0;
	int r;

	if (!rc)
		return pr_neg(-ENOMEM, "cannot allocate the cgroups of the tree");
	rc->set = set;
	r = read_own_cgroups(rc);
	if (r < 0)
		return r;
	for (size_t i = 0; i < set->n_tasks; i++) {
		const PstreeEntry *p = set->tasks[i].pst;

		if (!p->n_cgroups)
			n_unrecorded++;
		for (size_t k = 0; k < p->n_cgroups; k++) {
			ssize_t t;

			if (minicr_is_in(rc, p->cgroups[k]))
				continue;
			t = find_target(rc, p->pid, p->cgroups[k]);
			if (t < 0)
				return (int)t;
			r = add_move(rc, i, (size_t)t);
			if (r < 0)
				return r;
		}
	}
	if (n_unrecorded)
		pr_info("%zu task(s) have no cgroups recorded (dumped with "
			"--manage-cgroups=ignore, or where no hierarchy was mounted): they stay in "
			"minicr's",
			n_unrecorded);
	/* only the fds are needed from now on */
	rc->mounts = mount_table_free(rc->mounts);
	*ret = TAKE_PTR(rc);
	return 0;
}

int restore_cgroups_move(const struct restore_cgroups *rc)
{
	for (size_t i = 0; i < rc->n_moves; i++) {
		const struct cgroup_move *mv = &rc->moves[i];
		const struct cgroup_target *t = &rc->targets[mv->target];
		pid_t pid = rc->set->tasks[mv->task_idx].pst->pid;
		char buf[16], hier[160], esc[512];
		int len = snprintf(buf, sizeof(buf), "%d", (int)pid);
		ssize_t n = write(t->procs_fd, buf, (size_t)len);

		/* a cgroup file takes a write whole or fails it */
		if (n != len)
			return pr_neg(n < 0 ? -errno : -EIO,
				      "cannot put task %d back into cgroup '%s' of %s", (int)pid,
				      escape_path(esc, sizeof(esc), t->path),
				      cgroup_hierarchy_name(hier, sizeof(hier), t->controllers));
	}
	return 0;
}
