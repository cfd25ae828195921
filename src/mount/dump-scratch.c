/* mount/dump-scratch.c: threads with a mount namespace of their own (see dump-scratch.h). */
#define LOG_PREFIX "scratch: "
#include "mount/dump-scratch.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/util.h"
#include "mount/table.h"

struct scratch {
	int ns_fd;
	int (*fn)(void *opaque);
	void *opaque;
	bool quiet;
	int result;
};

/* A failure to set the thread up: logged unless the caller will say why. */
static int setup_failed(const struct scratch *s, const char *what)
{
	int err = errno ? errno : EIO;

	if (s->quiet) {
		pr_debug("cannot %s: %s", what, strerror(err));
		return -err;
	}
	errno = err;
	return pr_errno("cannot %s", what);
}

static void *scratch_thread(void *arg)
{
	struct scratch *s = arg;

	/* A thread shares its root and cwd with the others until it takes a copy: setns() and
	 * unshare() of a mount namespace need a private one. */
	if (unshare(CLONE_FS) < 0) {
		s->result = setup_failed(s, "give a scratch thread its own root and cwd");
		return NULL;
	}
	if (s->ns_fd >= 0 && setns(s->ns_fd, CLONE_NEWNS) < 0) {
		s->result = setup_failed(s, "enter a mount namespace of the tree");
		return NULL;
	}
	s->result = s->fn(s->opaque);
	return NULL;
}

int scratch_run(pid_t pid, int (*fn)(void *opaque), void *opaque, bool quiet)
{
	struct scratch s = {.ns_fd = -EBADF, .fn = fn, .opaque = opaque, .quiet = quiet};
	pthread_t thread;
	char path[64];
	int err;

	if (pid) {
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
		s.ns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s.ns_fd < 0)
			return setup_failed(&s, "open the mount namespace of a task of the tree");
	}
	err = pthread_create(&thread, NULL, scratch_thread, &s);
	if (err) {
		if (s.ns_fd >= 0)
			close(s.ns_fd);
		errno = err;
		return setup_failed(&s, "start a scratch thread");
	}
	pthread_join(thread, NULL);
	if (s.ns_fd >= 0)
		close(s.ns_fd);
	return s.result;
}

int scratch_private_ns(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		return pr_errno("cannot make a scratch mount namespace");
	/* without this a mount made here could propagate to the namespace it was copied from */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return pr_errno("cannot make the scratch mount namespace private");
	return 0;
}

/* The mount id of fd's mount: the unique one when the table has them, else the old one. */
static const struct mount_entry *entry_of(const struct mount_table *t, int fd)
{
	struct statx stx;
	uint64_t id;

	memset(&stx, 0, sizeof(stx));
	if (mount_table_has_unique_ids(t) &&
	    statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &stx) == 0 &&
	    (stx.stx_mask & STATX_MNT_ID_UNIQUE)) {
		memcpy(&id, (const char *)&stx + 144, sizeof(id)); /* stx_mnt_id */
		return mount_table_find(t, id);
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0)
		return NULL;
	memcpy(&id, (const char *)&stx + 144, sizeof(id));
	return mount_table_find_old(t, (uint32_t)id);
}

int scratch_attach(int mnt_fd, struct mount_table **ret_table, const struct mount_entry **ret_root)
{
	cleanup(mount_table_freep) struct mount_table *t = NULL;
	const struct mount_entry *root;
	int r;

	/* Over "/": a directory every namespace has. The thread's root stays the one below, so
	 * /proc is still where it was, and the attached mounts' mountpoints read from "/". */
	if (move_mount(mnt_fd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return pr_errno("cannot attach a mount in a scratch namespace");
	r = mount_table_collect((pid_t)syscall(SYS_gettid), 0, &t);
	if (r < 0)
		return r;
	root = entry_of(t, mnt_fd);
	if (!root) {
		pr_err("cannot find a mount attached in a scratch namespace in its table");
		return -ENOENT;
	}
	*ret_root = root;
	*ret_table = TAKE_PTR(t);
	return 0;
}
