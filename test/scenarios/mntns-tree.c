/* Three tasks, two mount namespaces: the root task R in namespace A (a private copy of the
 * host's) with a tmpfs, a child C1 that unshared namespace B (a copy of A, so it shares A's
 * tmpfs superblock) and mounted a tmpfs of its own, and a child C2 that stayed in A. Files are
 * open on every side: C1 on its own tmpfs, on its copy of A's, and — inherited from R — on A's
 * mount itself, which is in another namespace than C1's; R on A's tmpfs and, as stdin, on the
 * host's /dev, outside the tree.
 * Before the dump R saves the mountinfo of A and B and the mount id of every such fd. After the
 * restore: the same namespace layout (R and C2 together, C1 apart), each table the same with
 * ids, groups and devices mapped (the tmpfs A and B share is one superblock again), every fd on
 * the same mount (C1's inherited fd on A's mount, not B's copy), stdin on the very same host
 * mount, and the files' contents. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mounts.h"
#include "scenario.h"

static char dir[] = "/tmp/minicr-scn-mntns-tree.XXXXXX";
static char dir_a[64], dir_b[64], file_a[80], file_b[80];

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		_exit(20);
	close(fd);
}

/* Opens path at fd number want. */
static void open_at_fd(const char *path, int want)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0 || (fd != want && (dup2(fd, want) != want || close(fd) < 0)))
		_exit(21);
}

static void hold(int ready_fd)
{
	if (write(ready_fd, "r", 1) != 1)
		_exit(22);
	close(ready_fd);
	for (;;)
		pause();
}

/* C1: namespace B with its own tmpfs; fds 10 (B's tmpfs), 11 (A's tmpfs through B's copy),
 * 12 (A's tmpfs through A's mount, inherited as fd 9). */
static void child_b(int ready_fd)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("scn-tree-b", dir_b, "tmpfs", 0, "size=1m,mode=755") < 0)
		_exit(10);
	put(file_b, "B\n");
	open_at_fd(file_b, 10);
	open_at_fd(file_a, 11);
	if (dup2(9, 12) != 12)
		_exit(11);
	hold(ready_fd);
}

/* C2: stays in A; fd 10 on A's tmpfs. */
static void child_a(int ready_fd)
{
	open_at_fd(file_a, 10);
	hold(ready_fd);
}

static pid_t start(void (*fn)(int))
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		scenario_skip("pipe: %m");
	pid = fork();
	if (pid < 0)
		scenario_skip("fork: %m");
	if (pid == 0) {
		close(p[0]);
		fn(p[1]);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		scenario_skip("a child could not set up its state");
	close(p[0]);
	return pid;
}

static ino_t ns_ino(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	return stat(path, &st) < 0 ? 0 : st.st_ino;
}

struct fd_ref {
	pid_t *pid;
	int fd;
	int ns; /* 0: table A, 1: table B */
	const char *text;
	char *key;
};

static pid_t self_pid, c1, c2;
static struct fd_ref refs[] = {
    {&c1, 10, 1, "B\n", NULL}, {&c1, 11, 1, "A\n", NULL},      {&c1, 12, 0, "A\n", NULL},
    {&c2, 10, 0, "A\n", NULL}, {&self_pid, 9, 0, "A\n", NULL},
};
#define N_REFS (sizeof(refs) / sizeof(refs[0]))

static void cleanup(void)
{
	if (c1 > 0)
		kill(c1, SIGKILL);
	if (c2 > 0)
		kill(c2, SIGKILL);
	while (wait(NULL) > 0)
		;
	umount2(dir_a, MNT_DETACH);
	rmdir(dir_a);
	rmdir(dir_b);
	rmdir(dir);
}

static void check_fd(const struct fd_ref *r, const struct mnt_table *tables)
{
	char path[64], buf[16] = "";
	int id = mnt_id_of_fd(*r->pid, r->fd), fd;
	const char *key = mnt_key_of(&tables[r->ns], id);

	scenario_check(key && !strcmp(key, r->key),
		       "fd %d of task %d: on mount %d ('%s'), was on '%s' of namespace %c", r->fd,
		       (int)*r->pid, id, key ? key : "not in that namespace", r->key, 'A' + r->ns);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)*r->pid, r->fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	scenario_check(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 && !strcmp(buf, r->text),
		       "fd %d of task %d reads '%s', not '%s'", r->fd, (int)*r->pid, buf, r->text);
	close(fd);
}

int main(void)
{
	struct mnt_table before[3], after[3];
	struct mnt_map map = {0};
	int stdin_id;
	const char *diff;

	scenario_private_mounts();
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup); /* however it ends */
	snprintf(dir_a, sizeof(dir_a), "%s/a", dir);
	snprintf(dir_b, sizeof(dir_b), "%s/b", dir);
	snprintf(file_a, sizeof(file_a), "%s/file", dir_a);
	snprintf(file_b, sizeof(file_b), "%s/file", dir_b);
	if (mkdir(dir_a, 0755) < 0 || mkdir(dir_b, 0755) < 0 ||
	    mount("scn-tree-a", dir_a, "tmpfs", 0, "size=1m,mode=755") < 0)
		scenario_skip("cannot mount a tmpfs: %m");
	put(file_a, "A\n");
	open_at_fd(file_a, 9);
	self_pid = getpid();
	c1 = start(child_b);
	c2 = start(child_a);

	if (mnt_table_read(0, &before[0]) < 0 || mnt_table_read(c1, &before[1]) < 0 ||
	    mnt_table_read(c2, &before[2]) < 0)
		scenario_skip("cannot read mountinfo: %m");
	for (size_t i = 0; i < N_REFS; i++) {
		const char *key =
		    mnt_key_of(&before[refs[i].ns], mnt_id_of_fd(*refs[i].pid, refs[i].fd));

		if (!key)
			scenario_skip("fd %d of task %d is not where expected", refs[i].fd,
				      (int)*refs[i].pid);
		refs[i].key = strdup(key);
	}
	stdin_id = mnt_id_of_fd(0, 0);
	if (ns_ino(c1) == ns_ino(self_pid) || ns_ino(c2) != ns_ino(self_pid))
		scenario_skip("the namespaces are not as built");

	scenario_ready();
	scenario_wait();

	scenario_check(ns_ino(c1) && ns_ino(c1) != ns_ino(self_pid),
		       "C1 is no longer in a namespace of its own");
	scenario_check(ns_ino(c2) == ns_ino(self_pid), "C2 no longer shares R's namespace");
	scenario_check(mnt_table_read(0, &after[0]) == 0 && mnt_table_read(c1, &after[1]) == 0 &&
			   mnt_table_read(c2, &after[2]) == 0,
		       "cannot read mountinfo: %m");
	diff = mnt_table_diff(&before[0], &after[0], &map);
	scenario_check(!diff, "namespace A: %s", diff);
	diff = mnt_table_diff(&before[1], &after[1], &map);
	scenario_check(!diff, "namespace B: %s", diff);
	diff = mnt_table_diff(&before[2], &after[2], &map);
	scenario_check(!diff, "namespace A as C2 sees it: %s", diff);
	for (size_t i = 0; i < N_REFS; i++)
		check_fd(&refs[i], after);
	scenario_check(mnt_id_of_fd(0, 0) == stdin_id && !mnt_key_of(&after[0], stdin_id),
		       "stdin is on mount %d, was on the host's mount %d", mnt_id_of_fd(0, 0),
		       stdin_id);
	scenario_pass();
}
