/* Files as they really are: fds and a cwd whose paths were removed, renamed over or renamed
 * away, O_TMPFILE files before and after linkat(), and names with any bytes. One case per run
 * (the program's argument; run.sh lists them as removed-files/<case>). Each case builds its
 * state below a fresh directory, records what the process sees (readlink of every fd with its
 * " (deleted)", fstat, contents) and what the directory tree holds (names, inodes, modes, the
 * directories' mtimes), and after SIGUSR1 checks that both are unchanged: the restore must give
 * the same view and leave no file or directory of its own behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario.h"

#define MAX_FDS	    16
#define MAX_ENTRIES 64

static char base[64] = "/tmp/minicr-scn-removed.XXXXXX";

/* ---- what the process sees ------------------------------------------------------------------ */

struct view {
	int fd;		/* -1: the cwd */
	bool any_name;	/* an O_TMPFILE file's name is its inode number, which changes */
	char link[512]; /* readlink of /proc/self/fd/N (or cwd) */
	struct stat st;
};

static struct view views[MAX_FDS];
static int n_views;

/* s with bytes outside printable ASCII as \ooo, for a verdict that stays on one line. */
static const char *shown(const char *s)
{
	static char bufs[4][1024];
	static int next;
	char *out = bufs[next++ % 4];
	size_t n = 0;

	for (; *s && n + 5 < sizeof(bufs[0]); s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, 5, "\\%03o", c);
	}
	out[n] = '\0';
	return out;
}

static void read_link_of(int fd, char *buf, size_t size)
{
	char proc[64];
	ssize_t n;

	if (fd < 0)
		snprintf(proc, sizeof(proc), "/proc/self/cwd");
	else
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, size - 1);
	buf[n < 0 ? 0 : n] = '\0';
}

static void stat_of(int fd, struct stat *st)
{
	if ((fd < 0 ? stat(".", st) : fstat(fd, st)) < 0)
		memset(st, 0, sizeof(*st));
}

/* Records fd (or the cwd, -1) and checks its link is what the case expects. */
static void watch(int fd, const char *expect_link)
{
	struct view *v = &views[n_views++];

	v->fd = fd;
	read_link_of(fd, v->link, sizeof(v->link));
	stat_of(fd, &v->st);
	if (expect_link && strcmp(v->link, expect_link) != 0)
		scenario_skip("fd %d shows '%s', not '%s': the kernel names things differently", fd,
			      shown(v->link), shown(expect_link));
}

static void check_views(void)
{
	for (int i = 0; i < n_views; i++) {
		const struct view *v = &views[i];
		char link[512];
		struct stat st;

		read_link_of(v->fd, link, sizeof(link));
		stat_of(v->fd, &st);
		scenario_check(v->any_name || strcmp(link, v->link) == 0,
			       "fd %d shows '%s', was '%s'", v->fd, shown(link), shown(v->link));
		scenario_check(st.st_mode == v->st.st_mode && st.st_nlink == v->st.st_nlink &&
				   st.st_uid == v->st.st_uid && st.st_gid == v->st.st_gid &&
				   st.st_size == v->st.st_size,
			       "fd %d ('%s'): mode 0%o links %lu owner %u:%u size %ld, was 0%o %lu "
			       "%u:%u %ld",
			       v->fd, shown(link), st.st_mode, (unsigned long)st.st_nlink,
			       st.st_uid, st.st_gid, (long)st.st_size, v->st.st_mode,
			       (unsigned long)v->st.st_nlink, v->st.st_uid, v->st.st_gid,
			       (long)v->st.st_size);
		scenario_check(st.st_mtim.tv_sec == v->st.st_mtim.tv_sec &&
				   st.st_mtim.tv_nsec == v->st.st_mtim.tv_nsec,
			       "fd %d ('%s'): mtime %ld.%09ld, was %ld.%09ld", v->fd, shown(link),
			       st.st_mtim.tv_sec, st.st_mtim.tv_nsec, v->st.st_mtim.tv_sec,
			       v->st.st_mtim.tv_nsec);
	}
}

/* ---- what the directory tree holds ---------------------------------------------------------- */

