/* Propagation across three namespaces of the tree: the root task R has a shared tmpfs in
 * namespace A (peer group X); its child C1 unshared namespace B and made its copy a slave of X
 * that is shared again (group Y); C1's child C2 unshared namespace C and made its copy a slave
 * of Y. Before the dump R saves the three tables. After the restore each table must be the same
 * with peer groups mapped one to one across all three (so the chain shared -> slave+shared ->
 * slave is the same graph), and the graph must work: a mount R makes in A appears in B and C,
 * one made in B appears in C but not in A, one made in C stays in C. */
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

static char dir[] = "/tmp/minicr-scn-prop.XXXXXX";
static char top[64], probe_a[80], probe_b[80], probe_c[80];
static pid_t c1, c2;

static void hold(int ready_fd)
{
	if (write(ready_fd, "r", 1) != 1)
		_exit(22);
	close(ready_fd);
	for (;;)
		pause();
}

/* A private copy of the caller's namespace where top becomes a slave (shared again too). */
static void make_ns(bool shared_again)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, top, NULL, MS_SLAVE, NULL) < 0 ||
	    (shared_again && mount(NULL, top, NULL, MS_SHARED, NULL) < 0))
		_exit(10);
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
		scenario_skip("a child could not set up its namespace");
	close(p[0]);
	return pid;
}

static void child_c(int ready_fd)
{
	make_ns(false);
	hold(ready_fd);
}

static void child_b(int ready_fd)
{
	make_ns(true);
	c2 = start(child_c);
	hold(ready_fd);
}

/* Mounts a tmpfs on path from inside the namespace of task pid (0: R's own). */
static bool mount_in(pid_t pid, const char *path)
{
	char ns[64];
	int status;
	pid_t h = fork();

	if (h == 0) {
		int fd;

		snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)pid);
		fd = open(ns, O_RDONLY | O_CLOEXEC);
		if (pid && (fd < 0 || setns(fd, CLONE_NEWNS) < 0))
			_exit(1);
		_exit(mount("scn-prop-probe", path, "tmpfs", 0, "size=64k") < 0 ? 2 : 0);
	}
	return h > 0 && waitpid(h, &status, 0) == h && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static bool sees(pid_t pid, const char *path)
{
	struct mnt_table t;
	bool found = false;

	if (mnt_table_read(pid, &t) < 0)
		return false;
	for (size_t i = 0; i < t.n; i++)
		found |= !strcmp(t.lines[i].mountpoint, path);
	mnt_table_free(&t);
	return found;
}

static void cleanup(void)
{
	if (c2 > 0)
		kill(c2, SIGKILL);
	if (c1 > 0)
		kill(c1, SIGKILL);
	while (wait(NULL) > 0)
		;
	umount2(probe_a, MNT_DETACH);
	umount2(top, MNT_DETACH);
	rmdir(top);
	rmdir(dir);
}

int main(void)
{
	struct mnt_table before[3], after[3];
	struct mnt_map map = {0};
	pid_t pids[3];
	const char *diff;
	char path[96];

	scenario_private_mounts();
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup); /* however it ends */
	snprintf(top, sizeof(top), "%s/t", dir);
	snprintf(probe_a, sizeof(probe_a), "%s/a", top);
	snprintf(probe_b, sizeof(probe_b), "%s/b", top);
	snprintf(probe_c, sizeof(probe_c), "%s/c", top);
	if (mkdir(top, 0755) < 0 || mount("scn-prop", top, "tmpfs", 0, "size=1m") < 0 ||
	    mkdir(probe_a, 0755) < 0 || mkdir(probe_b, 0755) < 0 || mkdir(probe_c, 0755) < 0 ||
	    mount(NULL, top, NULL, MS_SHARED, NULL) < 0)
		scenario_skip("cannot set up a shared tmpfs: %m");
	/* C1 (namespace B) creates C2 (namespace C); R learns C2's pid from C1's children */
	c1 = start(child_b);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)c1, (int)c1);
	{
		FILE *f = fopen(path, "re");

		if (!f || fscanf(f, "%d", &c2) != 1)
			scenario_skip("cannot find C2: %m");
		fclose(f);
	}
	pids[0] = 0, pids[1] = c1, pids[2] = c2;
	for (int i = 0; i < 3; i++)
		if (mnt_table_read(pids[i], &before[i]) < 0)
			scenario_skip("cannot read mountinfo: %m");

	scenario_ready();
	scenario_wait();

	for (int i = 0; i < 3; i++) {
		scenario_check(mnt_table_read(pids[i], &after[i]) == 0,
			       "cannot read mountinfo: %m");
		diff = mnt_table_diff(&before[i], &after[i], &map);
		scenario_check(!diff, "namespace %c: %s", 'A' + i, diff);
	}
	scenario_check(mount_in(0, probe_a), "cannot mount in A: %m");
	scenario_check(sees(c1, probe_a) && sees(c2, probe_a),
		       "a mount in A does not propagate to its slaves B and C");
	scenario_check(mount_in(c1, probe_b), "cannot mount in B");
	scenario_check(sees(c2, probe_b) && !sees(0, probe_b),
		       "a mount in B does not propagate to C only");
	scenario_check(mount_in(c2, probe_c), "cannot mount in C");
	scenario_check(!sees(0, probe_c) && !sees(c1, probe_c),
		       "a mount in C propagates back to its masters");
	scenario_pass();
}
