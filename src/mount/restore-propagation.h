/* mount/restore-propagation.h: the peer groups and masters of the rebuilt namespaces' mounts.
 * Every mount is private when its namespace is built; this joins them into the dumped graph
 * across namespaces with MOVE_MOUNT_SET_GROUP on fds, a group after its master's, and makes
 * them shared, slave or unbindable (mount_setattr, inside each mount's namespace). A master
 * group the tree had no mount of is joined through the mount of minicr's namespace the dump
 * named for it. */
#pragma once

struct image_set;

struct restore_propagation {
	const struct image_set *set;
	const int *mnt_fd; /* per set->mnts: the mount's root (O_PATH), for every mount with a
			    * peer group, a master or unbindable; -1 elsewhere */
	const int *ns_fd;  /* per set->mntns */
	int own_ns_fd;	   /* minicr's namespace */
	int own_root_fd;   /* and its root, where external masters are opened */
};

/* Sets the propagation of every mount of the set. The caller may be in any namespace and is in
 * minicr's afterwards. Returns 0 or -errno (logged, naming the mount). */
int restore_propagation(const struct restore_propagation *p);
