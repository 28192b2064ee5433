/* store/flags.c and store/header.c: flag spellings, keyword sets, and the
 * Message-ID reader both stores share. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "flags.h"
#include "header.h"
#include "store.h"

static void
test_maildir_letters(void **state)
{
	char buf[8];
	unsigned bit, all = 0;
	const char *c;

	(void)state;
	assert_string_equal(mf_flags_to_maildir(MF_FLAG_ALL, buf), "DFPRST");
	assert_string_equal(mf_flags_to_maildir(MF_FLAG_SEEN | MF_FLAG_DRAFT,
						buf),
			    "DS");
	assert_string_equal(mf_flags_to_maildir(0, buf), "");
	for (c = "DFPRST"; *c; c++) {
		bit = mf_flag_from_maildir(*c);
		assert_true(bit != 0);
		all |= bit;
	}
	assert_int_equal(all, MF_FLAG_ALL);
	assert_int_equal(mf_flag_from_maildir('a'), 0);
	assert_int_equal(mf_flag_from_maildir('s'), 0);
}

static void
test_imap_names(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(mf_flag_from_imap("\\seen", 5), MF_FLAG_SEEN);
	assert_int_equal(mf_flag_from_imap("\\SEEN", 5), MF_FLAG_SEEN);
	assert_int_equal(mf_flag_from_imap("$Forwarded", 10),
			 MF_FLAG_FORWARDED);
	assert_int_equal(mf_flag_from_imap("\\Recent", 7), 0);
	assert_int_equal(mf_flags_to_imap_list(MF_FLAG_SEEN | MF_FLAG_FLAGGED,
					       "$Label1 work", buf,
					       sizeof(buf)),
			 27);
	assert_string_equal(buf, "\\Flagged \\Seen $Label1 work");
	assert_int_equal(mf_flags_to_imap_list(MF_FLAG_ALL, NULL, buf, 10), -1);
	assert_true(mf_keyword_valid("$Junk", 5));
	assert_false(mf_keyword_valid("\\Seen", 5));
	assert_false(mf_keyword_valid("a b", 3));
	assert_false(mf_keyword_valid("a(", 2));
	assert_false(mf_keyword_valid("", 0));
}

static void
test_keyword_sets(void **state)
{
	static const struct {
		const char *a, *b, *uni, *minus;
	} rows[] = {
		{ "", "", "", "" },
		{ "b a", "", "a b", "a b" },
		{ "a b c", "b", "a b c", "a c" },
		{ "  x  x y ", "z x", "x y z", "y" },
		{ NULL, "q", "q", "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		char *u = mf_kw_union(rows[i].a, rows[i].b);
		char *m = mf_kw_minus(rows[i].a, rows[i].b);

		if (strcmp(u, rows[i].uni) != 0 ||
		    strcmp(m, rows[i].minus) != 0)
			fail_msg("row %zu: union '%s' minus '%s'", i, u, m);
		free(u);
		free(m);
	}
	assert_true(mf_kw_contains("abc ab a", "ab"));
	assert_false(mf_kw_contains("abc a", "ab"));
	assert_true(mf_kw_equal(NULL, ""));
}

static void
test_msgid(void **state)
{
	static const struct {
		const char *hdr;
		const char *want; /* NULL: none */
	} rows[] = {
		{ "Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody", "<a@b>" },
		{ "message-id:<a@b>\n\n", "<a@b>" },
		{ "Message-Id :  <a@b> (comment)\n\n", "<a@b>" },
		{ "Message-ID:\r\n <folded@b>\r\n\r\n", "<folded@b>" },
		{ "Message-ID: bare@id \n\n", "bare@id" },
		{ "Subject: x\n\nMessage-ID: <in-body@b>\n", NULL },
		{ "Message-ID: <unterminated@b\n\n", NULL },
		{ "Message-ID:   \n\n", NULL },
		{ "X-Message-ID: <no@b>\n\n", NULL },
		{ "Message-IDX: <no@b>\n\n", NULL },
		{ "Message-ID: <first@b>\nMessage-ID: <second@b>\n\n",
		  "<first@b>" },
	};
	char out[MF_MSGID_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		bool found = mf_header_msgid(rows[i].hdr, strlen(rows[i].hdr),
					     out);

		if (found != (rows[i].want != NULL) ||
		    (found && strcmp(out, rows[i].want) != 0))
			fail_msg("row %zu: found %d '%s'", i, found,
				 found ? out : "");
	}
	assert_int_equal(mf_header_block_len("A: b\r\n\r\nbody", 12), 8);
	assert_int_equal(mf_header_block_len("A: b\n\nbody", 10), 6);
	assert_int_equal(mf_header_block_len("A: b\r\nC: d", 10), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maildir_letters),
		cmocka_unit_test(test_imap_names),
		cmocka_unit_test(test_keyword_sets),
		cmocka_unit_test(test_msgid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
