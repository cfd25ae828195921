/* Unit tests for fdinfo-parse.c: what /proc/PID/fdinfo/N texts parse to, which are refused,
 * and the key lookups the fd kinds use for their own lines. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "fd/epoll-parse.h"
#include "fd/fdinfo-parse.h"
#include "fd/fsnotify-parse.h"

static int parse(const char *text, struct fdinfo *fi)
{
	return fdinfo_parse(text, strlen(text), fi);
}

Test(fdinfo, parses_pos_octal_flags_mnt_id_and_ino)
{
	struct fdinfo fi;

	cr_assert_eq(parse("pos:\t4\nflags:\t02102001\nmnt_id:\t27\nino:\t1234567\n", &fi), 0);
	cr_assert_eq(fi.pos, 4);
	cr_assert_eq(fi.flags, 02102001);
	cr_assert_eq(fi.mnt_id, 27);
	cr_assert(fi.has_ino);
	cr_assert_eq(fi.ino, 1234567);
}

static int get_u64(const char *text, const char *key, unsigned int base, uint64_t *v)
{
	return fdinfo_get_u64(text, strlen(text), key, base, v);
}

Test(fdinfo, parses_eventfd_count_as_hex_and_semaphore)
{
	const char *text = "pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\n"
			   "eventfd-count:               2a\neventfd-id: 1\n"
			   "eventfd-semaphore: 1\n";
	uint64_t v;
	bool sem = false;

	cr_assert_eq(get_u64(text, "eventfd-count", 16, &v), 0);
	cr_assert_eq(v, 42);
	cr_assert_eq(get_u64(text, "eventfd-id", 10, &v), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(fdinfo_get_flag(text, strlen(text), "eventfd-semaphore", &sem), 0);
	cr_assert(sem);
	cr_assert_eq(get_u64(text, "eventfd", 10, &v), -ENOENT, "a key is a whole word");
	cr_assert_eq(get_u64(text, "timerfd-ticks", 10, &v), -ENOENT);
}

Test(fdinfo, parses_large_positions_and_counters)
{
	struct fdinfo fi;
	const char *text = "pos:\t18446744073709551615\nflags:\t0\nmnt_id:\t1\n"
			   "eventfd-count: fffffffffffffffe\n";
	uint64_t v;

	cr_assert_eq(parse(text, &fi), 0);
	cr_assert_eq(fi.pos, UINT64_MAX);
	cr_assert_eq(get_u64(text, "eventfd-count", 16, &v), 0);
	cr_assert_eq(v, 0xfffffffffffffffeULL);
}

Test(fdinfo, skips_unknown_and_kind_specific_lines)
{
	struct fdinfo fi;
	const char *text =
	    "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t99\n"
	    "tfd:        5 events:       19 data:                5  pos:0 ino:1 sdev:5\n"
	    "lock:\t1: POSIX  ADVISORY  WRITE 1234 00:2c:99 0 EOF\n"
	    "inotify wd:1 ino:2 sdev:3 mask:fff ignored_mask:0\n";

	cr_assert_eq(parse(text, &fi), 0);
	cr_assert_eq(fi.flags, 02000002);
	cr_assert_eq(fi.ino, 99);
}

Test(fdinfo, accepts_text_without_final_newline)
{
	struct fdinfo fi;

	cr_assert_eq(parse("pos:\t7\nflags:\t0100000\nmnt_id:\t3", &fi), 0);
	cr_assert_eq(fi.mnt_id, 3);
	cr_assert_eq(fi.flags, 0100000);
}

Test(fdinfo, uses_only_len_bytes)
{
	struct fdinfo fi;
	const char *text = "pos:\t7\nflags:\t0\nmnt_id:\t3\nino:\t5\n";

	cr_assert_eq(fdinfo_parse(text, strlen(text) - 7, &fi), 0);
	cr_assert_not(fi.has_ino);
}

Test(fdinfo, refuses_missing_required_lines)
{
	struct fdinfo fi = {.pos = 99};

	cr_assert_eq(parse("pos:\t0\nflags:\t0\n", &fi), -EINVAL);
	cr_assert_eq(parse("flags:\t0\nmnt_id:\t1\n", &fi), -EINVAL);
	cr_assert_eq(parse("", &fi), -EINVAL);
	cr_assert_eq(fi.pos, 99, "output untouched on failure");
}

Test(fdinfo, refuses_malformed_values)
{
	struct fdinfo fi;

	cr_assert_eq(parse("pos:\t-1\nflags:\t0\nmnt_id:\t1\n", &fi), -EINVAL);
	cr_assert_eq(parse("pos:\t1\nflags:\t08\nmnt_id:\t1\n", &fi), -EINVAL, "8 is not octal");
	cr_assert_eq(parse("pos:\t1x\nflags:\t0\nmnt_id:\t1\n", &fi), -EINVAL);
	cr_assert_eq(parse("pos:\t\nflags:\t0\nmnt_id:\t1\n", &fi), -EINVAL);
	cr_assert_eq(parse("pos:\t18446744073709551616\nflags:\t0\nmnt_id:\t1\n", &fi), -EINVAL,
		     "overflow");
	cr_assert_eq(parse("pos:\t0\nflags:\t040000000000\nmnt_id:\t1\n", &fi), -EINVAL,
		     "flags above 32 bits");
}

Test(fdinfo, refuses_malformed_kind_values)
{
	const char *bad_count = "pos:\t0\nflags:\t0\nmnt_id:\t1\neventfd-count: xyz\n";
	const char *bad_flag = "pos:\t0\nflags:\t0\nmnt_id:\t1\neventfd-semaphore: 2\n";
	uint64_t v = 7;
	bool sem = false;

	cr_assert_eq(get_u64(bad_count, "eventfd-count", 16, &v), -EINVAL);
	cr_assert_eq(v, 7, "output untouched on failure");
	cr_assert_eq(fdinfo_get_flag(bad_flag, strlen(bad_flag), "eventfd-semaphore", &sem),
		     -EINVAL);
}

Test(fdinfo, parses_timerfd_pairs_and_octal_flags)
{
	const char *text = "pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\nclockid: 1\nticks: 0\n"
			   "settime flags: 03\nit_value: (98, 102235677)\n"
			   "it_interval: (0, 0)\n";
	int64_t a, b;
	uint64_t v;

	cr_assert_eq(get_u64(text, "settime flags", 8, &v), 0);
	cr_assert_eq(v, 3);
	cr_assert_eq(fdinfo_get_pair(text, strlen(text), "it_value", &a, &b), 0);
	cr_assert_eq(a, 98);
	cr_assert_eq(b, 102235677);
	cr_assert_eq(fdinfo_get_pair(text, strlen(text), "it_interval", &a, &b), 0);
	cr_assert_eq(a, 0);
	cr_assert_eq(b, 0);
	cr_assert_eq(fdinfo_get_pair(text, strlen(text), "it_nothing", &a, &b), -ENOENT);
}

Test(fdinfo, refuses_malformed_pairs)
{
	const char *bad[] = {"v: 1, 2\n",    "v: (1 2)\n",   "v: (1, 2\n",    "v: (1, x)\n",
			     "v: x(1, 2)\n", "v: (1, 2)x\n", "v: (- 1, 2)\n", "v: (, 2)\n"};
	int64_t a, b;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(fdinfo_get_pair(bad[i], strlen(bad[i]), "v", &a, &b), -EINVAL, "%s",
			     bad[i]);
	cr_assert_eq(fdinfo_get_pair("v: (-1, 5)\n", 11, "v", &a, &b), 0);
	cr_assert_eq(a, -1);
}

Test(fdinfo, parses_signed_numbers)
{
	int64_t v;
	const char *min = "-9223372036854775808", *over = "9223372036854775808";

	cr_assert_eq(fdinfo_parse_s64(min, min + strlen(min), &v), 0);
	cr_assert_eq(v, INT64_MIN);
	cr_assert_eq(fdinfo_parse_s64(over, over + strlen(over), &v), -EINVAL);
	cr_assert_eq(fdinfo_parse_s64(min, min, &v), -EINVAL, "empty range");
	cr_assert_eq(fdinfo_parse_s64(min, min + 1, &v), -EINVAL, "a sign alone");
}

Test(fdinfo, iterates_item_lines_and_their_fields)
{
	const char *text =
	    "pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\n"
	    "tfd:        3 events: 80000019 data: 1122334455667788  pos:0 ino:1491f9 "
	    "sdev:f\n"
	    "tfd:        6 events: 40000019 data: 1122334455667788  pos:0 ino:1491f9 "
	    "sdev:f\n"
	    "tfd-not: 1\n";
	size_t cursor = 0, len, n = 0;
	const char *line;
	uint64_t v;

	while (fdinfo_next_line(text, strlen(text), "tfd: ", &cursor, &line, &len) == 1) {
		cr_assert_eq(fdinfo_field_u64(line, len, "tfd", 10, &v), 0);
		cr_assert_eq(v, n == 0 ? 3 : 6);
		cr_assert_eq(fdinfo_field_u64(line, len, "events", 16, &v), 0);
		cr_assert_eq(v, n == 0 ? 0x80000019 : 0x40000019);
		cr_assert_eq(fdinfo_field_u64(line, len, "data", 16, &v), 0);
		cr_assert_eq(v, 0x1122334455667788ULL);
		cr_assert_eq(fdinfo_field_u64(line, len, "sdev", 16, &v), 0);
		cr_assert_eq(v, 0xf);
		cr_assert_eq(fdinfo_field_u64(line, len, "nope", 16, &v), -ENOENT);
		n++;
	}
	cr_assert_eq(n, 2);
}

Test(fdinfo, matches_whole_field_names_and_decodes_hex_bytes)
{
	const char *line = "inotify wd:2 ino:a746e0 sdev:fe00000 mask:80000100 ignored_mask:0 "
			   "fhandle-bytes:8 fhandle-type:1 f_handle:e046a7005bd0795e";
	uint8_t h[16];
	size_t n;
	uint64_t v;

	cr_assert_eq(fdinfo_field_u64(line, strlen(line), "mask", 16, &v), 0);
	cr_assert_eq(v, 0x80000100);
	cr_assert_eq(fdinfo_field_u64(line, strlen(line), "ignored_mask", 16, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(fdinfo_field_u64(line, strlen(line), "wd", 16, &v), 0);
	cr_assert_eq(v, 2);
	cr_assert_eq(fdinfo_field_hex(line, strlen(line), "f_handle", h, sizeof(h), &n), 0);
	cr_assert_eq(n, 8);
	cr_assert_eq(h[0], 0xe0);
	cr_assert_eq(h[7], 0x5e);
	cr_assert_eq(fdinfo_field_hex(line, strlen(line), "f_handle", h, 4, &n), -EINVAL,
		     "longer than the buffer");
	cr_assert_eq(fdinfo_field_hex("h:abc", 5, "h", h, sizeof(h), &n), -EINVAL, "odd length");
	cr_assert_eq(fdinfo_field_hex("h:zz", 4, "h", h, sizeof(h), &n), -EINVAL, "not hex");
}

Test(epoll_parse, parses_an_item_line)
{
	const char *line =
	    "tfd:       10 events: 40000019 data: ffffffffffffffff  pos:12 ino:1491f9 "
	    "sdev:fe00001";
	struct epoll_tfd t;

	cr_assert_eq(epoll_parse_tfd(line, strlen(line), &t), 0);
	cr_assert_eq(t.tfd, 10);
	cr_assert_eq(t.events, 0x40000019);
	cr_assert_eq(t.data, UINT64_MAX);
	cr_assert_eq(t.pos, 12);
	cr_assert_eq(t.ino, 0x1491f9);
	cr_assert_eq(fdinfo_sdev_major(t.sdev), 254);
	cr_assert_eq(fdinfo_sdev_minor(t.sdev), 1);
}

Test(epoll_parse, refuses_incomplete_or_out_of_range_items)
{
	const char *bad[] = {
	    "tfd: 3 events: 19 data: 0 pos:0 ino:1",		   /* no sdev */
	    "tfd: 3 events: 1ffffffff data: 0 pos:0 ino:1 sdev:f", /* events above 32 bits */
	    "tfd: 2147483648 events: 19 data: 0 pos:0 ino:1 sdev:f",
	    "tfd: -1 events: 19 data: 0 pos:0 ino:1 sdev:f",
	    "tfd: 3 events: 19 data: 0 pos:x ino:1 sdev:f",
	};
	struct epoll_tfd t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(epoll_parse_tfd(bad[i], strlen(bad[i]), &t), -EINVAL, "%s", bad[i]);
}

