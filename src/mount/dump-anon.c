/* mount/dump-anon.c: tell anonymous mounts from lazily unmounted ones, and read anonymous trees
 * through a clone attached in a scratch namespace. */
#define LOG_PREFIX "anon: "
#include "mount/dump-anon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/util.h"
#include "mount/dump-scratch.h"
#include "mount/table.h"

struct probe {
	int fd;
	bool is_anon;
};

/* Whether the mount fd is on is attached in the calling thread's namespace: statmount() of its
 * unique id (Linux 6.8+), else its old id in the thread's mountinfo. */
static bool is_attached_here(int fd)
{
	cleanup_free char *text = NULL;
	struct minicr_mnt_id_req req = {.size = MINICR_MNT_ID_REQ_SIZE_VER1};
	struct minicr_statmount sm;
	struct statx stx;
	uint64_t old;
	char key[32];

	memset(&stx, 0, sizeof(stx));
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &stx) == 0 &&
	    (stx.stx_mask & STATX_MNT_ID_UNIQUE)) {
		memcpy(&req.mnt_id, (const char *)&stx + 144, sizeof(req.mnt_id));
		req.param = MINICR_STATMOUNT_MNT_BASIC;
		if (sys_statmount(&req, &sm, sizeof(sm), 0) == 0)
			return true;
		if (errno != ENOSYS)
			return false;
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 ||
	    read_file_at(AT_FDCWD, "/proc/thread-self/mountinfo", &text) < 0)
		return false;
	memcpy(&old, (const char *)&stx + 144, sizeof(old));
	snprintf(key, sizeof(key), "\n%u ", (unsigned)old);
	return !strncmp(text, key + 1, strlen(key + 1)) || strstr(text, key);
}

/* A clone of a mount of an anonymous namespace is refused with EINVAL, like one of a lazily
 * unmounted mount, when it is asked from a namespace other than the one the tree was made in;
 * one of a mount attached in the calling namespace is allowed too, and not anonymous. */
static int probe_clone(void *opaque)
{
	struct probe *p = opaque;
	int fd = open_tree(p->fd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		p->is_anon = !is_attached_here(p->fd);
		return 0;
	}
	if (errno == EINVAL)
		return 0;
	return pr_errno("cannot tell whether a mount is anonymous (open_tree)");
}

int anon_probe(pid_t holder, int fd)
{
	struct probe p = {.fd = fd};
	int r;

	/* where the holder's namespace cannot be entered, minicr's own answers for fsmount()
	 * trees, and for those made in it */
	r = scratch_run(holder, probe_clone, &p, true);
	if (!p.is_anon)
		r = probe_clone(&p); /* fsmount() trees clone from anywhere */
	return r < 0 ? r : p.is_anon;
}

struct tree_read {
	int root_fd;
	struct mount_table *table;
	const struct mount_entry *root;
};

static int read_clone(void *opaque)
{
	struct tree_read *tr = opaque;
	cleanup_close int clone_fd = -EBADF;
	int r;

	/* cloned in the tree's own namespace, read in a private copy of it */
	clone_fd = open_tree(tr->root_fd, "",
			     AT_EMPTY_PATH | OPEN_TREE_CLONE | AT_RECURSIVE | OPEN_TREE_CLOEXEC);
	if (clone_fd < 0)
		return pr_errno("cannot clone an anonymous mount tree");
	r = scratch_private_ns();
	if (r < 0)
		return r;
	return scratch_attach(clone_fd, &tr->table, &tr->root);
}

int anon_tree_read(pid_t holder, int root_fd, struct mount_table **ret_table,
		   const struct mount_entry **ret_root)
{
	struct tree_read tr = {.root_fd = root_fd};
	int r = scratch_run(holder, read_clone, &tr, false);

	if (r < 0) {
		mount_table_free(tr.table);
		return r;
	}
	*ret_table = tr.table;
	*ret_root = tr.root;
	return 0;
}
