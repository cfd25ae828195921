/* Unit tests for mountinfo.c and the mountinfo-built mount table: every field, escapes,
 * optional fields, options, and what is refused as malformed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "base/compat.h"
#include "mount/table.h"
#include "mount/mountinfo-parse.h"

static struct mountinfo *parse_ok(const char *text)
{
	struct mountinfo *mi = NULL;
	int r = mountinfo_parse(text, strlen(text), &mi);

	cr_assert_eq(r, 0, "parse failed: %d for '%s'", r, text);
	return mi;
}

static int parse_err(const char *text)
{
	struct mountinfo *mi = NULL;
	int r = mountinfo_parse(text, strlen(text), &mi);

	cr_assert_null(mi);
	return r;
}

Test(mountinfo, parses_every_field_of_a_plain_line)
{
	struct mountinfo *mi =
	    parse_ok("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root "
		     "rw,errors=continue\n");
	const struct mountinfo_entry *e = &mi->entries[0];

	cr_assert_eq(mi->n_entries, 1);
	cr_assert_eq(e->mnt_id, 36);
	cr_assert_eq(e->parent_id, 35);
	cr_assert_eq(e->dev_major, 98);
	cr_assert_eq(e->dev_minor, 0);
	cr_assert_str_eq(e->root, "/mnt1");
	cr_assert_str_eq(e->mountpoint, "/mnt2");
	cr_assert_str_eq(e->mount_opts, "rw,noatime");
	cr_assert_eq(e->mnt_attr, MINICR_MOUNT_ATTR_NOATIME);
	cr_assert_eq(e->master_id, 1);
	cr_assert_eq(e->shared_id, 0);
	cr_assert_eq(e->propagation, MOUNTINFO_PROP_SLAVE);
	cr_assert_str_eq(e->fstype, "ext3");
	cr_assert_str_eq(e->source, "/dev/root");
	cr_assert_str_eq(e->super_opts, "rw,errors=continue");
	cr_assert_str_eq(e->fs_opts, "errors=continue");
	cr_assert_eq(e->sb_flags, 0);
	mountinfo_free(mi);
}

Test(mountinfo, parses_shared_and_master_peer_groups)
{
	struct mountinfo *mi = parse_ok("40 30 0:40 / /a rw,relatime shared:7 master:3 "
					"propagate_from:2 - tmpfs t rw\n");
	const struct mountinfo_entry *e = &mi->entries[0];

	cr_assert_eq(e->shared_id, 7);
	cr_assert_eq(e->master_id, 3);
	cr_assert_eq(e->propagate_from, 2);
	cr_assert_eq(e->propagation, MOUNTINFO_PROP_SHARED | MOUNTINFO_PROP_SLAVE);
	mountinfo_free(mi);
}

Test(mountinfo, marks_a_mount_without_tags_private)
{
	struct mountinfo *mi = parse_ok("40 30 0:40 / /a rw - tmpfs t rw\n");

	cr_assert_eq(mi->entries[0].propagation, MOUNTINFO_PROP_PRIVATE);
	mountinfo_free(mi);
}

Test(mountinfo, parses_unbindable)
{
	struct mountinfo *mi = parse_ok("40 30 0:40 / /a rw unbindable - tmpfs t rw\n");

	cr_assert_eq(mi->entries[0].propagation, MOUNTINFO_PROP_UNBINDABLE);
	mountinfo_free(mi);
}

Test(mountinfo, ignores_unknown_optional_fields)
{
	struct mountinfo *mi =
	    parse_ok("40 30 0:40 / /a rw future:9 shared:1 newflag - tmpfs t rw\n");

	cr_assert_eq(mi->entries[0].shared_id, 1);
	mountinfo_free(mi);
}

Test(mountinfo, decodes_octal_escapes_in_root_mountpoint_and_source)
{
	struct mountinfo *mi = parse_ok("50 1 0:50 /a\\040dir /mnt/x\\011y\\134z rw - tmpfs "
					"my\\040src rw\n");
	const struct mountinfo_entry *e = &mi->entries[0];

	cr_assert_str_eq(e->root, "/a dir");
	cr_assert_str_eq(e->mountpoint, "/mnt/x\ty\\z");
	cr_assert_str_eq(e->source, "my src");
	mountinfo_free(mi);
}

Test(mountinfo, decodes_an_escaped_newline)
{
	struct mountinfo *mi = parse_ok("50 1 0:50 / /a\\012b rw - tmpfs t rw\n");

	cr_assert_str_eq(mi->entries[0].mountpoint, "/a\nb");
	mountinfo_free(mi);
}

Test(mountinfo, maps_per_mount_options_to_mount_attr_bits)
{
	cr_assert_eq(mountinfo_mount_opts_to_attr("ro,nosuid,nodev,noexec,relatime"),
		     MINICR_MOUNT_ATTR_RDONLY | MINICR_MOUNT_ATTR_NOSUID | MINICR_MOUNT_ATTR_NODEV |
			 MINICR_MOUNT_ATTR_NOEXEC | MINICR_MOUNT_ATTR_RELATIME);
	cr_assert_eq(mountinfo_mount_opts_to_attr("rw,noatime,nodiratime"),
		     MINICR_MOUNT_ATTR_NOATIME | MINICR_MOUNT_ATTR_NODIRATIME);
	cr_assert_eq(mountinfo_mount_opts_to_attr("rw,nosymfollow,relatime"),
		     MINICR_MOUNT_ATTR_NOSYMFOLLOW);
	cr_assert_eq(mountinfo_mount_opts_to_attr("rw,idmapped,relatime"), MINICR_MOUNT_ATTR_IDMAP);
}

Test(mountinfo, treats_missing_atime_option_as_strictatime)
{
	cr_assert_eq(mountinfo_mount_opts_to_attr("rw"), MINICR_MOUNT_ATTR_STRICTATIME);
	cr_assert_eq(mountinfo_mount_opts_to_attr("rw,strictatime"), MINICR_MOUNT_ATTR_STRICTATIME);
}

Test(mountinfo, splits_superblock_flags_from_fs_options)
{
	struct mountinfo *mi = parse_ok("1 0 8:1 / / rw - ext4 /dev/sda1 ro,sync,dirsync,lazytime,"
					"data=ordered\n");
	const struct mountinfo_entry *e = &mi->entries[0];

	cr_assert_eq(e->sb_flags, MOUNTINFO_SB_RDONLY | MOUNTINFO_SB_SYNCHRONOUS |
				      MOUNTINFO_SB_DIRSYNC | MOUNTINFO_SB_LAZYTIME);
	cr_assert_str_eq(e->fs_opts, "data=ordered");
	mountinfo_free(mi);
}

Test(mountinfo, keeps_subtype_in_fstype)
{
	struct mountinfo *mi = parse_ok("60 1 0:60 / /f rw - fuse.sshfs u@h:/ rw,user_id=0\n");

	cr_assert_str_eq(mi->entries[0].fstype, "fuse.sshfs");
	mountinfo_free(mi);
}

Test(mountinfo, accepts_an_empty_source_and_a_last_line_without_newline)
{
	struct mountinfo *mi =
	    parse_ok("1 0 0:1 / / rw - rootfs rootfs rw\n2 1 0:2 / /x rw - t  rw");

	cr_assert_eq(mi->n_entries, 2);
	cr_assert_str_eq(mi->entries[1].source, "");
	cr_assert_str_eq(mi->entries[1].super_opts, "rw");
	mountinfo_free(mi);
}

Test(mountinfo, parses_empty_input_as_no_mounts)
{
	struct mountinfo *mi = parse_ok("");

	cr_assert_eq(mi->n_entries, 0);
	mountinfo_free(mi);
}

Test(mountinfo, rejects_a_line_without_separator)
{
	cr_assert_eq(parse_err("36 35 98:0 /mnt1 /mnt2 rw ext3 /dev/root rw\n"), -EINVAL);
}

Test(mountinfo, rejects_missing_or_extra_fields_after_separator)
{
	cr_assert_eq(parse_err("36 35 98:0 / /m rw - ext3 /dev/root\n"), -EINVAL);
	cr_assert_eq(parse_err("36 35 98:0 / /m rw - ext3 /dev/root rw extra\n"), -EINVAL);
}

Test(mountinfo, rejects_bad_numbers)
{
	cr_assert_eq(parse_err("x 35 98:0 / /m rw - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("-1 35 98:0 / /m rw - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("36 35 98 / /m rw - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("36 35 98:0x1 / /m rw - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("4294967296 35 98:0 / /m rw - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("36 35 98:0 / /m rw shared:x - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("36 35 98:0 / /m rw shared:0 - ext3 s rw\n"), -EINVAL);
}

Test(mountinfo, rejects_bad_escapes)
{
	cr_assert_eq(parse_err("36 35 98:0 /a\\04 /m rw - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("36 35 98:0 /a\\ /m rw - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("36 35 98:0 /a\\000 /m rw - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("36 35 98:0 /a\\400 /m rw - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("36 35 98:0 / /m rw - ext3 s\\9 rw\n"), -EINVAL);
}

Test(mountinfo, rejects_relative_paths_and_empty_lines)
{
	cr_assert_eq(parse_err("36 35 98:0 a /m rw - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("36 35 98:0 / m rw - ext3 s rw\n"), -EINVAL);
	cr_assert_eq(parse_err("1 0 0:1 / / rw - t s rw\n\n"), -EINVAL);
}

Test(mountinfo, rejects_embedded_nul)
{
	static const char text[] = "1 0 0:1 / / rw - t s\0 rw\n";
	struct mountinfo *mi = NULL;

	cr_assert_eq(mountinfo_parse(text, sizeof(text) - 1, &mi), -EINVAL);
}

Test(mount_table, orders_parents_before_children)
{
	/* children listed before their parents, as after a move_mount */
	static const char text[] = "30 20 0:3 / /a/b rw - tmpfs t rw\n"
				   "20 10 0:2 / /a rw - tmpfs t rw\n"
				   "10 1 0:1 / / rw - ext4 /dev/vda rw\n"
				   "40 20 0:2 /sub /a/c rw shared:4 - tmpfs t rw\n";
	struct mount_table *t = NULL;
	size_t i, pos[4] = {0};

	cr_assert_eq(mount_table_from_mountinfo(text, sizeof(text) - 1, 1, 0, &t), 0);
	cr_assert_eq(mount_table_size(t), 4);
	for (i = 0; i < 4; i++) {
		const struct mount_entry *e = mount_table_get(t, i);

		pos[e->mnt_id_old / 10 - 1] = i;
	}
	cr_assert_lt(pos[0], pos[1]);
	cr_assert_lt(pos[1], pos[2]);
	cr_assert_lt(pos[1], pos[3]);
	cr_assert_null(mount_table_get(t, 0)->parent);
	mount_table_free(t);
}

