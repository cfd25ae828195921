/* pstree.c: read the process tree from /proc (stat, task/, children) without ptrace. */
#include "task/pstree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/procfs.h"
#include "base/util.h"

/* Parses a decimal pid at *p, skipping leading blanks; advances *p past it. */
static int parse_pid_field(const char **p, pid_t *ret)
{
	const char *s = *p;
	char *end;
	long v;

	while (*s == ' ')
		s++;
	/* ppid, pgid and sid may be 0 (outside our pid namespace) but are never negative */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || v < 0 || v > INT_MAX)
		return -EINVAL;
	*ret = (pid_t)v;
	*p = end;
	return 0;
}

static bool pid_in(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

static int pid_append(pid_t **pids, size_t *n_pids, pid_t pid)
{
	pid_t *bigger;

	/* grow in steps of 16 so repeated scans stay cheap */
	if (*n_pids % 16 == 0) {
		bigger = realloc(*pids, (*n_pids + 16) * sizeof(pid_t));
		if (!bigger)
			return -ENOMEM;
		*pids = bigger;
	}
	(*pids)[(*n_pids)++] = pid;
	return 0;
}

int pstree_parse_pid_list(const char *buf, pid_t **pids, size_t *n_pids)
{
	const char *p = buf;
	int n_added = 0;

	for (;;) {
		pid_t pid;
		int ret;

		while (*p == ' ' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		if (parse_pid_field(&p, &pid) < 0 || pid == 0 ||
		    (*p != ' ' && *p != '\n' && *p != '\0'))
			return -EINVAL;
		if (pid_in(*pids, *n_pids, pid))
			continue;
		ret = pid_append(pids, n_pids, pid);
		if (ret < 0)
			return ret;
		n_added++;
	}
	return n_added;
}

static int gone_to_esrch(int err)
{
	return err == -ENOENT ? -ESRCH : err;
}

static int compare_pids(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int pstree_read_threads(pid_t pid, pid_t **ret_tids, size_t *ret_n_tids)
{
	cleanup_free pid_t *tids = NULL;
	size_t n_tids = 0;
	struct dirent *de;
	char path[64];
	DIR *dir;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return gone_to_esrch(-errno);
	while ((errno = 0, de = readdir(dir))) {
		long tid;

		if (de->d_name[0] == '.')
			continue;
		if (parse_long(de->d_name, 1, INT_MAX, &tid) < 0)
			continue;
		ret = pid_append(&tids, &n_tids, (pid_t)tid);
		if (ret < 0)
			break;
	}
	if (ret == 0 && errno)
		ret = gone_to_esrch(-errno);
	closedir(dir);
	if (ret < 0)
		return ret;
	if (n_tids == 0)
		return -ESRCH; /* a reaped process can leave an empty task dir behind briefly */
	qsort(tids, n_tids, sizeof(pid_t), compare_pids);
	*ret_tids = TAKE_PTR(tids);
	*ret_n_tids = n_tids;
	return 0;
}

int pstree_read_children(pid_t pid, pid_t **pids, size_t *n_pids)
{
	cleanup_free pid_t *tids = NULL;
	size_t n_tids = 0;
	int n_added = 0, ret;

	ret = pstree_read_threads(pid, &tids, &n_tids);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n_tids; i++) {
		cleanup_free char *buf = NULL;
		char path[96];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)tids[i]);
		len = read_file_at(AT_FDCWD, path, &buf);
		if (len == -ENOENT || len == -ESRCH)
			continue; /* that thread exited meanwhile: it has no children to report */
		if (len < 0)
			return (int)len;
		ret = pstree_parse_pid_list(buf, pids, n_pids);
		if (ret < 0)
			return ret;
		n_added += ret;
	}
	return n_added;
}

struct pstree *pstree_free(struct pstree *tree)
{
	if (!tree)
		return NULL;
	for (size_t i = 0; i < tree->n_procs; i++)
		free(tree->procs[i].tids);
	free(tree->procs);
	free(tree);
	return NULL;
}

static void pstree_freep(struct pstree **tree)
{
	pstree_free(*tree);
}

int pstree_collect(pid_t root, struct pstree **ret_tree)
{
	cleanup(pstree_freep) struct pstree *tree = NULL;
	cleanup_free pid_t *pids = NULL;
	size_t n_pids = 0;
	int ret;

	tree = calloc(1, sizeof(*tree));
	if (!tree)
		return -ENOMEM;
	ret = pid_append(&pids, &n_pids, root);
	if (ret < 0)
		return ret;
	/* breadth first: pids grows while we walk it, so parents precede children */
	for (size_t i = 0; i < n_pids; i++) {
		struct pstree_proc proc = {0};
		struct pstree_proc *bigger;

		ret = procfs_read_stat(pids[i], &proc.stat);
		if (ret == -ESRCH && i > 0)
			continue; /* a child that exited while we looked */
		if (ret < 0)
			return ret;
		ret = pstree_read_threads(pids[i], &proc.tids, &proc.n_tids);
		if (ret == -ESRCH && i > 0)
			continue;
		if (ret < 0)
			return ret;
		bigger = realloc(tree->procs, (tree->n_procs + 1) * sizeof(*bigger));
		if (!bigger) {
			free(proc.tids);
			return -ENOMEM;
		}
		tree->procs = bigger;
		tree->procs[tree->n_procs++] = proc;
		ret = pstree_read_children(pids[i], &pids, &n_pids);
		if (ret < 0 && !(ret == -ESRCH && i > 0))
			return ret;
	}
	*ret_tree = TAKE_PTR(tree);
	return 0;
}
