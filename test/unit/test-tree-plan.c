/* Unit tests for tree-plan.c: who forks whom, and which helpers stand in for dead leaders. */
#include <criterion/criterion.h>
#include <errno.h>

#include "task/tree-plan.h"

Test(tree_plan, plans_nothing_special_for_a_plain_tree)
{
	/* root 10 leads session and group; 11 its own group; 12 in 11's group; 13 a session */
	struct tree_plan_in in[] = {
	    {10, 10, 10, -1}, {11, 11, 10, 0}, {12, 11, 10, 1}, {13, 13, 13, 0}};
	struct tree_plan *p = NULL;

	cr_assert_eq(tree_plan_build(in, 4, 0, 0, &p), 0);
	cr_assert_eq(p->n_helpers, 0);
	cr_assert(p->tasks[0].sets_session && p->tasks[3].sets_session);
	cr_assert_eq(p->tasks[1].group_kind, TREE_GROUP_OWN);
	cr_assert_eq(p->tasks[2].group_kind, TREE_GROUP_TASK);
	cr_assert_eq(p->tasks[2].group_ref, 1);
	tree_plan_free(p);
}

Test(tree_plan, stands_in_for_a_daemons_dead_session_leader)
{
	/* root 10 (subreaper); 21 and its child 22 in session and group 20, whose leader died */
	struct tree_plan_in in[] = {{10, 10, 10, -1}, {21, 20, 20, 0}, {22, 20, 20, 1}};
	struct tree_plan *p = NULL;

	cr_assert_eq(tree_plan_build(in, 3, 0, 0, &p), 0);
	cr_assert_eq(p->n_helpers, 1);
	cr_assert_eq(p->helpers[0].pid, 20);
	cr_assert_eq(p->helpers[0].kind, TREE_HELPER_SESSION);
	cr_assert_eq(p->helpers[0].creator, 0);
	cr_assert_eq(p->helpers[0].n_waits, 2, "21 is forked by it, 22 joins its group");
	cr_assert_eq(p->tasks[1].helper, 0);
	cr_assert_eq(p->tasks[2].helper, -1);
	cr_assert(p->tasks[0].adopts);
	cr_assert_eq(p->tasks[1].group_kind, TREE_GROUP_HELPER);
	tree_plan_free(p);
}

Test(tree_plan, the_root_itself_in_a_dead_session_gets_a_helper_from_minicr)
{
	struct tree_plan_in in[] = {{21, 20, 20, -1}};
	struct tree_plan *p = NULL;

	cr_assert_eq(tree_plan_build(in, 1, 5, 5, &p), 0);
	cr_assert_eq(p->n_helpers, 1);
	cr_assert_eq(p->helpers[0].creator, -1);
	tree_plan_free(p);
	/* the root in minicr's own session and group: inherited */
	cr_assert_eq(tree_plan_build(in, 1, 20, 20, &p), 0);
	cr_assert_eq(p->n_helpers, 0);
	cr_assert_eq(p->tasks[0].group_kind, TREE_GROUP_OUTSIDE);
	tree_plan_free(p);
}

Test(tree_plan, a_job_whose_group_leader_died_gets_a_group_helper)
{
	struct tree_plan_in in[] = {{10, 10, 10, -1}, {31, 30, 10, 0}, {32, 30, 10, 0}};
	struct tree_plan *p = NULL;

	cr_assert_eq(tree_plan_build(in, 3, 0, 0, &p), 0);
	cr_assert_eq(p->n_helpers, 1);
	cr_assert_eq(p->helpers[0].kind, TREE_HELPER_GROUP);
	cr_assert_eq(p->helpers[0].creator, 1, "the first member forks it");
	cr_assert_eq(p->helpers[0].n_waits, 2);
	tree_plan_free(p);
}

Test(tree_plan, a_child_born_before_its_parents_setsid_stays_in_the_old_session)
{
	struct tree_plan_in in[] = {{10, 10, 10, -1}, {11, 11, 11, 0}, {12, 10, 10, 1}};
	struct tree_plan *p = NULL;

	cr_assert_eq(tree_plan_build(in, 3, 0, 0, &p), 0);
	cr_assert_eq(p->n_helpers, 0);
	cr_assert(p->tasks[2].before_setsid);
	tree_plan_free(p);
}

Test(tree_plan, refuses_what_cannot_be_rebuilt)
{
	/* 12 is in session 11, led by 11, but its parent is the root: no one can fork it there */
	struct tree_plan_in alive[] = {{10, 10, 10, -1}, {11, 11, 11, 0}, {12, 11, 11, 0}};
	/* session 20 is dead and its members have two different parents */
	struct tree_plan_in two[] = {
	    {10, 10, 10, -1}, {11, 11, 11, 0}, {21, 20, 20, 0}, {22, 20, 20, 1}};
	/* the leader 11 of group 11 has moved to group 10 */
	struct tree_plan_in moved[] = {{10, 10, 10, -1}, {11, 10, 10, 0}, {12, 11, 10, 0}};

	cr_assert_eq(tree_plan_check(alive, 3, 0, 0), -EBADMSG);
	cr_assert_eq(tree_plan_check(two, 4, 0, 0), -EBADMSG);
	cr_assert_eq(tree_plan_check(moved, 3, 0, 0), -EBADMSG);
}
