/* Unit tests for locks-parse.c: /proc/locks lines and fdinfo `lock:` lines as the kernel prints
 * them (texts taken from this machine's 6.18 kernel), blocked requests, leases being broken, and
 * malformed lines. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "fd/locks-parse.h"

static int parse(const char *line, struct lock_line *l)
{
	return locks_parse_line(line, strlen(line), l);
}

Test(locks_parse, parses_a_posix_write_lock_with_a_range)
{
	struct lock_line l;

	cr_assert_eq(parse("3: POSIX  ADVISORY  WRITE 20335 fe:00:10961121 10 14", &l), 0);
	cr_assert_eq(l.cls, LOCK_CLASS_POSIX);
	cr_assert_eq(l.mode, LOCK_MODE_ADVISORY);
	cr_assert_eq(l.type, F_WRLCK);
	cr_assert_eq(l.pid, 20335);
	cr_assert(l.has_inode);
	cr_assert_eq(l.maj, 0xfe);
	cr_assert_eq(l.min, 0);
	cr_assert_eq(l.ino, 10961121);
	cr_assert_eq(l.start, 10);
	cr_assert_eq(l.end, 14);
	cr_assert_not(l.to_eof);
	cr_assert_not(l.is_waiter);
}

Test(locks_parse, reads_device_numbers_as_hex)
{
	struct lock_line l;

	cr_assert_eq(parse("1: FLOCK  ADVISORY  READ 7 103:1a:42 0 EOF", &l), 0);
	cr_assert_eq(l.maj, 0x103);
	cr_assert_eq(l.min, 0x1a);
	cr_assert_eq(l.ino, 42);
	cr_assert(l.to_eof);
	cr_assert_eq(l.type, F_RDLCK);
}

Test(locks_parse, parses_ofd_locks_with_pid_minus_one)
{
	struct lock_line l;

	cr_assert_eq(parse("1: OFDLCK ADVISORY  WRITE -1 fe:00:10961153 0 0", &l), 0);
	cr_assert_eq(l.cls, LOCK_CLASS_OFD);
	cr_assert_eq(l.pid, -1);
	cr_assert_eq(l.start, 0);
	cr_assert_eq(l.end, 0);
}

Test(locks_parse, parses_fdinfo_lines_with_their_prefix)
{
	struct lock_line l;

	cr_assert_eq(parse("lock:\t1: POSIX  ADVISORY  READ 20335 fe:00:10961121 100 EOF", &l), 0);
	cr_assert_eq(l.cls, LOCK_CLASS_POSIX);
	cr_assert_eq(l.start, 100);
	cr_assert(l.to_eof);
}

Test(locks_parse, tells_leases_by_their_state)
{
	struct lock_line l;

	cr_assert_eq(parse("2: LEASE  ACTIVE    READ  1234 00:2a:99 0 EOF", &l), 0);
	cr_assert_eq(l.cls, LOCK_CLASS_LEASE);
	cr_assert_eq(l.mode, LOCK_MODE_ACTIVE);
	cr_assert_eq(parse("2: LEASE  BREAKING  UNLCK 1234 00:2a:99 0 EOF", &l), 0);
	cr_assert_eq(l.mode, LOCK_MODE_BREAKING);
	cr_assert_eq(l.type, F_UNLCK);
	cr_assert_eq(parse("3: LEASE  BREAKER   READ  1235 00:2a:99 0 EOF", &l), 0);
	cr_assert_eq(l.mode, LOCK_MODE_BREAKER);
	cr_assert_eq(parse("4: DELEG  ACTIVE    READ  0 00:2a:99 0 EOF", &l), 0);
	cr_assert_eq(l.cls, LOCK_CLASS_DELEG);
}

Test(locks_parse, marks_blocked_requests_at_any_depth)
{
	struct lock_line l;

	cr_assert_eq(parse("1: -> POSIX  ADVISORY  WRITE 99 fe:00:5 0 EOF", &l), 0);
	cr_assert(l.is_waiter);
	cr_assert_eq(l.pid, 99);
	cr_assert_eq(parse("1:  -> FLOCK  ADVISORY  WRITE 98 fe:00:5 0 EOF", &l), 0);
	cr_assert(l.is_waiter);
	cr_assert_eq(l.cls, LOCK_CLASS_FLOCK);
}

Test(locks_parse, keeps_unknown_classes_and_modes_for_the_caller_to_refuse)
{
	struct lock_line l;

	cr_assert_eq(parse("1: UNKNOWN UNKNOWN  WRITE 1 fe:00:5 0 EOF", &l), 0);
	cr_assert_eq(l.cls, LOCK_CLASS_UNKNOWN);
	cr_assert_eq(l.mode, LOCK_MODE_UNKNOWN);
	cr_assert_eq(parse("1: POSIX  MANDATORY WRITE 1 fe:00:5 0 EOF", &l), 0);
	cr_assert_eq(l.mode, LOCK_MODE_MANDATORY);
	cr_assert_eq(parse("1: POSIX  *NOINODE* WRITE 1 <none>:0 0 EOF", &l), 0);
	cr_assert_not(l.has_inode);
	cr_assert_eq(l.mode, LOCK_MODE_NOINODE);
}

Test(locks_parse, refuses_malformed_lines)
{
	static const char *const bad[] = {
	    "",
	    "POSIX ADVISORY WRITE 1 fe:00:5 0 EOF",			/* no ordinal */
	    "1: POSIX ADVISORY BOGUS 1 fe:00:5 0 EOF",			/* type */
	    "1: POSIX ADVISORY WRITE x fe:00:5 0 EOF",			/* pid */
	    "1: POSIX ADVISORY WRITE 1 fe00:5 0 EOF",			/* device */
	    "1: POSIX ADVISORY WRITE 1 fg:00:5 0 EOF",			/* hex */
	    "1: POSIX ADVISORY WRITE 1 fe:00:5 10 9",			/* end before start */
	    "1: POSIX ADVISORY WRITE 1 fe:00:5 0",			/* no end */
	    "1: POSIX ADVISORY WRITE 1 fe:00:5 0 EOF x",		/* trailing */
	    "1: POSIX ADVISORY WRITE 1 fe:00:5 0 99999999999999999999", /* overflow */
	};
	struct lock_line l;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i], &l), -EINVAL, "'%s'", bad[i]);
}

