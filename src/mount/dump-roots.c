/* mount/dump-roots.c: the root of a mount of the tree's namespaces, opened from inside the
 * namespace by a helper process that hands the fd back over a socket (see dump-roots.h). */
#define LOG_PREFIX "mount: "
#include "mount/dump-roots.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/escape.h"
#include "base/fd-pass.h"
#include "base/log.h"
#include "base/path.h"
#include "base/util.h"
#include "mount/table.h"

/* The mountpoint opened from the namespace's root without following a symlink. */
static int open_mountpoint(const char *mp)
{
	struct open_how how = {
	    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*mp == '/')
		mp++;
	fd = (int)syscall(__NR_openat2, AT_FDCWD, *mp ? mp : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

static bool is_mount(const struct mount_table *t, int fd, const struct mount_entry *m)
{
	struct statx stx;
	bool unique = mount_table_has_unique_ids(t);

	if (statx(fd, "", AT_EMPTY_PATH, unique ? STATX_MNT_ID_UNIQUE : STATX_MNT_ID, &stx) < 0)
		return false;
	return stx.stx_mnt_id == (unique ? m->mnt_id : m->mnt_id_old);
}

/* The mount on m's own root, on the same mountpoint, or NULL. */
static const struct mount_entry *cover_of(const struct mount_table *t, const struct mount_entry *m)
{
	for (size_t i = 0; i < mount_table_size(t); i++) {
		const struct mount_entry *c = mount_table_get(t, i);

		if (c->parent == m && strcmp(c->mountpoint, m->mountpoint) == 0)
			return c;
	}
	return NULL;
}

/* In a private copy of the namespace: for each mountpoint on the way to m, the mounts stacked
 * on top of the last of m's ancestors there go, top first, so the path leads to m. */
static int uncover(const struct mount_table *t, const struct mount_entry *m)
{
	const struct mount_entry *chain[256];
	size_t n = 0;

	for (const struct mount_entry *a = m; a && n < 256; a = a->parent)
		chain[n++] = a;
	while (n-- > 0) {
		const struct mount_entry *a = chain[n];

		if (n > 0 && strcmp(chain[n - 1]->mountpoint, a->mountpoint) == 0)
			continue; /* the next one on the way sits on this very mountpoint */
		for (const struct mount_entry *c = cover_of(t, a); c; c = cover_of(t, c))
			if (umount2(a->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
				return pr_errno(
				    "cannot take away a mount covering '%s' in a copy of "
				    "the namespace",
				    a->mountpoint);
	}
	return 0;
}

/* The helper: m's root, from inside its namespace, as the fd to send back. */
static int helper_open(const struct mount_table *t, const struct mount_entry *m, int ns_fd)
{
	char mp[PATH_MAX * 4];
	struct stat st;
	int fd, dir_fd, r;

	if (setns(ns_fd, CLONE_NEWNS) < 0)
		return pr_errno("cannot enter the mount namespace of task %d",
				(int)mount_table_pid(t));
	fd = open_mountpoint(m->mountpoint);
	if (fd < 0 || !is_mount(t, fd, m)) {
		/* covered: take the covers away in a copy, never in the tree's namespace */
		if (fd >= 0)
			close(fd);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			return pr_errno(
			    "cannot make a private copy of the mount namespace of task %d",
			    (int)mount_table_pid(t));
		r = uncover(t, m);
		if (r < 0)
			return r;
		fd = open_mountpoint(m->mountpoint);
	}
	if (fd < 0 || fstat(fd, &st) < 0 || major(st.st_dev) != m->dev_major ||
	    minor(st.st_dev) != m->dev_minor) {
		errno = fd < 0 ? -fd : ENOENT;
		return pr_errno("cannot reach mount %u ('%s') in its namespace", m->mnt_id_old,
				escape_path(mp, sizeof(mp), m->mountpoint));
	}
	if (!S_ISDIR(st.st_mode))
		return fd;
	dir_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(fd);
	if (dir_fd < 0)
		return pr_errno("cannot open the root of mount %u ('%s')", m->mnt_id_old,
				escape_path(mp, sizeof(mp), m->mountpoint));
	return dir_fd;
}

/* Without a helper: through the task's root, where the mount's root is found when the task sits
 * at its namespace's root and nothing covers the mount, as the mount id and the mount-root
 * attribute tell; else -1. */
static int open_through_task_root(const struct mount_table *t, const struct mount_entry *m)
{
	struct open_how how = {
	    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	cleanup_close int root_fd = -EBADF, fd = -EBADF;
	const char *rel = m->mountpoint;
	char path[64];
	struct statx stx;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)mount_table_pid(t));
	root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	while (*rel == '/')
		rel++;
	if (root_fd >= 0)
		fd = (int)syscall(__NR_openat2, root_fd, *rel ? rel : ".", &how, sizeof(how));
	if (fd < 0 || !is_mount(t, fd, m) ||
	    statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0 ||
	    !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
	    !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return -1;
	if (!S_ISDIR(stx.stx_mode))
		return TAKE_FD(fd);
	return openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int mount_root_open(const struct mount_table *t, const struct mount_entry *m)
{
	cleanup_close int ns_fd = -EBADF;
	char path[64], mp[PATH_MAX * 4];
	int sv[2], fd, status;
	pid_t pid;

	fd = open_through_task_root(t, m);
	if (fd >= 0)
		return fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)mount_table_pid(t));
	ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return pr_errno("cannot open '%s'", path);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return pr_errno("cannot create a socket for the mount helper");
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return pr_errno("cannot start the mount helper");
	}
	if (pid == 0) {
		close(sv[0]);
		fd = helper_open(t, m, ns_fd);
		_exit(fd < 0 || fd_pass_send(sv[1], fd) < 0 ? 1 : 0);
	}
	close(sv[1]);
	fd = fd_pass_recv(sv[0]);
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (fd < 0) {
		if (!WIFEXITED(status))
			pr_err("cannot open mount %u ('%s'): the mount helper died", m->mnt_id_old,
			       escape_path(mp, sizeof(mp), m->mountpoint));
		return -EIO;
	}
	return fd;
}

int mount_stat_removed_roots(struct mount_table *t)
{
	for (size_t i = 0; i < mount_table_size(t); i++) {
		const struct mount_entry *m = mount_table_get(t, i);
		char mp[PATH_MAX * 4];
		struct stat st;
		int fd;

		if (!m->root_deleted)
			continue;
		fd = mount_root_open(t, m);
		if (fd < 0)
			return fd;
		if (fstat(fd, &st) < 0) {
			int r = pr_errno("cannot stat the removed root of mount %u", m->mnt_id_old);

			close(fd);
			return r;
		}
		close(fd);
		if (!S_ISDIR(st.st_mode)) {
			pr_err(
			    "cannot dump mount %u ('%s'): its root '%s', a file, was removed from "
			    "its filesystem, and the bind of a removed file cannot be rebuilt",
			    m->mnt_id_old, escape_path(mp, sizeof(mp), m->mountpoint), m->root);
			return -ENOTSUP;
		}
		mount_table_set_root_stat(t, m, st.st_mode, st.st_uid, st.st_gid);
	}
	return 0;
}
