/* kerndat.c: probe the kernel features minicr relies on by using each one for real, on this
 * process, on short-lived children, or inside a throwaway mount namespace. */
#define LOG_PREFIX "kerndat: "

#include "base/kerndat.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/procfs.h"
#include "base/util.h"

/* Waits for a child we created until it has exited; a stop (we may be its tracer) is skipped. */
static int reap_child(pid_t pid, int *ret_status)
{
	int status;

	for (;;) {
		if (waitpid(pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
	}
	if (ret_status)
		*ret_status = status;
	return 0;
}

/* The status a probe child reports through its exit code, or -1 if it died otherwise. */
static int child_exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void kill_and_reap(pid_t pid)
{
	(void)kill(pid, SIGKILL);
	(void)reap_child(pid, NULL);
}

/* Seizes a sleeping child, interrupts it and queries it the way dump does. */
static void probe_ptrace_child(struct kerndat *kd, pid_t pid)
{
	struct minicr_rseq_configuration rseq_conf;
	int status;
	long ret;

	if (ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_EXITKILL) < 0) {
		pr_debug("PTRACE_SEIZE: %m");
		return;
	}
	kd->ptrace_seize = true;

	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0) {
		pr_debug("PTRACE_INTERRUPT: %m");
		return;
	}
	while ((ret = waitpid(pid, &status, __WALL)) < 0 && errno == EINTR)
		;
	if (ret != pid || !WIFSTOPPED(status) || status >> 16 != PTRACE_EVENT_STOP) {
		pr_debug("PTRACE_INTERRUPT gave no PTRACE_EVENT_STOP (status %#x)", status);
		return;
	}
	kd->ptrace_interrupt = true;

	/* The kernel refuses this option without CAP_SYS_ADMIN or CONFIG_CHECKPOINT_RESTORE. */
	if (ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL | PTRACE_O_SUSPEND_SECCOMP) == 0)
		kd->ptrace_suspend_seccomp = true;
	else
		pr_debug("PTRACE_O_SUSPEND_SECCOMP: %m");

	ret = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, sizeof(rseq_conf), &rseq_conf);
	if (ret == (long)sizeof(rseq_conf))
		kd->ptrace_rseq_config = true;
	else
		pr_debug("PTRACE_GET_RSEQ_CONFIGURATION: %ld (%m)", ret);
}

static int probe_ptrace(struct kerndat *kd)
{
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return pr_errno("cannot fork the ptrace probe child");
	if (pid == 0) {
		/* Should this process die before it kills us, we must not outlive it. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	probe_ptrace_child(kd, pid);
	kill_and_reap(pid);
	return 0;
}

/* Creates and reaps a child with pid want. Returns 0 or -errno from clone3. */
static int clone3_with_pid(pid_t want)
{
	uint64_t tid = (uint64_t)want;
	struct minicr_clone_args args = {
	    .exit_signal = SIGCHLD,
	    .set_tid = (uint64_t)(uintptr_t)&tid,
	    .set_tid_size = 1,
	};
	long pid;

	pid = sys_clone3(&args, sizeof(args));
	if (pid < 0)
		return -errno;
	if (pid == 0)
		/* The child shares nothing with us but must not run glibc's exit handlers. */
		syscall(SYS_exit_group, 0);
	(void)reap_child((pid_t)pid, NULL);
	return pid == want ? 0 : -EIO;
}

static long read_proc_long(const char *path, long fallback)
{
	cleanup_free char *buf = NULL;
	long value;

	if (read_file_at(AT_FDCWD, path, &buf) < 0)
		return fallback;
	buf[strcspn(buf, "\n")] = '\0';
	if (parse_long(buf, 0, INT32_MAX, &value) < 0)
		return fallback;
	return value;
}

static void probe_clone3(struct kerndat *kd)
{
	enum kerndat_answer answer;
	long last, pid_max;
	int ret;

	/* step 1: ask for our own pid. No process is created; the kernel checks set_tid and our
	 * capability before it finds the pid taken (EEXIST). */
	ret = clone3_with_pid(getpid());
	answer = kerndat_clone3_set_tid_answer(-ret);
	kd->clone3 = answer != KERNDAT_NO_SYSCALL;
	if (answer != KERNDAT_PRESENT) {
		pr_debug("clone3 with set_tid: %s", strerror(-ret));
		return;
	}

	/* step 2: create a child with a pid just above the last one handed out. Another fork may
	 * take a candidate first (EEXIST): move on to the next. */
	last = read_proc_long("/proc/sys/kernel/ns_last_pid", getpid());
	pid_max = read_proc_long("/proc/sys/kernel/pid_max", 32768);
	for (int i = 0; i < 8; i++) {
		long want = last + 100 + 7 * i;

		if (want >= pid_max)
			want = 301 + want % (pid_max > 1000 ? pid_max - 301 : 1);
		ret = clone3_with_pid((pid_t)want);
		if (ret != -EEXIST)
			break;
	}
	/* Eight taken pids in a row say nothing against set_tid: step 1 already proved it. */
	kd->clone3_set_tid = ret == 0 || ret == -EEXIST;
	if (!kd->clone3_set_tid)
		pr_debug("clone3 with a free set_tid: %s", strerror(-ret));
}

enum {
	MOUNT_PROBE_OPEN_TREE = 1 << 0,
	MOUNT_PROBE_MOUNT_SETATTR = 1 << 1,
	MOUNT_PROBE_MOVE_MOUNT = 1 << 2,
	MOUNT_PROBE_NO_NS = 1 << 6,
};

/* Runs in a child: every mount change lands in its own private namespace, which dies with it. */
static int mount_api_child(void)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID};
	int result = 0, tree_fd;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return MOUNT_PROBE_NO_NS;
	tree_fd = open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree_fd < 0)
		return result;
	result |= MOUNT_PROBE_OPEN_TREE;
	if (mount_setattr(tree_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0)
		result |= MOUNT_PROBE_MOUNT_SETATTR;
	if (move_mount(tree_fd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) == 0)
		result |= MOUNT_PROBE_MOVE_MOUNT;
	return result;
}

