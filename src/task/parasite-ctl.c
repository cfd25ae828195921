/* parasite-ctl.c: the parasite's life in one process: load, start, connect, cure. */
#define LOG_PREFIX "parasite: "
#include "task/parasite-ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "base/log.h"
#include "base/util.h"
#include "parasite-blob.h"
#include "parasite/parasite-abi.h"
#include "task/inject.h"
#include "task/parasite-rpc.h"
#include "task/seize.h"

#define PAGE_BYTES    4096UL
#define PAGE_ALIGN(x) (((x) + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1))
/* The parasite's stack, below its code: the deepest path (a LIST_FDS reply built while a
 * request is held) needs about 20 KiB. */
#define PARASITE_STACK_SIZE (32UL * 1024)
#define PARASITE_AREA_SIZE  (PARASITE_STACK_SIZE + PAGE_ALIGN(sizeof(minicr_parasite_blob)))

struct parasite_ctl {
	pid_t pid;
	struct inject *inj;
	struct parasite_rpc *rpc;
	uint64_t area;
	bool is_blob_written; /* the area holds the blob and its arguments */
	bool is_sock_closed;  /* the parasite's socket in the task was closed from outside */
	bool is_area_exec;    /* the area was made executable and not yet put back */
	bool is_running;      /* the parasite was started and not stopped since */
	bool is_cured;
	int remote_sock_fd;
};

int parasite_ctl_prepare(pid_t pid, struct parasite_ctl **ret_ctl)
{
	struct parasite_ctl *ctl;
	int ret;

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->pid = pid;
	ctl->remote_sock_fd = -1;
	ret = inject_prepare(pid, PARASITE_AREA_SIZE, &ctl->inj);
	if (ret < 0) {
		free(ctl);
		return ret;
	}
	ctl->area = inject_area(ctl->inj);
	*ret_ctl = ctl;
	return 0;
}

/* The parasite stopped on a signal: it could not reach minicr (it said why in its arguments),
 * or it crashed. Returns -errno (logged). */
static int parasite_stopped(struct parasite_ctl *ctl, int sig)
{
	struct parasite_init_args init;
	uint64_t code = ctl->area + PARASITE_STACK_SIZE;

	if (inject_read(ctl->inj, code + PARASITE_ARGS_OFFSET, &init, sizeof(init)) == 0 &&
	    init.error < 0)
		return pr_neg(init.error, "parasite in task %d cannot connect to minicr", ctl->pid);
	pr_err("parasite in task %d crashed with signal %d (%s)", ctl->pid, sig, strsignal(sig));
	return -EFAULT;
}

/* The rpc layer's watch: the parasite can answer only while its thread runs it. */
static int watch_parasite(void *opaque)
{
	struct parasite_ctl *ctl = opaque;
	int sig = 0, ret = inject_check_running(ctl->inj, &sig);

	if (ret == 0)
		return 0;
	ctl->is_running = false;
	return ret < 0 ? ret : parasite_stopped(ctl, sig);
}

static int write_blob(struct parasite_ctl *ctl, const struct sockaddr_un *addr, socklen_t addr_len)
{
	struct parasite_init_args init = {0};
	uint64_t code = ctl->area + PARASITE_STACK_SIZE;
	int ret;

	init.stack_top = code;
	init.area_addr = ctl->area;
	init.area_len = PARASITE_AREA_SIZE;
	init.frame_addr = inject_frame_addr(ctl->inj);
	init.syscall_ret = inject_syscall_ret_addr(ctl->inj);
	init.cure_prot = inject_area_prot(ctl->inj);
	init.sock_fd = -1;
	init.addr_len = addr_len;
	init.log_level = (uint32_t)log_get_level();
	memcpy(init.addr, addr, addr_len);
	ret = inject_write(ctl->inj, code, minicr_parasite_blob, sizeof(minicr_parasite_blob));
	if (ret < 0)
		return ret;
	ret = inject_write(ctl->inj, code + PARASITE_ARGS_OFFSET, &init, sizeof(init));
	if (ret < 0)
		return ret;
	ctl->is_blob_written = true;
	return 0;
}

/* The area's mprotect() to executable, injected into each task at once. Once it ran, the
 * continuation is the blob's own self-cure, which undoes it should minicr die before it takes the
 * task back. Each result goes to rets[i] of the ctls whose rets[i] was 0. */
