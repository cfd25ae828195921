/* A tree holding an fd kind minicr does not support (a unix socket): the dump must fail with
 * one line naming it, and the task must carry on untouched. The driver expects the dump to fail
 * and then sends SIGUSR1 to this same, never-restored process. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scenario.h"

int main(void)
{
	int sv[2];
	char buf[8] = "";

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		scenario_skip("socketpair: %m");
	if (write(sv[0], "ping", 4) != 4)
		scenario_skip("write: %m");

	scenario_ready();
	scenario_wait();

	scenario_check(read(sv[1], buf, sizeof(buf)) == 4 && memcmp(buf, "ping", 4) == 0,
		       "socket data lost by the failed dump");
	scenario_pass();
}
