/* compat.h: uapi definitions newer than the build machine's 6.1 kernel headers (x86_64 only),
 * plus raw syscall wrappers glibc 2.36 lacks. Values are from
 * the kernel uapi, checked by probes on 6.18 and 7.x. Wrappers return -1 and set errno. */
#pragma once

#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/* ---- syscall numbers (x86_64) ---- */
#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_move_mount
#define __NR_move_mount 429
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_statmount
#define __NR_statmount 457
#endif
#ifndef __NR_listmount
#define __NR_listmount 458
#endif

/* ---- statmount / listmount (Linux 6.8+; STATMOUNT_BY_FD Linux 7.0+) ---- */
#define MINICR_MNT_ID_REQ_SIZE_VER0 24
#define MINICR_MNT_ID_REQ_SIZE_VER1 32

struct minicr_mnt_id_req {
	uint32_t size;
	uint32_t mnt_fd; /* mnt_ns_fd for listmount; mnt_fd with STATMOUNT_BY_FD */
	uint64_t mnt_id;
	uint64_t param;
	uint64_t mnt_ns_id;
};
_Static_assert(sizeof(struct minicr_mnt_id_req) == MINICR_MNT_ID_REQ_SIZE_VER1, "mnt_id_req");

struct minicr_statmount {
	uint32_t size;
	uint32_t mnt_opts;
	uint64_t mask;
	uint32_t sb_dev_major;
	uint32_t sb_dev_minor;
	uint64_t sb_magic;
	uint32_t sb_flags;
	uint32_t fs_type;
	uint64_t mnt_id;
	uint64_t mnt_parent_id;
	uint32_t mnt_id_old;
	uint32_t mnt_parent_id_old;
	uint64_t mnt_attr;
	uint64_t mnt_propagation;
	uint64_t mnt_peer_group;
	uint64_t mnt_master;
	uint64_t propagate_from;
	uint32_t mnt_root;
	uint32_t mnt_point;
	uint64_t mnt_ns_id;
	uint32_t fs_subtype;
	uint32_t sb_source;
	uint32_t opt_num;
	uint32_t opt_array;
	uint32_t opt_sec_num;
	uint32_t opt_sec_array;
	uint64_t supported_mask;
	uint32_t mnt_uidmap_num;
	uint32_t mnt_uidmap;
	uint32_t mnt_gidmap_num;
	uint32_t mnt_gidmap;
	uint64_t spare2[43];
	char str[]; /* the [str] fields above are offsets into this area */
};
_Static_assert(sizeof(struct minicr_statmount) == 512, "struct statmount is 512 bytes");

#define MINICR_STATMOUNT_SB_BASIC       0x00000001U
#define MINICR_STATMOUNT_MNT_BASIC      0x00000002U
#define MINICR_STATMOUNT_PROPAGATE_FROM 0x00000004U
#define MINICR_STATMOUNT_MNT_ROOT       0x00000008U
#define MINICR_STATMOUNT_MNT_POINT      0x00000010U
#define MINICR_STATMOUNT_FS_TYPE        0x00000020U
#define MINICR_STATMOUNT_MNT_NS_ID      0x00000040U
#define MINICR_STATMOUNT_MNT_OPTS       0x00000080U
#define MINICR_STATMOUNT_FS_SUBTYPE     0x00000100U
#define MINICR_STATMOUNT_SB_SOURCE      0x00000200U
#define MINICR_STATMOUNT_OPT_ARRAY      0x00000400U
#define MINICR_STATMOUNT_OPT_SEC_ARRAY  0x00000800U
#define MINICR_STATMOUNT_SUPPORTED_MASK 0x00001000U

/* statmount() flags */
#define MINICR_STATMOUNT_BY_FD 0x00000001U

#define MINICR_LSMT_ROOT          0xffffffffffffffffULL
#define MINICR_LISTMOUNT_REVERSE  (1U << 0)

/* ---- statx ---- */
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x00002000U /* Linux 6.1+: stx_dio_mem_align, stx_dio_offset_align */
#endif

/* ---- file handles ---- */
#ifndef AT_HANDLE_MNT_ID_UNIQUE
#define AT_HANDLE_MNT_ID_UNIQUE 0x001
#endif
#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200
#endif

