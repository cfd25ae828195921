/* mount/dump-orphaned.c: tmpfs limits, block device nodes, and a disk superblock mounted again
 * in a scratch namespace (see dump-orphaned.h). */
#define LOG_PREFIX "orphaned: "
#include "mount/dump-orphaned.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "mount/dump-scratch.h"
#include "mount/table.h"

int orphaned_tmpfs_options(int fd, char **ret)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return -errno;
	/* tmpfs reports its limits as they were set, and 0 for none */
	if (asprintf(ret, "size=%llu,nr_inodes=%llu",
		     (unsigned long long)sfs.f_blocks * (unsigned long long)sfs.f_bsize,
		     (unsigned long long)sfs.f_files) < 0)
		return -ENOMEM;
	return 0;
}

static bool is_node_of(const char *path, dev_t dev)
{
	struct stat st;

	return path && path[0] == '/' && stat(path, &st) == 0 && S_ISBLK(st.st_mode) &&
	       st.st_rdev == dev;
}

int orphaned_device_node(uint32_t major, uint32_t minor, const char *hint, char **ret_node)
{
	cleanup_free char *uevent = NULL;
	dev_t dev = makedev(major, minor);
	char path[64], node[300];
	const char *name;
	ssize_t n;
	size_t len;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major, minor);
	n = read_file_at(AT_FDCWD, path, &uevent);
	if (n < 0)
		return n == -ENOENT ? -ENODEV : (int)n;
	if (is_node_of(hint, dev)) {
		*ret_node = strdup(hint);
		return *ret_node ? 0 : -ENOMEM;
	}
	name = strstr(uevent, "DEVNAME=");
	if (!name)
		return -ENOENT;
	name += 8;
	len = strcspn(name, "\n");
	snprintf(node, sizeof(node), "/dev/%.*s", (int)len, name);
	if (!is_node_of(node, dev))
		return -ENOENT;
	*ret_node = strdup(node);
	return *ret_node ? 0 : -ENOMEM;
}

/* The filesystem types whose superblocks show magic in f_type. */
static const char *const *types_of_magic(unsigned long magic)
{
	static const char *const ext[] = {"ext4", "ext3", "ext2", NULL};
	static const char *const xfs[] = {"xfs", NULL};
	static const char *const fat[] = {"vfat", "msdos", NULL};
	static const char *const exfat[] = {"exfat", NULL};
	static const char *const f2fs[] = {"f2fs", NULL};
	static const char *const jfs[] = {"jfs", NULL};
	static const char *const squashfs[] = {"squashfs", NULL};
	static const char *const none[] = {NULL};

	switch (magic) {
	case 0xef53:
		return ext;
	case 0x58465342:
		return xfs;
	case 0x4d44:
		return fat;
	case 0x2011bab0:
		return exfat;
	case 0xf2f52010:
		return f2fs;
	case 0x3153464a:
		return jfs;
	case 0x73717368:
		return squashfs;
	default:
		return none;
	}
}

struct remount {
	const char *node;
	unsigned long magic;
	dev_t st_dev;
	struct orphaned_disk *out;
};

/* A mount of node's superblock as a filesystem of type, or -errno (not logged). */
static int mount_again(const char *type, const char *node, bool is_ro)
{
	cleanup_close int fs_fd = fsopen(type, FSOPEN_CLOEXEC);
	int fd;

	if (fs_fd < 0)
		return -errno;
	if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", node, 0) < 0 ||
	    (is_ro && fsconfig(fs_fd, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0) ||
	    fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	/* the superblock exists already: its options stay as they are, none are passed */
	fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

static int remount_in_scratch(void *opaque)
{
	struct remount *rm = opaque;
	const char *const *types = types_of_magic(rm->magic);
	cleanup(mount_table_freep) struct mount_table *table = NULL;
	cleanup_close int mnt_fd = -EBADF;
	const struct mount_entry *e;
	char proc[64];
	struct stat st;
	int r = -ENODEV;

	r = scratch_private_ns();
	if (r < 0)
		return r;
	r = -ENODEV;
	for (size_t i = 0; types[i] && mnt_fd < 0; i++) {
		for (int ro = 0; ro < 2 && mnt_fd < 0; ro++) {
			int fd = mount_again(types[i], rm->node, ro);

			if (fd < 0) {
				r = fd;
				continue;
			}
			/* the device's superblock is unique: the same one, or none at all */
			if (fstat(fd, &st) == 0 && st.st_dev == rm->st_dev)
				mnt_fd = fd;
			else
				close(fd);
		}
	}
	if (mnt_fd < 0) {
		errno = -r;
		return pr_errno("cannot mount '%s' again to read its filesystem", rm->node);
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mnt_fd);
	rm->out->root_fd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rm->out->root_fd < 0)
		return pr_errno("cannot open the root of '%s' mounted again", rm->node);
	r = scratch_attach(mnt_fd, &table, &e);
	if (r < 0)
		return r;
	rm->out->fstype = strdup(e->fstype);
	rm->out->source = strdup(rm->node);
	rm->out->options = strdup(e->options);
	rm->out->sb_flags = e->sb_flags;
	return rm->out->fstype && rm->out->source && rm->out->options ? 0 : -ENOMEM;
}

int orphaned_disk_remount(const char *node, unsigned long magic, dev_t st_dev,
			  struct orphaned_disk *ret)
{
	struct remount rm = {.node = node, .magic = magic, .st_dev = st_dev, .out = ret};
	int r;

	*ret = (struct orphaned_disk){.root_fd = -EBADF};
	r = scratch_run(0, remount_in_scratch, &rm, false);
	if (r < 0)
		orphaned_disk_done(ret);
	return r;
}

void orphaned_disk_done(struct orphaned_disk *d)
{
	free(d->fstype);
	free(d->source);
	free(d->options);
	if (d->root_fd >= 0)
		close(d->root_fd);
	*d = (struct orphaned_disk){.root_fd = -EBADF};
}