Test(locks_parse, walks_a_proc_locks_text)
{
	const char *text = "1: OFDLCK ADVISORY  WRITE -1 fe:00:10961153 0 0\n"
			   "2: POSIX  ADVISORY  READ 20335 fe:00:10961121 100 EOF\n"
			   "2: -> POSIX  ADVISORY  WRITE 20336 fe:00:10961121 100 EOF\n"
			   "garbage\n"
			   "\n"
			   "4: FLOCK  ADVISORY  WRITE 20335 fe:00:10961073 0 EOF";
	const char *cursor = text, *end = text + strlen(text);
	struct lock_line l;

	cr_assert_eq(locks_parse_next(&cursor, end, &l), 1);
	cr_assert_eq(l.cls, LOCK_CLASS_OFD);
	cr_assert_eq(locks_parse_next(&cursor, end, &l), 1);
	cr_assert_eq(l.pid, 20335);
	cr_assert_eq(locks_parse_next(&cursor, end, &l), 1);
	cr_assert(l.is_waiter);
	cr_assert_eq(locks_parse_next(&cursor, end, &l), -EINVAL);
	cr_assert_eq(locks_parse_next(&cursor, end, &l), 1);
	cr_assert_eq(l.cls, LOCK_CLASS_FLOCK);
	cr_assert_eq(l.ino, 10961073);
	cr_assert_eq(locks_parse_next(&cursor, end, &l), 0);
}

Test(locks_parse, takes_only_the_lock_lines_of_an_fdinfo_text)
{
	const char *text = "pos:\t0\nflags:\t0100002\nmnt_id:\t27\nino:\t10961121\n"
			   "lock:\t1: POSIX  ADVISORY  WRITE 20335 fe:00:10961121 10 14\n"
			   "lock:\t2: POSIX  ADVISORY  READ 20335 fe:00:10961121 100 EOF\n";
	const char *cursor = text, *end = text + strlen(text);
	struct lock_line l;

	cr_assert_eq(locks_parse_fdinfo_next(&cursor, end, &l), 1);
	cr_assert_eq(l.end, 14);
	cr_assert_eq(locks_parse_fdinfo_next(&cursor, end, &l), 1);
	cr_assert(l.to_eof);
	cr_assert_eq(locks_parse_fdinfo_next(&cursor, end, &l), 0);
}

Test(locks_parse, names_classes_and_types)
{
	cr_assert_str_eq(lock_class_name(LOCK_CLASS_OFD), "OFD");
	cr_assert_str_eq(lock_class_name(LOCK_CLASS_UNKNOWN), "UNKNOWN");
	cr_assert_str_eq(lock_type_name(F_WRLCK), "WRITE");
	cr_assert_str_eq(lock_type_name(F_RDLCK), "READ");
}
