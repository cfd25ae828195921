/* launch: start a scenario the way a C/R test needs it: its own session, no inherited fds above
 * 2 (a dumper would faithfully dump them), then exec. Usage: launch PROGRAM [ARGS...] */
#include <stdio.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: launch PROGRAM [ARGS...]\n");
		return 2;
	}
	if (syscall(SYS_close_range, 3U, ~0U, 0) < 0) {
		perror("launch: close_range");
		return 1;
	}
	if (setsid() < 0) {
		perror("launch: setsid");
		return 1;
	}
	execv(argv[1], argv + 1);
	fprintf(stderr, "launch: cannot exec '%s': %m\n", argv[1]);
	return 127;
}
