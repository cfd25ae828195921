/* mount/tmpfs.c: a tmpfs only the tree saw. Nothing outside the tree can give its files back,
 * so dump saves them (dump-contents.c) from one mount of the superblock, and restore makes a new
 * tmpfs with the same options, writes them back at the root that mount had, and every mount of
 * the superblock binds from it. */
#define LOG_PREFIX "mount-tmpfs: "
#include "mount/kind.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "image-set/image-set.h"
#include "mount/restore-contents.h"

static bool tmpfs_recognise(const struct mount_dump_view *v)
{
	return v->contents_dumped;
}

/* The directory rel (absolute in the filesystem) beneath root_fd, made as needed: the new
 * tmpfs is empty, so nothing on the way can be a symlink of someone else's. */
static int make_dirs(int root_fd, const char *rel, const char *what)
{
	cleanup_free char *copy = strdup(rel);
	cleanup_close int cur = -EBADF;
	char *comp, *save = NULL;
	int at = root_fd;

	if (!copy)
		return -ENOMEM;
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int fd;

		if (mkdirat(at, comp, 0755) < 0 && errno != EEXIST)
			return pr_errno("cannot create '%s' in the new tmpfs of %s", rel, what);
		fd = openat(at, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return pr_errno("cannot open '%s' in the new tmpfs of %s", rel, what);
		closep(&cur);
		at = cur = fd;
	}
	return at == root_fd ? fcntl(root_fd, F_DUPFD_CLOEXEC, 0) : TAKE_FD(cur);
}

static int fill(struct mount_build *b, const struct mount_spec *spec, int mnt_fd)
{
	const struct image_set *set = mount_build_set(b);
	cleanup_close int dir_fd = make_dirs(mnt_fd, spec->contents_root, spec->what);

	if (dir_fd < 0)
		return dir_fd;
	return contents_restore(dir_fd, spec->what, spec->contents_id, set->data, set->n_data);
}

static int tmpfs_source(struct mount_build *b, const struct mount_spec *spec, int *ret_fd,
			const char **ret_sub)
{
	return mount_sb_source(b, spec, fill, ret_fd, ret_sub);
}

static int tmpfs_validate(const struct image_set *set, const struct mount_spec *spec)
{
	if (!spec->contents_root || spec->contents_root[0] != '/')
		return image_set_bad(set, "%s: tmpfs without the root its contents were saved from",
				     spec->what);
	if (!spec->fstype || strcmp(spec->fstype, "tmpfs") != 0)
		return image_set_bad(set, "%s: contents saved for a '%s' filesystem", spec->what,
				     spec->fstype ? spec->fstype : "?");
	return 0;
}

const struct mount_kind mount_kind_tmpfs = {
    .name = "tmpfs",
    .kind = MNT_KIND__MNT_KIND_TMPFS,
    .recognise = tmpfs_recognise,
    .validate = tmpfs_validate,
    .source = tmpfs_source,
};
