/* A private mount namespace holding a tmpfs (with files, directories, a symlink and 2 MB of
 * data) and a read-only bind of one of its subdirectories elsewhere; the process
 * keeps no fd on any of it, so only the mount table and the tmpfs contents carry the state.
 * After the restore both mounts must be listed again with their flags, the bind must show the
 * same superblock (a file created through the tmpfs appears in the bind), and every file's
 * contents, mode and the symlink target must be back, with what a copy by contents alone would
 * lose: owners, times (access times too), a hard link, a set-uid bit on a file of another owner,
 * extended attributes, a FIFO, and the holes of a sparse file. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "scenario.h"

#define TMPFS_SOURCE "minicr-scn-tmpfs"
#define TMPFS_OPTS   "size=8m,mode=751"
#define BIG_SIZE     (2u << 20)
#define LINK_TARGET  "dir/nested/deep"

/* One entry of the tmpfs, relative to its root. Directories come before their contents. */
struct node {
	const char *path;
	mode_t type;
	mode_t mode;
	const char *data; /* file contents; NULL for the big pattern file */
};

static const struct node nodes[] = {
    {"file", S_IFREG, 0640, "a plain file\n"},
    {"empty", S_IFREG, 0604, ""},
    {"dir", S_IFDIR, 0710, NULL},
    {"dir/nested", S_IFDIR, 0755, NULL},
    {"dir/nested/deep", S_IFREG, 0600, "deep inside\n"},
    {"big", S_IFREG, 0644, NULL},
    {"sub", S_IFDIR, 0750, NULL},
    {"sub/inner", S_IFREG, 0444, "seen through the bind\n"},
    {"sub/empty-dir", S_IFDIR, 0700, NULL},
    /* Modes a umask would cut: a sticky world-writable directory and an 0666 file. */
    {"shared", S_IFDIR, 01777, NULL},
    {"shared/scratch", S_IFREG, 0666, "anyone may write here\n"},
};

#define N_NODES (sizeof(nodes) / sizeof(nodes[0]))

static char base[] = "/tmp/minicr-scn-mntns.XXXXXX";
static char tmpfs_dir[64], bind_dir[64];
static bool is_mounted;

/* Byte i of the big file. */
static uint8_t big_byte(size_t i)
{
	return (uint8_t)((i >> 12) * 31 + (i & 0xfff) * 7 + (i >> 20));
}

static void node_path(char *buf, size_t len, const char *root, const char *rel)
{
	snprintf(buf, len, "%s/%s", root, rel);
}

static void write_file(const char *path, const struct node *n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	bool ok = fd >= 0;

	if (ok && n->data) {
		ok = write(fd, n->data, strlen(n->data)) == (ssize_t)strlen(n->data);
	} else if (ok) {
		uint8_t *buf = malloc(BIG_SIZE);

		ok = buf != NULL;
		for (size_t i = 0; ok && i < BIG_SIZE; i++)
			buf[i] = big_byte(i);
		ok = ok && write(fd, buf, BIG_SIZE) == (ssize_t)BIG_SIZE;
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	if (!ok)
		scenario_skip("cannot create %s: %m", path);
}

/* Owner, modification times and a hard link: what a copy by contents alone would lose. */
#define OWNER_UID  1234
#define OWNER_GID  5678
#define FILE_MTIME 1000000000
#define FILE_ATIME  1200000000
#define DIR_MTIME  1100000000
#define SPARSE_SIZE (3u << 20)
#define SPARSE_DATA "data between two holes"

static void set_mtime(const char *rel, time_t when)
{
	struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = when}};
	char path[128];

	node_path(path, sizeof(path), tmpfs_dir, rel);
	if (utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) < 0)
		scenario_skip("utimensat %s: %m", path);
}

