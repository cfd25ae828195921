/* parasite-cmd.c: the parasite's commands, from minicr's side. */
#define LOG_PREFIX "parasite: "
#include "task/parasite-cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "task/parasite-ctl.h"
#include "task/parasite-rpc.h"
#include "task/seize.h"

/* The control socket, or NULL (logged) if no parasite runs. */
static struct parasite_rpc *running_rpc(struct parasite_ctl *ctl)
{
	struct parasite_rpc *rpc = parasite_ctl_rpc(ctl);

	if (!rpc)
		pr_err("no parasite runs in task %d", parasite_ctl_pid(ctl));
	return rpc;
}

static int drain_batch(struct parasite_ctl *ctl, struct parasite_rpc *rpc, const int *fds,
		       size_t n_fds, int *ret_local_fds, struct parasite_fd_opts *ret_opts)
{
	struct parasite_drain_args req = {.n_fds = (uint32_t)n_fds};
	struct parasite_drain_reply reply;
	size_t len = 0, n_received = 0;
	pid_t pid = parasite_ctl_pid(ctl);
	int ret, remote = 0;

	for (size_t i = 0; i < n_fds; i++)
		req.fds[i] = fds[i];
	ret = parasite_rpc_send(
	    rpc, PARASITE_CMD_DRAIN_FDS, &req,
	    (uint32_t)(offsetof(struct parasite_drain_args, fds) + n_fds * sizeof(int32_t)));
	if (ret < 0)
		return ret;
	ret = parasite_rpc_recv(rpc, PARASITE_CMD_DRAIN_FDS, &remote, &reply, sizeof(reply), &len,
				ret_local_fds, n_fds, &n_received);
	if (ret < 0)
		return ret;
	if (remote == -EBADF && len >= offsetof(struct parasite_drain_reply, opts)) {
		close_all(ret_local_fds, n_received);
		pr_err("fd %d of task %d is not open", reply.bad_fd, pid);
		return remote;
	}
	if (remote < 0) {
		close_all(ret_local_fds, n_received);
		return pr_neg(remote, "parasite in task %d cannot drain fds", pid);
	}
	if (n_received != n_fds || reply.n_fds != n_fds ||
	    len < offsetof(struct parasite_drain_reply, opts) + n_fds * sizeof(reply.opts[0])) {
		pr_err("parasite in task %d sent %zu of %zu fds", pid, n_received, n_fds);
		close_all(ret_local_fds, n_received);
		return -EBADMSG;
	}
	if (ret_opts)
		memcpy(ret_opts, reply.opts, n_fds * sizeof(reply.opts[0]));
	return 0;
}

int parasite_cmd_drain_fds(struct parasite_ctl *ctl, const int *fds, size_t n_fds,
			   int *ret_local_fds, struct parasite_fd_opts *ret_opts)
{
	struct parasite_rpc *rpc = running_rpc(ctl);
	size_t done = 0;
	int ret = 0;

	if (!rpc)
		return -ENOTCONN;
	if (seize_fault("drain")) {
		errno = EIO;
		return pr_errno("cannot send DRAIN_FDS to the parasite in task %d (MINICR_FAULT)",
				parasite_ctl_pid(ctl));
	}
	while (done < n_fds) {
		size_t n = n_fds - done < PARASITE_MAX_FDS ? n_fds - done : PARASITE_MAX_FDS;

		ret = drain_batch(ctl, rpc, fds + done, n, ret_local_fds + done,
				  ret_opts ? ret_opts + done : NULL);
		if (ret < 0)
			break;
		done += n;
	}
	if (ret < 0)
		close_all(ret_local_fds, done);
	return ret;
}

/* One LIST_FDS round trip: the open fds of [from, reply->next). */
static int list_round(struct parasite_ctl *ctl, struct parasite_rpc *rpc, int from, int table_size,
		      bool find_path_fds, struct parasite_list_reply *reply)
{
	struct parasite_list_args req = {
	    .from = from, .to = table_size, .find_path_fds = find_path_fds};
	pid_t pid = parasite_ctl_pid(ctl);
	size_t len = 0;
	int ret, remote = 0;

	ret = parasite_rpc_send(rpc, PARASITE_CMD_LIST_FDS, &req, sizeof(req));
	if (ret < 0)
		return ret;
	ret = parasite_rpc_recv(rpc, PARASITE_CMD_LIST_FDS, &remote, reply, sizeof(*reply), &len,
				NULL, 0, NULL);
	if (ret < 0)
		return ret;
	if (remote < 0)
		return pr_neg(remote, "parasite in task %d cannot list its fds", pid);
	if (len < offsetof(struct parasite_list_reply, fds) || reply->n_fds > PARASITE_LIST_MAX ||
	    len < offsetof(struct parasite_list_reply, fds) + reply->n_fds * sizeof(int32_t) ||
	    reply->next <= from || reply->next > table_size) {
		pr_err("malformed fd list from the parasite in task %d", pid);
		return -EBADMSG;
	}
	return 0;
}

int parasite_cmd_list_fds(struct parasite_ctl *ctl, int table_size, bool find_path_fds,
			  int **ret_fds)
{
	struct parasite_rpc *rpc = running_rpc(ctl);
	cleanup_free int *fds = NULL;
	size_t n = 0, cap = 0;
	int from = 0;

	if (!rpc)
		return -ENOTCONN;
	do {
		struct parasite_list_reply reply;
		int ret = list_round(ctl, rpc, from, table_size, find_path_fds, &reply);

		if (ret < 0)
			return ret;
		if (n + reply.n_fds > cap) {
			int *bigger;

			cap = (n + reply.n_fds) * 2;
			bigger = realloc(fds, cap * sizeof(*fds));
			if (!bigger)
				return pr_neg(-ENOMEM, "cannot list the fds of task %d",
					      parasite_ctl_pid(ctl));
			fds = bigger;
		}
		for (uint32_t i = 0; i < reply.n_fds; i++)
			fds[n++] = reply.fds[i];
		from = reply.next;
	} while (from < table_size);
	if (n > INT_MAX)
		return -E2BIG;
	*ret_fds = n ? TAKE_PTR(fds) : calloc(1, sizeof(int));
	if (!*ret_fds)
		return -ENOMEM;
	return (int)n;
}

int parasite_cmd_get_task_state(struct parasite_ctl *ctl, struct parasite_task_state *ret_state)
{
	struct parasite_rpc *rpc = running_rpc(ctl);
	pid_t pid = parasite_ctl_pid(ctl);
	size_t len = 0;
	int ret, remote = 0;

	if (!rpc)
		return -ENOTCONN;
	if (seize_fault("state")) {
		errno = EIO;
		return pr_errno(
		    "cannot send GET_TASK_STATE to the parasite in task %d (MINICR_FAULT)", pid);
	}
	ret = parasite_rpc_send(rpc, PARASITE_CMD_GET_TASK_STATE, NULL, 0);
	if (ret < 0)
		return ret;
	ret = parasite_rpc_recv(rpc, PARASITE_CMD_GET_TASK_STATE, &remote, ret_state,
				sizeof(*ret_state), &len, NULL, 0, NULL);
	if (ret < 0)
		return ret;
	if (remote < 0)
		return pr_neg(remote, "parasite in task %d cannot read its state", pid);
	if (len != sizeof(*ret_state)) {
		pr_err("malformed task state from the parasite in task %d", pid);
		return -EBADMSG;
	}
	return 0;
}
