/* Unit tests for the pure parsers of pstree.c (/proc/PID/stat lines and children lists) and for
 * the embedded parasite blob's layout. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parasite-blob.h"
#include "task/pstree.h"

Test(pstree, parses_a_plain_stat_line)
{
	struct pstree_stat st;

	cr_assert_eq(pstree_parse_stat("1234 (bash) S 1200 1234 1100 34816 1234 4194304 "
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

Test(pstree, parses_comm_with_spaces_and_parentheses)
{
	struct pstree_stat st;

	cr_assert_eq(pstree_parse_stat("77 (a) b (c)) d) Z 1 77 1 0 -1 0\n", &st), 0);
	cr_assert_eq(st.pid, 77);
	cr_assert_str_eq(st.comm, "a) b (c)) d");
	cr_assert_eq(st.state, 'Z');
	cr_assert_eq(st.ppid, 1);
	cr_assert_eq(st.pgid, 77);
	cr_assert_eq(st.sid, 1);
}

Test(pstree, parses_empty_comm_and_zero_ppid)
{
	struct pstree_stat st;

	cr_assert_eq(pstree_parse_stat("1 () S 0 0 0", &st), 0);
	cr_assert_str_eq(st.comm, "");
	cr_assert_eq(st.ppid, 0);
	cr_assert_eq(st.sid, 0);
}

Test(pstree, refuses_malformed_stat_lines)
{
	struct pstree_stat st = {.pid = 42};

	cr_assert_eq(pstree_parse_stat("", &st), -EINVAL);
	cr_assert_eq(pstree_parse_stat("12 bash S 1 1 1", &st), -EINVAL);
	cr_assert_eq(pstree_parse_stat("12 (bash S 1 1 1", &st), -EINVAL);
	cr_assert_eq(pstree_parse_stat("12 (bash) S 1 1", &st), -EINVAL);
	cr_assert_eq(pstree_parse_stat("12 (bash) S x 1 1", &st), -EINVAL);
	cr_assert_eq(pstree_parse_stat("12 (bash) S -1 1 1", &st), -EINVAL);
	cr_assert_eq(pstree_parse_stat("12 (bash) 1 1 1", &st), -EINVAL);
	cr_assert_eq(pstree_parse_stat("-12 (bash) S 1 1 1", &st), -EINVAL);
	cr_assert_eq(pstree_parse_stat("99999999999 (bash) S 1 1 1", &st), -EINVAL);
	cr_assert_eq(
	    pstree_parse_stat("12 (aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			      "aaaa) S 1 1 1",
			      &st),
	    -EINVAL);
	cr_assert_eq(st.pid, 42, "ret is set only on success");
}

Test(pstree, appends_new_pids_from_a_children_list)
{
	pid_t *pids = NULL;
	size_t n = 0;

	cr_assert_eq(pstree_parse_pid_list("10 20 30 ", &pids, &n), 3);
	cr_assert_eq(pstree_parse_pid_list("20 40\n", &pids, &n), 1);
	cr_assert_eq(pstree_parse_pid_list("", &pids, &n), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(pids[0], 10);
	cr_assert_eq(pids[3], 40);
	cr_assert_eq(pstree_parse_pid_list("5 x", &pids, &n), -EINVAL);
	cr_assert_eq(pstree_parse_pid_list("0", &pids, &n), -EINVAL);
	free(pids);
}

Test(parasite_blob, starts_with_its_entry_and_stays_small)
{
	/* head.S begins with "and $-16, %rsp" (48 83 e4 f0) at offset 0 */
	static const unsigned char entry[] = {0x48, 0x83, 0xe4, 0xf0};

	cr_assert_gt(sizeof(minicr_parasite_blob), sizeof(entry));
	cr_assert_eq(memcmp(minicr_parasite_blob, entry, sizeof(entry)), 0);
	cr_assert_lt(sizeof(minicr_parasite_blob), 64 * 1024);
	cr_assert_eq(minicr_parasite_blob_len, sizeof(minicr_parasite_blob));
}
