/*
 * Deciding folder renames (sync/rename.c, rename_decide()): a table of
 * folder pairs and evidence links -> the renames taken; and the cycles of
 * names (swaps, rotations) rename_cycles() takes.
 *
 * Pairs are written as their action letters: F vanished on far, N on
 * near, B on both; cn a new far-only folder (BOX_CREATE_NEAR), cf a new
 * near-only one (BOX_CREATE_FAR), s a folder on both sides without state
 * (BOX_SYNC), S one with state, R one with state whose far folder is
 * listed with another UIDVALIDITY (made anew), I the same for INBOX, RN
 * one made anew on far and gone on near.
 * Links are "G-Cf" (found on the far
 * side) or "G-Cn".  The renames wanted are "kind:G-C" with kind f
 * (RENAME_FAR), n (RENAME_NEAR), r (RENAME_RECORD) or w (RENAME_FAR_WINS,
 * then "w:G-C/FOLD"), separated by spaces; "" for none.
 *
 * A pair named other than "x" ends in "=NAME" (both sides).
 *
 * Special-use roles: a pair may end in ":FN", the mapped role of its far
 * and its near folder (s sent, d drafts, - none), and then in "!" when
 * its two names differ (paired by role).  A rename that keeps the role
 * (RENAME_FAR or _NEAR with keep) is shown with a "k" after the kind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boxes.h"
#include "rename.h"

#define MAXP 8

struct rename_case {
	const char *name;
	const char *pairs[MAXP];
	const char *links;
	const char *want;
};

static const struct rename_case cases[] = {
	{ "nothing vanished", { "S", "cn" }, "", "" },
	{ "renamed on far", { "F", "cn" }, "0-1f", "f:0-1" },
	{ "renamed on near", { "N", "cf" }, "0-1n", "n:0-1" },
	{ "no evidence: no rename", { "F", "cn" }, "", "" },
	{ "evidence on the wrong side", { "F", "cn" }, "0-1n", "" },
	{ "far rename, but the new folder is near-only",
	  { "F", "cf" },
	  "0-1f",
	  "" },
	{ "two new folders with its messages: moves, not a rename",
	  { "F", "cn", "cn" },
	  "0-1f 0-2f",
	  "" },
	{ "one new folder with two old ones' messages: moves",
	  { "F", "F", "cn" },
	  "0-2f 1-2f",
	  "" },
	{ "two renames side by side",
	  { "F", "N", "cn", "cf" },
	  "0-2f 1-3n",
	  "f:0-2 n:1-3" },
	{ "renamed the same on both sides, or stopped before the record",
	  { "B", "s" },
	  "0-1f 0-1n",
	  "r:0-1" },
	{ "gone on both, new on both, but evidence on one side only",
	  { "B", "s" },
	  "0-1f",
	  "" },
	{ "renamed differently on the two sides: far wins",
	  { "B", "cn", "cf" },
	  "0-1f 0-2n",
	  "w:0-1/2" },
	{ "renamed on far, removed on near: not a rename",
	  { "B", "cn" },
	  "0-1f",
	  "" },
	{ "a pair with state is never the new folder",
	  { "F", "S" },
	  "0-1f",
	  "" },
	{ "made anew under the old name, renamed on far",
	  { "R", "cn" },
	  "0-1f",
	  "f:0-1" },
	{ "INBOX made anew: its messages go to the new folder",
	  { "I", "cn" },
	  "0-1f",
	  "f:0-1" },
	{ "INBOX, a run stopped after making the new folder",
	  { "I", "s" },
	  "0-1f",
	  "f:0-1" },
	{ "not INBOX: a new folder on both sides is not renamed onto",
	  { "R", "s" },
	  "0-1f",
	  "" },
	{ "vanished, not made anew: the new folder must be far-only",
	  { "F", "s" },
	  "0-1f",
	  "" },
	{ "made anew on far and gone on near: only the state follows",
	  { "RN", "s" },
	  "0-1f 0-1n",
	  "r:0-1" },
	{ "a rename contradicted on the other side's count",
	  { "B", "cn", "cf", "cf" },
	  "0-1f 0-2n 0-3n",
	  "" },
	{ "the server's Sent renamed, still \\Sent: Sent Items stays",
	  { "F:-s!", "cn:s-" },
	  "0-1f",
	  "fk:0-1" },
	{ "paired by role, the role gone with the rename: moves",
	  { "F:-s!", "cn:--" },
	  "0-1f",
	  "" },
	{ "one name on both sides, the role kept: the other side stays",
	  { "F:-s", "cn:s-" },
	  "0-1f",
	  "fk:0-1" },
	{ "one name on both sides, the role gone: an ordinary rename",
	  { "F:-s", "cn:--" },
	  "0-1f",
	  "f:0-1" },
	{ "renamed into another role: an ordinary rename",
	  { "F:-s", "cn:d-" },
	  "0-1f",
	  "f:0-1" },
	{ "a local Trash renamed Deleted Items: the server's stays",
	  { "N:s-!", "cf:-s" },
	  "0-1n",
	  "nk:0-1" },
	{ "paired by role, renamed on both sides: moves",
	  { "B:ss!", "cn:s-", "cf:-s" },
	  "0-1f 0-2n",
	  "" },
};

static const struct mf_box_info listed = { .name = "x" };

static enum mf_role
role_of(char c)
{
	return c == 's' ? MF_ROLE_SENT :
	       c == 'd' ? MF_ROLE_DRAFTS :
			  MF_ROLE_NONE;
}

static void
parse_pair(const char *token, struct box_pair *p, struct state_box *sb)
{
	char s[8];
	const char *colon = strchr(token, ':');
	const char *eq = strchr(token, '=');
	size_t len = colon != NULL ? (size_t)(colon - token) :
		     eq != NULL	   ? (size_t)(eq - token) :
				     strlen(token);

	memcpy(s, token, len);
	s[len] = '\0';
	memset(p, 0, sizeof(*p));
	if (strcmp(s, "F") == 0)
		p->action = BOX_VANISHED_FAR;
	else if (strcmp(s, "N") == 0 || strcmp(s, "RN") == 0)
		p->action = BOX_VANISHED_NEAR;
	else if (strcmp(s, "B") == 0)
		p->action = BOX_VANISHED_BOTH;
	else if (strcmp(s, "cn") == 0)
		p->action = BOX_CREATE_NEAR;
	else if (strcmp(s, "cf") == 0)
		p->action = BOX_CREATE_FAR;
	else
		p->action = BOX_SYNC;
	if (s[0] == 'F' || s[0] == 'N' || s[0] == 'B' || s[0] == 'S' ||
	    s[0] == 'R' || s[0] == 'I')
		p->state = sb;
	/* where the folder is listed */
	if (strcmp(s, "F") != 0 && strcmp(s, "B") != 0 && strcmp(s, "cf") != 0)
		p->far = &listed;
	if (strcmp(s, "N") != 0 && strcmp(s, "B") != 0 &&
	    strcmp(s, "cn") != 0 && strcmp(s, "RN") != 0)
		p->near = &listed;
	p->far_name = p->near_name = eq != NULL	 ? eq + 1 :
				     s[0] == 'I' ? "INBOX" :
						   "x";
	if (colon != NULL) {
		p->far_role = role_of(colon[1]);
		p->near_role = role_of(colon[2]);
		if (colon[3] == '!')
			p->near_name = "y";
	}
}

