/*
 * verify's comparison of one folder pair (cmd/verify-cmp.c): pairing by
 * identity and size as the engine pairs, placeholders present, the same
 * Message-ID on other content, and flags, keywords and dates compared.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "verify-cmp.h"

static struct mf_msg
msg(const char *id, uint64_t size, unsigned flags, const char *kw)
{
	struct mf_msg m;

	memset(&m, 0, sizeof(m));
	m.msgid = id;
	m.size = size;
	m.flags = flags;
	m.keywords = kw;
	m.date = 1000;
	return m;
}

static void
test_same(void **state)
{
	struct mf_msg f[2], n[2];
	struct verify_opts o = { true };
	struct verify_result r;

	(void)state;
	f[0] = msg("<a@x>", 10, MF_FLAG_SEEN, "work");
	f[1] = msg("<b@x>", 20, 0, "");
	/* another order on the near side */
	n[0] = f[1];
	n[1] = f[0];
	verify_compare(f, 2, n, 2, &o, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.paired, 2);
	verify_result_free(&r);
}

static void
test_missing_and_flags(void **state)
{
	struct mf_msg f[3], n[2];
	struct verify_opts o = { true };
	struct verify_result r;

	(void)state;
	f[0] = msg("<a@x>", 10, MF_FLAG_SEEN, "");
	f[1] = msg("<b@x>", 20, 0, "");
	f[2] = msg("<c@x>", 30, 0, "work");
	n[0] = msg("<a@x>", 10, 0, "");
	n[1] = msg("<c@x>", 30, 0, "");
	n[1].date = 2000;
	verify_compare(f, 3, n, 2, &o, &r);
	assert_int_equal(r.count[VERIFY_MISSING_NEAR], 1);
	assert_int_equal(r.count[VERIFY_MISSING_FAR], 0);
	assert_int_equal(r.count[VERIFY_FLAGS], 1);
	assert_int_equal(r.count[VERIFY_KEYWORDS], 1);
	assert_int_equal(r.count[VERIFY_DATE], 1);
	verify_result_free(&r);
	/* keywords not kept on a side: not compared */
	o.keywords = false;
	verify_compare(f, 3, n, 2, &o, &r);
	assert_int_equal(r.count[VERIFY_KEYWORDS], 0);
	verify_result_free(&r);
}

static void
test_same_id_other_content(void **state)
{
	struct mf_msg f[2], n[2];
	struct verify_opts o = { false };
	struct verify_result r;

	(void)state;
	/* two messages share a Message-ID; each pairs with its own size */
	f[0] = msg("<a@x>", 10, 0, "");
	f[1] = msg("<a@x>", 99, 0, "");
	n[0] = msg("<a@x>", 99, 0, "");
	n[1] = msg("<a@x>", 10, 0, "");
	verify_compare(f, 2, n, 2, &o, &r);
	assert_int_equal(r.n, 0);
	verify_result_free(&r);
	/* a second copy of other content: one content difference */
	n[0].size = 55;
	verify_compare(f, 2, n, 2, &o, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.count[VERIFY_CONTENT], 1);
	assert_int_equal(r.v[0].far->size, 99);
	assert_int_equal(r.v[0].near->size, 55);
	verify_result_free(&r);
	/* equal header fingerprints: a tool's header, the same message */
	f[1].fp = "N:0123";
	n[0].fp = "N:0123";
	n[0].flags = MF_FLAG_SEEN;
	verify_compare(f, 2, n, 2, &o, &r);
	assert_int_equal(r.count[VERIFY_CONTENT], 0);
	assert_int_equal(r.count[VERIFY_FLAGS], 1);
	assert_int_equal(r.paired, 2);
	verify_result_free(&r);
	n[0].fp = "N:4567";
	verify_compare(f, 2, n, 2, &o, &r);
	assert_int_equal(r.count[VERIFY_CONTENT], 1);
	verify_result_free(&r);
}

static void
test_placeholder(void **state)
{
	struct mf_msg f[1], n[1];
	struct verify_opts o = { false };
	struct verify_result r;

	(void)state;
	f[0] = msg("<big@x>", 50000, 0, "");
	n[0] = msg("<big@x>", 700, 0, "");
	n[0].placeholder_of = 50000;
	verify_compare(f, 1, n, 1, &o, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.placeholders, 1);
	verify_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_missing_and_flags),
		cmocka_unit_test(test_same_id_other_content),
		cmocka_unit_test(test_placeholder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