struct entry {
	char path[512];
	ino_t ino;
	mode_t mode;
	struct timespec mtime; /* directories only */
};

static struct entry tree_before[MAX_ENTRIES];
static int n_before;

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static void list_tree(const char *dir, struct entry *out, int *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		scenario_fail("cannot list '%s': %m", dir);
	while ((de = readdir(d))) {
		struct entry *e;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n >= MAX_ENTRIES)
			scenario_fail("too many files below '%s'", base);
		e = &out[(*n)++];
		snprintf(e->path, sizeof(e->path), "%s/%s", dir, de->d_name);
		if (lstat(e->path, &st) < 0)
			scenario_fail("cannot stat '%s': %m", e->path);
		e->ino = st.st_ino;
		e->mode = st.st_mode;
		if (S_ISDIR(st.st_mode)) {
			list_tree(e->path, out, n);
			e->mtime = st.st_mtim;
		}
	}
	closedir(d);
}

static void snapshot(struct entry *out, int *n, struct timespec *base_mtime)
{
	struct stat st;

	*n = 0;
	list_tree(base, out, n);
	qsort(out, (size_t)*n, sizeof(*out), cmp_entry);
	stat(base, &st);
	*base_mtime = st.st_mtim;
}

static struct timespec base_mtime_before;
/* A tmpfs made again from its contents: its files are new inodes, and its root's mtime is not
 * kept (mount/restore-tmpfs.c sets the times of what is in it). */
static const char *tmpfs_root;

static bool in_tmpfs(const char *path)
{
	return tmpfs_root && strncmp(path, tmpfs_root, strlen(tmpfs_root)) == 0;
}

static void check_tree(void)
{
	static struct entry after[MAX_ENTRIES];
	struct timespec base_mtime;
	int n_after;

	snapshot(after, &n_after, &base_mtime);
	for (int i = 0; i < n_before || i < n_after; i++) {
		const struct entry *b = i < n_before ? &tree_before[i] : NULL;
		const struct entry *a = i < n_after ? &after[i] : NULL;

		scenario_check(a && b && strcmp(a->path, b->path) == 0,
			       "the tree changed: '%s' where '%s' was", a ? a->path : "(nothing)",
			       b ? b->path : "(nothing)");
		scenario_check((a->ino == b->ino || in_tmpfs(a->path)) && a->mode == b->mode,
			       "'%s' is another file now (inode %lu mode 0%o, was %lu 0%o)",
			       a->path, (unsigned long)a->ino, a->mode, (unsigned long)b->ino,
			       b->mode);
		scenario_check((tmpfs_root && strcmp(a->path, tmpfs_root) == 0) ||
				   (a->mtime.tv_sec == b->mtime.tv_sec &&
				    a->mtime.tv_nsec == b->mtime.tv_nsec),
			       "directory '%s' was modified", a->path);
	}
	scenario_check(base_mtime.tv_sec == base_mtime_before.tv_sec &&
			   base_mtime.tv_nsec == base_mtime_before.tv_nsec,
		       "'%s' was modified: its mtime changed", base);
}

/* ---- helpers -------------------------------------------------------------------------------- */

static char *at(const char *name)
{
	static char paths[16][256];
	static int next;
	char *p = paths[next++ % 16];

	snprintf(p, 256, "%s/%s", base, name);
	return p;
}

static char *deleted(const char *name)
{
	static char paths[8][300];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 300, "%s/%s (deleted)", base, name);
	return p;
}

static int must_open(const char *path, int flags, mode_t mode)
{
	int fd = open(path, flags, mode);

	if (fd < 0)
		scenario_skip("cannot open '%s': %m", path);
	return fd;
}

static void must(int r, const char *what)
{
	if (r < 0)
		scenario_skip("%s: %m", what);
}

static void put(int fd, const char *text)
{
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		scenario_skip("write: %m");
}

static void expect_at(int fd, off_t off, const char *text, const char *what)
{
	char buf[64] = "";
	size_t len = strlen(text);

	scenario_check(pread(fd, buf, len, off) == (ssize_t)len && memcmp(buf, text, len) == 0,
		       "%s: '%.*s' at %ld, want '%s'", what, (int)len, buf, (long)off, text);
}

