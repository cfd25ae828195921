/* Unit tests for procfs-parse.c: /proc/PID/stat, status and limits text. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/procfs-parse.h"

Test(procfs_stat, parses_a_plain_stat_line)
{
	struct procfs_stat st;

	cr_assert_eq(procfs_parse_stat("1234 (bash) S 1200 1234 1100 34816 1234 4194304 "
				       "100 0 0 0 1 2 0 0 20 0 1 0 500 1000 200\n",
				       &st),
		     0);
	cr_assert_eq(st.pid, 1234);
	cr_assert_str_eq(st.comm, "bash");
	cr_assert_eq(st.state, 'S');
	cr_assert_eq(st.ppid, 1200);
	cr_assert_eq(st.pgid, 1234);
	cr_assert_eq(st.sid, 1100);
}

Test(procfs_stat, parses_comm_with_spaces_and_parentheses)
{
	struct procfs_stat st;

	cr_assert_eq(procfs_parse_stat("77 (a) b (c)) d) Z 1 77 1 0 -1 0\n", &st), 0);
	cr_assert_eq(st.pid, 77);
	cr_assert_str_eq(st.comm, "a) b (c)) d");
	cr_assert_eq(st.state, 'Z');
	cr_assert_eq(st.ppid, 1);
	cr_assert_eq(st.pgid, 77);
	cr_assert_eq(st.sid, 1);
}

Test(procfs_stat, parses_empty_comm_and_zero_ppid)
{
	struct procfs_stat st;

	cr_assert_eq(procfs_parse_stat("1 () S 0 0 0", &st), 0);
	cr_assert_str_eq(st.comm, "");
	cr_assert_eq(st.ppid, 0);
	cr_assert_eq(st.sid, 0);
}

Test(procfs_stat, refuses_malformed_stat_lines)
{
	struct procfs_stat st = {.pid = 42};

	cr_assert_eq(procfs_parse_stat("", &st), -EINVAL);
	cr_assert_eq(procfs_parse_stat("12 bash S 1 1 1", &st), -EINVAL);
	cr_assert_eq(procfs_parse_stat("12 (bash S 1 1 1", &st), -EINVAL);
	cr_assert_eq(procfs_parse_stat("12 (bash) S 1 1", &st), -EINVAL);
	cr_assert_eq(procfs_parse_stat("12 (bash) S x 1 1", &st), -EINVAL);
	cr_assert_eq(procfs_parse_stat("12 (bash) S -1 1 1", &st), -EINVAL);
	cr_assert_eq(procfs_parse_stat("12 (bash) 1 1 1", &st), -EINVAL);
	cr_assert_eq(procfs_parse_stat("-12 (bash) S 1 1 1", &st), -EINVAL);
	cr_assert_eq(procfs_parse_stat("99999999999 (bash) S 1 1 1", &st), -EINVAL);
	cr_assert_eq(
	    procfs_parse_stat("12 (aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			      "aaaa) S 1 1 1",
			      &st),
	    -EINVAL);
	cr_assert_eq(st.pid, 42, "ret is set only on success");
}

Test(procfs, parses_stat_mm_fields_after_a_tricky_comm)
{
	static const char stat[] =
	    "2404 (a) b) c) R 2400 2400 24287 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 187895 "
	    "3133440 394 18446744073709551615 94886480154624 94886480174505 140731865085344 0 0 "
	    "0 0 0 0 0 0 0 17 0 0 0 0 0 0 94886480190512 94886480192128 94887112757248 "
	    "140731865090503 140731865090523 140731865090523 140731865092075 0\n";
	struct procfs_stat st;

	cr_assert_eq(procfs_parse_stat(stat, &st), 0);
	cr_assert(st.has_mm);
	cr_assert_eq(st.start_code, 94886480154624ull);
	cr_assert_eq(st.end_code, 94886480174505ull);
	cr_assert_eq(st.start_stack, 140731865085344ull);
	cr_assert_eq(st.start_data, 94886480190512ull);
	cr_assert_eq(st.end_data, 94886480192128ull);
	cr_assert_eq(st.start_brk, 94887112757248ull);
	cr_assert_eq(st.arg_start, 140731865090503ull);
	cr_assert_eq(st.arg_end, 140731865090523ull);
	cr_assert_eq(st.env_start, 140731865090523ull);
	cr_assert_eq(st.env_end, 140731865092075ull);
	cr_assert_eq(st.exit_signal, 17);
	cr_assert_eq(procfs_parse_stat("1 (x) S 0 1 1\n", &st), 0);
	cr_assert(!st.has_mm, "a short line has no mm fields");
}

Test(procfs, parses_status_credentials)
{
	static const char status[] = "Name:\tcat\nUid:\t1000\t1001\t1002\t1003\n"
				     "Gid:\t10\t11\t12\t13\nGroups:\t4 24 27 \n"
				     "CapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\n"
				     "CapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\n"
				     "CapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n"
				     "x86_Thread_features:\tshstk wrss\n";
	struct procfs_status c;

	cr_assert_eq(procfs_parse_status(status, &c), 0);
	cr_assert_eq(c.uids[0], 1000);
	cr_assert_eq(c.uids[3], 1003);
	cr_assert_eq(c.gids[1], 11);
	cr_assert_eq(c.n_groups, 3);
	cr_assert_eq(c.groups[2], 27);
	cr_assert_eq(c.cap_prm, 0x1fffeffffffull);
	cr_assert(c.no_new_privs);
	cr_assert_eq(c.seccomp_mode, 2);
	cr_assert(c.has_shadow_stack);
	cr_assert_eq(procfs_parse_status("Name:\tx\nGid:\t1 1 1 1\n", &c), -EINVAL);
}

/* A stat line whose comm holds spaces and a ')' (fields 26-28 and 45-51 set to recognisable
 * values). */