static void build_metadata(void)
{
	struct timespec times[2] = {{.tv_sec = FILE_ATIME}, {.tv_sec = FILE_MTIME}};
	char path[128], linked[128];
	int fd;

	node_path(path, sizeof(path), tmpfs_dir, "file");
	node_path(linked, sizeof(linked), tmpfs_dir, "dir/hardlink");
	if (chown(path, OWNER_UID, OWNER_GID) < 0 || link(path, linked) < 0)
		scenario_skip("chown/link %s: %m", path);
	if (setxattr(path, "user.minicr", "a value", 7, 0) < 0 ||
	    setxattr(path, "trusted.minicr", "\0binary\n", 8, 0) < 0)
		scenario_skip("setxattr %s: %m", path);
	node_path(path, sizeof(path), tmpfs_dir, "suid");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd) < 0 || chown(path, OWNER_UID, OWNER_GID) < 0 ||
	    chmod(path, 04755) < 0)
		scenario_skip("set-uid file %s: %m", path);
	node_path(path, sizeof(path), tmpfs_dir, "fifo");
	if (mkfifo(path, 0620) < 0 || chmod(path, 0620) < 0)
		scenario_skip("mkfifo %s: %m", path);
	node_path(path, sizeof(path), tmpfs_dir, "sparse");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, SPARSE_SIZE) < 0 ||
	    pwrite(fd, SPARSE_DATA, strlen(SPARSE_DATA), 1 << 20) != (ssize_t)strlen(SPARSE_DATA))
		scenario_skip("sparse file %s: %m", path);
	close(fd);
	node_path(path, sizeof(path), tmpfs_dir, "dir/nested/deep");
	if (utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) < 0)
		scenario_skip("utimensat %s: %m", path);
	set_mtime("dir", DIR_MTIME); /* last: creating dir/hardlink changed it */
}

static void check_sparse(void)
{
	char path[128], buf[64];
	struct stat st;
	int fd;

	node_path(path, sizeof(path), tmpfs_dir, "sparse");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	scenario_check(fd >= 0 && fstat(fd, &st) == 0, "open %s: %m", path);
	scenario_check(st.st_size == SPARSE_SIZE, "%s: size %lld", path, (long long)st.st_size);
	/* one page of data: a copy that wrote the holes out would hold 3 MB */
	scenario_check(st.st_blocks * 512 <= 16384, "%s: %lld bytes allocated, the holes are gone",
		       path, (long long)st.st_blocks * 512);
	scenario_check(lseek(fd, 0, SEEK_DATA) == 1 << 20, "%s: data starts at %lld", path,
		       (long long)lseek(fd, 0, SEEK_DATA));
	scenario_check(pread(fd, buf, strlen(SPARSE_DATA), 1 << 20) ==
			       (ssize_t)strlen(SPARSE_DATA) &&
			   !memcmp(buf, SPARSE_DATA, strlen(SPARSE_DATA)),
		       "%s: contents differ", path);
	scenario_check(pread(fd, buf, 8, 1 << 19) == 8 && !memcmp(buf, "\0\0\0\0\0\0\0\0", 8),
		       "%s: the hole is not zeros", path);
	close(fd);
}

