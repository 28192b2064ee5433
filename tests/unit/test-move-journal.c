/*
 * The move journal and its rules (sync/move-journal.c): the journal text
 * round-trips (with and without a relabel) and refuses what it did not
 * write; a stopped move is settled
 * by what is found where; a double move goes the server's way; the
 * destination's row keeps the three-way base.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "move.h"
#include "state.h"

static void
roundtrip(const struct move_journal *in)
{
	char buf[MOVE_JOURNAL_MAX];
	struct move_journal out;

	assert_int_equal(move_journal_format(in, buf, sizeof(buf)), 0);
	assert_true(move_journal_parse(buf, &out));
	assert_int_equal(out.to, in->to);
	assert_int_equal(out.from, in->from);
	assert_int_equal(out.s_far, in->s_far);
	assert_int_equal(out.hint, in->hint);
	assert_int_equal(out.s_uid, in->s_uid);
	assert_int_equal(out.m_uid, in->m_uid);
	assert_string_equal(out.s_key, in->s_key);
	assert_string_equal(out.m_key, in->m_key);
	assert_int_equal(out.relabel, in->relabel);
	assert_string_equal(out.s_kw, in->relabel ? in->s_kw : "");
}

static void
test_journal_roundtrip(void **state)
{
	struct move_journal local = { .to = 7,
				      .s_far = false,
				      .hint = 4242,
				      .m_uid = 19,
				      .s_key = "1700.x.host" };
	struct move_journal server = { .to = 3,
				       .from = 9,
				       .s_far = true,
				       .s_uid = 4294967295u,
				       .m_key = "17 00 odd:name=1:2" };
	struct move_journal longest = { .to = INT64_MAX,
					.from = INT64_MAX,
					.hint = UINT32_MAX,
					.s_uid = UINT32_MAX,
					.m_uid = UINT32_MAX,
					.relabel = true };
	/* a hand move to relabel; "" is a set too (no keyword there) */
	struct move_journal by_hand = { .to = 7,
					.hint = 4,
					.m_uid = 19,
					.s_key = "1700.x.host",
					.relabel = true,
					.s_kw = "$Label1 Other" };
	struct move_journal by_hand_none = {
		.to = 7, .m_uid = 19, .s_key = "1.y", .relabel = true
	};

	(void)state;
	roundtrip(&local);
	/* a key may hold spaces, '=' and ':' */
	roundtrip(&server);
	memset(longest.s_key, 'a', MOVE_KEY_MAX - 1);
	memset(longest.m_key, 'b', MOVE_KEY_MAX - 1);
	memset(longest.s_kw, 'k', MOVE_KW_MAX - 1);
	roundtrip(&longest);
	roundtrip(&by_hand);
	roundtrip(&by_hand_none);
}

static void
test_journal_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"mv1",
		"mv2 to=1 from=0 s=far hint=0 s_uid=1 m_uid=0 s_key=0: "
		"m_key=1:a",
		"mv1 to=0 from=0 s=far hint=0 s_uid=1 m_uid=0 s_key=0: "
		"m_key=1:a",
		"mv1 to=1 from=-1 s=far hint=0 s_uid=1 m_uid=0 s_key=0: "
		"m_key=1:a",
		"mv1 to=1 from=0 s=side hint=0 s_uid=1 m_uid=0 s_key=0: "
		"m_key=1:a",
		/* key shorter than its length, longer, missing */
		"mv1 to=1 from=0 s=far hint=0 s_uid=1 m_uid=0 s_key=0: "
		"m_key=3:ab",
		"mv1 to=1 from=0 s=far hint=0 s_uid=1 m_uid=0 s_key=0: "
		"m_key=1:ab",
		"mv1 to=1 from=0 s=far hint=0 s_uid=1 m_uid=0 s_key=0:",
		"mv1 to=1 from=0 s=far hint=0 s_uid=1 m_uid=0 s_key=999:x "
		"m_key=0:",
		/* relabel keywords shorter than their length, or trailing */
		"mv1 to=1 from=0 s=near hint=0 s_uid=0 m_uid=1 s_key=1:a "
		"m_key=0: s_kw=5:ab",
		"mv1 to=1 from=0 s=near hint=0 s_uid=0 m_uid=1 s_key=1:a "
		"m_key=0: s_kw=1:ab",
		"mv1 to=1 from=0 s=near hint=0 s_uid=0 m_uid=1 s_key=1:a "
		"m_key=0: ",
	};
	struct move_journal j;
	size_t i;
	char buf[8];
	struct move_journal big = { .to = 1 };

	(void)state;
	assert_false(move_journal_parse(NULL, &j));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (move_journal_parse(bad[i], &j))
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(j.to, 0); /* zeroed when refused */
	assert_int_equal(move_journal_format(&big, buf, sizeof(buf)), -1);
}

static void
test_fix_rules(void **state)
{
	(void)state;
	/* moved, not recorded */
	assert_int_equal(move_fix_decide(false, true), MOVE_FIX_DONE);
	/* copied, the original not expunged (or linked, not unlinked) */
	assert_int_equal(move_fix_decide(true, true), MOVE_FIX_FINISH);
	/* stopped before the move */
	assert_int_equal(move_fix_decide(true, false), MOVE_FIX_UNDONE);
	/* gone from both folders: someone else's doing */
	assert_int_equal(move_fix_decide(false, false), MOVE_FIX_LOST);
}

static void
test_meet_rules(void **state)
{
	(void)state;
	assert_int_equal(move_meet_decide(2, 2), MOVE_MEET_SAME);
	assert_int_equal(move_meet_decide(1, 2), MOVE_MEET_FOLLOW_FAR);
	assert_int_equal(move_meet_decide(2, 1), MOVE_MEET_FOLLOW_FAR);
}

static void
test_dest_row_keeps_base(void **state)
{
	static const struct move_journal journal = { .to = 3, .s_far = true };
	struct state_msg old = {
		.rowid = 12,
		.far_uid = 5,
		.near_key = "old",
		.far_flags = 0x3,
		.far_keywords = "$a",
		.near_flags = 0x1,
		.near_keywords = "",
		.size = 99,
		.date = 1700000000,
		.msgid = "<x@y>",
		.pending = STATE_PENDING_MOVE,
		.pending_move = &journal,
	};
	struct state_msg row;

	(void)state;
	move_dest_row(&old, 77, 0, "new", &row);
	assert_int_equal(row.rowid, 0);
	assert_int_equal(row.pending, STATE_PENDING_NONE);
	assert_null(row.pending_move);
	assert_int_equal(row.far_uid, 77);
	assert_int_equal(row.near_uid, 0);
	assert_string_equal(row.near_key, "new");
	/* what both sides had at the last sync, not what they have now */
	assert_int_equal(row.far_flags, 0x3);
	assert_int_equal(row.near_flags, 0x1);
	assert_string_equal(row.far_keywords, "$a");
	assert_string_equal(row.near_keywords, "");
	assert_int_equal(row.size, 99);
	assert_string_equal(row.msgid, "<x@y>");
	/* a UID near side */
	move_dest_row(&old, 8, 9, NULL, &row);
	assert_int_equal(row.near_uid, 9);
	assert_null(row.near_key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_roundtrip),
		cmocka_unit_test(test_journal_refused),
		cmocka_unit_test(test_fix_rules),
		cmocka_unit_test(test_meet_rules),
		cmocka_unit_test(test_dest_row_keeps_base),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
