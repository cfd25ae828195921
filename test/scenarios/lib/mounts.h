/* mounts.h: a scenario's view of mount tables, to compare the ones it saved before the dump with
 * the ones after the restore. Mount ids, peer group numbers and the devices of new superblocks
 * change across a restore, so mounts are matched by their place (mountpoint and depth in an
 * overmount stack: "/a#0" is the lowest mount on /a, "/a#1" the one on top of it), and ids,
 * groups and devices are mapped one to one over every table compared with the same map. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mnt_line {
	int id, parent;
	unsigned int major, minor;
	char *root, *mountpoint, *opts, *fstype, *source, *super;
	long shared, master, propagate_from; /* 0: none */
	bool unbindable;
	char *key;	  /* place: "<mountpoint>#<depth>" */
	char *parent_key; /* "" for a mount whose parent is not listed */
};

struct mnt_table {
	struct mnt_line *lines;
	size_t n;
};

/* One-to-one renumbering seen so far: peer groups, devices. */
struct mnt_map {
	long group_from[256], group_to[256];
	size_t n_groups;
	unsigned long dev_from[256], dev_to[256];
	size_t n_devs;
};

/* Reads /proc/PID/mountinfo (pid 0: self). Returns 0 or -errno. */
int mnt_table_read(pid_t pid, struct mnt_table *t);
void mnt_table_free(struct mnt_table *t);
/* Drops the mounts on mountpoint (made on purpose after the snapshot it is compared with). */
void mnt_table_forget(struct mnt_table *t, const char *mountpoint);

/* Compares before and after mount by mount (same places, parents, roots, flags, filesystems,
 * options, and peer groups, masters and devices through map). Returns NULL when they are the
 * same, else a message (static buffer) naming the first difference. */
const char *mnt_table_diff(const struct mnt_table *before, const struct mnt_table *after,
			   struct mnt_map *map);

/* The place of mount id in t, or NULL when t does not list it. */
const char *mnt_key_of(const struct mnt_table *t, int id);
/* The line of mount id in t, or NULL. */
const struct mnt_line *mnt_line_of(const struct mnt_table *t, int id);
/* The line at place key in t, or NULL. */
const struct mnt_line *mnt_line_at(const struct mnt_table *t, const char *key);

/* The mount id (fdinfo mnt_id) of fd of task pid (0: self), or -1. */
int mnt_id_of_fd(pid_t pid, int fd);
