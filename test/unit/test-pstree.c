/* Unit tests for the pure parser of pstree.c (children lists) and for
 * the embedded parasite blob's layout. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parasite-blob.h"
#include "task/pstree.h"

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