/* ---- new mount API ---- */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define MINICR_MOUNT_ATTR_RDONLY      0x00000001ULL
#define MINICR_MOUNT_ATTR_NOSUID      0x00000002ULL
#define MINICR_MOUNT_ATTR_NODEV       0x00000004ULL
#define MINICR_MOUNT_ATTR_NOEXEC      0x00000008ULL
#define MINICR_MOUNT_ATTR__ATIME      0x00000070ULL
#define MINICR_MOUNT_ATTR_RELATIME    0x00000000ULL
#define MINICR_MOUNT_ATTR_NOATIME     0x00000010ULL
#define MINICR_MOUNT_ATTR_STRICTATIME 0x00000020ULL
#define MINICR_MOUNT_ATTR_NODIRATIME  0x00000080ULL
#define MINICR_MOUNT_ATTR_IDMAP       0x00100000ULL
#define MINICR_MOUNT_ATTR_NOSYMFOLLOW 0x00200000ULL

/* ---- ptrace (present in 6.1 headers, repeated for clarity where glibc hides them) ---- */
#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#ifndef PTRACE_O_SUSPEND_SECCOMP
#define PTRACE_O_SUSPEND_SECCOMP (1 << 21)
#endif

struct minicr_rseq_configuration {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};
_Static_assert(sizeof(struct minicr_rseq_configuration) == 24, "ptrace_rseq_configuration");

/* ---- prctl mm map ---- */
#ifndef PR_SET_MM
#define PR_SET_MM 35
#endif
#ifndef PR_SET_MM_MAP
#define PR_SET_MM_MAP 14
#endif
#ifndef PR_SET_MM_MAP_SIZE
#define PR_SET_MM_MAP_SIZE 15
#endif

#ifndef ARCH_MAP_VDSO_64
#define ARCH_MAP_VDSO_64 0x2003
#endif

/* ---- clone3 (glibc 2.36 has no wrapper; <linux/sched.h> clashes with <sched.h>) ---- */
struct minicr_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
	uint64_t set_tid;      /* pointer to an array of pids, innermost pid namespace first */
	uint64_t set_tid_size; /* entries in set_tid (5.5+) */
	uint64_t cgroup;
};
_Static_assert(sizeof(struct minicr_clone_args) == 88, "clone_args is 88 bytes (VER2)");

/* ---- raw wrappers ---- */
static inline int sys_statmount(const struct minicr_mnt_id_req *req, struct minicr_statmount *buf,
				size_t bufsize, unsigned int flags)
{
	return (int)syscall(__NR_statmount, req, buf, bufsize, flags);
}

static inline long sys_listmount(const struct minicr_mnt_id_req *req, uint64_t *ids,
				 size_t n_ids, unsigned int flags)
{
	return syscall(__NR_listmount, req, ids, n_ids, flags);
}

static inline int sys_pidfd_open(pid_t pid, unsigned int flags)
{
	return (int)syscall(__NR_pidfd_open, pid, flags);
}

static inline int sys_pidfd_getfd(int pidfd, int targetfd, unsigned int flags)
{
	return (int)syscall(__NR_pidfd_getfd, pidfd, targetfd, flags);
}

static inline long sys_clone3(void *args, size_t size)
{
	return syscall(__NR_clone3, args, size);
}

/* ---- fd kinds: ioctls the 6.1 headers lack or glibc does not export ---- */
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, __u64) /* CONFIG_CHECKPOINT_RESTORE */
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD 00000200 /* O_EXCL; Linux 6.9+ */
#endif
/* PIDFD_GET_INFO (Linux 6.13+); exit_code is filled for a reaped process from Linux 6.15 on,
 * in what was spare0[0] of the first 64-byte version. */
#define MINICR_PIDFD_INFO_EXIT (1ULL << 3)
struct minicr_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
_Static_assert(sizeof(struct minicr_pidfd_info) == 64, "pidfd_info is 64 bytes (VER0)");
#define MINICR_PIDFD_GET_INFO _IOWR(0xFF, 11, struct minicr_pidfd_info)
