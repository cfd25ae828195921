/* A process with a thread and a child, in whatever cgroups it was started in: run.sh starts it
 * in the driver's own, test/integration/test-cgroups.sh in cgroups of its own in every
 * hierarchy it can write. Before it is ready it records what /proc shows for each (the
 * process's /proc/PID/cgroup, the thread's /proc/PID/task/TID/cgroup, the child's); after the
 * dump, and the restore, each must read the same: restore put the tasks back into their
 * cgroups instead of leaving them in minicr's, and the thread went along with its process. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

#define CGROUP_TEXT 4096

static int thread_pipe[2];
static pid_t thread_tid;

/* Everything /proc shows at path, or "" when it cannot be read (a task gone). */
static void read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

static void *thread_main(void *arg)
{
	char c;

	(void)arg;
	__atomic_store_n(&thread_tid, gettid(), __ATOMIC_SEQ_CST);
	/* blocked until the main thread ends it */
	(void)read(thread_pipe[0], &c, 1);
	return NULL;
}

/* Reads the cgroups of the process, its thread and its child into a, b and c. */
static void read_all(pid_t child, char a[CGROUP_TEXT], char b[CGROUP_TEXT], char c[CGROUP_TEXT])
{
	char path[64];

	read_text("/proc/self/cgroup", a, CGROUP_TEXT);
	snprintf(path, sizeof(path), "/proc/self/task/%d/cgroup", (int)thread_tid);
	read_text(path, b, CGROUP_TEXT);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)child);
	read_text(path, c, CGROUP_TEXT);
}

/* The first line where two texts differ, for the verdict. */
static const char *first_difference(const char *was, const char *is, char *buf, size_t size)
{
	while (*was && *is) {
		size_t a = strcspn(was, "\n"), b = strcspn(is, "\n");

		if (a != b || memcmp(was, is, a) != 0) {
			snprintf(buf, size, "'%.*s' is now '%.*s'", (int)a, was, (int)b, is);
			return buf;
		}
		was += a + (was[a] ? 1 : 0);
		is += b + (is[b] ? 1 : 0);
	}
	snprintf(buf, size, "the list of hierarchies changed");
	return buf;
}

int main(void)
{
	static char before[3][CGROUP_TEXT], after[3][CGROUP_TEXT];
	static const char *const who[3] = {"the process", "its thread", "its child"};
	int child_pipe[2], status;
	pthread_t thread;
	sigset_t usr1;
	pid_t child;
	char c, diff[256];

	/* the thread and the child block SIGUSR1: the driver's signal is the main thread's */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (pipe2(thread_pipe, O_CLOEXEC) < 0 || pipe2(child_pipe, O_CLOEXEC) < 0)
		scenario_skip("pipe2: %m");
	child = fork();
	if (child < 0)
		scenario_skip("fork: %m");
	if (child == 0) {
		close(child_pipe[1]);
		close(thread_pipe[0]);
		close(thread_pipe[1]);
		_exit(read(child_pipe[0], &c, 1) == 0 ? 0 : 1);
	}
	close(child_pipe[0]);
	if (pthread_create(&thread, NULL, thread_main, NULL))
		scenario_skip("pthread_create");
	while (!__atomic_load_n(&thread_tid, __ATOMIC_SEQ_CST))
		usleep(1000);
	read_all(child, before[0], before[1], before[2]);
	/* empty where no hierarchy was ever mounted (a bare VM guest): nothing to compare */
	for (int i = 0; i < 3; i++)
		if (!before[i][0])
			scenario_skip("/proc shows no cgroup of %s: no cgroup hierarchy is mounted",
				      who[i]);

	scenario_ready();
	scenario_wait();

	read_all(child, after[0], after[1], after[2]);
	close(child_pipe[1]);
	close(thread_pipe[1]);
	pthread_join(thread, NULL);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		scenario_fail("the child did not end as it should (status 0x%x)", status);
	for (int i = 0; i < 3; i++)
		scenario_check(strcmp(before[i], after[i]) == 0, "the cgroups of %s changed: %s",
			       who[i], first_difference(before[i], after[i], diff, sizeof(diff)));
	scenario_pass();
}
