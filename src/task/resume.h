/* resume.h: the last step of restore for one process: rebuild its address space, registers and
 * threads from core/mm/pagemap/pages images and let it continue where it was frozen. It owns
 * the bootstrap region, the restorer blob and the tracer-side finish; it never touches fds
 * (other than its own helpers), pids, sessions, mounts or cwd/root (restore.c does those).
 *
 * Protocol (M = the minicr process that is an ancestor of every restored task; T = a task):
 *
 *   1. M: resume_set_new(n, &set) once, then resume_task_load(set, img_dirfd, pid, &rt) for
 *      every process (at most n), before anything changes. set and rt live in M's memory and
 *      reach T through fork/clone (T uses its own copy).
 *   2. T (created with clone3(set_tid) = pid, single-threaded, any glibc state) does its own
 *      restore work: session/pgid, fds, cwd, root. Its fd table must then be exactly the
 *      restored fds plus img_dirfd (the fd number passed to load, or the one set with
 *      resume_task_set_img_dirfd() if restore.c moved it). Then T calls resume_task_enter(rt)
 *      as its very last action. enter() opens its helpers (pages image, mapped files, exe) at
 *      free fd numbers, closes img_dirfd, blocks every signal, waits until M has seized T
 *      (step 3; a futex in a MAP_SHARED page resume_set_new() made, which T inherited through
 *      fork: do not unmap it; at most 60 s), and jumps to the restorer blob. minicr's log fd
 *      (log_get_fd()), if T still has it, is closed by the blob with the helpers. It returns
 *      only on failure (-errno, logged): T should then _exit(RESUME_EXIT_LOGGED).
 *   3. M: resume_task_finish(rt, pid) for every process, in any order, at any time after T
 *      exists (M may also call resume_task_seize() earlier, e.g. right after T is created).
 *      Tip: the tasks restore their memory in parallel only once seized, so with many tasks
 *      call resume_task_seize() for all of them first, then finish() for each.
 *      finish() PTRACE_SEIZEs T (unless resume_task_seize() did) with
 *      PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL (+ SUSPEND_SECCOMP
 *      when the image has seccomp filters), then waits (waitpid(tid, __WALL) per thread; M
 *      must not reap T's stops elsewhere, e.g. with waitpid(-1)) while the blob rebuilds the
 *      memory and creates the other threads, until every thread stops at its final int3.
 *      Then each thread runs its rt_sigreturn and is stopped at the syscall exit with its
 *      dumped registers; finish() unmaps the bootstrap region by injecting munmap, puts the
 *      registers back and detaches every thread: T runs on from where it was dumped.
 *      On failure (logged: the blob's step and errno, or T's death) T is SIGKILLed and
 *      finish() returns -errno.
 *   --leave-stopped: call resume_task_set_leave_stopped(rt, true) in M before finish(): T then
 *      gets SIGSTOP before the detach and stays group-stopped exactly at its dumped state. A
 *      task that was group-stopped when it was dumped ends stopped the same way.
 *   4. M: resume_task_free(rt), then resume_set_free(set) (in M only; T never frees its copy).
 *
 * A failing T (enter() returned) or a T that dies makes finish() fail; M then handles the
 * rest of the tree. Credentials and seccomp filters of T are applied inside the blob, last.
 *
 * Shared memory (MAP_SHARED anonymous, memfd mappings) is one object per dumped identity for
 * the whole tree (shm-registry.h): load() creates it in M, fills it, and keeps an fd in M
 * (O_CLOEXEC). T reaches it through a copy of that inherited fd if it is still open in T, else
 * through /proc/<M>/fd/<fd> (M must then be visible in T's /proc); enter() closes in T the ones
 * T inherited. The objects live until resume_set_free(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <stddef.h>

struct resume_set;
struct resume_task;

/* The exit status of a restored task whose enter() failed: it logged why already. */
#define RESUME_EXIT_LOGGED 121

/* What the n tasks of one restore share (shared memory objects, the seize flags). Returns 0 or
 * -errno (logged). */
