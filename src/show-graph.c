/* show-graph.c: an image set as a Graphviz graph, for `minicr show --dot/--svg/--html`. Nodes
 * carry a class attribute (task, fd, fds, file, mount, detached, outside) and edges one too
 * (child, holds, opens, on, parent, peer, master), so tests and readers can count them by kind.
 * Large fd tables are summarised per kind unless the caller asks for every fd. */
#include "show-graph.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "base/hmap.h"
#include "base/util.h"
#include "fd/kind.h"
#include "image-set/image-set.h"
#include "mount/kind.h"

/* Above this many fds a task's table is drawn as one node per kind. */
#define SHOW_GRAPH_FD_MAX 32

/* A DOT string: the bytes escaped as log lines show them, then quotes and backslashes
 * escaped for DOT, whose "\n" breaks a label line. */
static void dot_text(FILE *out, const char *s)
{
	char buf[4 * 1024];

	if (!s)
		s = "";
	escape_bytes(buf, sizeof(buf), s, strlen(s));
	for (const char *p = buf; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', out);
		fputc(*p, out);
	}
}

static const char *fd_kind_name(FdType type)
{
	const struct fd_kind *kind = fd_kind_by_type(type);

	return kind ? kind->name : "?";
}

static const char *mount_kind_name(MntKind k)
{
	const struct mount_kind *kind = mount_kind_by_kind(k);

	return kind ? kind->name : "?";
}

static void task_node(FILE *out, const struct restore_task *t)
{
	const PstreeEntry *p = t->pst;

	fprintf(out, "  task_%d [class=\"task\", shape=box3d, label=\"task %d\\n", p->pid, p->pid);
	dot_text(out, p->comm);
	fprintf(out, "\\n%zu thread%s, sid %d, pgid %d\"];\n", p->n_threads ? p->n_threads : 1,
		p->n_threads > 1 ? "s" : "", p->sid, p->pgid);
}

/* The node id a file's mount has: a mount of a dumped namespace, a detached mount, or a mount
 * outside the tree's namespaces (drawn once, from the first file that names it). */
static void mount_ref(FILE *out, const struct image_set *set, const RegFileEntry *reg)
{
	if (reg->detached)
		fprintf(out, "det_%" PRIu64, reg->mnt_id);
	else if (image_set_mnt(set, reg->mnt_id) >= 0)
		fprintf(out, "mnt_%" PRIu64, reg->mnt_id);
	else
		fprintf(out, "out_%" PRIu64, reg->mnt_id);
}

static void file_node(FILE *out, const struct image_set *set, const FileEntry *fe,
		      struct hmap *outside)
{
	fprintf(out, "  file_%u [class=\"file\", shape=note, label=\"file %u\\n%s", fe->id, fe->id,
		fd_kind_name(fe->type));
	if (fe->reg) {
		fputs("\\n", out);
		dot_text(out, fe->reg->path);
		if (fe->reg->unlinked)
			fputs(" (deleted)", out);
	}
	if (fe->pipe)
		fprintf(out, "\\npipe %" PRIu64, fe->pipe->pipe_id);
	fputs("\"];\n", out);
	if (!fe->reg || !fe->reg->has_mnt_id)
		return;
	if (!fe->reg->detached && image_set_mnt(set, fe->reg->mnt_id) < 0 &&
	    !hmap_find(outside, fe->reg->mnt_id, 0)) {
		(void)hmap_put(outside, fe->reg->mnt_id, 0, 0);
		fprintf(out,
			"  out_%" PRIu64 " [class=\"outside\", shape=folder, style=dashed, "
			"label=\"mount %u\\nof minicr's namespace\"];\n",
			fe->reg->mnt_id, fe->reg->mnt_id_old);
	}
	fprintf(out, "  file_%u -> ", fe->id);
	mount_ref(out, set, fe->reg);
	fputs(" [class=\"on\"];\n", out);
}

