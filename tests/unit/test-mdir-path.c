/*
 * Unit tests for store/maildir/mdir-path.c: canonical mailbox names to
 * folder directories and back, in both layouts, with the hostile names a
 * server could send.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/xalloc.h"
#include "maildir/mdir-path.h"

#define FS MDIR_LAYOUT_FS
#define PP MDIR_LAYOUT_MAILDIRPP

struct row {
	enum mdir_layout layout;
	const char *box;
	const char *rel; /* NULL: refused */
};

static const struct row to_path_rows[] = {
	/* fs layout */
	{ FS, "INBOX", "INBOX" },
	{ FS, "inbox", "INBOX" },
	{ FS, "Inbox/Sub", "INBOX/Sub" },
	{ FS, "Archive/2023", "Archive/2023" },
	{ FS, "a.b", "a.b" },
	{ FS, "A B/c~d", "A B/c~d" },
	{ FS, "back\\slash", "back\\slash" },
	{ FS,
	  "\xc3\x9cn\xc3\xaf"
	  "c\xc3\xb6"
	  "d\xc3\xa9/\xe6\x97\xa5",
	  "\xc3\x9cn\xc3\xaf"
	  "c\xc3\xb6"
	  "d\xc3\xa9/\xe6\x97\xa5" },
	{ FS, ".hidden", "%2Ehidden" },
	{ FS, "A/.b", "A/%2Eb" },
	{ FS, "A/b.", "A/b." },
	{ FS, "50%", "50%25" },
	{ FS, "%2E", "%252E" },
	{ FS, "cur", "%63ur" },
	{ FS, "A/new", "A/%6Eew" },
	{ FS, "tmp/x", "%74mp/x" },
	{ FS, "curl", "curl" },
	{ FS, "Cur", "Cur" },
	{ FS, "INBOX/cur", "INBOX/%63ur" },
	/* escaping the root */
	{ FS, "..", NULL },
	{ FS, ".", NULL },
	{ FS, "../etc", NULL },
	{ FS, "A/../../B", NULL },
	{ FS, "A/./B", NULL },
	{ FS, "A/..", NULL },
	/* empty levels */
	{ FS, "", NULL },
	{ FS, "/", NULL },
	{ FS, "/etc", NULL },
	{ FS, "A/", NULL },
	{ FS, "A//B", NULL },
	/* control characters and bad UTF-8 */
	{ FS,
	  "a\x01"
	  "b",
	  NULL },
	{ FS, "a\nb", NULL },
	{ FS, "a\x7f", NULL },
	{ FS, "a\x1b[31m", NULL },
	{ FS, "\xc2\x85", NULL }, /* C1 NEL */
	{ FS, "\xff", NULL },
	{ FS, "\xc0\xaf", NULL },	  /* overlong '/' */
	{ FS, "\xe0\x80\xaf", NULL },	  /* overlong '/' */
	{ FS, "\xed\xa0\x80", NULL },	  /* surrogate */
	{ FS, "\xf4\x90\x80\x80", NULL }, /* above U+10FFFF */
	{ FS, "abc\xc3", NULL },	  /* cut sequence */
	/* maildir++ */
	{ PP, "INBOX", "" },
	{ PP, "inbox", "" },
	{ PP, "Sent", ".Sent" },
	{ PP, "A/B", ".A.B" },
	{ PP, "a.b", ".a%2Eb" },
	{ PP, "A/b.c/d", ".A.b%2Ec.d" },
	{ PP, "INBOX/Sub", ".INBOX.Sub" },
	{ PP, "inbox/Sub", ".INBOX.Sub" },
	{ PP, "50%", ".50%25" },
	{ PP, "cur", ".cur" },
	{ PP, ".x", ".%2Ex" },
	{ PP, "x.", ".x%2E" },
	{ PP, "...", ".%2E%2E%2E" },
	{ FS, "...", "%2E.." },
	{ PP, "..", NULL },
	{ PP, ".", NULL },
	{ PP, "A/../B", NULL },
	{ PP, "A//B", NULL },
	{ PP, "", NULL },
	{ PP, "a\tb", NULL },
};

