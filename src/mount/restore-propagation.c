/* mount/restore-propagation.c: peer groups and masters across the rebuilt namespaces. The
 * dumped mounts fall into sharing groups, keyed by (peer group, master group) as mountinfo shows
 * them; a group comes after the group it is a slave of. Its leader, the member with the widest
 * root, joins the master group with MOVE_MOUNT_SET_GROUP and turns slave (then shared again when
 * it has a peer group of its own), or is made shared; every other member then copies the
 * leader's group and master with MOVE_MOUNT_SET_GROUP. MOVE_MOUNT_SET_GROUP works across
 * namespaces on fds; mount_setattr() only on mounts of the caller's namespace, so the caller
 * enters each one as needed. A master group the tree has no mount of (a host's shared mount)
 * is joined through the mount of minicr's namespace the dump named. Unbindable mounts are made
 * so last. */
#define LOG_PREFIX "restore: "
#include "mount/restore-propagation.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/compat.h"
#include "base/hmap.h"
#include "base/escape.h"
#include "base/log.h"
#include "base/path.h"
#include "base/util.h"
#include "image-set/image-set.h"

#ifndef MOVE_MOUNT_SET_GROUP
#define MOVE_MOUNT_SET_GROUP 0x00000100
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

/* The mounts of one sharing group. */
struct group {
	uint64_t shared_id, master_id;
	size_t *members; /* indices of set->mnts, the leader first once chosen */
	size_t n;
	bool is_done;
};

struct prop {
	const struct restore_propagation *p;
	const struct image_set *set;
	struct group *groups;
	size_t n_groups;
	struct hmap by_key;    /* (shared_id, master_id) -> group */
	struct hmap by_shared; /* (shared_id, 0) -> group, for groups with a peer group */
	int cur_ns;	       /* the namespace the caller is in: -2 unknown, -1 minicr's */
	char what[PATH_MAX * 4 + 64];
};

static const char *what_of(struct prop *pr, size_t i)
{
	const MntEntry *m = pr->set->mnts[i];
	char mp[PATH_MAX * 4];

	snprintf(pr->what, sizeof(pr->what), "mount %lu ('%s') of namespace %lu",
		 (unsigned long)m->mnt_id, escape_path(mp, sizeof(mp), m->mountpoint),
		 (unsigned long)pr->set->mntns[image_set_mnt_ns(pr->set, i)].id);
	return pr->what;
}

static int enter(struct prop *pr, int ns)
{
	if (pr->cur_ns == ns)
		return 0;
	if (setns(ns < 0 ? pr->p->own_ns_fd : pr->p->ns_fd[ns], CLONE_NEWNS) < 0)
		return pr_errno("cannot enter mount namespace %lu",
				ns < 0 ? 0UL : (unsigned long)pr->set->mntns[ns].id);
	pr->cur_ns = ns;
	return 0;
}

/* Sets propagation type ms (MS_SHARED, MS_SLAVE, MS_UNBINDABLE) on mount i, from inside its
 * namespace. */
