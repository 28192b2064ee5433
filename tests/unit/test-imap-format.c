/*
 * Unit tests for imap-format.c: quoting, trace redaction and response
 * rendering.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "imap/imap-format.h"
#include "imap/imap-parser.h"

static void
test_quote(void **state)
{
	static const struct {
		const char *in;
		bool literal;
		const char *quoted;
	} rows[] = {
		{ "INBOX", false, "\"INBOX\"" },
		{ "My Box", false, "\"My Box\"" },
		{ "say \"hi\"", false, "\"say \\\"hi\\\"\"" },
		{ "back\\slash", false, "\"back\\\\slash\"" },
		{ "", false, "\"\"" },
		{ "caf\xc3\xa9", true, NULL },
		{ "two\r\nlines", true, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mf_buf b;

		if (imap_needs_literal(rows[i].in, strlen(rows[i].in)) !=
		    rows[i].literal)
			fail_msg("row %zu: needs_literal wrong", i);
		if (rows[i].literal)
			continue;
		mf_buf_init(&b, 1024);
		assert_int_equal(imap_append_quoted(&b, rows[i].in,
						    strlen(rows[i].in), NULL),
				 0);
		if (strcmp(b.data, rows[i].quoted) != 0)
			fail_msg("row %zu: got %s want %s", i, b.data,
				 rows[i].quoted);
		mf_buf_deinit(&b);
	}
}

static void
test_redact(void **state)
{
	static const struct {
		const char *line, *want;
	} rows[] = {
		{ "A2 LOGIN bob s3cret", "A2 LOGIN <redacted>" },
		{ "A2 LOGIN \"bob\" {6}", "A2 LOGIN <redacted>" },
		{ "A3 AUTHENTICATE PLAIN AGJvYgBzM2NyZXQ=",
		  "A3 AUTHENTICATE PLAIN <redacted>" },
		{ "A3 AUTHENTICATE XOAUTH2",
		  "A3 AUTHENTICATE XOAUTH2 <redacted>" },
		{ "A9", "A9 <redacted>" },
	};
	char out[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		imap_trace_redact(rows[i].line, strlen(rows[i].line), out,
				  sizeof(out));
		if (strcmp(out, rows[i].want) != 0)
			fail_msg("row %zu: %s", i, out);
	}
}

static void
test_resp_format(void **state)
{
	static const char in[] =
		"* 12 FETCH (UID 7 FLAGS (\\Seen) BODY[] {5}\r\nhello)\r\n";
	struct imap_parser_limits lim;
	struct imap_parser *p;
	const struct imap_resp *resp = NULL;
	struct mf_err err = { 0 };
	size_t used = 0;
	char out[200];

	(void)state;
	imap_parser_limits_default(&lim);
	p = imap_parser_create(&lim);
	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1, &used, &resp,
					  &err),
			 IMAP_PARSE_DONE);
	imap_resp_format(resp, out, sizeof(out));
	assert_string_equal(out, "* 12 FETCH (UID 7 FLAGS (\\Seen) "
				 "BODY[] {5 bytes})");
	imap_parser_destroy(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_resp_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
