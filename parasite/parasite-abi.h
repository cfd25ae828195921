/* parasite-abi.h: the wire protocol between minicr and the dump-time parasite, and the layout of
 * the blob's entry points and arguments. This is the only header both sides include: fixed-size
 * little-endian structs of <stdint.h> types, no pointers that either side dereferences, no libc.
 * head.S includes it too, for the offsets only. */
#pragma once

/* Blob offsets: the start (the host sets rsp to the stack and rip here), the self-cure (reached
 * by `ret` from a syscall minicr injected, when minicr is gone), and the arguments the host
 * writes before the blob runs. */
#define PARASITE_ENTRY_START	 0
#define PARASITE_ENTRY_SELF_CURE 16
#define PARASITE_ARGS_OFFSET	 64
#define PARASITE_ARGS_SIZE	 256

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Largest message either side sends over the control socket (header + payload). */
#define PARASITE_MSG_MAX 8192
/* fds per sendmsg(): the kernel's SCM_MAX_FD is 253, keep one spare as CRIU does. */
#define PARASITE_MAX_FDS 252
#define PARASITE_NSIG	 64
/* fd numbers per LIST_FDS reply */
#define PARASITE_LIST_MAX 2000

enum parasite_cmd {
	PARASITE_CMD_HELLO = 1, /* parasite -> host, once after connect: struct parasite_hello */
	PARASITE_CMD_LOG,	/* parasite -> host at any time: struct parasite_log */
	PARASITE_CMD_DRAIN_FDS, /* host: parasite_drain_args; reply parasite_drain_reply + fds */
	PARASITE_CMD_GET_TASK_STATE, /* host: no payload; reply struct parasite_task_state */
	/* 5 was FINI: the host now stops the parasite with PTRACE_INTERRUPT and cures the task
	 * from outside; a parasite whose socket closes cures the task itself */
	PARASITE_CMD_LIST_FDS = 6, /* host: parasite_list_args; reply parasite_list_reply */
};

/* Every message starts with this header. ret is 0 or -errno in replies, 0 in requests. */
struct parasite_msg_hdr {
	uint32_t cmd;
	int32_t ret;
	uint32_t len; /* payload bytes after the header */
	uint32_t pad;
};

/* Written by the host at PARASITE_ARGS_OFFSET of the blob before the blob runs. The parasite
 * cures the task from these alone when its socket closes: it closes sock_fd, unmaps the probe
 * page it may be in the middle of (probe_len > 0), then runs
 * mprotect(area_addr, area_len, cure_prot) through the task's own `syscall; ret` at syscall_ret
 * with rsp at frame_addr, whose first word (the frame's return address) is the task's
 * rt_sigreturn sequence: the frame puts back the registers, xstate and signal mask saved before
 * minicr touched the task. */
struct parasite_init_args {
	uint64_t stack_top; /* first: head.S loads it without knowing the layout */
	uint64_t area_addr; /* the page-aligned region holding blob, args and stack */
	uint64_t area_len;
	uint64_t frame_addr;  /* an rt_sigframe of the task's own state, outside the area */
	uint64_t syscall_ret; /* the task's `syscall; ret` sequence */
	uint32_t cure_prot;   /* PROT_* the area had before minicr made it executable */
	int32_t sock_fd;      /* -1; the parasite stores its socket here once it has one */
	int32_t error;	      /* 0; -errno if the parasite cannot reach minicr (it then stops on
			       * a signal the task ignores by default) */
	uint64_t probe_addr;  /* the page GET_TASK_STATE maps for a moment, or 0 */
	uint64_t probe_len;
	uint32_t addr_len;  /* bytes of addr used, as passed to connect() */
	uint32_t log_level; /* the host's log level: 0 error .. 3 debug */
	uint8_t addr[112];  /* a struct sockaddr_un (110 bytes), abstract name */
};

struct parasite_hello {
	int32_t sock_fd; /* the parasite's own socket, in the task's fd table until the cure */
	int32_t pid;	 /* getpid() as seen inside the task's pid namespace */
	int32_t tid;
	int32_t pad;
};

struct parasite_log {
	uint32_t level;
	uint32_t pad;
	char text[248]; /* NUL-terminated */
};

struct parasite_drain_args {
	uint32_t n_fds; /* 1..PARASITE_MAX_FDS */
	uint32_t pad;
	int32_t fds[PARASITE_MAX_FDS];
};

/* Per-fd state that belongs to the fd (not the open file) or that is cheapest to read inside. */
struct parasite_fd_opts {
	uint32_t fd_flags; /* F_GETFD: FD_CLOEXEC */
	int32_t own_type;  /* F_GETOWN_EX: F_OWNER_TID/PID/PGRP */
	int32_t own_pid;   /* F_GETOWN_EX: 0 if no owner */
	uint32_t own_uid;  /* F_GETOWNER_UIDS[0] */
	uint32_t own_euid; /* F_GETOWNER_UIDS[1] */
	int32_t signum;	   /* F_GETSIG */
};

