/* tree-plan.c: sessions and process groups of a restored tree (see tree-plan.h).
 *
 * The kernel's rules this follows: a task is born in its creator's session and group; setsid()
 * makes a new session (and group) led by the caller, which must not lead a group already; a
 * task joins a group only in its own session and only while some member of the group exists;
 * a pid still in use as a session or group id cannot be given to a new task. So a dead leader's
 * session or group can be made again only by a task that takes the leader's pid: a helper,
 * which lives until the tasks that need it are forked or have joined. */
#include "task/tree-plan.h"

#include <errno.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"

#define bad(fmt, ...)                                                                             \
	(pr_err("cannot rebuild the sessions of the tree: " fmt, ##__VA_ARGS__), -EBADMSG)

struct planner {
	const struct tree_plan_in *in;
	size_t n;
	size_t *by_pid; /* task indexes sorted by pid */
	pid_t *fork_sid; /* per task: its session at birth */
	struct tree_plan *plan;
	size_t helpers_cap;
};

static int cmp_by_pid(const void *a, const void *b, void *opaque)
{
	const struct tree_plan_in *in = opaque;
	pid_t x = in[*(const size_t *)a].pid, y = in[*(const size_t *)b].pid;

	return (x > y) - (x < y);
}

/* The task whose pid is pid, or -1. */
static ssize_t task_of(const struct planner *pl, pid_t pid)
{
	size_t lo = 0, hi = pl->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		pid_t p = pl->in[pl->by_pid[mid]].pid;

		if (p == pid)
			return (ssize_t)pl->by_pid[mid];
		if (p < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static ssize_t helper_of(const struct planner *pl, pid_t pid)
{
	for (size_t h = 0; h < pl->plan->n_helpers; h++)
		if (pl->plan->helpers[h].pid == pid)
			return (ssize_t)h;
	return -1;
}

static ssize_t helper_add(struct planner *pl, pid_t pid, enum tree_helper_kind kind, int creator)
{
	struct tree_plan *plan = pl->plan;

	if (plan->n_helpers == pl->helpers_cap) {
		size_t cap = pl->helpers_cap ? 2 * pl->helpers_cap : 8;
		struct tree_helper *bigger = reallocarray(plan->helpers, cap, sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		plan->helpers = bigger;
		pl->helpers_cap = cap;
	}
	plan->helpers[plan->n_helpers] =
	    (struct tree_helper){.pid = pid, .kind = kind, .creator = creator};
	return (ssize_t)plan->n_helpers++;
}

/* Who forks task i so that it is born in its session (or makes its own). */
static int plan_session(struct planner *pl, size_t i, pid_t outside_sid)
{
	const struct tree_plan_in *t = &pl->in[i];
	struct tree_plan_task *pt = &pl->plan->tasks[i];
	int p = t->parent;
	ssize_t h;

	pt->helper = -1;
	pt->sets_session = t->sid == t->pid;
	if (p >= 0 && (pt->sets_session || pl->in[p].sid == t->sid)) {
		pl->fork_sid[i] = pl->in[p].sid;
		return 0;
	}
	if (p >= 0 && pl->plan->tasks[p].sets_session && t->sid == pl->fork_sid[p]) {
		/* the parent forked it before it made its own session */
		pt->before_setsid = true;
		pl->fork_sid[i] = t->sid;
		return 0;
	}
	if (p < 0 && (pt->sets_session || (outside_sid && t->sid == outside_sid))) {
		pl->fork_sid[i] = outside_sid;
		return 0;
	}
	if (t->shares_files)
		return bad("task %d shares its parent's fd table but is in session %d, which its "
			   "parent %d cannot fork it into (not supported)",
			   t->pid, t->sid, p >= 0 ? pl->in[p].pid : 0);
	if (task_of(pl, t->sid) >= 0)
		return bad("task %d is in session %d, led by task %d of the tree, but was adopted by "
			   "task %d of session %d: nothing can fork it there again (not supported)",
			   t->pid, t->sid, t->sid, p >= 0 ? pl->in[p].pid : 0,
			   p >= 0 ? pl->in[p].sid : 0);
	/* a dead session leader: a helper with its pid, forked by the parent */
	h = helper_of(pl, t->sid);
	if (h < 0) {
		h = helper_add(pl, t->sid, TREE_HELPER_SESSION, p);
		if (h < 0)
			return (int)h;
	} else if (pl->plan->helpers[h].creator != p) {
		return bad("task %d: session %d has no leader, and its members have different "
			   "parents (%d and %d): one helper cannot stand in under both",
			   t->pid, t->sid, p >= 0 ? pl->in[p].pid : 0,
			   pl->plan->helpers[h].creator >= 0
			       ? pl->in[pl->plan->helpers[h].creator].pid
			       : 0);
	}
	pl->plan->helpers[h].n_waits++;
	pt->helper = (int)h;
	if (p >= 0)
		pl->plan->tasks[p].adopts = true;
	pl->fork_sid[i] = t->sid;
	return 0;
}

/* Which group task i joins, and the helper that stands in for a dead leader. */
static int plan_group(struct planner *pl, size_t i, pid_t outside_sid, pid_t outside_pgid)
{
	const struct tree_plan_in *t = &pl->in[i];
	struct tree_plan_task *pt = &pl->plan->tasks[i];
	ssize_t g, h;

	if (t->pgid == t->pid) {
		pt->group_kind = TREE_GROUP_OWN;
		return 0;
	}
	if (pt->sets_session)
		return bad("task %d leads session %d but is in process group %d", t->pid, t->sid,
			   t->pgid);
	g = task_of(pl, t->pgid);
	if (g >= 0) {
		if (pl->in[g].pgid != t->pgid)
			return bad("task %d: the leader %d of its process group has moved to group "
				   "%d (not supported)",
				   t->pid, t->pgid, pl->in[g].pgid);
		if (pl->in[g].sid != t->sid)
			return bad("task %d: its process group %d is in session %d, the task in %d",
				   t->pid, t->pgid, pl->in[g].sid, t->sid);
		pt->group_kind = TREE_GROUP_TASK;
		pt->group_ref = (int)g;
		return 0;
	}
	h = helper_of(pl, t->pgid);
	if (h >= 0 && pl->plan->helpers[h].kind == TREE_HELPER_SESSION) {
		if (t->sid != t->pgid)
			return bad("task %d: its process group %d is in session %d, the task in %d",
				   t->pid, t->pgid, t->pgid, t->sid);
		/* born in it when the helper forked it; the others join while it lives */
		if (pt->helper != h)
			pl->plan->helpers[h].n_waits++;
		pt->group_kind = TREE_GROUP_HELPER;
		pt->group_ref = (int)h;
		return 0;
	}
	if (outside_pgid && t->pgid == outside_pgid && t->sid == outside_sid) {
		pt->group_kind = TREE_GROUP_OUTSIDE;
		return 0;
	}
	/* a dead group leader: a helper with its pid, forked by the group's first member */
	if (h < 0) {
		h = helper_add(pl, t->pgid, TREE_HELPER_GROUP, (int)i);
		if (h < 0)
			return (int)h;
	} else if (pl->in[pl->plan->helpers[h].creator].sid != t->sid) {
		return bad("task %d: its process group %d spans sessions %d and %d", t->pid,
			   t->pgid, pl->in[pl->plan->helpers[h].creator].sid, t->sid);
	}
	pl->plan->helpers[h].n_waits++;
	pt->group_kind = TREE_GROUP_HELPER;
	pt->group_ref = (int)h;
	return 0;
}

struct tree_plan *tree_plan_free(struct tree_plan *plan)
{
	if (!plan)
		return NULL;
	free(plan->tasks);
	free(plan->helpers);
	free(plan);
	return NULL;
}

void tree_plan_freep(struct tree_plan **plan)
{
	*plan = tree_plan_free(*plan);
}

int tree_plan_build(const struct tree_plan_in *in, size_t n, pid_t outside_sid,
		    pid_t outside_pgid, struct tree_plan **ret_plan)
{
	cleanup(tree_plan_freep) struct tree_plan *plan = calloc(1, sizeof(*plan));
	cleanup_free size_t *by_pid = NULL;
	cleanup_free pid_t *fork_sid = NULL;
	struct planner pl;
	int r;

	if (!plan)
		return -ENOMEM;
	plan->tasks = calloc(n ? n : 1, sizeof(*plan->tasks));
	by_pid = reallocarray(NULL, n ? n : 1, sizeof(*by_pid));
	fork_sid = calloc(n ? n : 1, sizeof(*fork_sid));
	if (!plan->tasks || !by_pid || !fork_sid)
		return -ENOMEM;
	plan->n_tasks = n;
	for (size_t i = 0; i < n; i++)
		by_pid[i] = i;
	qsort_r(by_pid, n, sizeof(*by_pid), cmp_by_pid, (void *)in);
	pl = (struct planner){.in = in, .n = n, .by_pid = by_pid, .fork_sid = fork_sid, .plan = plan};
	for (size_t i = 0; i < n; i++) {
		if (in[i].parent >= (int)i || (i > 0 && in[i].parent < 0))
			return bad("task %d: its parent is not listed before it", in[i].pid);
		r = plan_session(&pl, i, outside_sid);
		if (r < 0)
			return r;
	}
	/* groups once every session helper is known: a group may be led by a later task */
	for (size_t i = 0; i < n; i++) {
		r = plan_group(&pl, i, outside_sid, outside_pgid);
		if (r < 0)
			return r;
	}
	*ret_plan = TAKE_PTR(plan);
	return 0;
}

int tree_plan_check(const struct tree_plan_in *in, size_t n, pid_t outside_sid,
		    pid_t outside_pgid)
{
	struct tree_plan *plan = NULL;
	int r = tree_plan_build(in, n, outside_sid, outside_pgid, &plan);

	tree_plan_free(plan);
	return r;
}