static size_t
parse_links(const char *s, struct rename_link *v)
{
	size_t n = 0;
	unsigned g, c;
	char side;
	int used;

	while (sscanf(s, " %u-%u%c%n", &g, &c, &side, &used) == 3) {
		v[n].gone = g;
		v[n].cand = c;
		v[n].far = side == 'f';
		n++;
		s += used;
	}
	return n;
}

static void
show(const struct rename_job *jobs, size_t n, char *buf, size_t size)
{
	static const char kind[] = { 'f', 'n', 'r', 'w' };
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		len += snprintf(buf + len, size - len, "%s%c%s:%zu-%zu",
				i ? " " : "", kind[jobs[i].kind],
				jobs[i].keep ? "k" : "", jobs[i].gone,
				jobs[i].cand);
		if (jobs[i].kind == RENAME_FAR_WINS)
			len += snprintf(buf + len, size - len, "/%zu",
					jobs[i].fold);
	}
}

static void
test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rename_case *c = &cases[i];
		struct box_pair pairs[MAXP];
		struct state_box sb = { .id = 1 };
		struct rename_link links[4 * MAXP];
		struct rename_job jobs[MAXP];
		bool reset[2 * MAXP];
		size_t np = 0, nl, nj, k;
		char got[256];

		while (np < MAXP && c->pairs[np] != NULL) {
			parse_pair(c->pairs[np], &pairs[np], &sb);
			np++;
		}
		for (k = 0; k < np; k++) {
			reset[2 * k] = c->pairs[k][0] == 'R' ||
				       c->pairs[k][0] == 'I';
			reset[2 * k + 1] = false;
		}
		nl = parse_links(c->links, links);
		nj = rename_decide(pairs, np, reset, links, nl, jobs);
		show(jobs, nj, got, sizeof(got));
		if (strcmp(got, c->want) != 0)
			fail_msg("case '%s': got \"%s\", want \"%s\"", c->name,
				 got, c->want);
	}
}