static int probe_mount_api(struct kerndat *kd)
{
	int status, code;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return pr_errno("cannot fork the mount API probe child");
	if (pid == 0)
		_exit(mount_api_child());
	if (reap_child(pid, &status) < 0)
		return 0;
	code = child_exit_code(status);
	if (code < 0 || code & MOUNT_PROBE_NO_NS) {
		pr_debug("mount API not probed: no private mount namespace (status %#x)", status);
		return 0;
	}
	kd->open_tree = code & MOUNT_PROBE_OPEN_TREE;
	kd->mount_setattr = code & MOUNT_PROBE_MOUNT_SETATTR;
	kd->move_mount = code & MOUNT_PROBE_MOVE_MOUNT;
	return 0;
}

/* Fills a prctl_mm_map with this process's current values, which a forked child shares. */
static int current_mm_map(struct prctl_mm_map *map, char **ret_auxv)
{
	cleanup_free char *auxv = NULL;
	struct procfs_stat st;
	ssize_t len;
	int ret;

	ret = procfs_read_stat(0, &st);
	if (ret < 0)
		return ret;
	if (!st.has_mm)
		return -EINVAL;
	map->start_code = st.start_code;
	map->end_code = st.end_code;
	map->start_stack = st.start_stack;
	map->start_data = st.start_data;
	map->end_data = st.end_data;
	map->start_brk = st.start_brk;
	map->arg_start = st.arg_start;
	map->arg_end = st.arg_end;
	map->env_start = st.env_start;
	map->env_end = st.env_end;
	len = read_file_at(AT_FDCWD, "/proc/self/auxv", &auxv);
	if (len < 0)
		return (int)len;
	map->brk = (uint64_t)syscall(SYS_brk, 0);
	map->auxv = (__u64 *)auxv;
	map->auxv_size = (uint32_t)len;
	map->exe_fd = (uint32_t)-1;
	*ret_auxv = TAKE_PTR(auxv);
	return 0;
}

static int probe_mm_map(struct kerndat *kd)
{
	struct prctl_mm_map map = {0};
	cleanup_free char *auxv = NULL;
	unsigned int size = 0;
	int status, code;
	pid_t pid;

	/* Only reports the kernel's struct size: no change, no capability needed. */
	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0) < 0) {
		pr_debug("PR_SET_MM_MAP_SIZE: %m");
		return 0;
	}
	kd->mm_map_size = size;
	if (size != sizeof(map) || current_mm_map(&map, &auxv) < 0)
		return 0;

	/* Setting the same values changes nothing, but do it in a child all the same. */
	pid = fork();
	if (pid < 0)
		return pr_errno("cannot fork the PR_SET_MM_MAP probe child");
	if (pid == 0)
		_exit(prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof(map), 0) == 0 ? 0 : errno);
	if (reap_child(pid, &status) < 0)
		return 0;
	code = child_exit_code(status);
	kd->pr_set_mm_map = code == 0;
	if (code)
		pr_debug("PR_SET_MM_MAP: %s", code > 0 ? strerror(code) : "child died");
	return 0;
}

