/* cgroup-parse.h: the text of /proc/PID/cgroup, what a cgroup record of the images may hold, and
 * which cgroup filesystem mount is a recorded hierarchy. Pure: no syscalls, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One line of /proc/PID/cgroup: "ID:CONTROLLERS:PATH". */
struct cgroup_line {
	uint32_t hierarchy_id; /* 0 for cgroup v2 */
	char *controllers;     /* "" for cgroup v2; "cpu,cpuacct", "name=systemd" for v1 */
	char *path;	       /* from the root of the reader's cgroup namespace */
};

/* Parses /proc/PID/cgroup text, one line per hierarchy. Returns the number of lines and sets
 * *ret_lines (free with cgroup_lines_free(); NULL for none), or -EINVAL (a line that is not
 * "ID:CONTROLLERS:PATH", with a decimal ID and an absolute PATH) or -ENOMEM. */
int cgroup_parse(const char *buf, struct cgroup_line **ret_lines);
void cgroup_lines_free(struct cgroup_line *lines, size_t n); /* NULL-safe */

/* NULL when controllers names a hierarchy as /proc/PID/cgroup shows it: "" (v2), or
 * comma-separated controller names ([a-z0-9_]) and at most one name=NAME (NAME of
 * [A-Za-z0-9_.-]), none twice; else why not, for a message. */
const char *cgroup_controllers_invalid(const char *controllers);

/* NULL when path is a clean cgroup path: "/", or "/a/b" with no empty, "." or ".." component;
 * else why not, for a message. */
const char *cgroup_path_invalid(const char *path);

/* Whether two controller lists name the same hierarchy (the same names, in any order). */
bool cgroup_same_hierarchy(const char *a, const char *b);

/* Whether a mount of filesystem type fstype with superblock options super_opts (as mountinfo or
 * statmount shows them, with or without rw/ro) is the hierarchy controllers names: "cgroup2"
 * for "", else a "cgroup" mount whose controllers and name= are exactly those (options that are
 * no controller, such as xattr, noprefix or release_agent=, do not count). */
bool cgroup_mount_is(const char *fstype, const char *super_opts, const char *controllers);

/* "cgroup v2" or "cgroup v1 hierarchy CONTROLLERS", for messages, written to buf. Returns buf. */
const char *cgroup_hierarchy_name(char *buf, size_t size, const char *controllers);
