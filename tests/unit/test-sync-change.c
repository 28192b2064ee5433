/*
 * What --exit-on-change counts as a change (cmd/sync-change.c): one folder
 * report at a time, and the watch passing every report on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sync-change.h"

static void
test_counts(void **state)
{
	struct sync_box_report r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.outcome = SYNC_BOX_SYNCED;
	assert_false(sync_report_changes(&r));
	r.paired = 5; /* state only */
	assert_false(sync_report_changes(&r));
	r.outcome = SYNC_BOX_UNCHANGED;
	assert_false(sync_report_changes(&r));
	r.outcome = SYNC_BOX_GONE_BOTH;
	assert_false(sync_report_changes(&r));
	r.outcome = SYNC_BOX_VANISHED_FAR_KEPT;
	assert_false(sync_report_changes(&r));
	r.outcome = SYNC_BOX_SYNCED;
	r.flags_near = 1;
	assert_true(sync_report_changes(&r));
	r.flags_near = 0;
	r.del_far = 1;
	assert_true(sync_report_changes(&r));
	r.del_far = 0;
	r.moved = 1;
	assert_true(sync_report_changes(&r));
	/* a folder that failed half-way still changed what it did */
	memset(&r, 0, sizeof(r));
	r.box_failed = true;
	r.pulled = 2;
	assert_true(sync_report_changes(&r));
}

static void
test_outcomes(void **state)
{
	static const enum sync_box_outcome yes[] = {
		SYNC_BOX_REMOVED,	   SYNC_BOX_RENAMED,
		SYNC_BOX_WOULD_CREATE_FAR, SYNC_BOX_WOULD_CREATE_NEAR,
		SYNC_BOX_WOULD_RENAME,
	};
	struct sync_box_report r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.outcome = yes[i];
		assert_true(sync_report_changes(&r));
	}
	/* a dry run: the plan's counts, not the (zero) done ones */
	memset(&r, 0, sizeof(r));
	r.outcome = SYNC_BOX_PLANNED;
	r.planned.paired = 3;
	r.planned.ambiguous = 2;
	r.planned.guard_far = 4; /* held back: exit 7's business */
	assert_false(sync_report_changes(&r));
	r.planned.push = 1;
	assert_true(sync_report_changes(&r));
}

static int nreports;

static void
count_report(void *ctx, const struct sync_box_report *r)
{
	assert_ptr_equal(ctx, &nreports);
	(void)r;
	nreports++;
}

static void
test_watch(void **state)
{
	struct sync_opts o;
	struct sync_change_watch w;
	struct sync_box_report r;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.report = count_report;
	o.ctx = &nreports;
	sync_change_watch(&w, &o);
	memset(&r, 0, sizeof(r));
	r.outcome = SYNC_BOX_UNCHANGED;
	o.report(o.ctx, &r);
	assert_false(w.changed);
	r.outcome = SYNC_BOX_SYNCED;
	r.pushed = 1;
	o.report(o.ctx, &r);
	assert_true(w.changed);
	r.pushed = 0;
	o.report(o.ctx, &r); /* stays set */
	assert_true(w.changed);
	assert_int_equal(nreports, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_outcomes),
		cmocka_unit_test(test_watch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
