/* A pipe with unread data in it, and both ends open in the same task. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"

int main(void)
{
	int p[2];
	char buf[16] = "";

	if (pipe(p) < 0)
		scenario_skip("pipe: %m");
	if (write(p[1], "hello", 5) != 5)
		scenario_skip("write: %m");

	scenario_ready();
	scenario_wait();

	fcntl(p[0], F_SETFL, O_NONBLOCK);
	scenario_check(read(p[0], buf, sizeof(buf)) == 5, "pipe holds %zd bytes", strlen(buf));
	scenario_check(memcmp(buf, "hello", 5) == 0, "pipe data '%.5s'", buf);
	scenario_check(write(p[1], "x", 1) == 1 && read(p[0], buf, 1) == 1 && buf[0] == 'x',
		       "the two ends are no longer one pipe");
	scenario_pass();
}
