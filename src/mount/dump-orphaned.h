/* mount/dump-orphaned.h: what dump learns of a filesystem no live mount shows any more (its only
 * mounts are lazily unmounted or anonymous: orphaned) besides the files the tree's fds reach:
 * a tmpfs's size limits from fstatfs() where statmount() cannot give its options, and a disk
 * filesystem's block device node. Before Linux 7.0 nothing tells a lazily unmounted mount's
 * source, options or root, but a disk filesystem has one superblock per device: mounting the
 * device again in a scratch namespace gives a live mount of that very superblock to read them
 * from. Changes nothing anyone can see. */
#pragma once

#include <stdint.h>
#include <sys/stat.h>

/* "size=<bytes>,nr_inodes=<n>" for the tmpfs fd is on, from fstatfs() (0 is "no limit", as for
 * the mount option). *ret is malloc'ed. Returns 0 or -errno (not logged). */
int orphaned_tmpfs_options(int fd, char **ret);

/* A node of block device (major, minor) in /dev: hint if it is one, else the name sysfs gives
 * the device. *ret_node is malloc'ed. Returns 0, -ENODEV when (major, minor) is not a block
 * device, -ENOENT when it has no node, or -errno (none logged). */
int orphaned_device_node(uint32_t major, uint32_t minor, const char *hint, char **ret_node);

struct orphaned_disk {
	char *fstype, *source, *options; /* malloc'ed */
	uint32_t sb_flags;		 /* MS_RDONLY... of the superblock */
	int root_fd; /* a readable fd of the root of a mount of the superblock: for file handles */
};

/* Mounts node (a block device holding the superblock of st_dev) again in a scratch namespace:
 * tries the filesystem types of f_type magic in turn (ext2/3/4 share one), read-only when a
 * read-write mount is refused; checks the mount shows st_dev; reads type, source, options and
 * flags from the scratch namespace's table. The mount lives on through ret->root_fd, attached
 * nowhere. Returns 0 or -errno (logged, naming node). Free with orphaned_disk_done(). */
int orphaned_disk_remount(const char *node, unsigned long magic, dev_t st_dev,
			  struct orphaned_disk *ret);
void orphaned_disk_done(struct orphaned_disk *d);