static ino_t ino_of_path(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_ino : 0;
}

static ino_t ino_of_fd(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static void set_times(const char *path, long atime, long mtime)
{
	struct timespec t[2] = {{atime, 123456789}, {mtime, 987654321}};

	must(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), "utimensat");
}

/* ---- the cases ------------------------------------------------------------------------------ */

/* The cwd in a directory removed together with its parent; dir fds on removed directories, one
 * O_PATH; a removed directory whose name a new directory took. */
static void (*check_case)(void);
static int fds[MAX_FDS];

static void check_dirs(void)
{
	struct stat st;
	int parent;

	scenario_check(getcwd((char[256]){0}, 256) == NULL && errno == ENOENT,
		       "getcwd works in a removed directory");
	scenario_check(open("newfile", O_CREAT | O_WRONLY, 0600) < 0 && errno == ENOENT,
		       "a file could be made in the removed cwd");
	/* the removed child's parent is the removed parent itself */
	parent = openat(fds[0], "..", O_PATH | O_DIRECTORY);
	scenario_check(parent >= 0 && fstat(parent, &st) == 0 && st.st_ino == ino_of_fd(fds[1]),
		       "'..' of the removed child is not the removed parent");
	scenario_check(ino_of_fd(fds[3]) != ino_of_path(at("taken")),
		       "the removed directory and the one that took its name are one");
}

static void case_dirs(void)
{
	must(mkdir(at("p"), 0755), "mkdir");
	must(mkdir(at("p/c"), 0700), "mkdir");
	must(chown(at("p/c"), 1234, 5678), "chown");
	must(chmod(at("p/c"), 02751), "chmod");
	set_times(at("p/c"), 1000000000, 1100000000);
	must(chdir(at("p/c")), "chdir");
	fds[0] = must_open(".", O_RDONLY | O_DIRECTORY, 0);
	fds[1] = must_open(at("p"), O_PATH | O_DIRECTORY, 0);
	must(rmdir(at("p/c")), "rmdir");
	must(rmdir(at("p")), "rmdir");
	must(mkdir(at("gone"), 0750), "mkdir");
	fds[2] = must_open(at("gone"), O_RDONLY | O_DIRECTORY, 0);
	must(rmdir(at("gone")), "rmdir");
	must(mkdir(at("taken"), 0700), "mkdir");
	fds[3] = must_open(at("taken"), O_RDONLY | O_DIRECTORY, 0);
	must(rmdir(at("taken")), "rmdir");
	must(mkdir(at("taken"), 0755), "mkdir");
	watch(-1, deleted("p/c"));
	watch(fds[0], deleted("p/c"));
	watch(fds[1], deleted("p"));
	watch(fds[2], deleted("gone"));
	watch(fds[3], deleted("taken"));
	check_case = check_dirs;
}

/* A file whose opened name was unlinked while another name remains, also in a removed
 * directory; a file renamed over; a file renamed away. */
static void check_linked(void)
{
	scenario_check(ino_of_fd(fds[0]) == ino_of_path(at("keep")),
		       "the fd is not on the file its other name shows");
	put(fds[0], "+through-fd");
	expect_at(must_open(at("keep"), O_RDONLY, 0), 7, "+through-fd",
		  "a write through the fd, read through the other name");
	scenario_check(ino_of_fd(fds[1]) == ino_of_path(at("c-keep")), "renamed over: wrong file");
	expect_at(must_open(at("c"), O_RDONLY, 0), 0, "the new c", "the file that took the name");
	scenario_check(ino_of_fd(fds[2]) == ino_of_path(at("sub/e2")), "renamed away: wrong file");
	scenario_check(ino_of_fd(fds[3]) == ino_of_path(at("xkeep")),
		       "in a removed directory: wrong file");
	scenario_check(lseek(fds[0], 0, SEEK_CUR) == 18, "offset %ld", lseek(fds[0], 0, SEEK_CUR));
	/* the write went to the file behind the other name: undo it for the tree check */
	must(ftruncate(fds[0], 7), "ftruncate");
}

