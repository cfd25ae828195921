/* tree-plan.h: how a dumped tree's sessions and process groups are rebuilt: who forks each task
 * (its parent, before or after the parent's setsid(), or a helper), which helper tasks stand in
 * for dead session and group leaders, and which group each task joins. Pure: no syscalls; the
 * check logs one line per refusal. Used by restore to fork the tree and by the image checks
 * (and so by dump) to refuse a layout that cannot be rebuilt. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One dumped task: parents come before their children; the root's parent is -1. */
struct tree_plan_in {
	pid_t pid, pgid, sid;
	int parent;
	bool shares_files; /* cloned with CLONE_FILES: its parent must fork it */
};

enum tree_helper_kind {
	TREE_HELPER_SESSION = 1, /* pid = a dead session leader's: setsid(), forks its members */
	TREE_HELPER_GROUP,	 /* pid = a dead group leader's: setpgid(0, 0) in its session */
};

/* A short-lived task with a dead leader's pid. It exits once n_waits tasks told it they no
 * longer need it (they were forked by it, or joined its group); its creator reaps it. */
struct tree_helper {
	pid_t pid;
	enum tree_helper_kind kind;
	int creator; /* task index that forks it; -1: minicr, as the root's parent */
	unsigned int n_waits;
};

enum tree_group_kind {
	TREE_GROUP_OWN = 1, /* leads its own group (setsid() or setpgid(0, 0)) */
	TREE_GROUP_TASK,    /* joins the group led by task group_ref */
	TREE_GROUP_HELPER,  /* joins the group of helper group_ref */
	TREE_GROUP_OUTSIDE, /* stays in (or joins) minicr's own group */
};

struct tree_plan_task {
	int helper;	    /* the session helper that forks it, or -1: its parent does */
	bool before_setsid; /* its parent forks it before the parent's own setsid() */
	bool sets_session;  /* calls setsid() */
	bool adopts;	    /* creates session helpers: their tasks are reparented to it */
	enum tree_group_kind group_kind;
	int group_ref;
};

struct tree_plan {
	struct tree_plan_task *tasks; /* per input task */
	size_t n_tasks;
	struct tree_helper *helpers;
	size_t n_helpers;
};

/* Plans the tree in[0..n). outside_sid and outside_pgid are the session and group of the
 * root's creator (minicr at restore); 0 when unknown (dump), which plans helpers for a root in a
 * session or group that is not its own. Returns 0 and sets *ret_plan (free with
 * tree_plan_free()), -EBADMSG after one log line for a layout that cannot be rebuilt, or
 * -ENOMEM. */
int tree_plan_build(const struct tree_plan_in *in, size_t n, pid_t outside_sid,
		    pid_t outside_pgid, struct tree_plan **ret_plan);
struct tree_plan *tree_plan_free(struct tree_plan *plan); /* NULL-safe, returns NULL */
void tree_plan_freep(struct tree_plan **plan);

/* tree_plan_build() for its verdict alone. */
int tree_plan_check(const struct tree_plan_in *in, size_t n, pid_t outside_sid,
		    pid_t outside_pgid);
