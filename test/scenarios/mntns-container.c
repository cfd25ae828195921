/* Container-like tasks. C1 builds a root of its own (a tmpfs holding binds of the host's /usr and
 * of the directory of this program, so it keeps running after the old root is gone),
 * pivot_root()s into it, drops the old root, mounts its own /proc and a tmpfs on /tmp with a
 * file open, and makes its root read-only. C2 chroot()s into a tmpfs of its own namespace with
 * its own /proc inside. After the restore each one checks itself: its mountinfo (read through
 * its own /proc) the same as before with ids, groups and devices mapped, its fd on the same
 * mount, the root still read-only, /proc its own. The root task only reports their verdicts. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mounts.h"
#include "scenario.h"

static char dir[] = "/tmp/minicr-scn-container.XXXXXX";
static char root1[64], root2[64];

static void die(int code, const char *what)
{
	fprintf(stderr, "container: %s: %m\n", what);
	_exit(code);
}

static void mkdirs(const char *path)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		(void)mkdir(buf, 0755);
		*p = '/';
	}
	(void)mkdir(buf, 0755);
}

/* host's path in the new root: a bind of a directory, the same symlink for a symlink */
static void carry(const char *root, const char *host)
{
	char at[PATH_MAX], target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(host, &st) < 0)
		return;
	snprintf(at, sizeof(at), "%s%s", root, host);
	if (S_ISLNK(st.st_mode)) {
		n = readlink(host, target, sizeof(target) - 1);
		if (n < 0)
			die(30, "readlink");
		target[n] = '\0';
		if (symlink(target, at) < 0 && errno != EEXIST)
			die(31, "symlink");
		return;
	}
	mkdirs(at);
	if (mount(host, at, NULL, MS_BIND | MS_REC, NULL) < 0)
		die(32, "bind");
}

/* Leaves only what lies under keep (and '/') mounted: an initramfs root cannot be pivoted away
 * from, so there the new root is moved onto '/' instead. */
static void leave_only(const char *keep)
{
	struct mnt_table t;

	if (mnt_table_read(0, &t) < 0)
		die(33, "mountinfo");
	for (size_t i = t.n; i-- > 0;) {
		const char *mp = t.lines[i].mountpoint;

		if (strcmp(mp, "/") && strncmp(mp, keep, strlen(keep)))
			(void)umount2(mp, MNT_DETACH);
	}
	mnt_table_free(&t);
}

static void enter_root(const char *root)
{
	char old[PATH_MAX];

	snprintf(old, sizeof(old), "%s/old", root);
	if (mkdir(old, 0755) < 0)
		die(34, "mkdir old");
	if (syscall(SYS_pivot_root, root, old) == 0) {
		if (chdir("/") < 0 || umount2("/old", MNT_DETACH) < 0 || rmdir("/old") < 0)
			die(35, "drop the old root");
		return;
	}
	if (errno != EINVAL)
		die(36, "pivot_root");
	rmdir(old);
	leave_only(root);
	if (chdir(root) < 0 || mount(root, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		die(37, "switch root");
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(38, path);
	close(fd);
}

/* After the restore: the same mounts, the fd on the same one, read-only root, own /proc. */
static int check(struct mnt_table *before, const char *fd_key, bool is_ro)
{
	struct mnt_table after;
	struct mnt_map map = {0};
	char buf[32] = "", status[4096];
	const char *diff, *key;
	FILE *f;
	int pid = -1;

	if (mnt_table_read(0, &after) < 0) {
		fprintf(stderr, "container: cannot read its mountinfo: %m\n");
		return 40;
	}
	diff = mnt_table_diff(before, &after, &map);
	if (diff) {
		fprintf(stderr, "container %d: %s\n", (int)getpid(), diff);
		return 41;
	}
	key = mnt_key_of(&after, mnt_id_of_fd(0, 10));
	if (!key || strcmp(key, fd_key) || pread(10, buf, sizeof(buf) - 1, 0) <= 0 ||
	    strcmp(buf, "inside\n")) {
		fprintf(stderr, "container: fd 10 on '%s' reads '%s'\n", key ? key : "?", buf);
		return 42;
	}
	if (is_ro && (mkdir("/new", 0755) == 0 || errno != EROFS)) {
		fprintf(stderr, "container: its root is not read-only\n");
		return 43;
	}
	f = fopen("/proc/self/status", "re");
	while (f && fgets(status, sizeof(status), f))
		if (sscanf(status, "Pid: %d", &pid) == 1)
			break;
	if (f)
		fclose(f);
	if (pid != getpid()) {
		fprintf(stderr, "container: /proc/self is %d, not %d\n", pid, (int)getpid());
		return 44;
	}
	return 0;
}

static void wait_usr1(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigwait(&set, &sig) != 0)
		_exit(39);
}

static void ready(int ready_fd, struct mnt_table *before, char **fd_key)
{
	const char *key;

	if (mnt_table_read(0, before) < 0)
		die(45, "mountinfo");
	key = mnt_key_of(before, mnt_id_of_fd(0, 10));
	if (!key)
		die(46, "fd 10 is on no mount of its namespace");
	*fd_key = strdup(key);
	if (write(ready_fd, "r", 1) != 1)
		die(47, "ready");
	close(ready_fd);
}

/* C1: pivot_root into a tmpfs root, own /proc and /tmp, read-only root. */
static void container(int ready_fd)
{
	char exe[PATH_MAX], exe_dir[PATH_MAX];
	struct mnt_table before;
	char *fd_key;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		die(20, "readlink exe");
	exe[n] = '\0';
	snprintf(exe_dir, sizeof(exe_dir), "%s", dirname(exe));
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("scn-container-root", root1, "tmpfs", 0, "size=1m,mode=755") < 0)
		die(21, "root tmpfs");
	for (const char *const *p = (const char *const[]){"/usr", "/lib", "/lib64", "/bin", NULL};
	     *p; p++)
		carry(root1, *p);
	carry(root1, exe_dir);
	snprintf(exe, sizeof(exe), "%s/proc", root1);
	mkdir(exe, 0555);
	snprintf(exe, sizeof(exe), "%s/tmp", root1);
	mkdir(exe, 01777);
	enter_root(root1);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
	    mount("scn-container-tmp", "/tmp", "tmpfs", MS_NOSUID, "size=1m") < 0)
		die(22, "proc and tmp");
	put("/tmp/state", "inside\n");
	if (dup2(open("/tmp/state", O_RDONLY), 10) != 10)
		die(23, "fd 10");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		die(24, "read-only root");
	ready(ready_fd, &before, &fd_key);
	wait_usr1();
	_exit(check(&before, fd_key, true));
}

