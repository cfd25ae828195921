/* fd/open-beneath.c: reopen a dumped path beneath its mount's root, never following a symlink
 * out of the mount or through a magic link: openat2(RESOLVE_BENEATH) where the kernel has it
 * (5.6+), else a walk one component at a time. */
#define LOG_PREFIX "fd: "
#include "fd/kind.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "fd/restore-file.h"

#ifndef __NR_openat2
#define __NR_openat2 437
#endif

/* Flags open()/openat2() accept, from what fdinfo shows. */
#define FD_OPEN_FLAGS                                                                              \
	(O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_DIRECT | O_LARGEFILE |           \
	 O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_PATH)
/* Flags F_SETFL changes. */
#define FD_SETFL_FLAGS (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)

/* O_TMPFILE as fdinfo shows it, without its O_DIRECTORY part. */
#define TMPFILE_BIT 020000000

uint32_t fd_open_flags(uint32_t flags)
{
	if (flags & O_PATH)
		return flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW);
	/* A file opened O_TMPFILE shows O_TMPFILE's O_DIRECTORY bit too: reopening it must not
	 * ask for a directory. */
	if (flags & TMPFILE_BIT)
		flags &= ~(uint32_t)O_DIRECTORY;
	return flags & FD_OPEN_FLAGS;
}

/* openat() that walks one component at a time without following any symlink, for kernels
 * without openat2() (Linux < 5.6). */
static int open_beneath_walk(int dirfd, const char *path, int flags)
{
	cleanup_free char *copy = strdup(path);
	cleanup_close int cur = -EBADF;
	char *comp, *next;
	int at = dirfd;

	if (!copy)
		return -ENOMEM;
	for (comp = copy; (next = strchr(comp, '/')); comp = next) {
		int nfd;

		*next++ = '\0';
		if (!*comp || strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0)
			return -EXDEV;
		nfd = openat(at, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0)
			return -errno;
		closep(&cur);
		at = cur = nfd;
	}
	if (strcmp(comp, "..") == 0)
		return -EXDEV;
	if (!*comp)
		comp = ".";
	/* The dumped path is already resolved, so its last component is a symlink only for an
	 * O_NOFOLLOW fd on the link itself; anything else must not lead out of the mount. */
	if (!(flags & O_NOFOLLOW)) {
		struct stat st;

		if (fstatat(at, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (S_ISLNK(st.st_mode))
			return -ELOOP;
	}
	flags = openat(at, comp, flags);
	return flags < 0 ? -errno : flags;
}

/* The root of a single-file bind mount is the file itself: reopen that O_PATH fd with the
 * file's own flags through its /proc/self/fd link. */
static int reopen_root_file(int rootfd, uint32_t flags)
{
	char proc[64];
	struct stat st;
	int fd;

	if (fstat(rootfd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", rootfd);
	fd = open(proc, (int)(fd_open_flags(flags) | O_CLOEXEC));
	return fd < 0 ? -errno : fd;
}

static int open_beneath(int dirfd, const char *path, uint32_t flags)
{
	/* No O_NOFOLLOW unless the dumped flags had it: it would stay visible in the restored
	 * file's flags. RESOLVE_BENEATH keeps every symlink inside the mount. */
	struct open_how how = {
	    .flags = fd_open_flags(flags) | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*path == '/')
		path++;
	if (!*path) {
		fd = reopen_root_file(dirfd, flags);
		if (fd != -EISDIR)
			return fd;
		path = ".";
	}
	fd = (int)syscall(__NR_openat2, dirfd, path, &how, sizeof(how));
	if (fd >= 0)
		return fd;
	if (errno != ENOSYS)
		return -errno;
	return open_beneath_walk(dirfd, path, (int)how.flags);
}

int fd_restore_open_path(struct fd_restore_ctx *ctx, const RegFileEntry *reg, uint32_t flags)
{
	cleanup_close int fd = -EBADF;
	const char *path;
	struct stat st;
	int root;

	root = fd_restore_mount_root(ctx, reg, &path);
	if (root < 0)
		return root;
	/* the mount fd of an anonymous tree is the tree's own fd (open_tree() and fsmount() mark
	 * that one file: the tree is attachable while it is open), another open of its root is not
	 */
	fd = reg->mount_fd ? fcntl(root, F_DUPFD_CLOEXEC, 0) : open_beneath(root, path, flags);
	if (fd < 0 && reg->mount_fd)
		fd = -errno;
	if (fd < 0) {
		errno = -fd;
		return pr_errno("cannot open '%s' (mount %lu%s)", reg->path,
				(unsigned long)reg->mnt_id, reg->detached ? ", detached" : "");
	}
	if (reg->has_mode) {
		if (fstat(fd, &st) < 0)
			return pr_errno("cannot stat '%s'", reg->path);
		if ((st.st_mode & S_IFMT) != (reg->mode & S_IFMT)) {
			pr_err("cannot reopen '%s': file type 0%o, was 0%o at dump",
			       reg->path, st.st_mode & S_IFMT, reg->mode & S_IFMT);
			return -ESTALE;
		}
	}
	return TAKE_FD(fd);
}

int fd_restore_open_parent(struct fd_restore_ctx *ctx, const RegFileEntry *reg)
{
	cleanup_free char *dir = NULL;
	const char *path;
	char *slash;
	int root, fd;

	root = fd_restore_mount_root(ctx, reg, &path);
	if (root < 0)
		return root;
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	fd = open_beneath(root, dir, O_PATH | O_DIRECTORY);
	if (fd < 0) {
		errno = -fd;
		return pr_errno("cannot open the directory of '%s'", reg->path);
	}
	return fd;
}

int fd_reopen(int fd, uint32_t flags)
{
	char path[32];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, (int)(fd_open_flags(flags) | O_CLOEXEC));
	if (nfd < 0)
		return pr_errno("cannot reopen fd %d with flags 0%o", fd, flags);
	return nfd;
}
