/* fd/refused.c: fds minicr recognises but cannot restore yet. Each is refused at dump with one
 * line naming its kind, so the tree keeps running; it is asked last, after every kind that
 * restores. When a kind learns one of these states, its entry here goes. */
#define LOG_PREFIX "fd: "
#include "fd/kind.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/log.h"
#include "base/util.h"

/* Sockets the socket kinds do not take: other families, raw and other protocols. */
static const char *refused_socket(const struct fd_params *p)
{
	switch (p->sock_family) {
	case AF_NETLINK:
		return "netlink socket";
	case AF_PACKET:
		return "packet socket";
	case AF_UNIX:
		return "unix socket of this type";
	case AF_INET:
	case AF_INET6:
		if (p->sock_type == SOCK_RAW)
			return "raw socket";
		if (p->sock_protocol == IPPROTO_ICMP || p->sock_protocol == IPPROTO_ICMPV6)
			return "ping socket";
		if (p->sock_protocol == IPPROTO_UDPLITE)
			return "UDP-Lite socket";
		if (p->sock_protocol == IPPROTO_SCTP)
			return "SCTP socket";
		if (p->sock_protocol == IPPROTO_MPTCP)
			return "MPTCP socket";
		return "inet socket of this protocol";
	default:
		return "socket of this family";
	}
}

/* The kind's name for the refusal, or NULL if p is none of these. */
static const char *refused_name(const struct fd_params *p)
{
	static const struct {
		const char *link, *name;
	} anon[] = {
	    /* kernel objects whose state no syscall gives back */
	    {"anon_inode:[io_uring]", "io_uring"},
	    {"anon_inode:[userfaultfd]", "userfaultfd"},
	    {"anon_inode:[perf_event]", "perf_event"},
	    {"anon_inode:bpf-map", "bpf map"},
	    {"anon_inode:bpf-prog", "bpf program"},
	    {"anon_inode:bpf_link", "bpf link"},
	    {"anon_inode:bpf_iter", "bpf iterator"},
	    {"anon_inode:[bpf_token]", "bpf token"},
	    {"anon_inode:[fscontext]", "filesystem context (fsopen)"},
	    {"anon_inode:[fanotify-pidfd]", "fanotify pidfd"},
	};
	unsigned int maj = major(p->st.st_rdev);

	if (S_ISSOCK(p->st.st_mode) && !(p->info.flags & O_PATH))
		return refused_socket(p);

	for (size_t i = 0; i < ARRAY_SIZE(anon); i++)
		if (strcmp(p->link, anon[i].link) == 0)
			return anon[i].name;
	/* every other anon inode (kvm, dma-buf, sync files...) is refused by the generic code,
	 * named after its link */
	if (p->is_deleted && strcmp(p->link, "/secretmem") == 0)
		return "memfd_secret";
	/* a terminal the tty kind did not take: its pty is gone (hung up, its /dev/pts name
	 * removed) */
	if (S_ISCHR(p->st.st_mode) && (maj == 4 || maj == 5 || (maj >= 136 && maj <= 143)))
		return "hung-up tty";
	if (S_ISBLK(p->st.st_mode))
		return "block device";
	if (p->is_deleted && strncmp(p->link, "/memfd:", 7) == 0)
		return "hugetlbfs memfd";
	return NULL;
}

static bool refused_recognise(const struct fd_params *p)
{
	return refused_name(p) != NULL;
}

static int refused_dump(struct fd_dump_ctx *ctx, const struct fd_params *p, FileEntry *fe)
{
	(void)ctx;
	(void)fe;
	pr_err("cannot dump fd %d of task %d: unsupported kind '%s' (%s)", p->fd, (int)p->pid,
	       refused_name(p), p->link);
	return -ENOTSUP;
}

static int refused_open(struct fd_restore_ctx *ctx, const FileEntry *fe, int *ret_fd)
{
	(void)ctx;
	(void)ret_fd;
	pr_err("cannot restore file %u: its kind is not supported", fe->id);
	return -ENOTSUP;
}

const struct fd_kind fd_kind_refused = {
    .name = "refused",
    .type = FD_TYPE__FD_TYPE_UNSUPPORTED,
    .recognise = refused_recognise,
    .dump = refused_dump,
    .open = refused_open,
};