/* Reply to DRAIN_FDS. On success ret is 0 and the message carries n_fds fds in SCM_RIGHTS, in
 * request order. On -EBADF bad_fd names the first fd that was not open; no fds are sent. */
struct parasite_drain_reply {
	uint32_t n_fds;
	int32_t bad_fd;
	struct parasite_fd_opts opts[PARASITE_MAX_FDS];
};

/* LIST_FDS: which numbers of [from, to) are open fds. poll() does not see O_PATH fds: with
 * find_path_fds, every number poll() calls invalid is asked again with F_GETFD. */
struct parasite_list_args {
	int32_t from;
	int32_t to;
	uint32_t find_path_fds;
	uint32_t pad;
};

/* Reply to LIST_FDS: the open fds of [from, next) in ascending order, the parasite's own
 * socket left out. The host asks again from next until next reaches to. */
struct parasite_list_reply {
	int32_t next;
	uint32_t n_fds;
	int32_t fds[PARASITE_LIST_MAX];
};

/* The kernel's struct sigaction for rt_sigaction(2) on x86_64 (8-byte mask). */
struct parasite_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* The kernel's struct __kernel_old_itimerval on x86_64. */
struct parasite_itimerval {
	int64_t interval_sec, interval_usec;
	int64_t value_sec, value_usec;
};

/* Reply to GET_TASK_STATE: what only the task itself can read. Per-thread fields are the
 * main thread's (the parasite runs there). Query results that failed are -errno in *_ret. */
struct parasite_task_state {
	struct parasite_sigaction sigactions[PARASITE_NSIG]; /* [sig - 1], for sig 1..64 */
	uint64_t altstack_sp;
	uint64_t altstack_size;
	int32_t altstack_flags;
	uint32_t umask;
	uint64_t tid_address; /* prctl(PR_GET_TID_ADDRESS): clear_child_tid */
	uint64_t brk;	      /* brk(0) */
	uint32_t personality;
	int32_t dumpable;	 /* PR_GET_DUMPABLE */
	int32_t pdeathsig;	 /* PR_GET_PDEATHSIG */
	int32_t child_subreaper; /* PR_GET_CHILD_SUBREAPER */
	int32_t no_new_privs;	 /* PR_GET_NO_NEW_PRIVS */
	int32_t securebits;	 /* PR_GET_SECUREBITS */
	int32_t timerslack_ret;	 /* 0 or -errno */
	uint32_t pad;
	uint64_t timerslack_ns; /* PR_GET_TIMERSLACK */
	char name[16];		/* PR_GET_NAME */
	int32_t thp_disable;	/* PR_GET_THP_DISABLE, or -errno */
	int32_t itimers_ret;	/* 0, or the -errno of the first getitimer() that failed */
	struct parasite_itimerval itimers[3]; /* ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF */
	/* mlockall()'s MCL_FUTURE (2) and MCL_ONFAULT (4) as a page mapped now comes out, or
	 * -errno */
	int32_t mlock_future;
	uint32_t pad2;
};

_Static_assert(sizeof(struct parasite_msg_hdr) == 16, "parasite_msg_hdr layout");
_Static_assert(sizeof(struct parasite_init_args) <= PARASITE_ARGS_SIZE,
	       "init args fit the room head.S keeps for them");
_Static_assert(sizeof(struct parasite_msg_hdr) + sizeof(struct parasite_hello) <= PARASITE_MSG_MAX,
	       "hello fits a message");
_Static_assert(sizeof(struct parasite_msg_hdr) + sizeof(struct parasite_log) <= PARASITE_MSG_MAX,
	       "log fits a message");
_Static_assert(sizeof(struct parasite_msg_hdr) + sizeof(struct parasite_drain_args) <=
		   PARASITE_MSG_MAX,
	       "drain args fit a message");
_Static_assert(sizeof(struct parasite_msg_hdr) + sizeof(struct parasite_drain_reply) <=
		   PARASITE_MSG_MAX,
	       "drain reply fits a message");
_Static_assert(sizeof(struct parasite_msg_hdr) + sizeof(struct parasite_task_state) <=
		   PARASITE_MSG_MAX,
	       "task state fits a message");
_Static_assert(sizeof(struct parasite_fd_opts) == 24, "parasite_fd_opts layout");
_Static_assert(sizeof(struct parasite_msg_hdr) + sizeof(struct parasite_list_reply) <=
		   PARASITE_MSG_MAX,
	       "list reply fits a message");
#endif /* !__ASSEMBLER__ */
