/*
 * Message identity across mail tools (sync/ident.c): the header
 * fingerprint ignores the fields tools add and the white space they
 * re-fold, but not a changed value; the content digest also survives
 * blank lines and MIME part headers re-spaced, but not a changed word.
 * The changes below are the ones measured: mbsync's X-TUID, neomutt's
 * Content-Length, offlineimap3's re-spacing and added blank lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ident.h"

static const char base_msg[] =
	"Received: from a.example (a.example [192.0.2.1])\r\n"
	"\tby b.example; Mon, 2 Nov 2026 10:00:00 +0000\r\n"
	"From: Alice <a@example.org>\r\n"
	"To: b@example.org\r\n"
	"Subject: hello there\r\n"
	"Message-ID: <m1@example.org>\r\n"
	"Content-Type: multipart/mixed; boundary=\"b\"\r\n"
	"\r\n"
	"--b\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Body text.\r\n"
	"--b--\r\n";

static void
fp_of(const char *msg, char *out)
{
	ident_fingerprint(msg, strlen(msg), out);
	assert_true(strncmp(out, "N:", 2) == 0);
}

static void
cd_of(const char *msg, char *out)
{
	ident_content_digest(msg, strlen(msg), out);
	assert_true(strncmp(out, "C:", 2) == 0);
}

/* Apply "from -> to" once to base_msg. */
static void
edit(const char *from, const char *to, char *out, size_t size)
{
	const char *p = strstr(base_msg, from);

	assert_non_null(p);
	snprintf(out, size, "%.*s%s%s", (int)(p - base_msg), base_msg, to,
		 p + strlen(from));
}

static void
test_fingerprint_forgives_tools(void **state)
{
	static const char *const same[][2] = {
		/* mbsync */
		{ "Content-Type: multipart", "X-TUID: 8Hk2aZ3vQ1xP\r\n"
					     "Content-Type: multipart" },
		/* neomutt saving a copy; mutt's status fields */
		{ "Subject:", "Content-Length: 42\r\nStatus: RO\r\n"
			      "X-Status: A\r\nLines: 3\r\nSubject:" },
		/* offlineimap3 re-spacing and re-folding */
		{ "Subject: hello there", "Subject:  hello  there" },
		{ "\r\n\tby b.example", " by b.example" },
		{ "Subject: hello", "SUBJECT: hello" },
		/* an mbox From line in front */
		{ "Received: from a", "From alice@example.org Mon Nov  2 "
				      "10:00:00 2026\r\nReceived: from a" },
	};
	char a[IDENT_FP_MAX], b[IDENT_FP_MAX], msg[2048];
	size_t i;

	(void)state;
	fp_of(base_msg, a);
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		edit(same[i][0], same[i][1], msg, sizeof(msg));
		fp_of(msg, b);
		if (strcmp(a, b) != 0)
			fail_msg("fingerprint changed by '%s' -> '%s'",
				 same[i][0], same[i][1]);
	}
}

static void
test_fingerprint_sees_changes(void **state)
{
	static const char *const other[][2] = {
		{ "hello there", "hello here" },
		{ "<m1@example.org>", "<m2@example.org>" },
		{ "192.0.2.1", "192.0.2.2" },
		/* a field that is not a tool's is part of the message */
		{ "Subject:", "X-Spam-Flag: YES\r\nSubject:" },
	};
	char a[IDENT_FP_MAX], b[IDENT_FP_MAX], msg[2048];
	size_t i;

	(void)state;
	fp_of(base_msg, a);
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		edit(other[i][0], other[i][1], msg, sizeof(msg));
		fp_of(msg, b);
		if (strcmp(a, b) == 0)
			fail_msg("fingerprint blind to '%s' -> '%s'",
				 other[i][0], other[i][1]);
	}
}

static void
test_fingerprint_header_length(void **state)
{
	char fp[IDENT_FP_MAX];
	size_t hdr = strstr(base_msg, "\r\n\r\n") - base_msg + 4;

	(void)state;
	assert_int_equal(ident_fingerprint(base_msg, strlen(base_msg), fp),
			 hdr);
	/* LF line ends, and a header without an end */
	assert_int_equal(ident_fingerprint("A: b\nC: d\n\nx", 12, fp), 11);
	assert_int_equal(ident_fingerprint("A: b\r\n", 6, fp), 6);
	assert_int_equal(ident_fingerprint("", 0, fp), 0);
	assert_true(strncmp(fp, "N:", 2) == 0);
}

static void
test_content_digest(void **state)
{
	char a[IDENT_FP_MAX], b[IDENT_FP_MAX], msg[2048];

	(void)state;
	cd_of(base_msg, a);
	/* offlineimap3 on malformed messages: a blank line in front */
	snprintf(msg, sizeof(msg), "\r\n%s", base_msg);
	cd_of(msg, b);
	assert_string_equal(a, b);
	/* MIME part headers re-spaced, a blank line dropped at the end */
	edit("Content-Type: text/plain", "Content-Type:  text/plain", msg,
	     sizeof(msg));
	cd_of(msg, b);
	assert_string_equal(a, b);
	edit("--b--\r\n", "--b--", msg, sizeof(msg));
	cd_of(msg, b);
	assert_string_equal(a, b);
	/* X-TUID in the header counts for nothing */
	edit("Subject:", "X-TUID: abc\r\nSubject:", msg, sizeof(msg));
	cd_of(msg, b);
	assert_string_equal(a, b);
	/* but a word of the body does */
	edit("Body text.", "Body test.", msg, sizeof(msg));
	cd_of(msg, b);
	assert_string_not_equal(a, b);
	/* and X-TUID in the body is text */
	edit("Body text.", "X-TUID: abc\r\nBody text.", msg, sizeof(msg));
	cd_of(msg, b);
	assert_string_not_equal(a, b);
}

static void
test_tool_bytes(void **state)
{
	static const char hdr[] =
		"From: a@example.org\r\n"
		"Content-Length: 5\r\n"
		"X-TUID: abc\r\n\tdef\r\n"
		"Subject: x\r\n"
		"\r\n"
		"Status: RO\r\n"; /* in the body: not a field */

	(void)state;
	assert_int_equal(ident_tool_bytes(hdr, strlen(hdr)),
			 strlen("Content-Length: 5\r\n") +
				 strlen("X-TUID: abc\r\n\tdef\r\n"));
	assert_int_equal(ident_tool_bytes(base_msg, strlen(base_msg)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint_forgives_tools),
		cmocka_unit_test(test_fingerprint_sees_changes),
		cmocka_unit_test(test_fingerprint_header_length),
		cmocka_unit_test(test_content_digest),
		cmocka_unit_test(test_tool_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