static void make_areas_executable(struct parasite_ctl *const *ctls, size_t n, int *rets,
				  struct inject_call *calls)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t code = ctls[i]->area + PARASITE_STACK_SIZE;

		calls[i] = (struct inject_call){0};
		if (rets[i] < 0)
			continue;
		calls[i] = (struct inject_call){
		    .inj = ctls[i]->inj,
		    .nr = __NR_mprotect,
		    .args = {ctls[i]->area, PARASITE_AREA_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC},
		    .cont = code + PARASITE_ENTRY_SELF_CURE};
	}
	inject_syscalls(calls, n);
	for (size_t i = 0; i < n; i++) {
		if (!calls[i].inj)
			continue;
		if (calls[i].ret < 0) {
			rets[i] = calls[i].ret;
			continue;
		}
		/* even if it failed: putting the protection back is harmless */
		ctls[i]->is_area_exec = true;
		if (calls[i].value < 0) {
			errno = (int)-calls[i].value;
			rets[i] = pr_errno("cannot make the parasite's stack area of task %d "
					   "executable",
					   ctls[i]->pid);
		}
	}
}

static int receive_hello(struct parasite_ctl *ctl)
{
	struct parasite_hello hello;
	size_t len = 0;
	int ret, remote = 0;

	ret = parasite_rpc_recv(ctl->rpc, PARASITE_CMD_HELLO, &remote, &hello, sizeof(hello), &len,
				NULL, 0, NULL);
	if (ret < 0)
		return ret;
	if (remote < 0 || len != sizeof(hello)) {
		pr_err("malformed hello from the parasite in task %d", ctl->pid);
		return -EBADMSG;
	}
	ctl->remote_sock_fd = hello.sock_fd;
	pr_debug("parasite in task %d is up (socket fd %d in the task)", ctl->pid, hello.sock_fd);
	return 0;
}

/* Listens for the parasite and writes it into the task. */
static int load_parasite(struct parasite_ctl *ctl)
{
	struct sockaddr_un addr;
	socklen_t addr_len = 0;
	int ret;

	if (ctl->is_area_exec || ctl->rpc) {
		pr_err("task %d is already infected", ctl->pid);
		return -EALREADY;
	}
	ctl->is_cured = false;
	ret = parasite_rpc_listen(ctl->pid, watch_parasite, ctl, &ctl->rpc, &addr, &addr_len);
	if (ret < 0)
		return ret;
	if (seize_fault("infect")) {
		errno = EIO;
		return pr_errno("cannot write the parasite into task %d (MINICR_FAULT)", ctl->pid);
	}
	return write_blob(ctl, &addr, addr_len);
}

static int start_parasite(struct parasite_ctl *ctl)
{
	uint64_t code = ctl->area + PARASITE_STACK_SIZE;
	int ret = inject_run(ctl->inj, code + PARASITE_ENTRY_START, code);

	if (ret < 0)
		return ret;
	ctl->is_running = true;
	return 0;
}

static int connect_parasite(struct parasite_ctl *ctl)
{
	int ret = parasite_rpc_accept(ctl->rpc);

	if (ret < 0)
		return ret;
	return receive_hello(ctl);
}

/* Refuses more tasks than the batch arrays hold (a caller's bug). */
static bool batch_fits(size_t n, int *rets)
{
	if (n <= PARASITE_CTL_BATCH_MAX)
		return true;
	pr_err("cannot handle %zu tasks at once (at most %d)", n, PARASITE_CTL_BATCH_MAX);
	for (size_t i = 0; i < n; i++)
		rets[i] = -EINVAL;
	return false;
}

/* After one task failed, the others are left out of the next steps (-ECANCELED, not logged)
 * and cured: one failure makes one error line. */
static void cancel_after_failure(int *rets, size_t n)
{
	bool failed = false;

	for (size_t i = 0; i < n; i++)
		failed |= rets[i] < 0;
	for (size_t i = 0; i < n && failed; i++)
		if (rets[i] == 0)
			rets[i] = -ECANCELED;
}

/* Runs one step of the infection in each task still on its way, in order, up to a failure. */
static void run_step(struct parasite_ctl *const *ctls, size_t n, int *rets,
		     int (*step)(struct parasite_ctl *ctl))
{
	for (size_t i = 0; i < n; i++)
		if (rets[i] == 0 && (rets[i] = step(ctls[i])) < 0)
			break;
	cancel_after_failure(rets, n);
}

void parasite_ctl_infect_many(struct parasite_ctl *const *ctls, size_t n, int *rets)
{
	struct inject_call calls[PARASITE_CTL_BATCH_MAX];

	if (!batch_fits(n, rets))
		return;
	/* each step in every task before the next: the tasks run their mprotect() and start
	 * their parasites side by side while minicr goes on with the next task */
	for (size_t i = 0; i < n; i++)
		rets[i] = 0;
	run_step(ctls, n, rets, load_parasite);
	make_areas_executable(ctls, n, rets, calls);
	cancel_after_failure(rets, n);
	run_step(ctls, n, rets, start_parasite);
	run_step(ctls, n, rets, connect_parasite);
	for (size_t i = 0; i < n; i++)
		if (rets[i] < 0)
			(void)parasite_ctl_cure(ctls[i]);
}

