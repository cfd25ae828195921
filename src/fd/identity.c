/* fd-identity.c: shared open file descriptions by kcmp(KCMP_FILE), whose order (the kernel's
 * scrambled file pointers) makes binary search trees of the descriptions with one key.
 *
 * Each key has one tree over the file indices of every task committed so far; the order is
 * the kernel's own, so the tree stays as shallow as a random one and a task's lookups cost
 * O(log files of its key). While a task is sorted its new descriptions of one key form a tree
 * over its fd indices, and each remembers where its search of the key's tree ended: commit
 * hangs it there, or, for a key no earlier task had, makes the task's tree the key's. Sorting a
 * task reads the key trees only, and each of its key groups is handled by one thread, so the
 * threads write disjoint slots. */
#define LOG_PREFIX "fd: "
#include "fd/identity.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd/list.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/parallel.h"
#include "base/util.h"

#ifndef __NR_kcmp
#define __NR_kcmp 312
#endif

/* Below this many fds to compare, a thread costs more to start than it saves. */
#define SORT_PARALLEL_MIN 512

#define NONE FD_IDENTITY_NONE

/* A registered description: where to compare it, and its place in its tree. */
struct known_file {
	pid_t pid; /* 0: not registered */
	int fd;
	size_t left, right;
};

/* The fds of one key in one task. */
struct group {
	uint64_t key[2];
	size_t first, n;   /* members[first .. first + n) */
	size_t tree;	   /* root of the key's tree of earlier tasks' files, or NONE */
	size_t new_root;   /* tree of this task's new descriptions (fd indices) */
	size_t known_root; /* tree of this task's fds that share an earlier task's file */
};

/* Why a range stopped: the first kcmp that failed. */
struct sort_error {
	size_t at; /* fd index being sorted; NONE: no error */
	int error;
	pid_t pid1, pid2;
	int fd1, fd2;
};

struct fd_identity {
	struct hmap trees; /* key -> root of the key's tree (file index) */
	struct known_file *files;
	size_t n_files_cap;
	/* the task sorted last, kept for its commit */
	struct group *groups;
	size_t n_groups;
	size_t *members;
	size_t *left, *right; /* per fd index: the new and known trees */
	bool *is_new;	      /* per fd index: a node of its group's new tree */
	/* per fd index of a new description: the key tree's node its search ended at (NONE: the
	 * tree was empty) and on which side, 1 left or 2 right, as kcmp answered */
	size_t *leaf;
	unsigned char *side;
};

struct sort_job {
	struct fd_identity *id;
	const struct fd_identity_task *task;
	const size_t *work; /* group indices, largest first */
	size_t n_work, n_ranges;
	size_t *ret_file, *ret_first;
	struct sort_error *errors; /* per range */
};

struct fd_identity *fd_identity_new(void)
{
	return calloc(1, sizeof(struct fd_identity));
}

static void forget_task(struct fd_identity *id)
{
	free(id->groups);
	free(id->members);
	free(id->left);
	free(id->right);
	free(id->is_new);
	free(id->leaf);
	free(id->side);
	id->groups = NULL;
	id->members = id->left = id->right = id->leaf = NULL;
	id->is_new = NULL;
	id->side = NULL;
	id->n_groups = 0;
}

struct fd_identity *fd_identity_free(struct fd_identity *id)
{
	if (!id)
		return NULL;
	forget_task(id);
	hmap_clear(&id->trees);
	free(id->files);
	free(id);
	return NULL;
}

/* kcmp order of two files: 0 same, 1 or 2 which side of the tree; -errno on failure. */
static int compare(pid_t pid1, int fd1, pid_t pid2, int fd2)
{
	long r = syscall(__NR_kcmp, pid1, pid2, KCMP_FILE, fd1, fd2);

	return r < 0 ? -errno : (int)r;
}

static void set_error(struct sort_error *e, size_t at, int error, pid_t pid1, int fd1, pid_t pid2,
		      int fd2)
{
	*e = (struct sort_error){at, error, pid1, pid2, fd1, fd2};
}

