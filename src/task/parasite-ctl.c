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

/* mprotect() through inject: once it ran, the continuation is the blob's own self-cure, which
 * undoes it should minicr die before it takes the task back. */
static int make_area_executable(struct parasite_ctl *ctl)
{
	uint64_t code = ctl->area + PARASITE_STACK_SIZE;
	unsigned long args[6] = {ctl->area, PARASITE_AREA_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC};
	long value = 0;
	int ret;

	ret =
	    inject_syscall(ctl->inj, __NR_mprotect, args, code + PARASITE_ENTRY_SELF_CURE, &value);
	if (ret < 0)
		return ret;
	ctl->is_area_exec = true; /* even if it failed: putting the protection back is harmless */
	if (value < 0) {
		errno = (int)-value;
		return pr_errno("cannot make the parasite's stack area of task %d executable",
				ctl->pid);
	}
	return 0;
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

int parasite_ctl_infect(struct parasite_ctl *ctl)
{
	uint64_t code = ctl->area + PARASITE_STACK_SIZE;
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
		goto out_cure;
	if (seize_fault("infect")) {
		errno = EIO;
		ret = pr_errno("cannot write the parasite into task %d (MINICR_FAULT)", ctl->pid);
		goto out_cure;
	}
	ret = write_blob(ctl, &addr, addr_len);
	if (ret < 0)
		goto out_cure;
	ret = make_area_executable(ctl);
	if (ret < 0)
		goto out_cure;
	ret = inject_run(ctl->inj, code + PARASITE_ENTRY_START, code);
	if (ret < 0)
		goto out_cure;
	ctl->is_running = true;
	ret = parasite_rpc_accept(ctl->rpc);
	if (ret < 0)
		goto out_cure;
	ret = receive_hello(ctl);
	if (ret < 0)
		goto out_cure;
	return 0;
out_cure:
	(void)parasite_ctl_cure(ctl);
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

/* Each step leaves the task where its own context follows if minicr dies right after: the
 * socket's close returns into the blob's self-cure, the last mprotect() into the frame. */
static int undo_parasite(struct parasite_ctl *ctl)
{
	int sock_fd = remote_sock_fd(ctl);
	long value = 0;
	int ret, ret2;

	ret = unmap_probe(ctl);

	if (sock_fd >= 0) {
		unsigned long args[6] = {(unsigned long)sock_fd};

		ret2 = inject_syscall(ctl->inj, __NR_close, args,
				      ctl->area + PARASITE_STACK_SIZE + PARASITE_ENTRY_SELF_CURE,
				      &value);
		ctl->remote_sock_fd = -1;
		ctl->is_sock_closed = ret2 == 0;
		if (ret2 < 0 && !ret)
			ret = ret2;
	}
	if (ctl->is_area_exec) {
		unsigned long args[6] = {ctl->area, PARASITE_AREA_SIZE, inject_area_prot(ctl->inj)};

		ret2 = inject_syscall(ctl->inj, __NR_mprotect, args, INJECT_CONT_SIGRETURN, &value);
		if (ret2 == 0 && value < 0) {
			errno = (int)-value;
			ret2 = pr_errno("cannot make the parasite's area of task %d non-executable",
					ctl->pid);
		}
		if (ret2 == 0)
			ctl->is_area_exec = false;
		if (ret2 < 0 && !ret)
			ret = ret2;
	}
	return ret;
}

int parasite_ctl_cure(struct parasite_ctl *ctl)
{
	int ret = 0, ret2;

	if (!ctl || ctl->is_cured)
		return 0;
	if (seize_fault("cure")) {
		errno = EIO;
		ret = pr_errno("cannot stop the parasite in task %d (MINICR_FAULT)", ctl->pid);
	}
	if (ctl->is_running) {
		/* stop it before its socket closes: it would cure the task on its own */
		ret2 = inject_interrupt(ctl->inj);
		if (ret2 < 0)
			return ret2; /* the task cannot be stopped: nothing more is safe */
		ctl->is_running = false;
	}
	ctl->rpc = parasite_rpc_free(ctl->rpc);
	ret2 = undo_parasite(ctl);
	if (ret2 < 0 && !ret)
		ret = ret2;
	ret2 = inject_cure(ctl->inj);
	if (ret2 < 0 && !ret)
		ret = ret2;
	/* the stack bytes are back: the blob is no longer there */
	if (ret2 == 0)
		ctl->is_blob_written = ctl->is_sock_closed = false;
	ctl->is_cured = true;
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