static void
test_to_path(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(to_path_rows); i++) {
		const struct row *r = &to_path_rows[i];
		struct mf_err err = { 0 };
		char *rel = NULL;
		int ret = mdir_path_from_box(r->layout, r->box, 10, &rel, &err);

		if (r->rel == NULL) {
			if (ret != -1 || err.cls != MF_E_BOX)
				fail_msg("row %zu: '%s' accepted as '%s'", i,
					 r->box, rel != NULL ? rel : "");
			if (r->box[0] != '\0' &&
			    strstr(err.msg, "mailbox \"") == NULL)
				fail_msg("row %zu: error does not name the "
					 "folder: %s",
					 i, err.msg);
		} else if (ret != 0 || strcmp(rel, r->rel) != 0) {
			fail_msg("row %zu: '%s' -> '%s' (%s), want '%s'", i,
				 r->box, ret == 0 ? rel : "(error)", err.msg,
				 r->rel);
		}
		free(rel);
	}
}

static const struct row to_box_rows[] = {
	{ FS, "INBOX", "INBOX" },
	{ FS, "INBOX/Sub", "INBOX/Sub" },
	{ FS, "A/B", "A/B" },
	{ FS, "%2Ehidden", ".hidden" },
	{ FS, "50%25", "50%" },
	{ FS, "%63ur", "cur" },
	{ FS, "A/%6Eew", "A/new" },
	/* not in our form: refused rather than opened as something else */
	{ FS, "inbox", NULL },
	{ FS, "Inbox/Sub", NULL },
	{ FS, "50%", NULL },
	{ FS, "50%2", NULL },
	{ FS, "a%2eb", NULL },
	{ FS, "a%2Eb", NULL }, /* '.' escaped only when leading */
	{ FS, "%2E%2E", NULL },
	{ FS, "a%2Fb", NULL },
	{ FS, "a%00b", NULL },
	{ FS, "a%01b", NULL },
	{ FS, "cur", NULL },
	{ FS, ".hidden", NULL },
	{ FS, "", NULL },
	{ PP, "", "INBOX" },
	{ PP, ".Sent", "Sent" },
	{ PP, ".A.B", "A/B" },
	{ PP, ".a%2Eb", "a.b" },
	{ PP, ".INBOX.Sub", "INBOX/Sub" },
	{ PP, ".cur", "cur" },
	{ PP, ".INBOX", NULL }, /* the root is INBOX */
	{ PP, ".inbox", NULL },
	{ PP, "Sent", NULL },
	{ PP, ".A..B", NULL },
	{ PP, ".A.", NULL },
	{ PP, ".", NULL },
	{ PP, "..", NULL },
	{ PP, ".a%2eb", NULL },
};

static void
test_to_box(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(to_box_rows); i++) {
		const struct row *r = &to_box_rows[i];
		struct mf_err err = { 0 };
		char *box = NULL;
		int ret = mdir_path_to_box(r->layout, r->box, &box, &err);

		if (r->rel == NULL) {
			if (ret != -1 || err.cls != MF_E_BOX)
				fail_msg("row %zu: '%s' read as '%s'", i,
					 r->box, box != NULL ? box : "");
		} else if (ret != 0 || strcmp(box, r->rel) != 0) {
			fail_msg("row %zu: '%s' -> '%s' (%s), want '%s'", i,
				 r->box, ret == 0 ? box : "(error)", err.msg,
				 r->rel);
		}
		free(box);
	}
}

