/* kerndat.h: probe which kernel features this machine has, so dump and restore can choose their
 * paths and `minicr check` can report them. Probes leave nothing behind: every child is reaped and
 * every fd closed; mount probes run in a throwaway mount namespace. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/kerndat-parse.h"

struct kerndat {
	char release[65]; /* uname -r */

	/* ptrace, probed on a forked child */
	bool ptrace_seize;
	bool ptrace_interrupt;	     /* PTRACE_INTERRUPT gives a PTRACE_EVENT_STOP */
	bool ptrace_suspend_seccomp; /* PTRACE_O_SUSPEND_SECCOMP accepted (needs CAP_SYS_ADMIN) */
	bool ptrace_rseq_config;     /* PTRACE_GET_RSEQ_CONFIGURATION (5.13+) */

	/* process creation */
	bool clone3;
	bool clone3_set_tid; /* a child was created with a chosen pid (5.5+, caps) */

	/* mount tables and mount identity */
	bool statmount;		  /* 6.8+ */
	bool listmount;		  /* 6.8+ */
	bool statmount_by_fd;	  /* STATMOUNT_BY_FD, 7.0+ */
	bool statx_mnt_id_unique; /* STATX_MNT_ID_UNIQUE, 6.8+ */
	bool file_handles;	  /* name_to_handle_at + open_by_handle_at (CAP_DAC_READ_SEARCH) */
	bool file_handles_mnt_id_unique; /* AT_HANDLE_MNT_ID_UNIQUE, 6.12+ */

	/* new mount API, probed in a private mount namespace */
	bool open_tree;
	bool move_mount;
	bool mount_setattr;

	/* fds of other tasks */
	bool pidfd_open;
	bool pidfd_getfd;
	bool kcmp;

	/* memory and resume */
	bool pr_set_mm_map;   /* PR_SET_MM_MAP with the current values was accepted */
	uint32_t mm_map_size; /* PR_SET_MM_MAP_SIZE: the kernel's sizeof(struct prctl_mm_map) */
	bool rseq;	      /* the rseq syscall exists */
	bool rseq_registered; /* glibc registered an rseq area in this process (__rseq_size) */
	bool has_vdso_layout; /* vdso_layout below was parsed from /proc/self/maps */
	struct kerndat_vdso_layout vdso_layout;

	/* effective capabilities of this process */
	bool cap_sys_admin;
	bool cap_sys_ptrace;
	bool cap_checkpoint_restore;
	bool cap_dac_read_search;
	bool cap_sys_resource; /* not needed: mm fields are restored with PR_SET_MM_MAP */
};

/* Probes every feature and fills *kd (zeroed first). A feature whose probe fails for any reason is
 * reported absent, with a debug log line. Returns 0, or -errno (logged) when fork() itself fails.
 * Takes a few milliseconds (about 2 ms on 6.18): it forks four short-lived children, which make
 * only raw syscalls, and waits for each by pid, so other children of the caller are left alone. */
int kerndat_probe(struct kerndat *kd);

/* Fills *kd (zeroed first) with only the probes that need no child process: release, mount ids
 * and statmount/listmount, STATMOUNT_BY_FD, file handles, pidfd/kcmp, rseq, vdso layout and
 * capabilities; the ptrace, clone3, mount-API and PR_SET_MM_MAP fields stay false. For dump,
 * which records these in the inventory and must not fork on its way. */
void kerndat_probe_in_process(struct kerndat *kd);