static uint64_t root_mnt_id_unique(struct kerndat *kd)
{
	struct statx stx;

	if (statx(AT_FDCWD, "/", 0, STATX_MNT_ID_UNIQUE, &stx) < 0)
		return 0;
	kd->statx_mnt_id_unique = stx.stx_mask & STATX_MNT_ID_UNIQUE;
	return kd->statx_mnt_id_unique ? stx.stx_mnt_id : 0;
}

static void probe_statmount_by_fd(struct kerndat *kd)
{
	struct minicr_mnt_id_req req = {
	    .size = MINICR_MNT_ID_REQ_SIZE_VER1,
	    .mnt_fd = UINT32_MAX,
	    .param = MINICR_STATMOUNT_MNT_BASIC,
	};
	union {
		struct minicr_statmount sm;
		char bytes[1024];
	} buf;
	cleanup_close int fd = -EBADF;
	enum kerndat_answer answer;
	int ret;

	ret = sys_statmount(&req, &buf.sm, sizeof(buf), MINICR_STATMOUNT_BY_FD);
	answer = ret < 0 ? kerndat_statmount_by_fd_answer(errno) : KERNDAT_UNKNOWN;
	if (answer != KERNDAT_PRESENT) {
		pr_debug("STATMOUNT_BY_FD with fd -1: %d (%m)", ret);
		return;
	}
	/* Confirm with a real fd: it must describe the mount the fd is on. */
	fd = open("/", O_PATH | O_CLOEXEC);
	if (fd < 0)
		return;
	req.mnt_fd = (uint32_t)fd;
	if (sys_statmount(&req, &buf.sm, sizeof(buf), MINICR_STATMOUNT_BY_FD) == 0)
		kd->statmount_by_fd = true;
	else
		pr_debug("STATMOUNT_BY_FD on '/': %m");
}

static void probe_mount_ids(struct kerndat *kd)
{
	struct minicr_mnt_id_req req = {.size = MINICR_MNT_ID_REQ_SIZE_VER0};
	union {
		struct minicr_statmount sm;
		char bytes[1024];
	} buf;
	uint64_t ids[8];
	long ret;

	req.mnt_id = root_mnt_id_unique(kd);
	req.param = MINICR_STATMOUNT_MNT_BASIC;
	ret = sys_statmount(&req, &buf.sm, sizeof(buf), 0);
	kd->statmount = ret == 0 || kerndat_syscall_answer(errno) == KERNDAT_PRESENT;
	if (ret < 0)
		pr_debug("statmount of '/': %m");

	req.mnt_id = MINICR_LSMT_ROOT;
	req.param = 0;
	ret = sys_listmount(&req, ids, ARRAY_SIZE(ids), 0);
	kd->listmount = ret >= 0 || kerndat_syscall_answer(errno) == KERNDAT_PRESENT;
	if (ret < 0)
		pr_debug("listmount: %m");

	if (kd->statmount)
		probe_statmount_by_fd(kd);
}

struct handle_buf {
	struct file_handle fh;
	unsigned char bytes[MAX_HANDLE_SZ];
};

/* Encodes a handle for dirfd itself and opens it back; the result must be the same inode. */
static bool handle_round_trip(int dirfd)
{
	struct handle_buf h = {.fh.handle_bytes = MAX_HANDLE_SZ};
	cleanup_close int fd = -EBADF;
	struct stat st_dir, st_fd;
	int mnt_id;

	if (name_to_handle_at(dirfd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) < 0) {
		pr_debug("name_to_handle_at: %m");
		return false;
	}
	/* open_by_handle_at() needs CAP_DAC_READ_SEARCH */
	fd = open_by_handle_at(dirfd, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_debug("open_by_handle_at: %m");
		return false;
	}
	if (fstat(dirfd, &st_dir) < 0 || fstat(fd, &st_fd) < 0)
		return false;
	return st_dir.st_dev == st_fd.st_dev && st_dir.st_ino == st_fd.st_ino;
}