static bool
has_dot_level(const char *rel)
{
	const char *p = rel;

	for (;;) {
		size_t len = strcspn(p, "/");

		if ((len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		if (p[len] == '\0')
			return false;
		p += len + 1;
	}
}

/* Every accepted name comes back unchanged (INBOX spelled canonically). */
static void
test_round_trip(void **state)
{
	static const char *const names[] = {
		"INBOX",   "INBOX/Sub",
		"Sent",	   "A/B/C",
		"a.b",	   ".x",
		"x.",	   "50%",
		"%",	   "%%2E",
		"cur",	   "new/tmp/cur",
		"A B",	   "\xc3\xa9t\xc3\xa9",
		"a.b/c.d", "..a",
		"a..",	   "~",
		"-",	   "#shared/x",
	};
	static const enum mdir_layout layouts[] = { FS, PP };
	size_t i, j;

	(void)state;
	for (j = 0; j < MF_N_ELEMENTS(layouts); j++) {
		for (i = 0; i < MF_N_ELEMENTS(names); i++) {
			struct mf_err err = { 0 };
			char *rel = NULL, *back = NULL;

			if (mdir_path_from_box(layouts[j], names[i], 10, &rel,
					       &err) < 0)
				fail_msg("layout %zu name %zu: %s", j, i,
					 err.msg);
			if (mdir_path_to_box(layouts[j], rel, &back, &err) < 0)
				fail_msg("layout %zu name %zu: '%s': %s", j, i,
					 rel, err.msg);
			if (strcmp(back, names[i]) != 0)
				fail_msg("layout %zu name %zu: '%s' -> '%s' "
					 "-> '%s'",
					 j, i, names[i], rel, back);
			if (has_dot_level(rel))
				fail_msg("layout %zu name %zu: '%s' has a "
					 "\".\" or \"..\" level",
					 j, i, rel);
			free(rel);
			free(back);
		}
	}
}

static char *
repeat(const char *s, size_t times, const char *sep)
{
	size_t len = strlen(s), slen = strlen(sep), i;
	char *out = xmalloc(times * (len + slen) + 1), *o = out;

	for (i = 0; i < times; i++) {
		if (i > 0) {
			memcpy(o, sep, slen);
			o += slen;
		}
		memcpy(o, s, len);
		o += len;
	}
	*o = '\0';
	return out;
}

static void
test_lengths(void **state)
{
	static const struct {
		enum mdir_layout layout;
		const char *unit;
		size_t times;
		const char *sep;
		size_t root_len;
		bool ok;
	} rows[] = {
		/* one level: 255 bytes once escaped */
		{ FS, "a", 255, "", 10, true },
		{ FS, "a", 256, "", 10, false },
		{ FS, "%", 85, "", 10, true }, /* 255 escaped */
		{ FS, "%", 86, "", 10, false },
		/* maildir++: all levels are one directory entry */
		{ PP, "a", 254, "", 10, true }, /* ".a...a" 255 */
		{ PP, "a", 255, "", 10, false },
		{ PP, "abc", 63, "/", 10, true }, /* 1 + 63 * 4 - 1 */
		{ PP, "abc", 64, "/", 10, false },
		/* PATH_MAX overall */
		{ FS, "a", 1800, "/", 10, true },
		{ FS, "a", 2100, "/", 10, false },
		{ FS, "a", 1, "", PATH_MAX - 100, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		char *box = repeat(rows[i].unit, rows[i].times, rows[i].sep);
		struct mf_err err = { 0 };
		char *rel = NULL;
		int ret = mdir_path_from_box(rows[i].layout, box,
					     rows[i].root_len, &rel, &err);

		if ((ret == 0) != rows[i].ok)
			fail_msg("row %zu: %s (%s)", i,
				 ret == 0 ? "accepted" : "refused", err.msg);
		if (ret < 0 && err.cls != MF_E_BOX)
			fail_msg("row %zu: class %d", i, err.cls);
		free(rel);
		free(box);
	}
}

static void
test_is_inbox(void **state)
{
	(void)state;
	assert_true(mdir_box_is_inbox("INBOX"));
	assert_true(mdir_box_is_inbox("iNbOx"));
	assert_false(mdir_box_is_inbox("INBOX/x"));
	assert_false(mdir_box_is_inbox("INBOXES"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_to_path),
		cmocka_unit_test(test_to_box),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_is_inbox),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