static int set_type(struct prop *pr, size_t i, uint64_t ms)
{
	struct mount_attr attr = {.propagation = ms};
	int r = enter(pr, (int)image_set_mnt_ns(pr->set, i));

	if (r < 0)
		return r;
	if (mount_setattr(pr->p->mnt_fd[i], "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return pr_errno("cannot make %s %s", what_of(pr, i),
				ms == MS_SHARED	 ? "shared"
				: ms == MS_SLAVE ? "a slave"
						 : "unbindable");
	return 0;
}

/* Puts the mount behind to_fd in the peer group (and under the master) of the one behind
 * from_fd. */
static int set_group(struct prop *pr, int from_fd, int to_fd, size_t to, const char *from_what)
{
	if (move_mount(from_fd, "", to_fd, "",
		       MOVE_MOUNT_SET_GROUP | MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
	    0)
		return pr_errno("cannot put %s in the peer group of %s", what_of(pr, to),
				from_what);
	return 0;
}

static bool contains(const MntEntry *outer, const MntEntry *inner)
{
	return outer->dev_major == inner->dev_major && outer->dev_minor == inner->dev_minor &&
	       path_below(inner->root, outer->root);
}

static int collect(struct prop *pr)
{
	const struct image_set *set = pr->set;
	int r;

	pr->groups = calloc(set->n_mnts ? set->n_mnts : 1, sizeof(*pr->groups));
	if (!pr->groups || hmap_reserve(&pr->by_key, set->n_mnts) < 0 ||
	    hmap_reserve(&pr->by_shared, set->n_mnts) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_mnts; i++) {
		const MntEntry *m = set->mnts[i];
		struct hmap_slot *s;
		struct group *g;
		size_t *more;

		if (!m->shared_id && !m->master_id)
			continue;
		s = hmap_find(&pr->by_key, m->shared_id, m->master_id);
		if (s) {
			g = &pr->groups[s->value];
		} else {
			g = &pr->groups[pr->n_groups];
			g->shared_id = m->shared_id;
			g->master_id = m->master_id;
			r = hmap_put(&pr->by_key, m->shared_id, m->master_id, pr->n_groups);
			if (r == 0 && m->shared_id)
				r = hmap_put(&pr->by_shared, m->shared_id, 0, pr->n_groups);
			if (r < 0)
				return r;
			pr->n_groups++;
		}
		more = reallocarray(g->members, g->n + 1, sizeof(*more));
		if (!more)
			return -ENOMEM;
		g->members = more;
		g->members[g->n++] = i;
	}
	return 0;
}

/* The widest-rooted member leads (first in members). */
static void choose_leader(const struct prop *pr, struct group *g)
{
	size_t best = 0, first;

	for (size_t k = 1; k < g->n; k++)
		if (strlen(pr->set->mnts[g->members[k]]->root) <
		    strlen(pr->set->mnts[g->members[best]]->root))
			best = k;
	first = g->members[0];
	g->members[0] = g->members[best];
	g->members[best] = first;
}

/* Whether the master group of g is in the tree, and if so done. */
static bool master_ready(const struct prop *pr, const struct group *g, bool *ret_in_tree)
{
	bool in_tree = false, ready = true;

	for (const struct hmap_slot *s = hmap_find(&pr->by_shared, g->master_id, 0); s;
	     s = hmap_next(&pr->by_shared, s)) {
		in_tree = true;
		ready &= pr->groups[s->value].is_done;
	}
	*ret_in_tree = in_tree;
	return ready;
}

/* A mount of the (done) master group of g whose root holds the leader's. */
static ssize_t master_member(const struct prop *pr, const struct group *g, size_t leader)
{
	for (const struct hmap_slot *s = hmap_find(&pr->by_shared, g->master_id, 0); s;
	     s = hmap_next(&pr->by_shared, s)) {
		const struct group *m = &pr->groups[s->value];

		for (size_t k = 0; k < m->n; k++)
			if (contains(pr->set->mnts[m->members[k]], pr->set->mnts[leader]))
				return (ssize_t)m->members[k];
	}
	return -1;
}

/* Joins mount i to the peer group of the mount of minicr's namespace at mp (a host's shared
 * mount: the group of its master, or its own peers), opened without following a symlink. */
static int join_external(struct prop *pr, size_t i, const char *mp)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	char what[PATH_MAX * 4 + 64], esc[PATH_MAX * 4];
	cleanup_close int fd = -EBADF;
	const char *rel = mp;

	if (!mp) {
		pr_err("cannot restore %s as a slave of peer group %lu: the group is outside the "
		       "tree's namespaces",
		       what_of(pr, i), (unsigned long)pr->set->mnts[i]->master_id);
		return -ENOENT;
	}
	while (*rel == '/')
		rel++;
	fd = (int)syscall(__NR_openat2, pr->p->own_root_fd, *rel ? rel : ".", &how, sizeof(how));
	snprintf(what, sizeof(what), "minicr's mount '%s'", escape_path(esc, sizeof(esc), mp));
	if (fd < 0)
		return pr_errno("cannot open %s, the master of %s", what, what_of(pr, i));
	return set_group(pr, fd, pr->p->mnt_fd[i], i, what);
}

static int set_up_leader(struct prop *pr, struct group *g, bool master_in_tree)
{
	size_t leader = g->members[0];
	const char *peers = pr->set->mnts[leader]->shared_mountpoint;
	int r;

	/* peers of a host's shared mount: joining its group brings its master along */
	if (peers)
		return join_external(pr, leader, peers);
	if (g->master_id && !master_in_tree) {
		r = join_external(pr, leader, pr->set->mnts[leader]->master_mountpoint);
		if (r == 0)
			r = set_type(pr, leader, MS_SLAVE);
		if (r < 0 || !g->shared_id)
			return r;
	} else if (g->master_id) {
		ssize_t from = master_member(pr, g, leader);
		char from_what[PATH_MAX * 4 + 64];

		if (from < 0) {
			pr_err("cannot restore %s as a slave of peer group %lu: no mount of that "
			       "group holds its root",
			       what_of(pr, leader), (unsigned long)g->master_id);
			return -ENOENT;
		}
		snprintf(from_what, sizeof(from_what), "%s", what_of(pr, (size_t)from));
		r = set_group(pr, pr->p->mnt_fd[from], pr->p->mnt_fd[leader], leader, from_what);
		if (r == 0)
			r = set_type(pr, leader, MS_SLAVE);
		if (r < 0 || !g->shared_id)
			return r;
	}
	return set_type(pr, leader, MS_SHARED);
}

static int set_up_group(struct prop *pr, struct group *g, bool master_in_tree)
{
	int r;

	choose_leader(pr, g);
	r = set_up_leader(pr, g, master_in_tree);
	for (size_t k = 1; k < g->n && r == 0; k++) {
		size_t to = g->members[k], from = g->members[0];
		char from_what[PATH_MAX * 4 + 64];

		snprintf(from_what, sizeof(from_what), "%s", what_of(pr, from));
		/* the image checks made sure the leader's root holds every member's */
		if (!contains(pr->set->mnts[from], pr->set->mnts[to])) {
			pr_err("cannot restore the peer group of %s: the root of %s does not hold "
			       "its root",
			       what_of(pr, to), from_what);
			return -EINVAL;
		}
		r = set_group(pr, pr->p->mnt_fd[from], pr->p->mnt_fd[to], to, from_what);
	}
	g->is_done = true;
	return r;
}

/* Groups in rounds: a group once its master's groups are done. */
static int set_up_groups(struct prop *pr)
{
	size_t n_done = 0;

	while (n_done < pr->n_groups) {
		size_t before = n_done;

		for (size_t i = 0; i < pr->n_groups; i++) {
			struct group *g = &pr->groups[i];
			bool in_tree = false;
			int r;

			if (g->is_done || (g->master_id && !master_ready(pr, g, &in_tree)))
				continue;
			r = set_up_group(pr, g, in_tree);
			if (r < 0)
				return r;
			n_done++;
		}
		if (n_done == before) {
			pr_err("cannot restore the propagation of the tree's mounts: peer groups "
			       "are each other's masters");
			return -ELOOP;
		}
	}
	return 0;
}

int restore_propagation(const struct restore_propagation *p)
{
	struct prop pr = {.p = p, .set = p->set, .cur_ns = -2};
	int r = collect(&pr);

	if (r < 0)
		pr_neg(r, "cannot allocate the peer groups");
	else
		r = set_up_groups(&pr);
	for (size_t i = 0; i < p->set->n_mnts && r == 0; i++)
		if (p->set->mnts[i]->propagation == MNT_PROPAGATION__MNT_PROPAGATION_UNBINDABLE)
			r = set_type(&pr, i, MS_UNBINDABLE);
	for (size_t i = 0; i < pr.n_groups; i++)
		free(pr.groups[i].members);
	free(pr.groups);
	hmap_clear(&pr.by_key);
	hmap_clear(&pr.by_shared);
	if (r == 0)
		r = enter(&pr, -1);
	return r;
}
