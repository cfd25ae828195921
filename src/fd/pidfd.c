/* fd/pidfd.c: pidfds. Dump: the process from fdinfo's "Pid:" line, which must be a process of
 * the tree (seized by this dump) or one that has exited (-1); PIDFD_THREAD from the flags. A
 * pidfd of a thread other than a leader is refused: threads come back only when their process
 * resumes, after every fd is in place. Restore: opened late, once every task of the tree exists
 * (pidfd_open on the same pid). A pidfd of an exited process is opened on a helper child that
 * then exits with the same wait status and is reaped, so waitid(P_PIDFD) and poll behave as
 * before; every pidfd of one exited process refers to one helper, as they referred to one
 * process. */
#define LOG_PREFIX "fd-pidfd: "
#include "fd/kind.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/util.h"
#include "image-set/image-set.h"

/* Kept in the restore context per exited process: a pidfd on its helper, the helper's pipe. */
#define KEEP_DEAD_PIDFD	 FD_KEEP_TAG(FD_TYPE__FD_TYPE_PIDFD, 0)
#define KEEP_DEAD_WRITER FD_KEEP_TAG(FD_TYPE__FD_TYPE_PIDFD, 1)

static bool pidfd_recognise(const struct fd_params *p)
{
	return strcmp(p->link, "anon_inode:[pidfd]") == 0 && p->fdinfo;
}

static int fdinfo_pid(const char *text, size_t len, int64_t *ret)
{
	const char *val;
	size_t val_len;
	int r = fdinfo_get(text, len, "Pid", &val, &val_len);

	return r < 0 ? r : fdinfo_parse_s64(val, val + val_len, ret);
}

/* A line of /proc/TID/status as a number, or -1. */
static long status_field(pid_t tid, const char *key)
{
	cleanup_free char *text = NULL;
	char path[64];
	const char *val;
	size_t val_len;
	uint64_t v;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	len = read_file_at(AT_FDCWD, path, &text);
	if (len < 0 || fdinfo_get(text, (size_t)len, key, &val, &val_len) < 0 ||
	    fdinfo_parse_u64(val, val + val_len, 10, &v) < 0)
		return -1;
	return (long)v;
}

/* Every thread of the tree is seized by this dump: a pid traced by minicr is one of its. */
static int check_in_tree(const struct fd_params *p, pid_t pid)
{
	long tgid;

	if (status_field(pid, "TracerPid") != (long)getpid()) {
		pr_err("cannot dump pidfd fd %d of task %d: process %d is not in the dumped tree",
		       p->fd, (int)p->pid, (int)pid);
		return -ENOTSUP;
	}
	tgid = status_field(pid, "Tgid");
	if (tgid != (long)pid) {
		pr_err("cannot dump pidfd fd %d of task %d: %d is a thread of process %ld, and "
		       "threads exist again only when their process resumes",
		       p->fd, (int)p->pid, (int)pid, tgid);
		return -ENOTSUP;
	}
	return 0;
}

static int pidfd_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	PidfdFileEntry *pe = FD_DUMP_NEW(ctx, PidfdFileEntry, PIDFD_FILE_ENTRY__INIT);
	int64_t pid;
	int r;

	if (!pe)
		return -ENOMEM;
	r = fdinfo_pid(p->fdinfo, p->fdinfo_len, &pid);
	if (r < 0 || pid < -1 || pid > INT32_MAX) {
		pr_err("cannot parse the fdinfo of pidfd fd %d of task %d", p->fd, (int)p->pid);
		return -EINVAL;
	}
	if (pid == 0) {
		pr_err("cannot dump pidfd fd %d of task %d: its process is in no pid namespace "
		       "minicr sees",
		       p->fd, (int)p->pid);
		return -ENOTSUP;
	}
	pe->has_pid = pe->has_thread = true;
	pe->thread = (p->info.flags & PIDFD_THREAD) != 0;
	if (pid > 0) {
		r = check_in_tree(p, (pid_t)pid);
		if (r < 0)
			return r;
		pe->pid = (int32_t)pid;
	} else {
		struct minicr_pidfd_info info = {.mask = MINICR_PIDFD_INFO_EXIT};

		pe->has_dead_id = true;
		pe->dead_id = p->st.st_ino;
		/* the exit status of a reaped process is kept from Linux 6.15 on */
		if (ioctl(p->local_fd, MINICR_PIDFD_GET_INFO, &info) == 0 &&
		    (info.mask & MINICR_PIDFD_INFO_EXIT)) {
			pe->has_exit_status = true;
			pe->exit_status = info.exit_code;
		}
	}
	fe->pidfd = pe;
	return 0;
}

