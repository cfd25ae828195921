/* mount/superblock.c: new superblocks for the kinds that make one (fresh, tmpfs), with the new
 * mount API only: fsopen, one fsconfig per option, fsmount. The result is an unattached mount
 * of the filesystem's root, never visible in any namespace until restore attaches a clone. */
#define LOG_PREFIX "mount: "
#include "mount/kind.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* The kernel explains a failed fsconfig through the context fd ("e tmpfs: Bad value for ...").
 */
static void context_message(int fs_fd, char *buf, size_t size)
{
	ssize_t n;

	buf[0] = '\0';
	for (;;) {
		n = read(fs_fd, buf, size - 1);
		if (n <= 0)
			break;
		buf[n] = '\0';
		if (n > 2 && buf[n - 1] == '\n')
			buf[n - 1] = '\0';
	}
}

static int fail_config(int fs_fd, const struct mount_spec *spec, const char *what)
{
	char msg[256];
	int err = errno;

	context_message(fs_fd, msg, sizeof(msg));
	errno = err;
	return pr_errno("cannot create the %s filesystem of %s: %s%s%s", spec->fstype, spec->what,
			what, msg[0] ? ": " : "", msg);
}

/* One "key" or "key=value" of a comma-separated option list. */
static int set_option(int fs_fd, const struct mount_spec *spec, char *opt)
{
	char *eq = strchr(opt, '=');
	int r;

	if (!*opt)
		return 0;
	if (eq) {
		*eq = '\0';
		r = fsconfig(fs_fd, FSCONFIG_SET_STRING, opt, eq + 1, 0);
		*eq = '=';
	} else {
		r = fsconfig(fs_fd, FSCONFIG_SET_FLAG, opt, NULL, 0);
	}
	return r < 0 ? fail_config(fs_fd, spec, opt) : 0;
}

int mount_fresh_create(const struct mount_spec *spec)
{
	cleanup_close int fs_fd = -EBADF;
	cleanup_free char *opts = NULL;
	char *opt, *save = NULL;
	int mnt_fd, r;

	if (!spec->fstype || !*spec->fstype) {
		pr_err("cannot create the filesystem of %s: its type is unknown", spec->what);
		return -EINVAL;
	}
	fs_fd = fsopen(spec->fstype, FSOPEN_CLOEXEC);
	if (fs_fd < 0)
		return pr_errno("cannot create a %s filesystem for %s", spec->fstype, spec->what);
	if (spec->source && *spec->source &&
	    fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", spec->source, 0) < 0)
		return fail_config(fs_fd, spec, "source");
	opts = strdup(spec->options ? spec->options : "");
	if (!opts)
		return -ENOMEM;
	for (opt = strtok_r(opts, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		r = set_option(fs_fd, spec, opt);
		if (r < 0)
			return r;
	}
	if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fail_config(fs_fd, spec, "create");
	mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, 0);
	if (mnt_fd < 0)
		return pr_errno("cannot mount the new %s filesystem of %s", spec->fstype,
				spec->what);
	return mnt_fd;
}

int mount_fresh_finish(const struct mount_spec *spec, int mnt_fd)
{
	cleanup_close int fs_fd = -EBADF;

	if (!(spec->sb_flags & MS_RDONLY))
		return 0;
	fs_fd = fspick(mnt_fd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
	if (fs_fd < 0)
		return pr_errno("cannot reconfigure the filesystem of %s", spec->what);
	if (fsconfig(fs_fd, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0 ||
	    fsconfig(fs_fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
		return fail_config(fs_fd, spec, "read-only");
	return 0;
}

int mount_sb_source(struct mount_build *b, const struct mount_spec *spec, mount_sb_fill_fn fill,
		    int *ret_fd, const char **ret_sub)
{
	int fd = mount_build_sb_get(b, spec->dev_major, spec->dev_minor), r;

	/* a new superblock shows its whole filesystem: the mount's root is below its root */
	*ret_sub = spec->root;
	if (fd >= 0) {
		*ret_fd = fd;
		return 0;
	}
	fd = mount_fresh_create(spec);
	if (fd < 0)
		return fd;
	r = fill ? fill(b, spec, fd) : 0;
	if (r == 0)
		r = mount_fresh_finish(spec, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = mount_build_sb_put(b, spec->dev_major, spec->dev_minor, fd);
	if (r < 0)
		return r;
	*ret_fd = fd;
	return 0;
}
