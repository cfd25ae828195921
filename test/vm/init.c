/* init: pid 1 of the kernel-VM lane's initramfs (linked statically by
 * contrib/vm/build-initramfs.sh). It mounts proc, sys, devtmpfs, devpts and /run (/tmp stays on
 * the root filesystem, as on a usual machine: tests derive mount roots from /tmp paths), brings
 * the loopback interface up, loads the modules listed in /vm/modules/load-order (sock_diag's
 * handlers, which the kernel would load through modprobe, absent here), runs
 * /vm/guest-tests.sh with bash, reaps every orphan as soon as it exits (the scenario harness
 * waits for dumped pids to disappear), and powers the machine off. Every line it prints itself
 * starts with "@@vm " so the host can tell them from kernel messages. A guest-side timeout
 * (vm.timeout=S on the kernel command line, default 600) kills the tests if they hang. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char *fmt, const char *arg, int err)
{
	printf("@@vm init: ");
	printf(fmt, arg);
	if (err)
		printf(": %s", strerror(err));
	printf("\n");
	fflush(stdout);
}

static void mnt(const char *src, const char *dst, const char *type, unsigned long flags,
		const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0)
		say("cannot mount %s", dst, errno);
}

/* The loopback interface comes up down in a fresh machine; the socket scenarios talk over it. */
static void loopback_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) < 0))
		say("cannot bring %s up", "lo", errno);
	if (fd >= 0)
		close(fd);
}

/* Loads /vm/modules/NAME.ko for each NAME.ko line of /vm/modules/load-order, in that order
 * (dependencies first); one already there (or built in) is fine. */
static void load_modules(void)
{
	FILE *order = fopen("/vm/modules/load-order", "re");
	char line[256], path[512];
	int n = 0;

	if (!order)
		return;
	while (fgets(line, sizeof(line), order)) {
		int fd;

		line[strcspn(line, "\n")] = 0;
		if (!line[0])
			continue;
		snprintf(path, sizeof(path), "/vm/modules/%s", line);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
			say("cannot load module %s", line, errno);
		else
			n++;
		if (fd >= 0)
			close(fd);
	}
	fclose(order);
	printf("@@vm init: %d modules loaded\n", n);
}

static void poweroff(void)
{
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static int cmdline_timeout(void)
{
	char buf[4096];
	int fd = open("/proc/cmdline", O_RDONLY), timeout = 600;
	ssize_t n;
	char *p;

	if (fd < 0)
		return timeout;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return timeout;
	buf[n] = '\0';
	p = strstr(buf, "vm.timeout=");
	if (p && atoi(p + strlen("vm.timeout=")) > 0)
		timeout = atoi(p + strlen("vm.timeout="));
	return timeout;
}

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

int main(void)
{
	char *const argv[] = {"bash", "/vm/guest-tests.sh", NULL};
	char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/root",
			      "TERM=dumb", "LANG=C", "TMPDIR=/tmp", NULL};
	struct sigaction sa = {.sa_handler = on_alarm};
	int status = 0, timeout;
	pid_t child, pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	mnt("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mnt("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mnt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL);
	mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, NULL);
	mnt("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755");
	loopback_up();
	load_modules();
	timeout = cmdline_timeout();

	child = fork();
	if (child < 0) {
		say("fork: %s", "", errno);
		poweroff();
	}
	if (child == 0) {
		setsid();
		/* the console is the tests' stdin/stdout/stderr */
		execve("/bin/bash", argv, envp);
		say("cannot exec %s", "/bin/bash", errno);
		_exit(127);
	}

	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned)timeout);
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid == child)
			break;
		if (pid < 0 && errno == EINTR && timed_out) {
			say("guest tests still running after the timeout (%s): killing them", "vm.timeout",
			    0);
			kill(-child, SIGKILL);
			kill(-1, SIGKILL);
			timed_out = 0;
		} else if (pid < 0 && errno == ECHILD) {
			break;
		}
	}
	if (WIFEXITED(status))
		printf("@@vm done exit %d\n", WEXITSTATUS(status));
	else
		printf("@@vm done signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	/* leftovers of a failed test must not keep anything open */
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	poweroff();
	return 0;
}