Test(mount_table, finds_mounts_by_old_id_and_by_superblock)
{
	static const char text[] = "10 1 0:1 / / rw - ext4 /dev/vda rw\n"
				   "20 10 0:2 / /a rw - tmpfs t rw\n"
				   "30 10 0:2 /sub /b ro,nosuid - tmpfs t rw\n";
	struct mount_table *t = NULL;
	const struct mount_entry *e;

	cr_assert_eq(mount_table_from_mountinfo(text, sizeof(text) - 1, 1, 0, &t), 0);
	e = mount_table_find_old(t, 30);
	cr_assert_not_null(e);
	cr_assert_str_eq(e->root, "/sub");
	cr_assert_eq(e->parent, mount_table_find_old(t, 10));
	cr_assert_null(mount_table_find_old(t, 99));
	e = mount_table_find_dev(t, 0, 2);
	cr_assert_eq(e->mnt_id_old, 20);
	cr_assert_eq(e->next_same_dev->mnt_id_old, 30);
	cr_assert_null(e->next_same_dev->next_same_dev);
	cr_assert_null(mount_table_find_dev(t, 0, 9));
	cr_assert_null(mount_table_find(t, 0x80000001ULL));
	mount_table_free(t);
}

Test(mount_table, keeps_a_removed_root_apart_from_its_path)
{
	/* a bind whose source directory was removed: the kernel appends "//deleted" */
	static const char text[] = "10 1 0:1 / / rw - ext4 /dev/vda rw\n"
				   "20 10 0:1 /tmp/src//deleted /m rw - ext4 /dev/vda rw\n"
				   "30 10 0:1 /tmp/a\\040b//deleted /n rw - ext4 /dev/vda rw\n"
				   "40 10 0:1 /tmp/deleted /o rw - ext4 /dev/vda rw\n";
	struct mount_table *t = NULL;
	const struct mount_entry *e;

	cr_assert_eq(mount_table_from_mountinfo(text, sizeof(text) - 1, 1, 0, &t), 0);
	e = mount_table_find_old(t, 20);
	cr_assert_str_eq(e->root, "/tmp/src");
	cr_assert(e->root_deleted);
	e = mount_table_find_old(t, 30);
	cr_assert_str_eq(e->root, "/tmp/a b");
	cr_assert(e->root_deleted);
	e = mount_table_find_old(t, 40);
	cr_assert_str_eq(e->root, "/tmp/deleted");
	cr_assert_not(e->root_deleted);
	cr_assert_not(mount_table_find_old(t, 10)->root_deleted);
	mount_table_free(t);
}
