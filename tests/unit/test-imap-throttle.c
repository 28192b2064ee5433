/*
 * Unit tests for telling "not now" from "no" (store/imap/imap-throttle.h)
 * and for the hint that carries the wait up (store/base/backoff.h).  The
 * responses are the ones providers send, parsed by the real parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/backoff.h"
#include "imap/imap-parser.h"
#include "imap/imap-throttle.h"

/* Whether line (CRLF added) asks to back off; *ms_r the wait named. */
static bool
check(const char *line, long *ms_r)
{
	struct imap_parser *p = imap_parser_create(NULL);
	const struct imap_resp *r = NULL;
	struct mf_err err = { 0 };
	char in[512];
	size_t used = 0;
	bool yes;

	snprintf(in, sizeof(in), "%s\r\n", line);
	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used, &r, &err),
			 IMAP_PARSE_DONE);
	yes = imap_throttle_check(r, ms_r);
	imap_parser_destroy(&p);
	return yes;
}

static void
test_providers(void **state)
{
	long ms = -1;

	(void)state;
	/* Microsoft 365, as NO and as BAD; the wait in milliseconds */
	assert_true(check("A7 NO Request is throttled. Suggested Backoff "
			  "Time: 299609 milliseconds",
			  &ms));
	assert_int_equal(ms, 299609);
	assert_true(check("A8 BAD Request is throttled. Suggested Backoff "
			  "Time: 1200 milliseconds",
			  &ms));
	assert_int_equal(ms, 1200);
	/* RFC 5530 [UNAVAILABLE], on a command and on BYE; no wait named */
	assert_true(check("A9 NO [UNAVAILABLE] User's backend down", &ms));
	assert_int_equal(ms, 0);
	assert_true(check("* BYE [UNAVAILABLE] Temporary System Error", &ms));
	/* Gmail's connection cap, a rate limit under [LIMIT] */
	assert_true(check("A1 NO [ALERT] Too many simultaneous connections. "
			  "(Failure)",
			  &ms));
	assert_true(check("A2 NO [LIMIT] UID FETCH Rate limit hit.", &ms));
	/* other spellings of a wait */
	assert_true(check("A3 NO Server busy, try again later. Retry after "
			  "30 seconds",
			  &ms));
	assert_int_equal(ms, 30000);
	assert_true(check("A4 NO throttled: try again in 2 min", &ms));
	assert_int_equal(ms, 120000);
	assert_true(check("A5 NO throttled, retry after 5", &ms));
	assert_int_equal(ms, 5000);
	/* an absurd wait is capped at an hour */
	assert_true(check("A6 NO throttled. Suggested Backoff Time: "
			  "99999999999999999999 milliseconds",
			  &ms));
	assert_int_equal(ms, 3600L * 1000);
}

static void
test_not_throttling(void **state)
{
	long ms = -1;

	(void)state;
	/* a bare [LIMIT] is an implementation limit (RFC 5530 3.) */
	assert_false(check("A1 NO [LIMIT] Too many keywords", &ms));
	assert_false(check("A2 NO [TRYCREATE] no such mailbox", &ms));
	assert_false(check("A3 NO [AUTHENTICATIONFAILED] Invalid "
			   "credentials",
			   &ms));
	assert_false(check("A4 NO [OVERQUOTA] mailbox full", &ms));
	assert_false(check("* BYE Logging out", &ms));
	assert_false(check("* BYE Connection closed. 14", &ms));
	/* the words in an OK are no request */
	assert_false(check("A5 OK throttled? never", &ms));
	assert_false(check("* OK [UNAVAILABLE] odd but fine", &ms));
	assert_false(check("* 3 EXISTS", &ms));
	/* a folder named like a throttle, echoed by the server: quoted, or
	 * under a code that gives the lasting reason (Dovecot's wording) */
	assert_false(check("A6 NO Mailbox \"Try again later\" does not "
			   "exist",
			   &ms));
	assert_false(check("A7 NO Cannot create \"a \\\"x\\\" "
			   "throttled\"",
			   &ms));
	assert_false(check("A8 NO [NONEXISTENT] Mailbox doesn't exist: Try "
			   "again later",
			   &ms));
	assert_false(check("A9 NO [ALREADYEXISTS] Mailbox already exists: "
			   "Rate limits",
			   &ms));
	/* but the words outside the quotes still count */
	assert_true(check("B1 NO \"Sent\": throttled, try again later", &ms));
}

static void
test_backoff_hint(void **state)
{
	bool asked = true;

	(void)state;
	assert_int_equal(mf_backoff_take(&asked), 0);
	assert_false(asked);
	assert_false(mf_backoff_pending());
	/* no wait named is still a request to back off */
	mf_backoff_ask(0);
	assert_true(mf_backoff_pending());
	/* the longest wait asked for is kept */
	mf_backoff_ask(1500);
	mf_backoff_ask(700);
	assert_int_equal(mf_backoff_take(&asked), 1500);
	assert_true(asked);
	assert_false(mf_backoff_pending());
	mf_backoff_ask(0);
	assert_int_equal(mf_backoff_take(&asked), 0);
	assert_true(asked);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_providers),
		cmocka_unit_test(test_not_throttling),
		cmocka_unit_test(test_backoff_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