/* Walks a tree over this task's fd indices for fd m. Returns 1 with *ret_found, or 0 with
 * *ret_link where m would go; -errno (in *err) on failure. */
static int find_local(const struct sort_job *job, pid_t self, size_t *root, size_t m,
		      size_t *ret_found, size_t **ret_link, struct sort_error *err)
{
	const struct fd_identity_task *task = job->task;
	struct fd_identity *id = job->id;
	size_t *link = root;

	while (*link != NONE) {
		size_t x = *link;
		int r = compare(self, task->fds[m].local_fd, self, task->fds[x].local_fd);

		if (r < 0) {
			set_error(err, m, r, task->pid, task->fds[m].fd, task->pid,
				  task->fds[x].fd);
			return r;
		}
		if (r == 0) {
			*ret_found = x;
			return 1;
		}
		link = r == 1 ? &id->left[x] : &id->right[x];
	}
	*ret_link = link;
	return 0;
}

/* Walks the key's tree of earlier tasks' files for fd m. Returns 1 with *ret_file, or 0 with
 * where the search ended in id->leaf[m] and id->side[m]; -errno (in *err) on failure. */
static int find_known(const struct sort_job *job, size_t tree, size_t m, size_t *ret_file,
		      struct sort_error *err)
{
	const struct fd_identity_task *task = job->task;
	struct fd_identity *id = job->id;
	const struct known_file *files = id->files;
	size_t x = tree;

	id->leaf[m] = NONE;
	while (x != NONE) {
		int r = compare(task->pid, task->fds[m].fd, files[x].pid, files[x].fd);

		if (r < 0) {
			set_error(err, m, r, task->pid, task->fds[m].fd, files[x].pid, files[x].fd);
			return r;
		}
		if (r == 0) {
			*ret_file = x;
			return 1;
		}
		id->leaf[m] = x;
		id->side[m] = (unsigned char)r;
		x = r == 1 ? files[x].left : files[x].right;
	}
	return 0;
}

/* Sorts the members of one group, in fd order. self is the calling thread's tid: kcmp then
 * locks that thread, not one task shared by every thread. */
static int sort_group(const struct sort_job *job, pid_t self, struct group *g,
		      struct sort_error *err)
{
	struct fd_identity *id = job->id;

	for (size_t k = g->first; k < g->first + g->n; k++) {
		size_t m = id->members[k], found = NONE, *new_link, *known_link;
		int r;

		id->left[m] = id->right[m] = NONE;
		id->is_new[m] = false;
		job->ret_file[m] = NONE;
		job->ret_first[m] = m;
		/* a description this task already has */
		r = find_local(job, self, &g->new_root, m, &found, &new_link, err);
		if (r < 0)
			return r;
		if (r > 0) {
			job->ret_first[m] = found;
			continue;
		}
		/* one an earlier fd of this task found in an earlier task */
		r = find_local(job, self, &g->known_root, m, &found, &known_link, err);
		if (r < 0)
			return r;
		if (r > 0) {
			job->ret_file[m] = job->ret_file[found];
			continue;
		}
		r = find_known(job, g->tree, m, &job->ret_file[m], err);
		if (r < 0)
			return r;
		*(r > 0 ? known_link : new_link) = m;
		id->is_new[m] = r == 0;
	}
	return 0;
}

static void sort_range(void *opaque, size_t range, size_t from, size_t to)
{
	const struct sort_job *job = opaque;
	pid_t self = (pid_t)syscall(SYS_gettid);

	(void)from, (void)to;
	/* interleaved over the largest-first work list, so big groups spread over the ranges */
	for (size_t w = range; w < job->n_work; w += job->n_ranges)
		if (sort_group(job, self, &job->id->groups[job->work[w]], &job->errors[range]) < 0)
			return;
}

