/*
 * Unit tests for imap-seqset.c: compressed UID sets and reading sequence
 * sets.
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
#include "imap/imap-seqset.h"

static void
test_uidset(void **state)
{
	static const uint32_t a[] = { 1, 2, 3, 5, 7, 8, 9 };
	static const uint32_t dup[] = { 0, 4, 4, 5, 5, 6, 10 };
	static const uint32_t big[] = { 100000, 100002, 100004, 100006 };
	static const struct {
		const uint32_t *uids;
		size_t n, max;
		const char *want[4]; /* one string per call */
		size_t counts[4];
	} rows[] = {
		{ a, 7, 100, { "1:3,5,7:9" }, { 7 } },
		{ dup, 7, 100, { "4:6,10" }, { 4 } },
		/* a small max splits between ranges, never inside one */
		{ a, 7, 6, { "1:3,5", "7:9" }, { 4, 3 } },
		{ big, 4, 14, { "100000,100002", "100004,100006" }, { 2, 2 } },
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t pos = 0;

		for (k = 0; rows[i].want[k] != NULL; k++) {
			struct mf_buf b;
			size_t c;

			mf_buf_init(&b, 4096);
			c = imap_uidset_append(&b, rows[i].uids, rows[i].n,
					       &pos, rows[i].max);
			if (b.data == NULL ||
			    strcmp(b.data, rows[i].want[k]) != 0)
				fail_msg("row %zu call %zu: got '%s' want '%s'",
					 i, k, b.data ? b.data : "",
					 rows[i].want[k]);
			if (c != rows[i].counts[k])
				fail_msg("row %zu call %zu: count %zu want %zu",
					 i, k, c, rows[i].counts[k]);
			mf_buf_deinit(&b);
		}
		if (pos != rows[i].n)
			fail_msg("row %zu: pos %zu at the end", i, pos);
	}
}

static void
test_seqset(void **state)
{
	static const struct {
		const char *in;
		uint32_t lo[4], hi[4];
		size_t n;
		bool bad;
	} rows[] = {
		{ "1:3,5,9:7", { 1, 5, 7 }, { 3, 5, 9 }, 3, false },
		{ "42", { 42 }, { 42 }, 1, false },
		{ "1:", { 0 }, { 0 }, 0, true },
		{ "1,,2", { 1 }, { 1 }, 1, true },
		{ "0", { 0 }, { 0 }, 0, true },
		{ "4294967296", { 0 }, { 0 }, 0, true },
		{ "3x", { 0 }, { 0 }, 0, true },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *p = rows[i].in, *end = p + strlen(p);
		uint32_t lo, hi;
		bool bad = false;
		size_t n = 0;

		while (imap_seqset_next(&p, end, &lo, &hi, &bad)) {
			if (n >= rows[i].n || lo != rows[i].lo[n] ||
			    hi != rows[i].hi[n])
				fail_msg("row %zu: range %zu is %u:%u", i, n,
					 lo, hi);
			n++;
		}
		if (n != rows[i].n || bad != rows[i].bad)
			fail_msg("row %zu: %zu ranges, bad=%d", i, n, bad);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uidset),
		cmocka_unit_test(test_seqset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
