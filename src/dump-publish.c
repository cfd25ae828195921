/* dump-publish.c: the images dir gets a dump's whole image set or none of it. */
#define LOG_PREFIX "dump: "
#include "dump-publish.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "image.h"

#define PRIVATE_PREFIX "minicr-dump."
#define INVENTORY_NAME "inventory.img"

struct dump_publish {
	char *images_dir; /* for messages */
	int img_dirfd;
	int priv_dirfd; /* flock'ed: the private dir is ours while it is held */
	char priv_name[64];
};

static bool is_private_name(const char *name)
{
	return name[0] == '.' && !strncmp(name + 1, PRIVATE_PREFIX, strlen(PRIVATE_PREFIX));
}

/* A DIR stream over a dup of dirfd (closedir() leaves dirfd open), from its first entry: the
 * dup shares the position an earlier walk left. NULL on failure. */
static DIR *open_dir(int dirfd)
{
	int fd = dup(dirfd);
	DIR *dir;

	if (fd < 0)
		return NULL;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return NULL;
	}
	rewinddir(dir);
	return dir;
}

/* Removes the files of directory dirfd that only() selects (all without it). Entries removed
 * while readdir() walks the directory may hide others: walk it again until a pass removes
 * nothing. */
static void remove_files(int dirfd, bool (*only)(const char *name))
{
	DIR *dir = open_dir(dirfd);
	size_t n_removed;

	if (!dir)
		return;
	do {
		struct dirent *de;

		n_removed = 0;
		rewinddir(dir);
		while ((de = readdir(dir))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if ((!only || only(de->d_name)) && unlinkat(dirfd, de->d_name, 0) == 0)
				n_removed++;
		}
	} while (n_removed > 0);
	closedir(dir);
}

/* A private dir whose lock is free belongs to a dump that died: remove it. Returns true if it
 * was removed. */
static bool remove_if_dead(struct dump_publish *pub, const char *name)
{
	cleanup_close int fd =
	    openat(pub->img_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return false; /* not a directory, or its dump still runs */
	remove_files(fd, NULL);
	if (unlinkat(pub->img_dirfd, name, AT_REMOVEDIR) < 0) {
		pr_warn("cannot remove '%s/%s' of a dump that died: %m, ignoring", pub->images_dir,
			name);
		return false;
	}
	return true;
}

static void remove_dead_dumps(struct dump_publish *pub)
{
	DIR *dir = open_dir(pub->img_dirfd);
	char names[16][64];
	struct dirent *de;
	size_t n = 0;

	if (!dir)
		return;
	/* collect first: removing entries while readdir() walks them may skip some */
	while ((de = readdir(dir)) && n < ARRAY_SIZE(names))
		if (is_private_name(de->d_name) && strlen(de->d_name) < sizeof(names[0]))
			strcpy(names[n++], de->d_name);
	closedir(dir);
	for (size_t i = 0; i < n; i++)
		if (remove_if_dead(pub, names[i]))
			pr_debug("removed '%s/%s', left by a dump that died", pub->images_dir,
				 names[i]);
}

/* Creates and locks .minicr-dump.PID.N. Between mkdir and flock another dump's cleanup could
 * take the new dir for a dead one: the dir must still be the one created once it is locked. */
static int create_private_dir(struct dump_publish *pub)
{
	for (unsigned int attempt = 0; attempt < 100; attempt++) {
		cleanup_close int fd = -EBADF;
		struct stat by_fd, by_name;

		snprintf(pub->priv_name, sizeof(pub->priv_name), "." PRIVATE_PREFIX "%d.%u",
			 (int)getpid(), attempt);
		if (mkdirat(pub->img_dirfd, pub->priv_name, 0700) < 0) {
			if (errno == EEXIST)
				continue;
			return pr_errno("cannot create '%s' in images dir '%s'", pub->priv_name,
					pub->images_dir);
		}
		fd = openat(pub->img_dirfd, pub->priv_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return pr_errno("cannot open '%s/%s'", pub->images_dir, pub->priv_name);
		if (flock(fd, LOCK_EX) < 0)
			return pr_errno("cannot lock '%s/%s'", pub->images_dir, pub->priv_name);
		if (fstat(fd, &by_fd) == 0 &&
		    fstatat(pub->img_dirfd, pub->priv_name, &by_name, AT_SYMLINK_NOFOLLOW) == 0 &&
		    by_fd.st_ino == by_name.st_ino && by_fd.st_dev == by_name.st_dev) {
			pub->priv_dirfd = TAKE_FD(fd);
			return 0;
		}
	}
	errno = EEXIST;
	return pr_errno("cannot create a private directory in images dir '%s'", pub->images_dir);
}

int dump_publish_open(const char *images_dir, struct dump_publish **ret_pub)
{
	struct dump_publish *pub = calloc(1, sizeof(*pub));
	int ret;

	if (!pub)
		return -ENOMEM;
	pub->img_dirfd = pub->priv_dirfd = -EBADF;
	pub->images_dir = strdup(images_dir);
	if (!pub->images_dir) {
		dump_publish_free(pub);
		return -ENOMEM;
	}
	if (mkdir(images_dir, 0700) < 0 && errno != EEXIST) {
		ret = pr_errno("cannot create images dir '%s'", images_dir);
		goto out_free;
	}
	pub->img_dirfd = open(images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pub->img_dirfd < 0) {
		ret = pr_errno("cannot open images dir '%s'", images_dir);
		goto out_free;
	}
	remove_dead_dumps(pub);
	ret = create_private_dir(pub);
	if (ret < 0)
		goto out_free;
	*ret_pub = pub;
	return 0;
out_free:
	dump_publish_free(pub);
	return ret;
}

int dump_publish_dirfd(const struct dump_publish *pub)
{
	return pub->priv_dirfd;
}

static bool is_image_name(const char *name)
{
	enum image_kind kind;
	uint64_t id;

	return image_file_name_parse(name, &kind, &id) == 0;
}

/* Moves every image of the private dir but the inventory into the images dir. */
static int move_images(struct dump_publish *pub)
{
	DIR *dir = open_dir(pub->priv_dirfd);
	struct dirent *de;
	int ret = 0;

	if (!dir)
		return pr_errno("cannot list '%s/%s'", pub->images_dir, pub->priv_name);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, INVENTORY_NAME))
			continue;
		if (renameat(pub->priv_dirfd, de->d_name, pub->img_dirfd, de->d_name) < 0) {
			ret = pr_errno("cannot move image '%s' into '%s'", de->d_name,
				       pub->images_dir);
			break;
		}
	}
	closedir(dir);
	return ret;
}