static void probe_file_handles(struct kerndat *kd)
{
	/* The root filesystem may not export handles (ramfs); these usually do. */
	static const char *const candidates[] = {"/", "/tmp", "/dev", "/run"};
	struct handle_buf h = {.fh.handle_bytes = MAX_HANDLE_SZ};
	cleanup_close int dirfd = -EBADF;
	uint64_t mnt_id = 0;

	for (size_t i = 0; i < ARRAY_SIZE(candidates) && !kd->file_handles; i++) {
		int fd = open(candidates[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0)
			continue;
		if (handle_round_trip(fd)) {
			kd->file_handles = true;
			dirfd = fd;
		} else {
			close(fd);
		}
	}
	if (!kd->file_handles)
		return;

	/* With this flag the mount id out-parameter is the 64-bit unique id (6.12+). */
	if (name_to_handle_at(dirfd, "", &h.fh, (int *)&mnt_id,
			      AT_EMPTY_PATH | AT_HANDLE_MNT_ID_UNIQUE) < 0) {
		pr_debug("name_to_handle_at with AT_HANDLE_MNT_ID_UNIQUE: %m");
		return;
	}
	/* unique ids start above 2^31, old ids never get there */
	kd->file_handles_mnt_id_unique = mnt_id > (1ULL << 31);
}

static void probe_fds(struct kerndat *kd)
{
	cleanup_close int pidfd = -EBADF, copy_fd = -EBADF;
	pid_t self = getpid();

	pidfd = sys_pidfd_open(self, 0);
	if (pidfd < 0) {
		pr_debug("pidfd_open: %m");
		return;
	}
	kd->pidfd_open = true;
	copy_fd = sys_pidfd_getfd(pidfd, pidfd, 0);
	if (copy_fd < 0) {
		pr_debug("pidfd_getfd: %m");
		return;
	}
	kd->pidfd_getfd = true;
	/* Both fds must be the same open file description, as dump expects. */
	if (syscall(SYS_kcmp, self, self, KCMP_FILE, pidfd, copy_fd) == 0)
		kd->kcmp = true;
	else
		pr_debug("kcmp: %m");
}

static void probe_rseq(struct kerndat *kd)
{
	/* A zero length is always refused, by EINVAL or EBUSY where rseq exists. */
	if (syscall(SYS_rseq, NULL, 0, 0, 0) == 0 ||
	    kerndat_syscall_answer(errno) == KERNDAT_PRESENT)
		kd->rseq = true;
	kd->rseq_registered = __rseq_size > 0;
}

static void probe_vdso(struct kerndat *kd)
{
	cleanup_free char *maps = NULL;
	int ret;

	if (read_file_at(AT_FDCWD, "/proc/self/maps", &maps) < 0)
		return;
	ret = kerndat_parse_vdso_layout(maps, &kd->vdso_layout);
	kd->has_vdso_layout = ret == 0;
	if (ret < 0)
		pr_debug("no vdso layout in /proc/self/maps: %s", strerror(-ret));
}

static void cap_freep(cap_t *caps)
{
	if (*caps)
		cap_free(*caps);
}

static bool cap_is_effective(cap_t caps, cap_value_t cap)
{
	cap_flag_value_t value = CAP_CLEAR;

	if (cap_get_flag(caps, cap, CAP_EFFECTIVE, &value) < 0)
		return false;
	return value == CAP_SET;
}

static void probe_caps(struct kerndat *kd)
{
	cleanup(cap_freep) cap_t caps = cap_get_proc();

	if (!caps) {
		pr_debug("cap_get_proc: %m");
		return;
	}
	kd->cap_sys_admin = cap_is_effective(caps, CAP_SYS_ADMIN);
	kd->cap_sys_ptrace = cap_is_effective(caps, CAP_SYS_PTRACE);
	kd->cap_checkpoint_restore = cap_is_effective(caps, CAP_CHECKPOINT_RESTORE);
	kd->cap_dac_read_search = cap_is_effective(caps, CAP_DAC_READ_SEARCH);
	kd->cap_sys_resource = cap_is_effective(caps, CAP_SYS_RESOURCE);
}

/* The probes that need no child process: cheap enough for every dump. */
static void probe_in_process(struct kerndat *kd)
{
	struct utsname uts;

	memset(kd, 0, sizeof(*kd));
	if (uname(&uts) == 0)
		snprintf(kd->release, sizeof(kd->release), "%s", uts.release);
	probe_mount_ids(kd);
	probe_file_handles(kd);
	probe_fds(kd);
	probe_rseq(kd);
	probe_vdso(kd);
	probe_caps(kd);
}

void kerndat_probe_in_process(struct kerndat *kd)
{
	probe_in_process(kd);
}

int kerndat_probe(struct kerndat *kd)
{
	int ret;

	probe_in_process(kd);
	ret = probe_ptrace(kd);
	if (ret < 0)
		return ret;
	probe_clone3(kd);
	ret = probe_mount_api(kd);
	if (ret < 0)
		return ret;
	return probe_mm_map(kd);
}