static void check_metadata(void)
{
	char path[128], linked[128], value[16];
	struct stat st, lst;

	node_path(path, sizeof(path), tmpfs_dir, "file");
	node_path(linked, sizeof(linked), tmpfs_dir, "dir/hardlink");
	scenario_check(stat(path, &st) == 0 && stat(linked, &lst) == 0, "stat %s: %m", linked);
	scenario_check(st.st_uid == OWNER_UID && st.st_gid == OWNER_GID, "%s owned by %u:%u",
		       path, st.st_uid, st.st_gid);
	scenario_check(st.st_ino == lst.st_ino && st.st_nlink == 2,
		       "%s is no longer a hard link of %s (nlink %lu)", linked, path,
		       (unsigned long)st.st_nlink);
	scenario_check(getxattr(path, "user.minicr", value, sizeof(value)) == 7 &&
			   !memcmp(value, "a value", 7),
		       "%s: user.minicr lost", path);
	scenario_check(getxattr(path, "trusted.minicr", value, sizeof(value)) == 8 &&
			   !memcmp(value, "\0binary\n", 8),
		       "%s: trusted.minicr lost", path);
	node_path(path, sizeof(path), tmpfs_dir, "suid");
	scenario_check(stat(path, &st) == 0 && (st.st_mode & 07777) == 04755 &&
			   st.st_uid == OWNER_UID,
		       "%s: mode %04o owner %u, expected 04755 %u", path, st.st_mode & 07777,
		       st.st_uid, OWNER_UID);
	node_path(path, sizeof(path), tmpfs_dir, "fifo");
	scenario_check(lstat(path, &st) == 0 && S_ISFIFO(st.st_mode) &&
			   (st.st_mode & 07777) == 0620,
		       "%s is not a FIFO of mode 0620", path);
	node_path(path, sizeof(path), tmpfs_dir, "dir/nested/deep");
	scenario_check(stat(path, &st) == 0 && st.st_mtim.tv_sec == FILE_MTIME, "%s mtime %lld",
		       path, (long long)st.st_mtim.tv_sec);
	scenario_check(st.st_atim.tv_sec == FILE_ATIME,
		       "%s atime %lld (reading it to save it "
		       "must not change it)",
		       path, (long long)st.st_atim.tv_sec);
	node_path(path, sizeof(path), tmpfs_dir, "dir");
	scenario_check(stat(path, &st) == 0 && st.st_mtim.tv_sec == DIR_MTIME, "%s mtime %lld",
		       path, (long long)st.st_mtim.tv_sec);
	check_sparse();
}

static void build_tree(void)
{
	char path[128];

	for (size_t i = 0; i < N_NODES; i++) {
		node_path(path, sizeof(path), tmpfs_dir, nodes[i].path);
		if (nodes[i].type == S_IFDIR) {
			if (mkdir(path, 0700) < 0)
				scenario_skip("mkdir %s: %m", path);
		} else {
			write_file(path, &nodes[i]);
		}
	}
	/* Modes last, so restrictive directory modes never got in the way of filling them. */
	for (size_t i = N_NODES; i-- > 0;) {
		node_path(path, sizeof(path), tmpfs_dir, nodes[i].path);
		if (chmod(path, nodes[i].mode) < 0)
			scenario_skip("chmod %s: %m", path);
	}
	node_path(path, sizeof(path), tmpfs_dir, "link");
	if (symlink(LINK_TARGET, path) < 0)
		scenario_skip("symlink %s: %m", path);
	build_metadata();
}

static void check_contents(const char *path, const struct node *n, off_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = malloc(size + 1);
	ssize_t got;

	scenario_check(fd >= 0 && buf, "open %s: %m", path);
	got = read(fd, buf, size + 1);
	close(fd);
	scenario_check(got == size, "read %s: %zd bytes of %lld", path, got, (long long)size);
	if (n->data) {
		scenario_check(memcmp(buf, n->data, size) == 0, "%s: contents differ", path);
	} else {
		for (off_t i = 0; i < size; i++)
			scenario_check(buf[i] == big_byte(i), "%s: byte %lld differs", path,
				       (long long)i);
	}
	free(buf);
}

/* Checks one node as seen under root (the tmpfs, or the bind for the nodes under sub/). */
static void check_node(const char *root, const char *rel, const struct node *n)
{
	char path[128];
	struct stat st;

	node_path(path, sizeof(path), root, rel);
	scenario_check(lstat(path, &st) == 0, "lstat %s: %m", path);
	scenario_check((st.st_mode & S_IFMT) == n->type, "%s: file type %#o, expected %#o", path,
		       st.st_mode & S_IFMT, n->type);
	scenario_check((st.st_mode & 07777) == n->mode, "%s: mode %04o, expected %04o", path,
		       st.st_mode & 07777, n->mode);
	if (n->type == S_IFREG) {
		scenario_check(st.st_size == (n->data ? (off_t)strlen(n->data) : BIG_SIZE),
			       "%s: size %lld", path, (long long)st.st_size);
		check_contents(path, n, st.st_size);
	}
}

