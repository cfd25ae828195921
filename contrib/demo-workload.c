/* demo-workload: the README demo's workload. In a private mount namespace it mounts a tmpfs,
 * binds a subdirectory of it, remounts the bind nosuid,nodev, opens a journal through the
 * bind and then lazily unmounts the bind: from then on the journal fd is on a detached mount
 * that no mount table lists. It appends one numbered line a tick to the journal and to stdout,
 * and every tick checks that the journal still holds exactly the lines it wrote. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "demo-workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	char base[] = "/tmp/minicr-demo.XXXXXX", a[64], b[64], sub[80], path[96];
	struct timespec tick = {0, 200 * 1000 * 1000};
	unsigned long n = 0;
	int journal;

	(void)argc;
	(void)argv;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("private mount namespace");
	if (!mkdtemp(base))
		die("mkdtemp");
	snprintf(a, sizeof(a), "%s/fs", base);
	snprintf(b, sizeof(b), "%s/bind", base);
	snprintf(sub, sizeof(sub), "%s/data", a);
	if (mkdir(a, 0700) < 0 || mkdir(b, 0700) < 0)
		die("mkdir");
	if (mount("demo", a, "tmpfs", 0, "size=4m") < 0 || mkdir(sub, 0700) < 0)
		die("mount tmpfs");
	if (mount(sub, b, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, b, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL) < 0)
		die("bind mount");
	snprintf(path, sizeof(path), "%s/journal", b);
	journal = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (journal < 0)
		die("open journal");
	if (umount2(b, MNT_DETACH) < 0)
		die("umount2(MNT_DETACH)");
	printf("demo-workload: pid %d, journal fd %d on a detached bind mount of %s\n",
	       (int)getpid(), journal, base);
	fflush(stdout);

	for (;;) {
		char line[64];
		int len = snprintf(line, sizeof(line), "tick %lu\n", ++n);
		off_t size;

		if (write(journal, line, (size_t)len) != len)
			die("append to journal");
		size = lseek(journal, 0, SEEK_END);
		printf("tick %lu (journal %lld bytes)\n", n, (long long)size);
		fflush(stdout);
		nanosleep(&tick, NULL);
	}
}