/* One node per kind for a large table, with the count. */
static void fd_summary(FILE *out, const struct image_set *set, const struct restore_task *t)
{
	size_t counts[64] = {0};

	for (size_t k = 0; k < t->n_fds; k++) {
		ssize_t f = image_set_file(set, t->fds[k]->file_id);
		int type = f >= 0 ? (int)set->files[f]->type : 0;

		counts[type >= 0 && type < 64 ? type : 0]++;
	}
	for (int type = 0; type < 64; type++) {
		if (!counts[type])
			continue;
		fprintf(out,
			"  fds_%d_%d [class=\"fds\", shape=folder, label=\"%zu fds\\n%s\"];\n"
			"  task_%d -> fds_%d_%d [class=\"holds\"];\n",
			t->pst->pid, type, counts[type], fd_kind_name((FdType)type), t->pst->pid,
			t->pst->pid, type);
	}
}

static void fd_nodes(FILE *out, const struct restore_task *t)
{
	/* a task's fds kept together, beside the task */
	fprintf(out, "  subgraph cluster_fds_%d {\n    label=\"fds of %d\"; style=dotted;\n",
		t->pst->pid, t->pst->pid);
	for (size_t k = 0; k < t->n_fds; k++)
		fprintf(out, "    fd_%d_%d;\n", t->pst->pid, t->fds[k]->fd);
	fputs("  }\n", out);
	for (size_t k = 0; k < t->n_fds; k++) {
		const FdEntry *e = t->fds[k];

		fprintf(out,
			"  fd_%d_%d [class=\"fd\", shape=circle, label=\"%d%s\"];\n"
			"  task_%d -> fd_%d_%d [class=\"holds\"];\n"
			"  fd_%d_%d -> file_%u [class=\"opens\"];\n",
			t->pst->pid, e->fd, e->fd, e->cloexec ? "\\ncloexec" : "", t->pst->pid,
			t->pst->pid, e->fd, t->pst->pid, e->fd, e->file_id);
	}
}

static void mount_nodes(FILE *out, const struct image_set *set)
{
	/* one cluster per mount namespace of the tree */
	for (size_t ns = 0; ns < set->n_mntns; ns++) {
		const struct image_mntns *n = &set->mntns[ns];

		fprintf(out,
			"  subgraph cluster_ns_%" PRIu64 " {\n    label=\"mount namespace %" PRIu64
			"\";\n",
			n->id, n->id);
		for (size_t i = n->first; i < n->first + n->n_mnts; i++) {
			const MntEntry *m = set->mnts[i];

			fprintf(out,
				"    mnt_%" PRIu64
				" [class=\"mount\", shape=folder, label=\"mount %u\\n",
				m->mnt_id, m->mnt_id_old);
			dot_text(out, m->mountpoint);
			fputs("\\n", out);
			dot_text(out, m->fstype);
			fprintf(out, " (%s)\"];\n", mount_kind_name(m->kind));
		}
		fputs("  }\n", out);
	}
	for (size_t i = 0; i < set->n_mnts; i++)
		if (i != set->mntns[image_set_mnt_ns(set, i)].first)
			fprintf(out, "  mnt_%" PRIu64 " -> mnt_%" PRIu64 " [class=\"parent\"];\n",
				set->mnts[i]->parent_id, set->mnts[i]->mnt_id);
	/* propagation: each shared member to the group's first one, each slave from its master */
	for (size_t i = 0; i < set->n_mnts; i++) {
		const MntEntry *m = set->mnts[i];

		for (size_t k = 0; k < set->n_mnts; k++) {
			const MntEntry *o = set->mnts[k];

			if (m->shared_id && o->shared_id == m->shared_id && k < i) {
				fprintf(out,
					"  mnt_%" PRIu64 " -> mnt_%" PRIu64
					" [class=\"peer\", style=dashed, dir=none, "
					"label=\"shared:%" PRIu64 "\"];\n",
					o->mnt_id, m->mnt_id, m->shared_id);
				break;
			}
		}
		for (size_t k = 0; m->master_id && k < set->n_mnts; k++)
			if (set->mnts[k]->shared_id == m->master_id) {
				fprintf(out,
					"  mnt_%" PRIu64 " -> mnt_%" PRIu64
					" [class=\"master\", style=dotted, label=\"master:%" PRIu64
					"\"];\n",
					set->mnts[k]->mnt_id, m->mnt_id, m->master_id);
				break;
			}
	}
}