static void check_tree(void)
{
	char path[128], target[128];
	struct stat st, deep;
	ssize_t n;

	for (size_t i = 0; i < N_NODES; i++) {
		check_node(tmpfs_dir, nodes[i].path, &nodes[i]);
		if (!strncmp(nodes[i].path, "sub/", 4))
			check_node(bind_dir, nodes[i].path + 4, &nodes[i]);
	}
	node_path(path, sizeof(path), tmpfs_dir, "link");
	scenario_check(lstat(path, &st) == 0 && S_ISLNK(st.st_mode), "%s is not a symlink", path);
	n = readlink(path, target, sizeof(target) - 1);
	scenario_check(n >= 0, "readlink %s: %m", path);
	target[n] = '\0';
	scenario_check(strcmp(target, LINK_TARGET) == 0, "%s -> '%s', expected '%s'", path, target,
		       LINK_TARGET);
	node_path(target, sizeof(target), tmpfs_dir, LINK_TARGET);
	scenario_check(stat(path, &st) == 0 && stat(target, &deep) == 0 && st.st_ino == deep.st_ino,
		       "%s does not resolve to %s", path, target);
	node_path(path, sizeof(path), bind_dir, "link");
	scenario_check(lstat(path, &st) < 0 && errno == ENOENT, "%s exists in the bind", path);
}

