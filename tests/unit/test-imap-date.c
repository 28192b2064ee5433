/*
 * Unit tests for imap-date.c: date-time and SEARCH date formatting,
 * INTERNALDATE parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap/imap-date.h"

static void
test_dates(void **state)
{
	static const struct {
		int64_t t;
		const char *datetime, *search;
	} fmt[] = {
		{ 0, "01-Jan-1970 00:00:00 +0000", "1-Jan-1970" },
		{ 1593957780, "05-Jul-2020 14:03:00 +0000", "5-Jul-2020" },
		{ 1735689599, "31-Dec-2024 23:59:59 +0000", "31-Dec-2024" },
	};
	static const struct {
		const char *in;
		bool ok;
		int64_t t;
	} parse[] = {
		{ "17-Jul-1996 02:44:25 -0700", true, 837596665 },
		{ " 5-Jul-2020 16:03:00 +0200", true, 1593957780 },
		{ "5-Jul-2020 14:03:00 +0000", true, 1593957780 },
		{ "05-jul-2020 14:03:00 +0000", true, 1593957780 },
		{ "05-Jux-2020 14:03:00 +0000", false, 0 },
		{ "05-Jul-2020 14:03 +0000", false, 0 },
		{ "05-Jul-2020 25:03:00 +0000", false, 0 },
		{ "", false, 0 },
	};
	char buf[IMAP_DATE_SIZE];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		imap_date_format(fmt[i].t, buf);
		if (strcmp(buf, fmt[i].datetime) != 0)
			fail_msg("format row %zu: %s", i, buf);
		imap_search_date_format(fmt[i].t, buf);
		if (strcmp(buf, fmt[i].search) != 0)
			fail_msg("search row %zu: %s", i, buf);
	}
	for (i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
		int64_t t = -1;
		bool ok = imap_date_parse(parse[i].in, strlen(parse[i].in), &t);

		if (ok != parse[i].ok || (ok && t != parse[i].t))
			fail_msg("parse row %zu: ok=%d t=%lld", i, ok,
				 (long long)t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
