/* A tree holding a socket minicr does not restore (a netlink socket): the dump must fail with
 * one line naming it, and the task must carry on untouched. The driver expects the dump to fail
 * and then sends SIGUSR1 to this same, never-restored process, which checks that its netlink
 * socket and a socketpair with queued data next to it still work. */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scenario.h"

int main(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	socklen_t len = sizeof(sa);
	int sv[2], nl;
	char buf[8] = "";

	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl < 0 || bind(nl, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		scenario_skip("netlink socket: %m");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		scenario_skip("socketpair: %m");
	if (write(sv[0], "ping", 4) != 4)
		scenario_skip("write: %m");

	scenario_ready();
	scenario_wait();

	scenario_check(read(sv[1], buf, sizeof(buf)) == 4 && memcmp(buf, "ping", 4) == 0,
		       "socket data lost by the failed dump");
	scenario_check(getsockname(nl, (struct sockaddr *)&sa, &len) == 0 &&
			   sa.nl_family == AF_NETLINK,
		       "the netlink socket is damaged");
	scenario_pass();
}