int parasite_ctl_infect(struct parasite_ctl *ctl)
{
	int ret;

	parasite_ctl_infect_many(&ctl, 1, &ret);
	return ret;
}

/* The parasite is stopped: a probe page it had not removed yet (GET_TASK_STATE stopped half
 * way, or its munmap failed) goes by an injected munmap, and out of its arguments. */
static int unmap_probe(struct parasite_ctl *ctl)
{
	uint64_t args_at = ctl->area + PARASITE_STACK_SIZE + PARASITE_ARGS_OFFSET;
	uint64_t cont = ctl->area + PARASITE_STACK_SIZE + PARASITE_ENTRY_SELF_CURE;
	struct parasite_init_args init;
	unsigned long args[6] = {0};
	long value = 0;
	int ret;

	if (!ctl->is_blob_written)
		return 0;
	ret = inject_read(ctl->inj, args_at, &init, sizeof(init));
	if (ret < 0 || !init.probe_len)
		return ret;
	args[0] = init.probe_addr;
	args[1] = init.probe_len;
	ret = inject_syscall(ctl->inj, __NR_munmap, args, cont, &value);
	if (ret < 0)
		return ret;
	if (value < 0)
		return pr_neg((int)value, "cannot unmap minicr's probe page in task %d", ctl->pid);
	init.probe_len = 0;
	return inject_write(ctl->inj, args_at, &init, sizeof(init));
}

struct parasite_rpc *parasite_ctl_rpc(struct parasite_ctl *ctl)
{
	return ctl->is_running ? ctl->rpc : NULL;
}

pid_t parasite_ctl_pid(const struct parasite_ctl *ctl)
{
	return ctl->pid;
}

const struct user_regs_struct *parasite_ctl_saved_regs(const struct parasite_ctl *ctl)
{
	return inject_saved_regs(ctl->inj);
}

const void *parasite_ctl_saved_xstate(const struct parasite_ctl *ctl, size_t *ret_len)
{
	return inject_saved_xstate(ctl->inj, ret_len);
}

uint64_t parasite_ctl_saved_sigmask(const struct parasite_ctl *ctl)
{
	return inject_saved_sigmask(ctl->inj);
}

int parasite_ctl_remote_sock_fd(const struct parasite_ctl *ctl)
{
	return ctl->is_running ? ctl->remote_sock_fd : -1;
}

/* The parasite's socket in the task: the one it reported, or, if it never said hello, the one
 * it recorded in its arguments. */
static int remote_sock_fd(struct parasite_ctl *ctl)
{
	uint64_t code = ctl->area + PARASITE_STACK_SIZE;
	struct parasite_init_args init;

	if (ctl->is_sock_closed || !ctl->is_blob_written)
		return -1;
	if (ctl->remote_sock_fd >= 0)
		return ctl->remote_sock_fd;
	if (inject_read(ctl->inj, code + PARASITE_ARGS_OFFSET, &init, sizeof(init)) < 0)
		return -1;
	return init.sock_fd;
}

/* The parasite's socket in each task closed, by a close() injected into all at once; it returns
 * into the blob's self-cure should minicr die right after. Errors go to errs[i]. */
static void close_sockets(struct parasite_ctl *const *ctls, size_t n, const bool *active, int *errs,
			  struct inject_call *calls)
{
	for (size_t i = 0; i < n; i++) {
		int sock_fd = active[i] ? remote_sock_fd(ctls[i]) : -1;

		calls[i] = (struct inject_call){0};
		if (sock_fd < 0)
			continue;
		calls[i] = (struct inject_call){
		    .inj = ctls[i]->inj,
		    .nr = __NR_close,
		    .args = {(unsigned long)sock_fd},
		    .cont = ctls[i]->area + PARASITE_STACK_SIZE + PARASITE_ENTRY_SELF_CURE};
	}
	inject_syscalls(calls, n);
	for (size_t i = 0; i < n; i++) {
		if (!calls[i].inj)
			continue;
		ctls[i]->remote_sock_fd = -1;
		ctls[i]->is_sock_closed = calls[i].ret == 0;
		if (calls[i].ret < 0 && !errs[i])
			errs[i] = calls[i].ret;
	}
}

