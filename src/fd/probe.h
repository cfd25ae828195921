/* fd/probe.h: the facts about each fd of a task that need no other fd: stat, mount id, flags,
 * offset, fdinfo where the local copy cannot tell, and the link text. They are the bulk of
 * an fd dump's syscalls, so large tables are probed on several threads; sharing detection and
 * classification, which compare fds, stay serial in fd.c. Logs nothing from the threads: the
 * first failure is kept and logged by fd_probe_report() in fd order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fd/fdinfo-parse.h"

struct fd_local;

/* What failed while probing one fd, for the log line. */
enum fd_probe_step {
	FD_PROBE_OK,
	FD_PROBE_STAT,
	FD_PROBE_FLAGS,
	FD_PROBE_OFFSET,
	FD_PROBE_FDINFO_OPEN,
	FD_PROBE_FDINFO_READ,
	FD_PROBE_FDINFO_PARSE,
	FD_PROBE_LINK,
	FD_PROBE_SOCKET,
};

struct fd_probe {
	struct stat st;
	struct fdinfo info;	/* O_CLOEXEC still in flags when it came from fdinfo */
	uint64_t mnt_id_unique; /* 0 when the kernel gave the old id (info.mnt_id) instead */
	long fs_type;		/* fstatfs f_type of FIFOs and memfd candidates, else 0 */
	const char *link;	/* readlink text without " (deleted)"; valid while the set lives */
	const char *fdinfo;	/* the fdinfo text when has_fdinfo; valid while the set lives */
	size_t fdinfo_len;
	bool is_deleted;
	bool has_fdinfo; /* info came from /proc/PID/fdinfo/N */
	int sock_family, sock_type, sock_protocol; /* sockets: SO_DOMAIN, SO_TYPE, SO_PROTOCOL */
	bool fdinfo_is_head; /* the text was longer than the probe keeps: fdinfo is its head */
	enum fd_probe_step failed;
	int error; /* -errno of the failed step */
};

struct fd_probe_set;

/* Probes every fds[i] of task pid (frozen) through fd_dirfd and fdinfo_dirfd (its
 * /proc/PID/fd and /proc/PID/fdinfo) into (*ret_set)'s probe i. A failure of one fd is
 * recorded in its probe, not returned. Returns 0, or -ENOMEM (logged). */
int fd_probe_task(pid_t pid, int fd_dirfd, int fdinfo_dirfd, const struct fd_local *fds,
		  size_t n_fds, struct fd_probe_set **ret_set);
const struct fd_probe *fd_probe_at(const struct fd_probe_set *set, size_t i);
/* Logs the failure recorded in probe (of fd `fd` of task pid) and returns its -errno. */
int fd_probe_report(const struct fd_probe *probe, pid_t pid, int fd);
/* Reads the proc link name (under dirfd) into buf and strips " (deleted)", telling so in
 * *ret_deleted. Returns 0 or -errno (not logged). */
int fd_probe_read_link(int dirfd, const char *name, char *buf, size_t size, bool *ret_deleted);
/* A link text that ended in " (deleted)" (link is without it) on an inode that still has
 * links is either a removed name or a live name that really ends in " (deleted)". Looks the
 * whole name up in the task's root (dirfd plus root, e.g. /proc/PID/fd and "../root"): true
 * when it is not the inode of st there, so the name is gone. */
bool fd_probe_really_deleted(int dirfd, const char *root, const char *link, const struct stat *st);
/* NULL-safe; returns NULL. */
struct fd_probe_set *fd_probe_set_free(struct fd_probe_set *set);
static inline void fd_probe_set_freep(struct fd_probe_set **set)
{
	fd_probe_set_free(*set);
}
