/*
 * The dry run's lines (cmd/dry-run.c): a planned action -> its text, as
 * tests/integ and users read it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dry-run.h"
#include "flags.h"

static void
check(const struct sync_action *a, const char *want)
{
	char line[512];

	dry_run_line(a, line, sizeof(line));
	assert_string_equal(line, want);
}

static void
test_pull(void **state)
{
	struct sync_action a = { .kind = SYNC_ACTION_MSG,
				 .box = "INBOX",
				 .has_far = true,
				 .far_uid = 7,
				 .near_op = PLAN_OP_COPY,
				 .far_flags = MF_FLAG_SEEN,
				 .near_flags = MF_FLAG_SEEN };

	(void)state;
	check(&a, "INBOX: far 7 near -: pull  -> flags S/S");
}

static void
test_push_key(void **state)
{
	struct sync_action a = { .kind = SYNC_ACTION_MSG,
				 .box = "INBOX",
				 .near_key = "123.M1P2.h",
				 .far_op = PLAN_OP_COPY };

	(void)state;
	check(&a, "INBOX: far - near 123.M1P2.h: push  -> flags /");
}

static void
test_delete_forget(void **state)
{
	struct sync_action a = { .kind = SYNC_ACTION_MSG,
				 .box = "A",
				 .has_far = true,
				 .far_uid = 3,
				 .near_key = "k",
				 .far_op = PLAN_OP_DELETE,
				 .near_op = PLAN_OP_FLAGS,
				 .forget = true };

	(void)state;
	check(&a, "A: far 3 near k: expunge-far flags-near forget -> "
		  "flags /");
}

static void
test_ambiguous(void **state)
{
	struct sync_action a = { .kind = SYNC_ACTION_AMBIGUOUS,
				 .box = "A",
				 .has_far = true,
				 .far_uid = 9 };

	(void)state;
	check(&a, "A: far 9 near -: leave alone (same Message-ID, other "
		  "content on the other side)");
}

static void
test_move(void **state)
{
	struct sync_action a = { .kind = SYNC_ACTION_MOVE,
				 .box = "INBOX",
				 .to = "Archive",
				 .side = SYNC_SIDE_NEAR,
				 .seen_id = { 0, "k1" },
				 .mirror_id = { 42, NULL } };
	struct sync_action b = { .kind = SYNC_ACTION_MOVE,
				 .box = "INBOX",
				 .to = "Archive",
				 .side = SYNC_SIDE_FAR,
				 .seen_id = { 5, NULL },
				 .mirror_id = { 0, "k2" } };

	(void)state;
	check(&a, "INBOX -> Archive: near k1 moved: would move far UID 42");
	check(&b, "INBOX -> Archive: far UID 5 moved: would move near k2");
}

/* The folder plans' shadows of a move are hidden, and only they. */
static void
test_move_shadows(void **state)
{
	struct sync_action mv = { .kind = SYNC_ACTION_MOVE,
				  .box = "INBOX",
				  .to = "Archive",
				  .side = SYNC_SIDE_NEAR,
				  .seen_id = { 0, "k1" },
				  .mirror_id = { 42, NULL } };
	/* INBOX: the far copy left behind, to be expunged */
	struct sync_action del = { .kind = SYNC_ACTION_MSG,
				   .box = "INBOX",
				   .has_far = true,
				   .far_uid = 42,
				   .far_op = PLAN_OP_DELETE,
				   .forget = true };
	/* Archive: the moved file, to be pushed */
	struct sync_action push = { .kind = SYNC_ACTION_MSG,
				    .box = "Archive",
				    .near_key = "k1",
				    .far_op = PLAN_OP_COPY };
	/* another message in INBOX: shown */
	struct sync_action other = { .kind = SYNC_ACTION_MSG,
				     .box = "INBOX",
				     .has_far = true,
				     .far_uid = 43,
				     .far_op = PLAN_OP_DELETE };
	struct plan_stats inbox = { .del_far = 2 }, archive = { .push = 1 };
	struct dry_moves *dm = dry_moves_new();

	(void)state;
	assert_false(dry_moves_note(dm, &mv));
	assert_true(dry_moves_note(dm, &del));
	assert_true(dry_moves_note(dm, &push));
	assert_false(dry_moves_note(dm, &other));
	dry_moves_adjust(dm, "INBOX", &inbox);
	dry_moves_adjust(dm, "Archive", &archive);
	assert_int_equal(inbox.del_far, 1);
	assert_int_equal(archive.push, 0);
	dry_moves_free(&dm);
	assert_null(dm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pull),
		cmocka_unit_test(test_push_key),
		cmocka_unit_test(test_delete_forget),
		cmocka_unit_test(test_ambiguous),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_move_shadows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