Test(fsnotify_parse, parses_an_inotify_watch)
{
	const char *line = "inotify wd:1a ino:a746e1 sdev:fe00000 mask:4000fff ignored_mask:0 "
			   "fhandle-bytes:8 fhandle-type:1 f_handle:e146a70099a78f27";
	struct inotify_wd w;

	cr_assert_eq(inotify_parse_wd(line, strlen(line), &w), 0);
	cr_assert_eq(w.wd, 0x1a);
	cr_assert_eq(w.ino, 0xa746e1);
	cr_assert_eq(w.sdev, 0xfe00000);
	cr_assert_eq(w.mask, 0x4000fff);
	cr_assert_eq(w.handle.bytes, 8);
	cr_assert_eq(w.handle.type, 1);
	cr_assert_eq(w.handle.data[0], 0xe1);
	cr_assert_eq(w.handle.data[7], 0x27);
}

Test(fsnotify_parse, refuses_watches_whose_handle_does_not_match_its_length)
{
	const char *bad[] = {
	    "inotify wd:1 ino:1 sdev:1 mask:1 ignored_mask:0 fhandle-bytes:4 fhandle-type:1 "
	    "f_handle:e146a70099a78f27",
	    "inotify wd:1 ino:1 sdev:1 mask:1 ignored_mask:0 fhandle-bytes:8 fhandle-type:1",
	    "inotify wd:80000000 ino:1 sdev:1 mask:1 ignored_mask:0 fhandle-bytes:1 "
	    "fhandle-type:1 f_handle:00",
	    "fanotify wd:1 ino:1 sdev:1 mask:1 ignored_mask:0 fhandle-bytes:1 fhandle-type:1 "
	    "f_handle:00",
	};
	struct inotify_wd w;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(inotify_parse_wd(bad[i], strlen(bad[i]), &w), -EINVAL, "%s", bad[i]);
}