/* C2: chroot into a tmpfs of its namespace with its own /proc. */
static void chrooted(int ready_fd)
{
	char path[PATH_MAX];
	struct mnt_table before;
	char *fd_key;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("scn-chroot-root", root2, "tmpfs", 0, "size=1m,mode=755") < 0)
		die(25, "chroot tmpfs");
	snprintf(path, sizeof(path), "%s/proc", root2);
	if (mkdir(path, 0555) < 0 || mount("proc", path, "proc", 0, NULL) < 0)
		die(26, "chroot proc");
	snprintf(path, sizeof(path), "%s/state", root2);
	put(path, "inside\n");
	if (chroot(root2) < 0 || chdir("/") < 0)
		die(27, "chroot");
	if (dup2(open("/state", O_RDONLY), 10) != 10)
		die(28, "fd 10");
	ready(ready_fd, &before, &fd_key);
	wait_usr1();
	_exit(check(&before, fd_key, false));
}

static pid_t start(void (*fn)(int))
{
	int p[2], status;
	char c;
	pid_t pid;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
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
	if (read(p[0], &c, 1) != 1) {
		waitpid(pid, &status, 0);
		scenario_skip("a container could not set itself up (status %d)",
			      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	close(p[0]);
	return pid;
}

static void verdict(pid_t pid, const char *who)
{
	int status;

	kill(pid, SIGUSR1);
	scenario_check(waitpid(pid, &status, 0) == pid, "cannot wait for %s: %m", who);
	scenario_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "%s's check failed (status 0x%x; its reason is in the scenario's output)",
		       who, status);
}

static pid_t c1, c2;

/* Whatever the scenario made, however it ends (the roots are mounted in the children's
 * namespaces only, which go with them). */
static void cleanup(void)
{
	if (c1 > 0)
		kill(c1, SIGKILL);
	if (c2 > 0)
		kill(c2, SIGKILL);
	while (wait(NULL) > 0)
		;
	rmdir(root1);
	rmdir(root2);
	rmdir(dir);
}

int main(void)
{
	scenario_private_mounts();
	if (!mkdtemp(dir))
		scenario_skip("mkdtemp: %m");
	atexit(cleanup);
	snprintf(root1, sizeof(root1), "%s/root1", dir);
	snprintf(root2, sizeof(root2), "%s/root2", dir);
	if (mkdir(root1, 0755) < 0 || mkdir(root2, 0755) < 0)
		scenario_skip("mkdir: %m");
	c1 = start(container);
	c2 = start(chrooted);

	scenario_ready();
	scenario_wait();

	verdict(c1, "the pivot_root container");
	verdict(c2, "the chroot container");
	c1 = c2 = 0;
	scenario_pass();
}