int resume_set_new(size_t n_tasks, struct resume_set **ret_set);
struct resume_set *resume_set_free(struct resume_set *set); /* NULL-safe, returns NULL */
void resume_set_freep(struct resume_set **set);

/* A POSIX lock the task owns, through fd (its own number): the blob sets it again after it
 * closes the helper fds it mapped files through, since closing any fd of a file drops the
 * process's POSIX locks on it. */
struct resume_lock {
	int fd;
	short type; /* F_RDLCK, F_WRLCK */
	long long start, len;
};

/* Reads and validates the process's core, mm, pagemap and pages images (in minicr, before
 * anything on the system changes): task_images_validate() (core-check.h), then what this
 * machine must offer: the vdso layout, minicr's hard resource limits, an online CPU in each
 * thread's affinity, the oom_score_adj (resume-attrs.c). Returns 0 or -errno
 * (logged, naming the image). Keeps img_dirfd (not owned, must stay open until enter). */
int resume_task_load(struct resume_set *set, int img_dirfd, pid_t pid,
		     struct resume_task **ret_task);
/* What resume_task_load() refuses of the images alone (task_images_validate()), of minicr's
 * resource limits and of the task attributes this machine must allow, for dump to run on what it is
 * about to publish. Returns 0 or -errno (logged). */
int resume_task_check(int img_dirfd, pid_t pid);
struct resume_task *resume_task_free(struct resume_task *task);
void resume_task_freep(struct resume_task **task);

/* The image directory fd as T sees it, if restore.c moved it after load (default: the load
 * argument). enter() uses it and closes it. */
void resume_task_set_img_dirfd(struct resume_task *task, int img_dirfd);
/* The task shares its fd table with other restored tasks (CLONE_FILES). A member (is_member)
 * closes nothing the table's owner closes (the images dir, minicr's log, inherited objects);
 * enter() calls sync(arg) once its own helper fds are open: a member tells the owner it is
 * done with the shared fds, the owner waits for every member before it closes them. */
void resume_task_set_shared_files(struct resume_task *task, bool is_member,
				  void (*sync)(void *arg), void *arg);

/* Where T finds what it maps, and what it does once it has: the dumped paths of mapped files
 * and of the executable are absolute in T's mount namespace, so enter() opens them beneath
 * root_fd as if it were "/" (openat2 RESOLVE_IN_ROOT; -1: T's own "/"); once they are open, and
 * before it waits for M, enter() calls enter(opaque), which moves T into its mount namespace,
 * root and cwd: nothing after that needs /proc or a path. NULL: nothing to enter. root_fd and
 * whatever enter() enters are T's to close (enter() must close them). */
void resume_task_set_fs(struct resume_task *task, int root_fd, int (*enter)(void *opaque),
			void *opaque);
/* Make finish() leave the process group-stopped (SIGSTOP) at its dumped state. */
void resume_task_set_leave_stopped(struct resume_task *task, bool leave_stopped);

/* Called inside the restored process itself, last (see the protocol above): builds the
 * bootstrap region and hands over to the restorer blob. Does not return on success; returns
 * -errno (logged) on failure, before anything irreversible happened to the memory. */
int resume_task_enter(struct resume_task *task);

/* Optional, in M: PTRACE_SEIZE the task with the options finish() needs. Use it instead of
 * any PTRACE_SEIZE of your own if M must trace T earlier. Returns 0 or -errno (logged). */
int resume_task_seize(struct resume_task *task, pid_t pid);

/* In M: waits until the restorer in T is done, removes the bootstrap region, restores the
 * dumped registers of every thread and detaches them (see the protocol). Returns 0 or -errno
 * (logged); on failure T has been SIGKILLed. */
int resume_task_finish(struct resume_task *task, pid_t pid);

/* In T, before resume_task_enter(): the POSIX locks the blob sets again (copied). Returns 0 or
 * -ENOMEM (logged). */
int resume_task_set_locks(struct resume_task *rt, const struct resume_lock *locks, size_t n);
