/*
 * Move matching (sync/move-match.c): tables of gone and fresh candidates
 * -> the expected pairs.
 *
 * A candidate is written "BOX:KEY:IDENT:SIZE[:BARE]", "-" for a missing
 * key or identity; BARE is a fresh copy's size without the fields a mail
 * reader adds (move_cand.size_bare).  Expected pairs are "G-F" with k (by key) or c (by content),
 * separated by spaces, in gone order: "0-1k 2-0c"; "" for none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "move.h"

#define MAXC 8

struct move_case {
	const char *name;
	const char *gone[MAXC];
	const char *fresh[MAXC];
	const char *want;
};

static const struct move_case cases[] = {
	{ "nothing", { NULL }, { NULL }, "" },
	{ "only gone", { "0:a:-:0" }, { NULL }, "" },
	{ "renamed into another folder: by key",
	  { "0:a:<x>:10" },
	  { "1:a:-:0" },
	  "0-0k" },
	{ "key match needs no identity", { "0:a:-:0" }, { "1:a:-:0" }, "0-0k" },
	{ "same folder: not a move", { "0:a:<x>:10" }, { "0:a:<x>:10" }, "" },
	{ "key gone from two folders: ambiguous",
	  { "0:a:-:0", "2:a:-:0" },
	  { "1:a:-:0" },
	  "" },
	{ "key new in two folders (copied, not moved)",
	  { "0:a:-:0" },
	  { "1:a:-:0", "2:a:-:0" },
	  "" },
	{ "copied with a new name (mutt): by content",
	  { "0:a:<x>:10" },
	  { "1:b:<x>:10" },
	  "0-0c" },
	{ "content needs the same size",
	  { "0:a:<x>:10" },
	  { "1:b:<x>:11" },
	  "" },
	{ "neomutt's save: the size less Content-Length agrees",
	  { "0:a:<x>:10" },
	  { "1:b:<x>:30:10" },
	  "0-0c" },
	{ "the size less the added fields still differs",
	  { "0:a:<x>:10" },
	  { "1:b:<x>:30:12" },
	  "" },
	{ "bare size, but the identity twice among the new",
	  { "0:a:<x>:10" },
	  { "1:b:<x>:30:10", "2:c:<x>:30:10" },
	  "" },
	{ "content needs an identity", { "0:a:-:10" }, { "1:b:-:10" }, "" },
	{ "content needs a size", { "0:a:<x>:0" }, { "1:b:<x>:0" }, "" },
	{ "content twice among the new: ambiguous",
	  { "0:a:<x>:10" },
	  { "1:b:<x>:10", "2:c:<x>:10" },
	  "" },
	{ "content twice among the gone: ambiguous",
	  { "0:a:<x>:10", "2:c:<x>:10" },
	  { "1:b:<x>:10" },
	  "" },
	{ "content in the same folder: not a move",
	  { "0:a:<x>:10" },
	  { "0:b:<x>:10" },
	  "" },
	{ "UID side: content only",
	  { "0:-:<x>:10", "0:-:<y>:20" },
	  { "1:-:<y>:20", "2:-:<x>:10" },
	  "0-1c 1-0c" },
	{ "key first, then content for the rest",
	  { "0:a:<x>:10", "0:b:<y>:20" },
	  { "1:a:<x>:10", "2:c:<y>:20" },
	  "0-0k 1-1c" },
	{ "a key match takes the message out of the content pass",
	  { "0:a:<x>:10" },
	  { "1:a:<x>:10", "2:b:<x>:10" },
	  "0-0k" },
	{ "an ambiguous key may still match by content",
	  { "0:a:<x>:10", "2:a:<z>:30" },
	  { "1:a:<x>:10" },
	  "0-0c" },
	{ "several folders at once",
	  { "0:a:-:0", "1:b:-:0", "2:c:-:0" },
	  { "1:a:-:0", "2:b:-:0", "0:c:-:0" },
	  "0-0k 1-1k 2-2k" },
	{ "unrelated keys and identities",
	  { "0:a:<x>:10" },
	  { "1:b:<y>:10" },
	  "" },
};

/* "BOX:KEY:IDENT:SIZE" into c; strings point into buf. */
static void
parse_cand(const char *s, struct move_cand *c, char *buf, size_t size)
{
	char *box, *key, *ident, *sz, *bare, *save = NULL;

	snprintf(buf, size, "%s", s);
	box = strtok_r(buf, ":", &save);
	key = strtok_r(NULL, ":", &save);
	ident = strtok_r(NULL, ":", &save);
	sz = strtok_r(NULL, ":", &save);
	assert_non_null(sz);
	bare = strtok_r(NULL, ":", &save);
	c->size_bare = bare != NULL ? strtoull(bare, NULL, 10) : 0;
	c->box = (size_t)strtoul(box, NULL, 10);
	c->key = strcmp(key, "-") == 0 ? NULL : key;
	c->ident = strcmp(ident, "-") == 0 ? NULL : ident;
	c->size = strtoull(sz, NULL, 10);
}

static size_t
parse_all(const char *const *in, struct move_cand *v, char bufs[][64])
{
	size_t n = 0;

	while (n < MAXC && in[n] != NULL) {
		parse_cand(in[n], &v[n], bufs[n], 64);
		n++;
	}
	return n;
}

static void
test_move_table(void **state)
{
	size_t t;

	(void)state;
	for (t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
		const struct move_case *mc = &cases[t];
		struct move_cand gone[MAXC], fresh[MAXC];
		char gbuf[MAXC][64], fbuf[MAXC][64], got[256] = "";
		struct move_pair *pairs = NULL;
		size_t ng = parse_all(mc->gone, gone, gbuf);
		size_t nf = parse_all(mc->fresh, fresh, fbuf);
		size_t np = 0, i, len = 0;

		move_match(gone, ng, fresh, nf, &pairs, &np);
		for (i = 0; i < np; i++)
			len += (size_t)snprintf(got + len, sizeof(got) - len,
						"%s%zu-%zu%c", i ? " " : "",
						pairs[i].gone, pairs[i].fresh,
						pairs[i].by_key ? 'k' : 'c');
		if (strcmp(got, mc->want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", mc->name, got,
				 mc->want);
		free(pairs);
	}
}

/* Many candidates: every one matched once, by key, whatever the order. */
static void
test_move_many(void **state)
{
	enum { N = 2000 };
	struct move_cand *gone = calloc(N, sizeof(*gone));
	struct move_cand *fresh = calloc(N, sizeof(*fresh));
	char(*keys)[16] = calloc(N, sizeof(*keys));
	struct move_pair *pairs = NULL;
	size_t np = 0, i;

	(void)state;
	assert_non_null(gone);
	assert_non_null(fresh);
	assert_non_null(keys);
	for (i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		gone[i] = (struct move_cand){ i % 7, keys[i], NULL, 0 };
		/* fresh in reverse order, always in the next folder */
		fresh[N - 1 - i] = (struct move_cand){ i % 7 + 1, keys[i], NULL,
						       0 };
	}
	move_match(gone, N, fresh, N, &pairs, &np);
	assert_int_equal(np, N);
	for (i = 0; i < np; i++) {
		assert_int_equal(pairs[i].gone, i);
		assert_int_equal(pairs[i].fresh, N - 1 - i);
		assert_true(pairs[i].by_key);
	}
	free(pairs);
	free(gone);
	free(fresh);
	free(keys);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move_table),
		cmocka_unit_test(test_move_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
