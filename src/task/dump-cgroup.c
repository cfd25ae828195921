/* dump-cgroup.c: see dump-cgroup.h. */
#define LOG_PREFIX "dump: "
#include "task/dump-cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "base/log.h"
#include "base/util.h"
#include "task/cgroup-parse.h"
#include "task/seize.h"

struct task_cgroups {
	struct cgroup_line *lines;
	size_t n_lines;
	CgroupMemberEntry *entries;
	CgroupMemberEntry **ptrs;
};

struct dump_cgroups {
	struct task_cgroups *tasks;
	size_t n_tasks;
};

struct dump_cgroups *dump_cgroups_free(struct dump_cgroups *cg)
{
	if (!cg)
		return NULL;
	for (size_t i = 0; i < cg->n_tasks; i++) {
		cgroup_lines_free(cg->tasks[i].lines, cg->tasks[i].n_lines);
		free(cg->tasks[i].entries);
		free(cg->tasks[i].ptrs);
	}
	free(cg->tasks);
	free(cg);
	return NULL;
}

size_t dump_cgroups_of(const struct dump_cgroups *cg, size_t i, CgroupMemberEntry ***ret_entries)
{
	*ret_entries = cg->tasks[i].ptrs;
	return cg->tasks[i].n_lines;
}

/* /proc/PID/cgroup, or /proc/PID/task/TID/cgroup for tid != pid. */
static int read_cgroup_file(pid_t pid, pid_t tid, char **ret_buf)
{
	char path[64];
	ssize_t n;

	if (tid == pid)
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/%d/task/%d/cgroup", (int)pid, (int)tid);
	n = read_file_at(AT_FDCWD, path, ret_buf);
	if (n < 0) {
		errno = (int)-n;
		return pr_errno("cannot read '%s'", path);
	}
	return 0;
}

/* The records restore will check: a hierarchy it can name and a path it can follow. */
static int check_line(pid_t pid, const struct cgroup_line *l)
{
	char hier[160], esc[512];
	const char *why = cgroup_controllers_invalid(l->controllers);

	if (why) {
		pr_err(
		    "cannot dump task %d: its cgroup hierarchy '%s' is not one restore can name: "
		    "%s",
		    (int)pid, escape_path(esc, sizeof(esc), l->controllers), why);
		return -ENOTSUP;
	}
	cgroup_hierarchy_name(hier, sizeof(hier), l->controllers);
	if (strcmp(l->path, "/..") == 0 || strncmp(l->path, "/../", 4) == 0) {
		pr_err("cannot dump task %d: its cgroup '%s' in %s is outside minicr's cgroup "
		       "namespace",
		       (int)pid, escape_path(esc, sizeof(esc), l->path), hier);
		return -ENOTSUP;
	}
	why = cgroup_path_invalid(l->path);
	if (why) {
		pr_err("cannot dump task %d: its cgroup '%s' in %s is not a path restore can "
		       "follow: %s",
		       (int)pid, escape_path(esc, sizeof(esc), l->path), hier, why);
		return -ENOTSUP;
	}
	return 0;
}

/* Parses what the kernel showed (it refuses a newline in a cgroup's name, so each line is one
 * hierarchy). */
static int parse_cgroups(pid_t pid, pid_t tid, const char *buf, struct cgroup_line **ret_lines)
{
	int n = cgroup_parse(buf, ret_lines);

	if (n == -EINVAL) {
		pr_err("cannot dump task %d: /proc/%d/task/%d/cgroup does not parse", (int)pid,
		       (int)pid, (int)tid);
		return -ENOTSUP;
	}
	if (n < 0)
		return pr_neg(n, "cannot parse the cgroups of task %d", (int)pid);
	return n;
}

/* A thread in another cgroup than its process: cgroup.procs moves whole processes, so restore
 * would put it with the others. Names the first hierarchy where they differ. */