static void case_linked(void)
{
	int n;

	fds[0] = must_open(at("a"), O_RDWR | O_CREAT, 0640);
	put(fds[0], "linked!");
	must(link(at("a"), at("keep")), "link");
	must(unlink(at("a")), "unlink");
	fds[1] = must_open(at("c"), O_RDWR | O_CREAT, 0600);
	must(link(at("c"), at("c-keep")), "link");
	n = must_open(at("new"), O_RDWR | O_CREAT, 0600);
	put(n, "the new c");
	close(n);
	must(rename(at("new"), at("c")), "rename");
	must(mkdir(at("sub"), 0755), "mkdir");
	fds[2] = must_open(at("e"), O_RDONLY | O_CREAT, 0600);
	must(rename(at("e"), at("sub/e2")), "rename");
	must(mkdir(at("D"), 0755), "mkdir");
	fds[3] = must_open(at("D/x"), O_WRONLY | O_CREAT, 0600);
	must(link(at("D/x"), at("xkeep")), "link");
	must(unlink(at("D/x")), "unlink");
	must(rmdir(at("D")), "rmdir");
	watch(fds[0], deleted("a"));
	watch(fds[1], deleted("c"));
	watch(fds[2], at("sub/e2"));
	watch(fds[3], deleted("D/x"));
	check_case = check_linked;
}

/* Unlinked files: an odd owner, mode and times, two descriptions and a dup, a hole, offsets; a
 * name a new file took; two names of one inode; one in a removed directory. */
static void check_unlinked(void)
{
	struct stat st;

	must(fstat(fds[0], &st), "fstat");
	scenario_check(st.st_atim.tv_sec == 1000000000 && st.st_atim.tv_nsec == 123456789,
		       "atime %ld.%09ld", st.st_atim.tv_sec, st.st_atim.tv_nsec);
	expect_at(fds[0], 0, "hello world", "contents");
	expect_at(fds[0], 1 << 20, "end", "contents after the hole");
	scenario_check(st.st_blocks < 64, "the hole is gone: %ld blocks", (long)st.st_blocks);
	scenario_check(lseek(fds[0], 0, SEEK_CUR) == 3 && lseek(fds[1], 0, SEEK_CUR) == 7 &&
			   lseek(fds[2], 0, SEEK_CUR) == 3,
		       "offsets %ld %ld %ld", lseek(fds[0], 0, SEEK_CUR),
		       lseek(fds[1], 0, SEEK_CUR), lseek(fds[2], 0, SEEK_CUR));
	scenario_check(ino_of_fd(fds[0]) == ino_of_fd(fds[1]), "two descriptions, two files");
	must(pwrite(fds[1], "J", 1, 0), "pwrite");
	expect_at(fds[0], 0, "Jello", "a write through the other description");
	expect_at(fds[3], 0, "old t", "the unlinked file whose name was taken");
	expect_at(must_open(at("t"), O_RDONLY, 0), 0, "new t", "the file that took the name");
	scenario_check(ino_of_fd(fds[4]) == ino_of_fd(fds[5]), "two names, two files");
	expect_at(fds[6], 0, "in R", "the unlinked file in a removed directory");
}

static void case_unlinked(void)
{
	int t;

	fds[0] = must_open(at("u"), O_RDWR | O_CREAT, 0600);
	put(fds[0], "hello world");
	must(pwrite(fds[0], "end", 3, 1 << 20), "pwrite");
	fds[1] = must_open(at("u"), O_RDWR, 0);
	fds[2] = dup(fds[0]);
	lseek(fds[0], 3, SEEK_SET);
	lseek(fds[1], 7, SEEK_SET);
	must(fchown(fds[0], 1234, 5678), "fchown");
	must(fchmod(fds[0], 06604), "fchmod");
	set_times(at("u"), 1000000000, 1100000000);
	must(unlink(at("u")), "unlink");
	fds[3] = must_open(at("t"), O_RDWR | O_CREAT, 0600);
	put(fds[3], "old t");
	must(unlink(at("t")), "unlink");
	t = must_open(at("t"), O_RDWR | O_CREAT, 0644);
	put(t, "new t");
	close(t);
	fds[4] = must_open(at("m1"), O_RDWR | O_CREAT, 0600);
	must(link(at("m1"), at("m2")), "link");
	fds[5] = must_open(at("m2"), O_RDONLY, 0);
	must(unlink(at("m1")), "unlink");
	must(unlink(at("m2")), "unlink");
	must(mkdir(at("R"), 0700), "mkdir");
	fds[6] = must_open(at("R/f"), O_RDWR | O_CREAT, 0600);
	put(fds[6], "in R");
	must(unlink(at("R/f")), "unlink");
	must(rmdir(at("R")), "rmdir");
	watch(fds[0], deleted("u"));
	watch(fds[1], deleted("u"));
	watch(fds[3], deleted("t"));
	watch(fds[4], deleted("m1"));
	watch(fds[5], deleted("m2"));
	watch(fds[6], deleted("R/f"));
	check_case = check_unlinked;
}