/* The bind must be a view of the same tmpfs, read-only. */
static void check_bind_shares_tmpfs(void)
{
	char via_tmpfs[128], via_bind[128];
	struct stat st;
	int fd;

	node_path(via_bind, sizeof(via_bind), bind_dir, "new");
	fd = open(via_bind, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	scenario_check(fd < 0 && errno == EROFS, "creating %s: %s, expected EROFS", via_bind,
		       fd < 0 ? strerror(errno) : "it worked");
	node_path(via_tmpfs, sizeof(via_tmpfs), tmpfs_dir, "sub/new");
	fd = open(via_tmpfs, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	scenario_check(fd >= 0, "create %s: %m", via_tmpfs);
	close(fd);
	scenario_check(stat(via_bind, &st) == 0, "%s made through the tmpfs is not in the bind",
		       via_tmpfs);
	unlink(via_tmpfs);
}

/* Does the comma-separated list contain the option? */
static bool has_opt(const char *list, const char *opt)
{
	size_t len = strlen(opt);

	for (const char *p = list; p; p = strchr(p, ',')) {
		p += *p == ',';
		if (!strncmp(p, opt, len) && (p[len] == ',' || p[len] == '\0'))
			return true;
	}
	return false;
}

struct mnt_line {
	int n_found;
	unsigned int major, minor;
	char root[128], opts[256], fstype[32], source[64], super_opts[256];
};

static void find_mount(const char *mountpoint, struct mnt_line *ret)
{
	char line[1024], point[128];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	scenario_check(f, "open mountinfo: %m");
	memset(ret, 0, sizeof(*ret));
	while (fgets(line, sizeof(line), f)) {
		struct mnt_line m = {0};
		const char *tail = strstr(line, " - ");

		if (sscanf(line, "%*d %*d %u:%u %127s %127s %255s", &m.major, &m.minor, m.root,
			   point, m.opts) != 5 ||
		    strcmp(point, mountpoint) != 0 || !tail)
			continue;
		if (sscanf(tail, " - %31s %63s %255s", m.fstype, m.source, m.super_opts) != 3)
			continue;
		m.n_found = ret->n_found + 1;
		*ret = m;
	}
	fclose(f);
}

static void check_mounts(void)
{
	struct mnt_line t, b;

	find_mount(tmpfs_dir, &t);
	find_mount(bind_dir, &b);
	scenario_check(t.n_found == 1, "%d mounts on %s, expected 1", t.n_found, tmpfs_dir);
	scenario_check(b.n_found == 1, "%d mounts on %s, expected 1", b.n_found, bind_dir);
	scenario_check(!strcmp(t.fstype, "tmpfs") && !strcmp(t.root, "/"),
		       "%s: fstype %s root %s, expected a tmpfs root", tmpfs_dir, t.fstype, t.root);
	scenario_check(has_opt(t.opts, "rw") && has_opt(t.opts, "nosuid") &&
			   has_opt(t.opts, "nodev") && !has_opt(t.opts, "noexec"),
		       "%s: mount options '%s', expected rw,nosuid,nodev", tmpfs_dir, t.opts);
	scenario_check(!strcmp(t.source, TMPFS_SOURCE), "%s: source '%s', expected '%s'", tmpfs_dir,
		       t.source, TMPFS_SOURCE);
	scenario_check(has_opt(t.super_opts, "size=8192k") && has_opt(t.super_opts, "mode=751"),
		       "%s: superblock options '%s', expected size=8192k,mode=751", tmpfs_dir,
		       t.super_opts);
	scenario_check(!strcmp(b.fstype, "tmpfs") && !strcmp(b.root, "/sub"),
		       "%s: fstype %s root %s, expected tmpfs /sub", bind_dir, b.fstype, b.root);
	scenario_check(b.major == t.major && b.minor == t.minor,
		       "the bind is on device %u:%u, the tmpfs on %u:%u", b.major, b.minor, t.major,
		       t.minor);
	scenario_check(has_opt(b.opts, "ro") && has_opt(b.opts, "nosuid") &&
			   has_opt(b.opts, "nodev") && has_opt(b.opts, "noexec"),
		       "%s: mount options '%s', expected ro,nosuid,nodev,noexec", bind_dir, b.opts);
}

/* Runs at every exit: the mountpoints live on the host's /tmp. */
static void remove_mountpoints(void)
{
	if (is_mounted) {
		umount2(bind_dir, MNT_DETACH);
		umount2(tmpfs_dir, MNT_DETACH);
	}
	rmdir(bind_dir);
	rmdir(tmpfs_dir);
	rmdir(base);
}

int main(void)
{
	char sub[128];

	scenario_private_mounts();
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	snprintf(tmpfs_dir, sizeof(tmpfs_dir), "%s/tmpfs", base);
	snprintf(bind_dir, sizeof(bind_dir), "%s/bind", base);
	atexit(remove_mountpoints);
	if (mkdir(tmpfs_dir, 0755) < 0 || mkdir(bind_dir, 0755) < 0)
		scenario_skip("mkdir: %m");
	if (mount(TMPFS_SOURCE, tmpfs_dir, "tmpfs", MS_NOSUID | MS_NODEV, TMPFS_OPTS) < 0)
		scenario_skip("mount tmpfs: %m");
	is_mounted = true;
	build_tree();
	node_path(sub, sizeof(sub), tmpfs_dir, "sub");
	if (mount(sub, bind_dir, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, bind_dir, NULL,
		  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		scenario_skip("bind + remount ro: %m");

	scenario_ready();
	scenario_wait();

	check_mounts();
	check_metadata(); /* first: reading the files changes their access times */
	check_tree();
	check_bind_shares_tmpfs();
	scenario_check(umount(bind_dir) == 0, "umount %s: %m", bind_dir);
	scenario_check(umount(tmpfs_dir) == 0, "umount %s: %m", tmpfs_dir);
	is_mounted = false;
	scenario_check(rmdir(bind_dir) == 0 && rmdir(tmpfs_dir) == 0 && rmdir(base) == 0,
		       "rmdir the mountpoints: %m");
	scenario_pass();
}