/*
 * Swaps and rotations on the far side (rename_cycles()): "want" is the
 * next pair of each pair, "-" for none.
 */
static const struct rename_case cycle_cases[] = {
	{ "two names swapped", { "R", "R" }, "0-1f 1-0f", "1 0" },
	{ "three names rotated", { "R", "R", "R" }, "0-1f 1-2f 2-0f", "1 2 0" },
	{ "a chain that does not close", { "R", "R" }, "0-1f", "- -" },
	{ "two folders' messages in one: nothing",
	  { "R", "R", "R" },
	  "0-1f 1-0f 2-0f",
	  "- - -" },
	{ "INBOX is never swapped", { "I", "R" }, "0-1f 1-0f", "- -" },
	{ "links on near do not make a far cycle",
	  { "R", "R" },
	  "0-1n 1-0n",
	  "- -" },
	{ "a folder not made anew is not in a cycle",
	  { "R", "S" },
	  "0-1f 1-0f",
	  "- -" },
	{ "gone on near without a folder to take: nothing",
	  { "R", "RN" },
	  "0-1f 1-0f",
	  "- -" },
	{ "a swap beside a plain rename",
	  { "R", "R", "F", "cn" },
	  "0-1f 1-0f 2-3f",
	  "1 0 - -" },
	{ "parents swapped, their children along",
	  { "R=A", "R=A/k", "R=B", "R=B/k" },
	  "0-2f 2-0f 1-3f 3-1f",
	  "2 3 0 1" },
	{ "a child left where it was: the parents are not swapped",
	  { "R=A", "S=A/k", "R=B" },
	  "0-2f 2-0f",
	  "- - -" },
	{ "a child gone elsewhere than under the parent's target",
	  { "R=A", "R=A/k", "R=B", "R=A/j" },
	  "0-2f 2-0f 1-3f 3-1f",
	  "- 3 - 1" },
	{ "children swapped, their parents not",
	  { "S=A", "R=A/k", "S=B", "R=B/k" },
	  "1-3f 3-1f",
	  "- 3 - 1" },
	{ "a grandchild that does not go along stops both levels",
	  { "R=A", "R=A/k", "S=A/k/g", "R=B", "R=B/k" },
	  "0-3f 3-0f 1-4f 4-1f",
	  "- - - - -" },
};

static void
test_cycles(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cycle_cases) / sizeof(cycle_cases[0]); i++) {
		const struct rename_case *c = &cycle_cases[i];
		struct box_pair pairs[MAXP];
		struct state_box sb = { .id = 1 };
		struct rename_link links[4 * MAXP];
		bool reset[2 * MAXP];
		size_t next[MAXP], np = 0, nl, k, len = 0;
		char got[256];

		while (np < MAXP && c->pairs[np] != NULL) {
			parse_pair(c->pairs[np], &pairs[np], &sb);
			np++;
		}
		for (k = 0; k < np; k++) {
			reset[2 * k] = c->pairs[k][0] == 'R' ||
				       c->pairs[k][0] == 'I';
			reset[2 * k + 1] = false;
		}
		nl = parse_links(c->links, links);
		rename_cycles(pairs, np, reset, links, nl, true, next);
		got[0] = '\0';
		for (k = 0; k < np; k++) {
			if (next[k] == SIZE_MAX)
				len += snprintf(got + len, sizeof(got) - len,
						"%s-", k ? " " : "");
			else
				len += snprintf(got + len, sizeof(got) - len,
						"%s%zu", k ? " " : "", next[k]);
		}
		if (strcmp(got, c->want) != 0)
			fail_msg("case '%s': got \"%s\", want \"%s\"", c->name,
				 got, c->want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_cycles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