static int refuse_thread(pid_t pid, pid_t tid, const struct task_cgroups *t, const char *buf)
{
	struct cgroup_line *lines = NULL;
	char hier[160], esc[512], esc2[512];
	int n = parse_cgroups(pid, tid, buf, &lines);

	if (n < 0)
		return n;
	for (size_t i = 0; i < t->n_lines; i++) {
		const struct cgroup_line *own = &t->lines[i];

		for (int k = 0; k < n; k++) {
			if (strcmp(lines[k].controllers, own->controllers) != 0 ||
			    strcmp(lines[k].path, own->path) == 0)
				continue;
			pr_err("cannot dump task %d: its thread %d is in cgroup '%s' of %s, not in "
			       "its process's '%s' (minicr restores a process's cgroups, not a "
			       "thread's own)",
			       (int)pid, (int)tid, escape_path(esc, sizeof(esc), lines[k].path),
			       cgroup_hierarchy_name(hier, sizeof(hier), own->controllers),
			       escape_path(esc2, sizeof(esc2), own->path));
			cgroup_lines_free(lines, (size_t)n);
			return -ENOTSUP;
		}
	}
	cgroup_lines_free(lines, (size_t)n);
	pr_err("cannot dump task %d: its thread %d lists other cgroup hierarchies than its "
	       "process",
	       (int)pid, (int)tid);
	return -ENOTSUP;
}

static int collect_task(const struct seize_task *task, struct task_cgroups *t)
{
	cleanup_free char *buf = NULL;
	int r, n;

	r = read_cgroup_file(task->pid, task->pid, &buf);
	if (r < 0)
		return r;
	n = parse_cgroups(task->pid, task->pid, buf, &t->lines);
	if (n < 0)
		return n;
	t->n_lines = (size_t)n;
	for (size_t i = 0; i < t->n_lines; i++) {
		r = check_line(task->pid, &t->lines[i]);
		if (r < 0)
			return r;
	}
	/* the kernel prints every thread's the same way, so equal text is equal cgroups */
	for (size_t k = 0; k < task->n_tids; k++) {
		cleanup_free char *tbuf = NULL;

		if (task->tids[k] == task->pid)
			continue;
		r = read_cgroup_file(task->pid, task->tids[k], &tbuf);
		if (r < 0)
			return r;
		if (strcmp(tbuf, buf) != 0)
			return refuse_thread(task->pid, task->tids[k], t, tbuf);
	}
	t->entries = calloc(t->n_lines ? t->n_lines : 1, sizeof(*t->entries));
	t->ptrs = calloc(t->n_lines ? t->n_lines : 1, sizeof(*t->ptrs));
	if (!t->entries || !t->ptrs)
		return pr_neg(-ENOMEM, "cannot allocate the cgroups of task %d", (int)task->pid);
	for (size_t i = 0; i < t->n_lines; i++) {
		CgroupMemberEntry *e = &t->entries[i];

		cgroup_member_entry__init(e);
		e->controllers = t->lines[i].controllers;
		e->path = t->lines[i].path;
		e->has_hierarchy_id = true;
		e->hierarchy_id = t->lines[i].hierarchy_id;
		t->ptrs[i] = e;
	}
	return 0;
}

int dump_cgroups_collect(const struct seize_tree *tree, struct dump_cgroups **ret)
{
	struct dump_cgroups *cg = calloc(1, sizeof(*cg));

	if (!cg || !(cg->tasks = calloc(tree->n_tasks ? tree->n_tasks : 1, sizeof(*cg->tasks)))) {
		free(cg);
		return pr_neg(-ENOMEM, "cannot allocate the cgroups of the tree");
	}
	cg->n_tasks = tree->n_tasks;
	for (size_t i = 0; i < tree->n_tasks; i++) {
		int r = collect_task(&tree->tasks[i], &cg->tasks[i]);

		if (r < 0) {
			dump_cgroups_free(cg);
			return r;
		}
	}
	*ret = cg;
	return 0;
}