static const char stat_line[] =
    "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 300 5000000 200 "
    "18446744073709551615 4194304 4198400 140733000000000 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 "
    "6000000 6000100 7000000 140733000001000 140733000001100 140733000001100 140733000001200 "
    "0\n";

Test(procfs_stat, reads_mm_fields_despite_a_tricky_comm)
{
	struct procfs_stat st;

	cr_assert_eq(procfs_parse_stat(stat_line, &st), 0);
	cr_assert_str_eq(st.comm, "a) b (c)");
	cr_assert(st.has_mm);
	cr_assert_eq(st.start_code, 4194304);
	cr_assert_eq(st.end_code, 4198400);
	cr_assert_eq(st.start_stack, 140733000000000ULL);
	cr_assert_eq(st.start_data, 6000000);
	cr_assert_eq(st.end_data, 6000100);
	cr_assert_eq(st.start_brk, 7000000);
	cr_assert_eq(st.arg_start, 140733000001000ULL);
	cr_assert_eq(st.arg_end, 140733000001100ULL);
	cr_assert_eq(st.env_start, 140733000001100ULL);
	cr_assert_eq(st.env_end, 140733000001200ULL);
	cr_assert_eq(st.exit_signal, 17);
	cr_assert(st.has_exit_code);
	cr_assert_eq(st.exit_code, 0);
}

Test(procfs_stat, refuses_a_garbled_mm_field)
{
	struct procfs_stat st = {.pid = 9};

	cr_assert_eq(
	    procfs_parse_stat("1 (x) S 1 2 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 x\n", &st), 0,
	    "fields minicr does not read are not checked");
	cr_assert_eq(
	    procfs_parse_stat("1 (x) S 1 2 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 -5\n", &st),
	    -EINVAL);
	cr_assert_eq(procfs_parse_stat("no parenthesis", &st), -EINVAL);
	cr_assert_eq(st.pid, 1);
}

Test(procfs, parses_umask_and_fd_table_size)
{
	struct procfs_status c;

	cr_assert_eq(procfs_parse_status("Name:\tx\nUmask:\t0027\nUid:\t0 0 0 0\n"
					 "Gid:\t0 0 0 0\nFDSize:\t256\n",
					 &c),
		     0);
	cr_assert(c.has_umask);
	cr_assert_eq(c.umask, 027);
	cr_assert(c.has_fd_size);
	cr_assert_eq(c.fd_size, 256);
	cr_assert_eq(procfs_parse_status("Uid:\t0 0 0 0\nGid:\t0 0 0 0\n", &c), 0);
	cr_assert(!c.has_umask && !c.has_fd_size);
	cr_assert_eq(procfs_parse_status("Umask:\t0999\nUid:\t0 0 0 0\nGid:\t0 0 0 0\n", &c),
		     -EINVAL);
	cr_assert_eq(procfs_parse_status("Uid:\t0 0 0 0\nGid:\t0 0 0 0\nSeccomp:\t7\n", &c),
		     -EINVAL);
}

static const char limits_text[] =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max file size             unlimited            unlimited            bytes     \n"
    "Max data size             unlimited            unlimited            bytes     \n"
    "Max stack size            8388608              unlimited            bytes     \n"
    "Max core file size        0                    unlimited            bytes     \n"
    "Max resident set          unlimited            unlimited            bytes     \n"
    "Max processes             63499                63499                processes \n"
    "Max open files            8192                 20000                files     \n"
    "Max locked memory         8388608              8388608              bytes     \n"
    "Max address space         unlimited            unlimited            bytes     \n"
    "Max file locks            unlimited            unlimited            locks     \n"
    "Max pending signals       63499                63499                signals   \n"
    "Max msgqueue size         819200               819200               bytes     \n"
    "Max nice priority         0                    0                    \n"
    "Max realtime priority     0                    0                    \n"
    "Max realtime timeout      unlimited            unlimited            us        \n";