/* Groups the task's fds by key, members in fd order. */
static int group_by_key(struct fd_identity *id, const struct fd_identity_task *task)
{
	struct hmap index = {0};
	size_t n = task->n_fds, *fill;
	int r = 0;

	id->groups = calloc(n ? n : 1, sizeof(*id->groups));
	id->members = malloc((n ? n : 1) * sizeof(size_t));
	id->left = malloc((n ? n : 1) * sizeof(size_t));
	id->right = malloc((n ? n : 1) * sizeof(size_t));
	id->is_new = calloc(n ? n : 1, sizeof(bool));
	id->leaf = malloc((n ? n : 1) * sizeof(size_t));
	id->side = malloc(n ? n : 1);
	if (!id->groups || !id->members || !id->left || !id->right || !id->is_new || !id->leaf ||
	    !id->side)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct hmap_slot *s = hmap_find(&index, task->keys[i][0], task->keys[i][1]);

		if (s) {
			id->groups[s->value].n++;
			continue;
		}
		id->groups[id->n_groups] = (struct group){
		    .key = {task->keys[i][0], task->keys[i][1]},
		    .n = 1,
		    .new_root = NONE,
		    .known_root = NONE,
		};
		r = hmap_put(&index, task->keys[i][0], task->keys[i][1], id->n_groups++);
	}
	fill = calloc(id->n_groups ? id->n_groups : 1, sizeof(*fill));
	if (r == 0 && fill) {
		for (size_t g = 0, at = 0; g < id->n_groups; at += id->groups[g++].n)
			id->groups[g].first = at;
		for (size_t i = 0; i < n; i++) {
			size_t g = hmap_find(&index, task->keys[i][0], task->keys[i][1])->value;

			id->members[id->groups[g].first + fill[g]++] = i;
		}
	}
	hmap_clear(&index);
	r = r < 0 ? r : fill ? 0 : -ENOMEM;
	free(fill);
	return r;
}

static int cmp_work(const void *a, const void *b, void *opaque)
{
	const struct group *groups = opaque;
	size_t na = groups[*(const size_t *)a].n, nb = groups[*(const size_t *)b].n;

	return (na < nb) - (na > nb);
}

int fd_identity_sort(struct fd_identity *id, const struct fd_identity_task *task, size_t *ret_file,
		     size_t *ret_first)
{
	struct sort_error errors[PARALLEL_MAX_THREADS];
	cleanup_free size_t *work = NULL;
	struct sort_error *first_error = NULL;
	size_t n_work = 0, n_compared = 0;
	struct sort_job job;
	int r;

	forget_task(id);
	r = group_by_key(id, task);
	work = malloc((id->n_groups ? id->n_groups : 1) * sizeof(*work));
	if (r < 0 || !work)
		return pr_neg(-ENOMEM, "cannot sort the fds of task %d", (int)task->pid);
	/* a key seen once, in this task only, needs no comparison */
	for (size_t g = 0; g < id->n_groups; g++) {
		struct group *grp = &id->groups[g];
		struct hmap_slot *s = hmap_find(&id->trees, grp->key[0], grp->key[1]);

		grp->tree = s ? s->value : NONE;
		if (grp->n == 1 && grp->tree == NONE) {
			size_t m = id->members[grp->first];

			id->left[m] = id->right[m] = NONE;
			id->is_new[m] = true;
			id->leaf[m] = NONE;
			ret_file[m] = NONE;
			ret_first[m] = m;
			grp->new_root = m;
			continue;
		}
		work[n_work++] = g;
		n_compared += grp->n;
	}
	qsort_r(work, n_work, sizeof(*work), cmp_work, id->groups);
	job = (struct sort_job){
	    .id = id,
	    .task = task,
	    .work = work,
	    .n_work = n_work,
	    .n_ranges = parallel_n_ranges(n_compared, SORT_PARALLEL_MIN),
	    .ret_file = ret_file,
	    .ret_first = ret_first,
	    .errors = errors,
	};
	for (size_t k = 0; k < PARALLEL_MAX_THREADS; k++)
		errors[k].at = NONE;
	parallel_run(job.n_ranges, job.n_ranges, sort_range, &job);
	/* the failure of the lowest fd is the one a serial walk would have met */
	for (size_t k = 0; k < job.n_ranges; k++)
		if (errors[k].at != NONE && (!first_error || errors[k].at < first_error->at))
			first_error = &errors[k];
	if (first_error)
		return pr_neg(first_error->error,
			      "cannot compare fd %d of task %d with fd %d of task %d (kcmp)",
			      first_error->fd1, (int)first_error->pid1, first_error->fd2,
			      (int)first_error->pid2);
	return 0;
}