static void detached_nodes(FILE *out, const struct image_set *set)
{
	static const char *const methods[] = {"?", "statmount by fd", "file handle",
					      "a clone of its anonymous tree"};

	for (size_t i = 0; i < set->n_detached; i++) {
		const DetachedMntEntry *d = set->detached[i];

		fprintf(out,
			"  det_%" PRIu64
			" [class=\"detached\", shape=folder, style=\"bold,dashed\", "
			"label=\"detached mount %" PRIu64 "\\n",
			d->id, d->id);
		dot_text(out, d->fstype);
		fputs(" root ", out);
		dot_text(out, d->root);
		if (d->anonymous && d->attachable) {
			fputs("\\nroot of an anonymous tree (attachable)", out);
		} else if (d->anonymous) {
			fprintf(out, "\\nin anonymous tree %" PRIu64 " at ", d->tree_id);
			dot_text(out, d->mountpoint);
		}
		fprintf(out, "\\nresolved by %s\\n%s%s\"];\n",
			d->method < ARRAY_SIZE(methods) ? methods[d->method] : "?",
			d->orphaned ? "orphaned, " : "", mount_kind_name(d->kind));
	}
}

/* The ends of one pipe (or openers of one FIFO) are separate open file descriptions: an edge
 * from each to the first drawn one shows they are one pipe. */
static void pipe_edges(FILE *out, const struct image_set *set, const bool *drawn)
{
	struct hmap first = {0};

	for (size_t f = 0; f < set->n_files; f++) {
		const FileEntry *fe = set->files[f];
		const struct hmap_slot *s;

		if (!drawn[f] || !fe->pipe)
			continue;
		s = hmap_find(&first, fe->pipe->pipe_id, 0);
		if (!s) {
			(void)hmap_put(&first, fe->pipe->pipe_id, 0, fe->id);
			continue;
		}
		fprintf(out,
			"  file_%zu -> file_%u [class=\"same-pipe\", style=dashed, dir=none, "
			"label=\"same pipe\"];\n",
			s->value, fe->id);
	}
	hmap_clear(&first);
}

/* Marks file id (if the set has it) as drawn. */
static void mark(const struct image_set *set, bool *drawn, uint32_t id)
{
	ssize_t f = image_set_file(set, id);

	if (f >= 0)
		drawn[f] = true;
}

/* A task's cwd and root, as edges to their directory files. */
static void fs_edges(FILE *out, const struct image_set *set, const struct restore_task *t,
		     bool *drawn)
{
	if (t->fs->has_cwd_file_id) {
		mark(set, drawn, t->fs->cwd_file_id);
		fprintf(out, "  task_%d -> file_%u [class=\"cwd\", label=\"cwd\"];\n", t->pst->pid,
			t->fs->cwd_file_id);
	}
	if (t->fs->has_root_file_id) {
		mark(set, drawn, t->fs->root_file_id);
		fprintf(out, "  task_%d -> file_%u [class=\"root\", label=\"root\"];\n",
			t->pst->pid, t->fs->root_file_id);
	}
}

int show_graph_dot(FILE *out, const struct image_set *set, bool full)
{
	struct hmap outside = {0};
	cleanup_free bool *drawn = calloc(set->n_files ? set->n_files : 1, sizeof(bool));

	if (!drawn)
		return -ENOMEM;
	fputs("digraph minicr {\n  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=10];\n"
	      "  node [fontname=\"Helvetica\", fontsize=10];\n"
	      "  edge [fontname=\"Helvetica\", fontsize=8];\n",
	      out);
	for (size_t i = 0; i < set->n_tasks; i++) {
		const struct restore_task *t = &set->tasks[i];

		task_node(out, t);
		if (t->parent >= 0)
			fprintf(out, "  task_%d -> task_%d [class=\"child\"];\n",
				set->tasks[t->parent].pst->pid, t->pst->pid);
		if (!full && t->n_fds > SHOW_GRAPH_FD_MAX) {
			fd_summary(out, set, t);
			continue;
		}
		fd_nodes(out, t);
		fs_edges(out, set, t, drawn);
		for (size_t k = 0; k < t->n_fds; k++)
			mark(set, drawn, t->fds[k]->file_id);
	}
	/* the files drawn fds open (a summarised table's are not drawn) */
	for (size_t f = 0; f < set->n_files; f++)
		if (drawn[f])
			file_node(out, set, set->files[f], &outside);
	pipe_edges(out, set, drawn);
	mount_nodes(out, set);
	detached_nodes(out, set);
	fputs("}\n", out);
	hmap_clear(&outside);
	return ferror(out) ? -EIO : 0;
}