static int pidfd_validate(const struct image_set *set, size_t rec, const FileEntry *fe)
{
	const PidfdFileEntry *pe = fe->pidfd;

	if (!pe || !pe->has_pid)
		return image_set_bad(set, "files.img record %zu: pidfd file %u has no process", rec,
				     fe->id);
	if (pe->pid == 0) {
		if (!pe->has_dead_id)
			return image_set_bad(set,
					     "files.img record %zu: pidfd file %u of an exited "
					     "process has no id",
					     rec, fe->id);
		return 0;
	}
	for (size_t i = 0; i < set->n_tasks; i++)
		if (set->tasks[i].pst->pid == pe->pid)
			return 0;
	return image_set_bad(set,
			     "files.img record %zu: pidfd file %u refers to process %d, absent "
			     "from pstree.img",
			     rec, fe->id, pe->pid);
}

/* ---- exited processes ---- */

/* The helper: waits for its pipe to close, then ends as the exited process ended. */
static void __attribute__((noreturn)) helper_main(int rfd, const PidfdFileEntry *pe)
{
	int status = pe->has_exit_status ? pe->exit_status : 0;
	sigset_t all;
	char c;

	if (rfd != 3 && dup2(rfd, 3) < 0)
		_exit(127);
	(void)syscall(SYS_close_range, 4U, ~0U, 0U);
	(void)prctl(PR_SET_DUMPABLE, 0); /* a signal that dumps core writes none */
	while (read(3, &c, 1) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		raise(WTERMSIG(status));
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 0);
}

static void reap_helper(void *arg)
{
	pid_t pid = (pid_t)(intptr_t)arg;

	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Starts the helper of an exited process; it lives until the restore context is freed.
 * Returns a pidfd on it (kept) or -errno (logged). */
static int start_helper(struct fd_restore_ctx *ctx, const FileEntry *fe)
{
	const PidfdFileEntry *pe = fe->pidfd;
	int pipefd[2], pidfd, r;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return pr_errno("cannot make the pipe of a helper for pidfd file %u", fe->id);
	pid = fork();
	if (pid == 0)
		helper_main(pipefd[0], pe);
	close(pipefd[0]);
	if (pid < 0) {
		r = pr_errno("cannot start a helper for pidfd file %u", fe->id);
		close(pipefd[1]);
		return r;
	}
	/* freed last: the writer closes, the helper ends, then it is reaped */
	r = fd_restore_defer(ctx, reap_helper, (void *)(intptr_t)pid);
	if (r < 0) {
		close(pipefd[1]);
		reap_helper((void *)(intptr_t)pid);
		return r;
	}
	r = fd_restore_keep(ctx, KEEP_DEAD_WRITER, pe->dead_id, pipefd[1]);
	if (r < 0)
		return r;
	pidfd = sys_pidfd_open(pid, 0);
	if (pidfd < 0)
		return pr_errno("cannot open a pidfd on helper %d", (int)pid);
	r = fd_restore_keep(ctx, KEEP_DEAD_PIDFD, pe->dead_id, pidfd);
	return r < 0 ? r : pidfd;
}

/* The helper's pid, from the fdinfo of a pidfd on it. */
static pid_t helper_pid(int pidfd)
{
	cleanup_free char *text = NULL;
	char path[64];
	int64_t pid;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	len = read_file_at(AT_FDCWD, path, &text);
	if (len < 0 || fdinfo_pid(text, (size_t)len, &pid) < 0 || pid <= 0)
		return -ESRCH;
	return (pid_t)pid;
}

static int pidfd_open_file(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	const PidfdFileEntry *pe = fe->pidfd;
	unsigned int flags = pe->thread ? PIDFD_THREAD : 0;
	pid_t pid = pe->pid;
	int fd;

	if (pid == 0) {
		int helper = fd_restore_lookup(ctx, KEEP_DEAD_PIDFD, pe->dead_id);

		if (helper < 0)
			helper = start_helper(ctx, fe);
		if (helper < 0)
			return helper;
		pid = helper_pid(helper);
		if (pid < 0) {
			pr_err("cannot restore pidfd file %u: its helper is gone", fe->id);
			return (int)pid;
		}
	}
	fd = sys_pidfd_open(pid, flags);
	if (fd < 0)
		return pr_errno("cannot open a pidfd on process %d for file %u", (int)pid, fe->id);
	*ret_fd = fd;
	return 0;
}

const struct fd_kind fd_kind_pidfd = {
    .name = "pidfd",
    .type = FD_TYPE__FD_TYPE_PIDFD,
    .recognise = pidfd_recognise,
    .dump = pidfd_dump,
    .validate = pidfd_validate,
    .open = pidfd_open_file,
    .opens_late = true,
};