/* An unlinked FIFO held open at both ends with data in its buffer. */
static void check_fifo(void)
{
	char buf[16] = "";

	scenario_check(read(fds[0], buf, sizeof(buf)) == 3 && memcmp(buf, "abc", 3) == 0,
		       "the FIFO's data: '%s'", buf);
	put(fds[1], "de");
	scenario_check(read(fds[0], buf, sizeof(buf)) == 2 && memcmp(buf, "de", 2) == 0,
		       "the FIFO's ends are not one FIFO any more");
	scenario_check(fcntl(fds[0], F_GETPIPE_SZ) == 1 << 16, "the FIFO's size %d",
		       fcntl(fds[0], F_GETPIPE_SZ));
}

static void case_fifo(void)
{
	must(mkfifo(at("ff"), 0600), "mkfifo");
	must(chown(at("ff"), 1234, 5678), "chown");
	must(chmod(at("ff"), 0640), "chmod");
	fds[0] = must_open(at("ff"), O_RDONLY | O_NONBLOCK, 0);
	fds[1] = must_open(at("ff"), O_WRONLY, 0);
	must(fcntl(fds[1], F_SETPIPE_SZ, 1 << 16), "F_SETPIPE_SZ");
	put(fds[1], "abc");
	set_times(at("ff"), 1000000000, 1100000000);
	must(unlink(at("ff")), "unlink");
	watch(fds[0], deleted("ff"));
	watch(fds[1], deleted("ff"));
	check_case = check_fifo;
}

/* O_TMPFILE: at a high fd number and never linked (linkat() must still work on it after the
 * restore); one linked with linkat() before the dump; tmpfile(3). */
static FILE *libc_tmp;

static void check_tmpfile(void)
{
	char proc[64], name[64], link[512];
	unsigned int flags = 0;
	char buf[16] = "";
	int fd;

	/* its name is "#<its inode>", whatever inode it has now */
	read_link_of(900, link, sizeof(link));
	snprintf(name, sizeof(name), "#%lu", (unsigned long)ino_of_fd(900));
	scenario_check(strcmp(link, deleted(name)) == 0, "the O_TMPFILE fd shows '%s'", link);
	scenario_check(scenario_fdinfo(900, NULL, &flags, NULL) >= 1 && (flags & 020000000),
		       "the O_TMPFILE fd lost its flag: 0%o", flags);
	expect_at(900, 0, "tmp-data", "the O_TMPFILE file");
	scenario_check(ino_of_fd(901) == ino_of_path(at("published")),
		       "the linked O_TMPFILE fd is not on the published file");
	scenario_check(fseek(libc_tmp, 0, SEEK_SET) == 0 && fread(buf, 1, 9, libc_tmp) == 9 &&
			   memcmp(buf, "libc-data", 9) == 0,
		       "tmpfile(3): '%s'", buf);
	/* the tree is checked already: the O_TMPFILE file can still be given a name */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", 900);
	scenario_check(linkat(AT_FDCWD, proc, AT_FDCWD, at("later"), AT_SYMLINK_FOLLOW) == 0,
		       "linkat() of the O_TMPFILE file: %m");
	fd = must_open(at("later"), O_RDONLY, 0);
	expect_at(fd, 0, "tmp-data", "the O_TMPFILE file linked after the restore");
	unlink(at("later"));
}