int dump_publish_commit(struct dump_publish *pub)
{
	int ret;

	/* two dumps into one images dir publish one after the other */
	if (flock(pub->img_dirfd, LOCK_EX) < 0)
		return pr_errno("cannot lock images dir '%s'", pub->images_dir);
	/* (1) the old set stops being one: no inventory */
	if (unlinkat(pub->img_dirfd, INVENTORY_NAME, 0) < 0 && errno != ENOENT) {
		ret =
		    pr_errno("cannot remove the previous '%s/" INVENTORY_NAME "'", pub->images_dir);
		goto out_unlock;
	}
	/* (2) none of its files may be read with the new inventory */
	remove_files(pub->img_dirfd, is_image_name);
	/* (3) the new images, then (4) the inventory that makes them a set */
	ret = move_images(pub);
	if (ret < 0)
		goto out_unlock;
	if (renameat(pub->priv_dirfd, INVENTORY_NAME, pub->img_dirfd, INVENTORY_NAME) < 0) {
		ret = pr_errno("cannot move image '" INVENTORY_NAME "' into '%s'", pub->images_dir);
		goto out_unlock;
	}
	if (unlinkat(pub->img_dirfd, pub->priv_name, AT_REMOVEDIR) < 0)
		pr_warn("cannot remove '%s/%s': %m, ignoring", pub->images_dir, pub->priv_name);
	close(pub->priv_dirfd);
	pub->priv_dirfd = -EBADF;
out_unlock:
	(void)flock(pub->img_dirfd, LOCK_UN);
	return ret;
}

struct dump_publish *dump_publish_free(struct dump_publish *pub)
{
	if (!pub)
		return NULL;
	if (pub->priv_dirfd >= 0) {
		remove_files(pub->priv_dirfd, NULL);
		if (unlinkat(pub->img_dirfd, pub->priv_name, AT_REMOVEDIR) < 0)
			pr_warn("cannot remove '%s/%s': %m, ignoring", pub->images_dir,
				pub->priv_name);
		close(pub->priv_dirfd);
	}
	if (pub->img_dirfd >= 0)
		close(pub->img_dirfd);
	free(pub->images_dir);
	free(pub);
	return NULL;
}