Test(procfs_limits, parses_every_row_in_rlimit_order)
{
	struct procfs_limits l;

	cr_assert_eq(procfs_parse_limits(limits_text, &l), 0);
	cr_assert_eq(l.n, 16);
	cr_assert_eq(l.cur[0], PROCFS_RLIM_INFINITY);
	cr_assert_eq(l.cur[3], 8388608);
	cr_assert_eq(l.max[3], PROCFS_RLIM_INFINITY);
	cr_assert_eq(l.cur[4], 0);
	cr_assert_eq(l.cur[7], 8192);
	cr_assert_eq(l.max[7], 20000);
	cr_assert_eq(l.cur[13], 0);
	cr_assert_eq(l.max[15], PROCFS_RLIM_INFINITY);
}

Test(procfs_limits, refuses_malformed_tables)
{
	struct procfs_limits l = {.n = 99};

	cr_assert_eq(procfs_parse_limits("", &l), -EINVAL);
	cr_assert_eq(procfs_parse_limits("Max cpu time              1 2\n", &l), -EINVAL);
	cr_assert_eq(procfs_parse_limits("Limit x\nMax cpu time              -1 2\n", &l), -EINVAL);
	cr_assert_eq(procfs_parse_limits("Limit x\nMax cpu time              1\n", &l), -EINVAL);
	cr_assert_eq(procfs_parse_limits("Limit x\nshort 1 2\n", &l), -EINVAL);
	cr_assert_eq(procfs_parse_limits("Limit x\nMax cpu time              1 2x\n", &l), -EINVAL);
	cr_assert_eq(l.n, 99, "ret is set only on success");
}

Test(procfs_cpulist, parses_ranges_singles_and_the_empty_list)
{
	uint8_t mask[4];

	cr_assert_eq(procfs_parse_cpulist("0-3,8,10-11\n", mask, sizeof(mask)), 0);
	cr_assert_eq(mask[0], 0x0f);
	cr_assert_eq(mask[1], 0x0d);
	cr_assert_eq(mask[2], 0);
	cr_assert_eq(procfs_parse_cpulist("31", mask, sizeof(mask)), 0);
	cr_assert_eq(mask[3], 0x80);
	cr_assert_eq(mask[0], 0, "the mask is cleared first");
	cr_assert_eq(procfs_parse_cpulist("", mask, sizeof(mask)), 0);
	cr_assert_eq(procfs_parse_cpulist("\n", mask, sizeof(mask)), 0);
	cr_assert_eq(mask[0] | mask[1] | mask[2] | mask[3], 0);
}

Test(procfs_cpulist, refuses_malformed_lists_and_cpus_beyond_the_mask)
{
	uint8_t mask[2];

	cr_assert_eq(procfs_parse_cpulist("3-1", mask, sizeof(mask)), -EINVAL);
	cr_assert_eq(procfs_parse_cpulist("1,", mask, sizeof(mask)), -EINVAL);
	cr_assert_eq(procfs_parse_cpulist(",1", mask, sizeof(mask)), -EINVAL);
	cr_assert_eq(procfs_parse_cpulist("1-", mask, sizeof(mask)), -EINVAL);
	cr_assert_eq(procfs_parse_cpulist("1 2", mask, sizeof(mask)), -EINVAL);
	cr_assert_eq(procfs_parse_cpulist("-1", mask, sizeof(mask)), -EINVAL);
	cr_assert_eq(procfs_parse_cpulist("0\n\n", mask, sizeof(mask)), -EINVAL);
	cr_assert_eq(procfs_parse_cpulist("16", mask, sizeof(mask)), -ERANGE);
	cr_assert_eq(procfs_parse_cpulist("0-99999999999999999999999", mask, sizeof(mask)),
		     -ERANGE);
}

Test(procfs_cpulist, formats_what_it_parses)
{
	static const char *const lists[] = {"0", "0-3,8,10-11", "1,3,5,7", "0-31", ""};
	uint8_t mask[4];
	char buf[64];

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		cr_assert_eq(procfs_parse_cpulist(lists[i], mask, sizeof(mask)), 0);
		cr_assert_str_eq(procfs_format_cpulist(mask, sizeof(mask), buf, sizeof(buf)),
				 lists[i]);
	}
	/* too long for the buffer: cut with "..." */
	cr_assert_eq(procfs_parse_cpulist("1,3,5,7,9,11", mask, sizeof(mask)), 0);
	cr_assert_str_eq(procfs_format_cpulist(mask, sizeof(mask), buf, 8), "1,3,...");
}
