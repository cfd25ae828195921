/* Unit tests for cgroup-parse.c: /proc/PID/cgroup text, what a record may hold, which mount is
 * a hierarchy. */
#include <criterion/criterion.h>
#include <errno.h>

#include "task/cgroup-parse.h"

Test(cgroup, parses_a_hybrid_hosts_lines_with_colons_in_paths)
{
	const char *text = "9:name=systemd:/\n"
			   "2:cpu,cpuacct:/a/b\n"
			   "4:memory:/x:y\n"
			   "0::/user.slice/a b\n";
	struct cgroup_line *l = NULL;
	int n = cgroup_parse(text, &l);

	cr_assert_eq(n, 4);
	cr_assert_eq(l[0].hierarchy_id, 9);
	cr_assert_str_eq(l[0].controllers, "name=systemd");
	cr_assert_str_eq(l[1].controllers, "cpu,cpuacct");
	cr_assert_str_eq(l[1].path, "/a/b");
	cr_assert_str_eq(l[2].path, "/x:y");
	cr_assert_eq(l[3].hierarchy_id, 0);
	cr_assert_str_eq(l[3].controllers, "");
	cr_assert_str_eq(l[3].path, "/user.slice/a b");
	cgroup_lines_free(l, (size_t)n);
}

Test(cgroup, refuses_lines_that_are_not_id_controllers_path)
{
	struct cgroup_line *l = NULL;

	cr_assert_eq(cgroup_parse("0:/\n", &l), -EINVAL);
	cr_assert_eq(cgroup_parse("x::/\n", &l), -EINVAL);
	cr_assert_eq(cgroup_parse("0::relative\n", &l), -EINVAL);
	cr_assert_eq(cgroup_parse("0::\n", &l), -EINVAL);
	/* a line cut short is no line of its own (the kernel names no cgroup with a newline) */
	cr_assert_eq(cgroup_parse("0::/a\nb\n", &l), -EINVAL);
	cr_assert_eq(cgroup_parse("", &l), 0);
	cr_assert_null(l);
}

Test(cgroup, knows_a_hierarchy_by_controllers_and_name)
{
	cr_assert_null(cgroup_controllers_invalid(""));
	cr_assert_null(cgroup_controllers_invalid("cpu,cpuacct"));
	cr_assert_null(cgroup_controllers_invalid("net_cls,net_prio"));
	cr_assert_null(cgroup_controllers_invalid("name=systemd"));
	cr_assert_null(cgroup_controllers_invalid("cpu,name=my-h.1"));
	cr_assert_not_null(cgroup_controllers_invalid("cpu,"));
	cr_assert_not_null(cgroup_controllers_invalid(",cpu"));
	cr_assert_not_null(cgroup_controllers_invalid("cpu,cpu"));
	cr_assert_not_null(cgroup_controllers_invalid("name=a,name=b"));
	cr_assert_not_null(cgroup_controllers_invalid("name="));
	cr_assert_not_null(cgroup_controllers_invalid("name=a/b"));
	cr_assert_not_null(cgroup_controllers_invalid("CPU"));
	cr_assert_not_null(cgroup_controllers_invalid("cpu:x"));
}

Test(cgroup, takes_only_clean_absolute_paths)
{
	cr_assert_null(cgroup_path_invalid("/"));
	cr_assert_null(cgroup_path_invalid("/a/b c/..d"));
	cr_assert_not_null(cgroup_path_invalid("a"));
	cr_assert_not_null(cgroup_path_invalid("/a/../b"));
	cr_assert_not_null(cgroup_path_invalid("/.."));
	cr_assert_not_null(cgroup_path_invalid("/a/."));
	cr_assert_not_null(cgroup_path_invalid("/a//b"));
	cr_assert_not_null(cgroup_path_invalid("/a/"));
}

Test(cgroup, matches_a_mount_to_exactly_its_hierarchy)
{
	cr_assert(cgroup_mount_is("cgroup2", "rw,nsdelegate", ""));
	cr_assert_not(cgroup_mount_is("cgroup", "rw,cpu", ""));
	cr_assert(cgroup_mount_is("cgroup", "rw,cpu,cpuacct", "cpuacct,cpu"));
	cr_assert(cgroup_mount_is("cgroup", "cpu,cpuacct", "cpu,cpuacct"));
	cr_assert(
	    cgroup_mount_is("cgroup", "rw,xattr,release_agent=/x,name=systemd", "name=systemd"));
	cr_assert(cgroup_mount_is("cgroup", "rw,noprefix,cpuset,clone_children", "cpuset"));
	/* co-mounted otherwise here: another hierarchy */
	cr_assert_not(cgroup_mount_is("cgroup", "rw,cpu", "cpu,cpuacct"));
	cr_assert_not(cgroup_mount_is("cgroup", "rw,cpu,cpuacct", "cpu"));
	cr_assert_not(cgroup_mount_is("cgroup", "rw,name=other", "name=systemd"));
	cr_assert_not(cgroup_mount_is("cgroup2", "rw", "cpu"));
	cr_assert_not(cgroup_mount_is("tmpfs", "rw,cpu", "cpu"));
}

Test(cgroup, compares_hierarchies_whatever_the_order)
{
	cr_assert(cgroup_same_hierarchy("cpu,cpuacct", "cpuacct,cpu"));
	cr_assert(cgroup_same_hierarchy("", ""));
	cr_assert_not(cgroup_same_hierarchy("cpu", "cpu,cpuacct"));
	cr_assert_not(cgroup_same_hierarchy("", "cpu"));
}