static void case_tmpfile(void)
{
	char proc[64];
	int fd = open(base, O_TMPFILE | O_RDWR, 0640);

	if (fd < 0)
		scenario_skip("O_TMPFILE: %m");
	put(fd, "tmp-data");
	must(dup2(fd, 900), "dup2");
	close(fd);
	fd = must_open(base, O_TMPFILE | O_WRONLY, 0600);
	put(fd, "published");
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	must(linkat(AT_FDCWD, proc, AT_FDCWD, at("published"), AT_SYMLINK_FOLLOW), "linkat");
	must(dup2(fd, 901), "dup2");
	close(fd);
	libc_tmp = tmpfile();
	if (!libc_tmp || fputs("libc-data", libc_tmp) < 0 || fflush(libc_tmp) != 0)
		scenario_skip("tmpfile: %m");
	watch(900, NULL);
	views[n_views - 1].any_name = true;
	watch(901, NULL);
	check_case = check_tmpfile;
}

/* O_PATH|O_NOFOLLOW on a symlink, and on one whose name was removed. */
static void check_symlinks(void)
{
	char target[64] = "";

	scenario_check(readlinkat(fds[0], "", target, sizeof(target)) == 6 &&
			   memcmp(target, "target", 6) == 0,
		       "the symlink's target: '%s'", target);
	memset(target, 0, sizeof(target));
	scenario_check(readlinkat(fds[1], "", target, sizeof(target)) == 10 &&
			   memcmp(target, "gone/../x", 9) == 0,
		       "the removed symlink's target: '%s'", target);
}

static void case_symlinks(void)
{
	unsigned int flags = 0;

	must(symlink("target", at("sl")), "symlink");
	must(symlink("gone/../x/", at("sl2")), "symlink");
	must(lchown(at("sl2"), 1234, 5678), "lchown");
	set_times(at("sl2"), 1000000000, 1100000000);
	fds[0] = must_open(at("sl"), O_PATH | O_NOFOLLOW, 0);
	fds[1] = must_open(at("sl2"), O_PATH | O_NOFOLLOW, 0);
	must(unlink(at("sl2")), "unlink");
	if (scenario_fdinfo(fds[1], NULL, &flags, NULL) < 1 || !(flags & O_NOFOLLOW))
		scenario_skip("fdinfo does not show O_NOFOLLOW");
	watch(fds[0], at("sl"));
	watch(fds[1], deleted("sl2"));
	check_case = check_symlinks;
}

/* Names with any bytes: spaces, a tab, a newline, a backslash, bytes that are not UTF-8, a live
 * name that ends in " (deleted)"; removed and unlinked ones too. */
static void check_names(void)
{
	expect_at(fds[0], 0, "odd", "the file with an odd name");
	expect_at(fds[1], 0, "looks deleted", "the live file named '... (deleted)'");
	expect_at(fds[2], 0, "odd, unlinked", "the unlinked file with an odd name");
}

static void case_names(void)
{
	static const char odd[] = "a b\tc\nd\\e\xff\xfe";
	char name[64];

	fds[0] = must_open(at(odd), O_RDWR | O_CREAT, 0600);
	put(fds[0], "odd");
	fds[1] = must_open(at("live (deleted)"), O_RDWR | O_CREAT, 0600);
	put(fds[1], "looks deleted");
	snprintf(name, sizeof(name), "%s.unlinked", odd);
	fds[2] = must_open(at(name), O_RDWR | O_CREAT, 0600);
	put(fds[2], "odd, unlinked");
	must(unlink(at(name)), "unlink");
	snprintf(name, sizeof(name), "dir %s", odd);
	must(mkdir(at(name), 0700), "mkdir");
	fds[3] = must_open(at(name), O_RDONLY | O_DIRECTORY, 0);
	must(rmdir(at(name)), "rmdir");
	watch(fds[0], at(odd));
	watch(fds[1], at("live (deleted)"));
	snprintf(name, sizeof(name), "%s.unlinked", odd);
	watch(fds[2], deleted(name));
	snprintf(name, sizeof(name), "dir %s", odd);
	watch(fds[3], deleted(name));
	check_case = check_names;
}

/* Removed paths on a bind mount that was then lazily unmounted: the restore makes them again
 * through the detached mount, and the disk below shows nothing of it afterwards. */
