/*
 * Unit tests for RFC 8474 MAILBOXID parsing in store/imap/imap-list.c:
 * imap_objectid_get() (the "(objectid)" of a STATUS item or a SELECT
 * response code) and imap_status_items_parse() with MAILBOXID among the
 * items.  Lines go through the real response parser first, so what is
 * tested is what a server's bytes turn into.  An id that is not exactly
 * one objectid (section 7: 1*255 of ALPHA / DIGIT / "_" / "-") is ignored
 * as unknown (""), and never touches the other items.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "imap/imap-parser.h"
#include "imap/imap-private.h"
#include "store.h"

/* Parse one whole response line; the tree lives until p is destroyed. */
static const struct imap_resp *
parse(struct imap_parser *p, const char *line)
{
	const struct imap_resp *resp = NULL;
	struct mf_err err = { 0 };
	size_t used = 0;

	if (imap_parser_feed(p, line, strlen(line), &used, &resp, &err) !=
	    IMAP_PARSE_DONE)
		fail_msg("not parsed: %s (%s)", line, err.msg);
	return resp;
}

/* "* STATUS box (items)" -> status */
static void
status_of(const char *line, struct mf_box_status *s)
{
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_resp *resp = parse(p, line);
	const struct imap_arg *l;
	size_t n;

	memset(s, 0, sizeof(*s));
	assert_true(resp->count >= 3);
	assert_true(imap_arg_get_list(&resp->args[2], &l, &n));
	imap_status_items_parse(s, l, n);
	imap_parser_destroy(&p);
}

static void
test_status_valid(void **state)
{
	struct mf_box_status s;

	(void)state;
	/* RFC 8474 section 4.3's example */
	status_of("* STATUS foo (MAILBOXID (F2212ea87-6097-4256-9d51-71338625)"
		  " MESSAGES 3 UIDVALIDITY 7 UIDNEXT 4)\r\n",
		  &s);
	assert_true(s.has_status);
	assert_string_equal(s.mailboxid, "F2212ea87-6097-4256-9d51-71338625");
	assert_int_equal(s.messages, 3);
	assert_int_equal(s.uidvalidity, 7);
	status_of("* STATUS \"a b\" (UIDVALIDITY 1 MAILBOXID (x_Y-9))\r\n", &s);
	assert_string_equal(s.mailboxid, "x_Y-9");
	/* all digits is an objectid too (the parser calls it an atom) */
	status_of("* STATUS a (UIDVALIDITY 1 MAILBOXID (12345))\r\n", &s);
	assert_string_equal(s.mailboxid, "12345");
	/* without MAILBOXID: unknown */
	status_of("* STATUS a (UIDVALIDITY 1 MESSAGES 0)\r\n", &s);
	assert_true(s.has_status);
	assert_string_equal(s.mailboxid, "");
}

static void
test_status_malformed(void **state)
{
	static const char *const bad[] = {
		"MAILBOXID ()",		   /* empty */
		"MAILBOXID (a b)",	   /* two */
		"MAILBOXID abc",	   /* no parens */
		"MAILBOXID NIL",	   /* NIL */
		"MAILBOXID (NIL)",	   /* NIL inside */
		"MAILBOXID ((abc))",	   /* nested */
		"MAILBOXID (\"abc\")",	   /* a string, not an atom */
		"MAILBOXID ({3}\r\nabc)",  /* a literal */
		"MAILBOXID (a.b)",	   /* '.' not allowed */
		"MAILBOXID (a+b)",	   /* '+' */
		"MAILBOXID (\\Seen)",	   /* a flag */
		"MAILBOXID (caf\xc3\xa9)", /* 8-bit */
	};
	struct mf_box_status s;
	char line[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line),
			 "* STATUS a (MESSAGES 2 %s UIDVALIDITY 9 UIDNEXT 3)"
			 "\r\n",
			 bad[i]);
		status_of(line, &s);
		if (s.mailboxid[0] != '\0')
			fail_msg("%s: taken as '%s'", bad[i], s.mailboxid);
		/* the other items are read all the same */
		assert_true(s.has_status);
		assert_int_equal(s.messages, 2);
		assert_int_equal(s.uidvalidity, 9);
		assert_int_equal(s.uidnext, 3);
	}
}

static void
test_status_length(void **state)
{
	struct mf_box_status s;
	char id[300], line[400];

	(void)state;
	memset(id, 'a', 255);
	id[255] = '\0';
	snprintf(line, sizeof(line),
		 "* STATUS a (UIDVALIDITY 1 MAILBOXID (%s))\r\n", id);
	status_of(line, &s);
	assert_string_equal(s.mailboxid, id);
	memset(id, 'a', 256);
	id[256] = '\0';
	snprintf(line, sizeof(line),
		 "* STATUS a (UIDVALIDITY 1 MAILBOXID (%s))\r\n", id);
	status_of(line, &s);
	assert_string_equal(s.mailboxid, "");
}

/* without a valid UIDVALIDITY the whole status is dropped, id included */
static void
test_status_no_uidvalidity(void **state)
{
	struct mf_box_status s;

	(void)state;
	status_of("* STATUS a (MESSAGES 1 MAILBOXID (abc))\r\n", &s);
	assert_false(s.has_status);
	assert_string_equal(s.mailboxid, "");
}

/* RFC 8474 4.2: "* OK [MAILBOXID (id)] text" after SELECT / EXAMINE */
static void
test_select_code(void **state)
{
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_resp *resp;
	char out[MF_MAILBOXID_MAX + 1];

	(void)state;
	resp = parse(p, "* OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] "
			"Ok\r\n");
	assert_int_equal(resp->ncode, 2);
	assert_true(imap_arg_is_atom(&resp->code[0], "MAILBOXID"));
	assert_true(imap_objectid_get(&resp->code[1], out));
	assert_string_equal(out, "F2212ea87-6097-4256-9d51-71338625");
	resp = parse(p, "* OK [MAILBOXID (a/b)] Ok\r\n");
	memset(out, 'x', sizeof(out));
	assert_false(imap_objectid_get(&resp->code[1], out));
	assert_string_equal(out, "");
	resp = parse(p, "* OK [MAILBOXID F1] Ok\r\n");
	assert_false(imap_objectid_get(&resp->code[1], out));
	assert_string_equal(out, "");
	imap_parser_destroy(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_valid),
		cmocka_unit_test(test_status_malformed),
		cmocka_unit_test(test_status_length),
		cmocka_unit_test(test_status_no_uidvalidity),
		cmocka_unit_test(test_select_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
