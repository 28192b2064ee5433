/*
 * Which messages need their identity before planning (sync/plan-ident.c):
 * state rows and views -> the messages of each side to identify, and the
 * hints to confirm by digest.  Pure: no store, no state database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "plan.h"

#define K(s) ((char *)(s))

/* "10110": which entries of v are true */
static void
assert_want(const bool *v, size_t n, const char *want, size_t count)
{
	char got[16];
	size_t i, c = 0;

	for (i = 0; i < n; i++) {
		got[i] = v[i] ? '1' : '0';
		c += v[i];
	}
	got[n] = '\0';
	assert_string_equal(got, want);
	assert_int_equal(c, count);
}

static const struct mf_msg far3[] = {
	{ .uid = 1 },
	{ .uid = 2 },
	{ .uid = 3 },
};
static const struct mf_msg near3[] = {
	{ .key = "a" },
	{ .key = "b" },
	{ .key = "c" },
};

static void
test_all_known(void **state)
{
	struct state_msg rows[] = {
		{ .far_uid = 1, .near_key = K("a") },
		{ .far_uid = 2, .near_key = K("b") },
		{ .far_uid = 3, .near_key = K("c") },
	};
	struct plan_input in = { .state = rows,
				 .nstate = 3,
				 .far = far3,
				 .nfar = 3,
				 .near = near3,
				 .nnear = 3 };
	struct plan_ident_need need;

	(void)state;
	plan_ident_need(&in, &need);
	assert_want(need.far, 3, "000", need.nfar_want);
	assert_want(need.near, 3, "000", need.nnear_want);
	assert_false(need.new_both);
	plan_ident_need_free(&need);
}

static void
test_new_one_side_only(void **state)
{
	struct state_msg rows[] = {
		{ .far_uid = 1, .near_key = K("a") },
		{ .far_uid = 2, .near_key = K("b") },
		{ .far_uid = 0, .near_key = K("c") },
	};
	struct plan_input in = { .state = rows,
				 .nstate = 3,
				 .far = far3,
				 .nfar = 3,
				 .near = near3,
				 .nnear = 3 };
	struct plan_ident_need need;

	(void)state;
	/* far 3 is new, nothing is new near: it is copied, not paired */
	plan_ident_need(&in, &need);
	assert_int_equal(need.nfar_want, 0);
	assert_int_equal(need.nnear_want, 0);
	assert_false(need.new_both);
	plan_ident_need_free(&need);
}

static void
test_new_both_sides(void **state)
{
	struct state_msg rows[] = {
		{ .far_uid = 1, .near_key = K("a") },
		{ .far_uid = 2, .near_key = K("b") },
	};
	struct plan_input in = { .state = rows,
				 .nstate = 2,
				 .far = far3,
				 .nfar = 3,
				 .near = near3,
				 .nnear = 3 };
	struct plan_ident_need need;

	(void)state;
	plan_ident_need(&in, &need);
	assert_want(need.far, 3, "001", need.nfar_want);
	assert_want(need.near, 3, "001", need.nnear_want);
	assert_true(need.new_both);
	plan_ident_need_free(&need);
}

static void
test_pending_push(void **state)
{
	/* an interrupted APPEND of near c: look among the new far ones */
	struct state_msg rows[] = {
		{ .far_uid = 1, .near_key = K("a") },
		{ .far_uid = 2, .near_key = K("b") },
		{ .near_key = K("c"), .pending = STATE_PENDING_PUSH },
	};
	struct plan_input in = { .state = rows,
				 .nstate = 3,
				 .far = far3,
				 .nfar = 3,
				 .near = near3,
				 .nnear = 3 };
	struct plan_ident_need need;

	(void)state;
	plan_ident_need(&in, &need);
	assert_want(need.far, 3, "001", need.nfar_want);
	assert_want(need.near, 3, "000", need.nnear_want);
	plan_ident_need_free(&need);
}

static void
test_far_reset(void **state)
{
	struct state_msg rows[] = {
		{ .far_uid = 1, .near_key = K("a") },
		{ .far_uid = 2, .near_key = K("b") },
		{ .far_uid = 3, .near_key = K("c") },
	};
	struct plan_input in = { .state = rows,
				 .nstate = 3,
				 .far = far3,
				 .nfar = 3,
				 .near = near3,
				 .nnear = 3,
				 .far_reset = true };
	struct plan_ident_need need;

	(void)state;
	/* the recorded UIDs mean nothing now: every far message; and a
	 * row not found again by identity (these record none, as a first
	 * run stopped before its confirmations leaves them) is forgotten,
	 * so its near message is new too and must be paired by identity,
	 * not copied up beside its own far copy */
	plan_ident_need(&in, &need);
	assert_want(need.far, 3, "111", need.nfar_want);
	assert_want(need.near, 3, "111", need.nnear_want);
	plan_ident_need_free(&need);
}

static void
test_near_uids_pending_pull(void **state)
{
	static const struct mf_msg far2[] = { { .uid = 1 }, { .uid = 2 } };
	static const struct mf_msg near2[] = { { .uid = 10 }, { .uid = 11 } };
	struct state_msg rows[] = {
		{ .far_uid = 1, .near_uid = 10 },
		{ .far_uid = 2, .pending = STATE_PENDING_PULL },
	};
	struct plan_input in = { .state = rows,
				 .nstate = 2,
				 .far = far2,
				 .nfar = 2,
				 .near = near2,
				 .nnear = 2,
				 .near_uids = true };
	struct plan_ident_need need;

	(void)state;
	/* an APPEND into an IMAP near side: near 11 may be it */
	plan_ident_need(&in, &need);
	assert_want(need.far, 2, "00", need.nfar_want);
	assert_want(need.near, 2, "01", need.nnear_want);
	plan_ident_need_free(&need);
}

static void
test_hints_to_digest(void **state)
{
	static const struct mf_msg far[] = {
		{ .uid = 1, .size = 100, .fp = "x" },
		{ .uid = 2, .size = 100, .msgid = "<m@x>" },
		{ .uid = 3, .size = 100, .fp = "y" },
	};
	static const struct mf_msg near[] = {
		/* nothing confirms or refutes: digest both */
		{ .key = "a",
		  .size = 90,
		  .fp = "z",
		  .name_uid = 1,
		  .name_uid_checked = true },
		/* both have a Message-ID: no */
		{ .key = "b",
		  .size = 90,
		  .msgid = "<m@x>",
		  .name_uid = 2,
		  .name_uid_checked = true },
		/* same fingerprint: no */
		{ .key = "c",
		  .size = 90,
		  .fp = "y",
		  .name_uid = 3,
		  .name_uid_checked = true },
		/* unchecked hint: no */
		{ .key = "d", .size = 90, .name_uid = 1 },
	};
	struct plan_input in = {
		.far = far, .nfar = 3, .near = near, .nnear = 4
	};
	struct plan_ident_need need;

	(void)state;
	plan_hints_to_digest(&in, &need);
	assert_want(need.far, 3, "100", need.nfar_want);
	assert_want(need.near, 4, "1000", need.nnear_want);
	plan_ident_need_free(&need);
	in.far_reset = true;
	plan_hints_to_digest(&in, &need);
	assert_int_equal(need.nfar_want + need.nnear_want, 0);
	plan_ident_need_free(&need);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_known),
		cmocka_unit_test(test_new_one_side_only),
		cmocka_unit_test(test_new_both_sides),
		cmocka_unit_test(test_pending_push),
		cmocka_unit_test(test_far_reset),
		cmocka_unit_test(test_near_uids_pending_pull),
		cmocka_unit_test(test_hints_to_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