static int reserve_files(struct fd_identity *id, size_t index)
{
	size_t cap = id->n_files_cap ? id->n_files_cap : 1024;
	struct known_file *bigger;

	if (index < id->n_files_cap)
		return 0;
	while (cap <= index)
		cap *= 2;
	bigger = realloc(id->files, cap * sizeof(*bigger));
	if (!bigger)
		return -ENOMEM;
	memset(bigger + id->n_files_cap, 0, (cap - id->n_files_cap) * sizeof(*bigger));
	id->files = bigger;
	id->n_files_cap = cap;
	return 0;
}

/* The file index of fd index x of a new-description tree. */
static size_t file_of_node(const size_t *file_of, size_t x)
{
	return x == NONE ? NONE : file_of[x];
}

/* Hangs new file f (fd m of the task) into its key's tree, below the node its search ended
 * at: the tree only grew by leaves since, so the walk goes on from there past the files of
 * this task committed before it. */
static int insert_known(struct fd_identity *id, const struct fd_identity_task *task, size_t m,
			size_t f, size_t *root)
{
	size_t *link = id->leaf[m] == NONE ? root
		       : id->side[m] == 1  ? &id->files[id->leaf[m]].left
					   : &id->files[id->leaf[m]].right;

	while (*link != NONE) {
		const struct known_file *x = &id->files[*link];
		int r = compare(task->pid, task->fds[m].fd, x->pid, x->fd);

		if (r <= 0)
			return pr_neg(
			    r < 0 ? r : -EBUSY,
			    "cannot compare fd %d of task %d with fd %d of task %d (kcmp)",
			    task->fds[m].fd, (int)task->pid, x->fd, (int)x->pid);
		link = r == 1 ? &id->files[*link].left : &id->files[*link].right;
	}
	*link = f;
	return 0;
}

int fd_identity_commit(struct fd_identity *id, const struct fd_identity_task *task,
		       const size_t *file_of)
{
	for (size_t g = 0; g < id->n_groups; g++) {
		struct group *grp = &id->groups[g];
		struct hmap_slot *s;
		size_t root;

		if (grp->new_root == NONE)
			continue;
		s = hmap_find(&id->trees, grp->key[0], grp->key[1]);
		root = s ? s->value : NONE;
		for (size_t k = grp->first; k < grp->first + grp->n; k++) {
			size_t m = id->members[k], f;
			int r;

			if (!id->is_new[m])
				continue;
			f = file_of[m];
			if (reserve_files(id, f) < 0)
				return pr_neg(-ENOMEM, "cannot grow the file identity table");
			id->files[f] = (struct known_file){.pid = task->pid, .fd = task->fds[m].fd};
			/* the key's first descriptions: their tree in this task is the key's tree
			 */
			if (grp->tree == NONE) {
				id->files[f].left = file_of_node(file_of, id->left[m]);
				id->files[f].right = file_of_node(file_of, id->right[m]);
				continue;
			}
			id->files[f].left = id->files[f].right = NONE;
			r = insert_known(id, task, m, f, &root);
			if (r < 0)
				return r;
		}
		if (grp->tree == NONE)
			root = file_of[grp->new_root];
		if (s)
			s->value = root;
		else if (hmap_put(&id->trees, grp->key[0], grp->key[1], root) < 0)
			return pr_neg(-ENOMEM, "cannot grow the file identity table");
	}
	forget_task(id);
	return 0;
}