Test(fsnotify_parse, parses_fanotify_groups_and_each_kind_of_mark)
{
	const char *group = "fanotify flags:200 event-flags:8000";
	const char *sb = "fanotify sdev:fe00000 mflags:0 mask:200 ignored_mask:0";
	const char *inode =
	    "fanotify ino:3c51a sdev:fe00000 mflags:0 mask:40000100 "
	    "ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:1ac5030000000000";
	const char *mnt = "fanotify mnt_id:1b mflags:40 mask:20 ignored_mask:20";
	struct fanotify_group g;
	struct fanotify_mark m;

	cr_assert_eq(fanotify_parse_line(group, strlen(group), &g, &m), 1);
	cr_assert_eq(g.flags, 0x200);
	cr_assert_eq(g.event_flags, 0x8000);
	cr_assert_eq(fanotify_parse_line(sb, strlen(sb), &g, &m), 2);
	cr_assert_eq(m.kind, FANOTIFY_MARK_SB);
	cr_assert_eq(m.sdev, 0xfe00000);
	cr_assert_eq(m.mask, 0x200);
	cr_assert_eq(fanotify_parse_line(inode, strlen(inode), &g, &m), 2);
	cr_assert_eq(m.kind, FANOTIFY_MARK_INODE);
	cr_assert_eq(m.ino, 0x3c51a);
	cr_assert_eq(m.mask, 0x40000100);
	cr_assert_eq(m.handle.bytes, 8);
	cr_assert_eq(fanotify_parse_line(mnt, strlen(mnt), &g, &m), 2);
	cr_assert_eq(m.kind, FANOTIFY_MARK_MOUNT);
	cr_assert_eq(m.mnt_id, 0x1b);
	cr_assert_eq(m.mflags, 0x40);
	cr_assert_eq(m.ignored_mask, 0x20);
	cr_assert_eq(fanotify_parse_line("fanotify what:1", 15, &g, &m), -EINVAL);
	cr_assert_eq(fanotify_parse_line("inotify flags:1 event-flags:2", 29, &g, &m), -EINVAL);
}
