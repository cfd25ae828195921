/* cgroup-check.h: restore's checks of the cgroup records of pstree.img (pstree_entry.cgroups),
 * run on every image set that is loaded: by restore before it creates anything, by dump before it
 * lets the tree go, by show. Looks at the records only; whether the cgroups exist here is
 * restore-cgroup.h's concern. */
#pragma once

struct image_set;

/* Each record names a hierarchy ("" for v2, or controller names and name=NAME) and a clean
 * absolute path; no task lists a hierarchy, or a v1 controller, twice. Returns 0 or -EBADMSG
 * after one line (image_set_bad()). */
int cgroup_check_images(const struct image_set *set);
