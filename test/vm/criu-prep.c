/* criu-prep: what CRIU needs in the CRIU lane's guest and nothing else there provides (linked
 * statically by contrib/vm/run-criu-lane.sh; the guest has neither kmod nor iproute2):
 *   - the loopback interface up: CRIU's kernel feature probes connect a TCP socket to
 *     127.0.0.1, and a dump without them stops at "Could not initialize kernel features";
 *   - the socket-diag modules, loaded in the order given with finit_module(2): CRIU asks the
 *     kernel about every socket of a tree through sock_diag, and Debian's cloud kernel builds
 *     those as modules. A module already loaded (or built in) is fine.
 * Usage: criu-prep [MODULE.ko...]; exit 0 when all of it is done. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int loopback_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = -1;

	if (fd < 0) {
		perror("criu-prep: socket");
		return -1;
	}
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	if (r < 0)
		perror("criu-prep: cannot bring 'lo' up");
	close(fd);
	return r;
}

int main(int argc, char **argv)
{
	int status = loopback_up() < 0;

	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)) {
			fprintf(stderr, "criu-prep: %s: %s\n", argv[i], strerror(errno));
			status = 1;
		}
		if (fd >= 0)
			close(fd);
	}
	return status;
}