static void check_detached(void)
{
	expect_at(fds[0], 0, "detached ghost", "the unlinked file of the detached mount");
	scenario_check(ino_of_fd(fds[2]) == ino_of_path(at("src/keep")),
		       "the linked file of the detached mount is another file");
}

static void case_detached(void)
{
	scenario_private_mounts();
	must(mkdir(at("src"), 0755), "mkdir");
	must(mkdir(at("mnt"), 0755), "mkdir");
	must(mount(at("src"), at("mnt"), NULL, MS_BIND, NULL), "bind mount");
	fds[0] = must_open(at("mnt/g"), O_RDWR | O_CREAT, 0640);
	put(fds[0], "detached ghost");
	must(unlink(at("mnt/g")), "unlink");
	must(mkdir(at("mnt/d"), 0700), "mkdir");
	fds[1] = must_open(at("mnt/d"), O_RDONLY | O_DIRECTORY, 0);
	must(rmdir(at("mnt/d")), "rmdir");
	fds[2] = must_open(at("mnt/l"), O_RDWR | O_CREAT, 0600);
	must(link(at("mnt/l"), at("mnt/keep")), "link");
	must(unlink(at("mnt/l")), "unlink");
	must(umount2(at("mnt"), MNT_DETACH), "umount");
	watch(fds[0], "/g (deleted)");
	watch(fds[1], "/d (deleted)");
	watch(fds[2], "/l (deleted)");
	check_case = check_detached;
}

/* Removed paths on a tmpfs that lives only in the process's own mount namespace. */
static void check_tmpfs(void)
{
	expect_at(fds[0], 0, "tmpfs ghost", "the unlinked file on tmpfs");
	scenario_check(ino_of_fd(fds[1]) == ino_of_path(at("t/keep")),
		       "the linked file on tmpfs is another file");
}

static void case_tmpfs(void)
{
	scenario_private_mounts();
	must(mkdir(at("t"), 0755), "mkdir");
	must(mount("minicr-scn", at("t"), "tmpfs", 0, "size=1m"), "mount tmpfs");
	tmpfs_root = strdup(at("t"));
	fds[0] = must_open(at("t/g"), O_RDWR | O_CREAT, 0640);
	put(fds[0], "tmpfs ghost");
	must(unlink(at("t/g")), "unlink");
	fds[1] = must_open(at("t/l"), O_RDWR | O_CREAT, 0600);
	must(link(at("t/l"), at("t/keep")), "link");
	must(unlink(at("t/l")), "unlink");
	must(mkdir(at("t/d"), 0700), "mkdir");
	fds[2] = must_open(at("t/d"), O_RDONLY | O_DIRECTORY, 0);
	must(rmdir(at("t/d")), "rmdir");
	watch(fds[0], deleted("t/g"));
	watch(fds[1], deleted("t/l"));
	watch(fds[2], deleted("t/d"));
	check_case = check_tmpfs;
}

static const struct {
	const char *name;
	void (*build)(void);
} cases[] = {
    {"dirs", case_dirs},   {"linked", case_linked},	{"unlinked", case_unlinked},
    {"fifo", case_fifo},   {"tmpfile", case_tmpfile},	{"symlinks", case_symlinks},
    {"names", case_names}, {"detached", case_detached}, {"tmpfs", case_tmpfs},
};

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char path[512];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* However the scenario ends (a failed check exits too): nothing of it stays in /tmp. */
static void remove_base(void)
{
	if (chdir("/") < 0)
		return;
	umount2(at("t"), MNT_DETACH);
	remove_tree(base);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc != 2)
		scenario_skip("usage: removed-files CASE");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(cases[i].name, argv[1]) == 0)
			break;
	if (i == sizeof(cases) / sizeof(cases[0]))
		scenario_skip("no case '%s'", argv[1]);
	if (!mkdtemp(base))
		scenario_skip("mkdtemp: %m");
	atexit(remove_base);
	cases[i].build();
	/* the directories' mtimes are taken once the case has settled them */
	snapshot(tree_before, &n_before, &base_mtime_before);

	scenario_ready();
	scenario_wait();

	check_views();
	check_tree();
	check_case();
	scenario_pass();
}