/* Each area made non-executable again, by an mprotect() injected into all at once; it returns
 * into the frame. Errors go to errs[i]. */
static void restore_areas(struct parasite_ctl *const *ctls, size_t n, const bool *active, int *errs,
			  struct inject_call *calls)
{
	for (size_t i = 0; i < n; i++) {
		calls[i] = (struct inject_call){0};
		if (!active[i] || !ctls[i]->is_area_exec)
			continue;
		calls[i] = (struct inject_call){
		    .inj = ctls[i]->inj,
		    .nr = __NR_mprotect,
		    .args = {ctls[i]->area, PARASITE_AREA_SIZE, inject_area_prot(ctls[i]->inj)},
		    .cont = INJECT_CONT_SIGRETURN};
	}
	inject_syscalls(calls, n);
	for (size_t i = 0; i < n; i++) {
		int ret = calls[i].ret;

		if (!calls[i].inj)
			continue;
		if (ret == 0 && calls[i].value < 0) {
			errno = (int)-calls[i].value;
			ret = pr_errno("cannot make the parasite's area of task %d non-executable",
				       ctls[i]->pid);
		}
		if (ret == 0)
			ctls[i]->is_area_exec = false;
		if (ret < 0 && !errs[i])
			errs[i] = ret;
	}
}

/* Stops each running parasite before its socket closes (it would cure the task on its own).
 * A task that cannot be stopped is left out of the rest: nothing more is safe in it. */
static void stop_parasites(struct parasite_ctl *const *ctls, size_t n, bool *active, int *errs)
{
	struct inject *injs[PARASITE_CTL_BATCH_MAX] = {0};
	int rets[PARASITE_CTL_BATCH_MAX];

	for (size_t i = 0; i < n; i++)
		injs[i] = active[i] && ctls[i]->is_running ? ctls[i]->inj : NULL;
	inject_interrupts(injs, n, rets);
	for (size_t i = 0; i < n; i++) {
		if (!injs[i])
			continue;
		if (rets[i] < 0) {
			errs[i] = rets[i];
			active[i] = false;
			continue;
		}
		ctls[i]->is_running = false;
	}
}

void parasite_ctl_cure_many(struct parasite_ctl *const *ctls, size_t n, int *rets)
{
	struct inject_call calls[PARASITE_CTL_BATCH_MAX];
	struct inject *injs[PARASITE_CTL_BATCH_MAX] = {0};
	bool active[PARASITE_CTL_BATCH_MAX];
	int cured[PARASITE_CTL_BATCH_MAX];

	if (!batch_fits(n, rets))
		return;
	for (size_t i = 0; i < n; i++) {
		rets[i] = 0;
		active[i] = ctls[i] && !ctls[i]->is_cured;
		if (active[i] && seize_fault("cure")) {
			errno = EIO;
			rets[i] = pr_errno("cannot stop the parasite in task %d (MINICR_FAULT)",
					   ctls[i]->pid);
		}
	}
	stop_parasites(ctls, n, active, rets);
	for (size_t i = 0; i < n; i++) {
		int ret;

		if (!active[i])
			continue;
		ctls[i]->rpc = parasite_rpc_free(ctls[i]->rpc);
		ret = unmap_probe(ctls[i]);
		if (ret < 0 && !rets[i])
			rets[i] = ret;
	}
	close_sockets(ctls, n, active, rets, calls);
	restore_areas(ctls, n, active, rets, calls);
	for (size_t i = 0; i < n; i++)
		injs[i] = active[i] ? ctls[i]->inj : NULL;
	inject_cures(injs, n, cured);
	for (size_t i = 0; i < n; i++) {
		if (!active[i])
			continue;
		if (cured[i] < 0 && !rets[i])
			rets[i] = cured[i];
		/* the stack bytes are back: the blob is no longer there */
		if (cured[i] == 0)
			ctls[i]->is_blob_written = ctls[i]->is_sock_closed = false;
		ctls[i]->is_cured = true;
	}
}

int parasite_ctl_cure(struct parasite_ctl *ctl)
{
	int ret;

	if (!ctl || ctl->is_cured)
		return 0;
	parasite_ctl_cure_many(&ctl, 1, &ret);
	return ret;
}

struct parasite_ctl *parasite_ctl_free(struct parasite_ctl *ctl)
{
	if (!ctl)
		return NULL;
	(void)parasite_ctl_cure(ctl);
	parasite_rpc_free(ctl->rpc);
	inject_free(ctl->inj);
	free(ctl);
	return NULL;
}

void parasite_ctl_freep(struct parasite_ctl **ctl)
{
	parasite_ctl_free(*ctl);
}
