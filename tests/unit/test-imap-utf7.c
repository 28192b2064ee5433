/* Unit tests for modified UTF-7 mailbox names (RFC 3501 section 5.1.3). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap/imap-utf7.h"

/* Valid pairs: each must encode to mutf7 and decode back to utf8. */
static const struct {
	const char *utf8;
	const char *mutf7;
} pairs[] = {
	{ "INBOX", "INBOX" },
	{ "", "" },
	{ "&", "&-" },
	{ "Tom & Jerry", "Tom &- Jerry" },
	{ "&&", "&-&-" },
	/* RFC 3501 5.1.3 example */
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac"
	  "\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
	  "&BB8EQAQ4BDIENQRC-" },
	/* non-BMP: U+1F600 as the surrogate pair D83D DE00 */
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
	{ "a\xf0\x9f\x98\x80z", "a&2D3eAA-z" },
	/* '-' right after a shift is fine, '/' stays direct */
	{ "\xc3\xbc-x/y", "&APw--x/y" },
};

static void
test_roundtrip(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char *enc = NULL, *dec = NULL;

		if (imap_utf7_encode(pairs[i].utf8, &enc) != 0)
			fail_msg("row %zu: encode failed", i);
		if (strcmp(enc, pairs[i].mutf7) != 0)
			fail_msg("row %zu: encode gave '%s', want '%s'", i, enc,
				 pairs[i].mutf7);
		if (imap_utf7_decode(pairs[i].mutf7, strlen(pairs[i].mutf7),
				     &dec) != 0)
			fail_msg("row %zu: decode failed", i);
		if (strcmp(dec, pairs[i].utf8) != 0)
			fail_msg("row %zu: decode gave '%s'", i, dec);
		free(enc);
		free(dec);
	}
}

static void
test_decode_invalid(void **state)
{
	static const char *const bad[] = {
		"&",	       /* unterminated */
		"a&APw",       /* unterminated after data */
		"&AGE-",       /* 'a' must not be encoded */
		"&ACY-",       /* '&' must be "&-" */
		"&2D0-",       /* lone high surrogate (D83D + 2 bits) */
		"&2D3YPQ-",    /* high surrogate followed by another high */
		"&3gA-",       /* lone low surrogate DE00 */
		"&APx-",       /* leftover bits not zero */
		"&A*w-",       /* '*' is not modified BASE64 */
		"&APw/-",      /* '/' is ',' in modified BASE64 */
		"caf\xc3\xa9", /* raw 8-bit byte */
		"tab\there",   /* control character */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = (char *)0x1;

		if (imap_utf7_decode(bad[i], strlen(bad[i]), &out) != -1)
			fail_msg("row %zu ('%s'): accepted as '%s'", i, bad[i],
				 out);
		assert_null(out);
	}
}

static void
test_encode_invalid(void **state)
{
	static const char *const bad[] = {
		"\xff",		    /* not UTF-8 at all */
		"ab\xc3",	    /* truncated sequence */
		"\xc0\xaf",	    /* overlong '/' */
		"\xed\xa0\x80",	    /* UTF-16 surrogate in UTF-8 */
		"\xf4\x90\x80\x80", /* beyond U+10FFFF */
		"\xe2\x82",	    /* truncated 3-byte */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = (char *)0x1;

		if (imap_utf7_encode(bad[i], &out) != -1)
			fail_msg("row %zu: accepted as '%s'", i, out);
		assert_null(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_invalid),
		cmocka_unit_test(test_encode_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
