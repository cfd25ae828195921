/* Locks minicr cannot restore, which the dump must refuse with one line while the process keeps
 * them: $LOCKS_REFUSED_CASE is "mapping" (a flock held through a memory mapping whose fd was
 * closed) or "breaking" (a write lease that another process has started to break). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"

static char dir[] = "/tmp/minicr-scn-locks-refused.XXXXXX";
static char path[128];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const char *which = getenv("LOCKS_REFUSED_CASE");
	int fd, probe;
	void *map = NULL;

	if (!which)
		which = "mapping";
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		scenario_skip("cannot create '%s': %m", path);
	if (strcmp(which, "mapping") == 0) {
		if (flock(fd, LOCK_EX) < 0)
			scenario_skip("flock: %m");
		map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			scenario_skip("mmap: %m");
		close(fd);
	} else {
		pid_t pid;
		int status;

		signal(SIGIO, SIG_IGN);
		if (fcntl(fd, F_SETLEASE, F_WRLCK) < 0)
			scenario_skip("F_SETLEASE: %m");
		pid = fork();
		if (pid == 0)
			_exit(open(path, O_RDONLY | O_NONBLOCK) < 0 && errno == EWOULDBLOCK ? 0
											    : 1);
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			scenario_skip("cannot start breaking the lease");
	}

	scenario_ready();
	scenario_wait();

	probe = open(path, O_RDWR | O_NONBLOCK);
	if (strcmp(which, "mapping") == 0) {
		scenario_check(probe >= 0 && flock(probe, LOCK_EX | LOCK_NB) < 0 &&
				   errno == EWOULDBLOCK,
			       "the flock held through the mapping is gone");
		munmap(map, 4096);
	} else {
		scenario_check(fcntl(fd, F_GETLEASE) == F_RDLCK || fcntl(fd, F_GETLEASE) == F_UNLCK,
			       "the lease is not being broken: %d", fcntl(fd, F_GETLEASE));
	}
	scenario_pass();
}
