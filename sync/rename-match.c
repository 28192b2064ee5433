/*
 * Deciding folder renames from the evidence (rename.h: "Never a guess"):
 * pure, tested from tables (tests/unit/test-rename.c).
 */
#include "rename.h"

#include <stdint.h>
#include <string.h>

#include "base/str.h"
#include "boxes.h"

/*
 * Is the folder the state row of p recorded gone from a side: not listed
 * there, or listed with another UIDVALIDITY (reset: a folder made anew
 * under the old name, as after a RENAME of INBOX or a rename and a
 * CREATE of the old name)?  reset: [2 * pair + near], or NULL.
 */
bool
rename_gone_on(const struct box_pair *pairs, size_t i, const bool *reset,
	       bool far)
{
	const struct box_pair *p = &pairs[i];

	if (p->state == NULL)
		return false;
	if ((far ? p->far : p->near) == NULL)
		return true;
	return reset != NULL && reset[2 * i + !far];
}

bool
rename_is_inbox(const struct box_pair *p)
{
	return p->far_name != NULL && mf_str_ieq(p->far_name, "INBOX");
}

/* The one link of gone (or of cand) on a side, or NULL for none or more
 * than one. */
static const struct rename_link *
only_link(const struct rename_link *links, size_t nlinks, size_t idx,
	  bool by_gone, bool far)
{
	const struct rename_link *found = NULL;
	size_t i;

	for (i = 0; i < nlinks; i++) {
		if (links[i].far != far ||
		    (by_gone ? links[i].gone : links[i].cand) != idx)
			continue;
		if (found != NULL)
			return NULL;
		found = &links[i];
	}
	return found;
}

/* gone's link on a side, when it is gone's only one and its cand's only
 * one: the one kind of evidence taken */
static const struct rename_link *
sole_link(const struct rename_link *links, size_t nlinks, size_t gone, bool far)
{
	const struct rename_link *l = only_link(links, nlinks, gone, true, far);

	if (l == NULL || only_link(links, nlinks, l->cand, false, far) != l)
		return NULL;
	return l;
}

/*
 * Renamed on side far into cand, which kept the role that g's folder on
 * the other side has: that one keeps its name (rename.h).
 */
static bool
keeps_role(const struct box_pair *g, const struct box_pair *c, bool far)
{
	enum mf_role other = far ? g->near_role : g->far_role;

	return other != MF_ROLE_NONE &&
	       (far ? c->far_role : c->near_role) == other;
}

static bool
names_differ(const struct box_pair *p)
{
	return p->far_name == NULL || p->near_name == NULL ||
	       strcmp(p->far_name, p->near_name) != 0;
}

/* The job for pair g, if the links prove one (rename.h). */
static bool
decide_one(const struct box_pair *pairs, size_t g, const bool *reset,
	   const struct rename_link *links, size_t nlinks, struct rename_job *j)
{
	bool gf = rename_gone_on(pairs, g, reset, true);
	bool gn = rename_gone_on(pairs, g, reset, false);
	const struct rename_link *lf = sole_link(links, nlinks, g, true);
	const struct rename_link *ln = sole_link(links, nlinks, g, false);

	memset(j, 0, sizeof(*j));
	j->gone = g;
	if (gf && !gn) {
		/* INBOX stays: its messages go to the new folder, which a
		 * run stopped part way has made already */
		if (lf == NULL || !(pairs[lf->cand].action == BOX_CREATE_NEAR ||
				    (rename_is_inbox(&pairs[g]) &&
				     pairs[lf->cand].action == BOX_SYNC)))
			return false;
		j->kind = RENAME_FAR;
		j->cand = lf->cand;
		j->keep = !rename_is_inbox(&pairs[g]) &&
			  keeps_role(&pairs[g], &pairs[j->cand], true);
		return j->keep || !names_differ(&pairs[g]);
	}
	if (gn && !gf) {
		if (ln == NULL || pairs[ln->cand].action != BOX_CREATE_FAR ||
		    rename_is_inbox(&pairs[g]))
			return false;
		j->kind = RENAME_NEAR;
		j->cand = ln->cand;
		j->keep = keeps_role(&pairs[g], &pairs[j->cand], false);
		return j->keep || !names_differ(&pairs[g]);
	}
	if (!gf || lf == NULL || ln == NULL || rename_is_inbox(&pairs[g]) ||
	    names_differ(&pairs[g]))
		return false;
	j->cand = lf->cand;
	if (lf->cand == ln->cand) {
		j->kind = RENAME_RECORD;
		return pairs[lf->cand].action == BOX_SYNC;
	}
	j->kind = RENAME_FAR_WINS;
	j->fold = ln->cand;
	return pairs[lf->cand].action == BOX_CREATE_NEAR &&
	       pairs[ln->cand].action == BOX_CREATE_FAR;
}

size_t
rename_decide(const struct box_pair *pairs, size_t npairs, const bool *reset,
	      const struct rename_link *links, size_t nlinks,
	      struct rename_job *jobs)
{
	size_t g, n = 0;

	for (g = 0; g < npairs; g++)
		if (decide_one(pairs, g, reset, links, nlinks, &jobs[n]))
			n++;
	return n;
}

/*
 * Swaps and rotations (rename.h, "Names swapped").  May pair i take part
 * in a cycle found on side far: synced before, its folder there listed
 * with another UIDVALIDITY (another folder now has its name), its folder
 * on the other side there as recorded.  Children are looked at once the
 * cycles are known (family_ok()).
 */
static bool
cycle_member(const struct box_pair *pairs, size_t i, const bool *reset,
	     bool far)
{
	const struct box_pair *p = &pairs[i];

	/* its folder on M missing: a run stopped between a rename there and
	 * its record (rename_cycle_adopt()) */
	if (!(p->action == BOX_SYNC ||
	      (p->action == (far ? BOX_VANISHED_NEAR : BOX_VANISHED_FAR) &&
	       (far ? p->near : p->far) == NULL)) ||
	    p->state == NULL || p->role_mapped || rename_is_inbox(p) ||
	    reset == NULL || !reset[2 * i + !far] || reset[2 * i + far] ||
	    p->far_name == NULL || p->near_name == NULL)
		return false;
	return true;
}

/*
 * Is name target on its way to it: the temporary name of target itself
 * or of one of its parents (a child goes along with its parent's rename
 * on M: "A/x" is "B~mf-swap/x" while its parent is on the way to "B").
 */
static bool
swap_form(const char *name, const char *target)
{
	size_t sl = strlen(RENAME_SWAP_SUFFIX), n;

	for (n = 0;; n++) {
		if (target[n] == '\0' || target[n] == '/') {
			if (strncmp(name, target, n) == 0 &&
			    strncmp(name + n, RENAME_SWAP_SUFFIX, sl) == 0 &&
			    strcmp(name + n + sl, target + n) == 0)
				return true;
		}
		if (target[n] == '\0')
			return false;
	}
}

/*
 * Is the other side's name of pair i one a cycle may leave it with: its
 * own name on side far (nothing done yet), or, after a run stopped in the
 * middle of the cycle, the name it is going to (target) or a temporary
 * one on the way there (rename.h, RENAME_SWAP_SUFFIX, swap_form()).
 */
static bool
cycle_name_ok(const struct box_pair *p, const char *target, bool far)
{
	const char *here = far ? p->far_name : p->near_name;
	const char *there = far ? p->near_name : p->far_name;

	return strcmp(there, here) == 0 || strcmp(there, target) == 0 ||
	       swap_form(there, target);
}

/* The name on M a cycle's rename takes a folder to next from there. */
static bool
next_name(const char *there, const char *here, const char *target,
	  const char *cand)
{
	if (strcmp(there, here) == 0)
		return swap_form(cand, target);
	return strcmp(cand, target) == 0;
}

size_t
rename_cycle_adopt(const struct box_pair *pairs, size_t npairs, size_t g,
		   const char *target, bool far)
{
	const struct box_pair *p = &pairs[g];
	const char *here = far ? p->far_name : p->near_name;
	const char *there = far ? p->near_name : p->far_name;
	size_t i;

	for (i = 0; i < npairs; i++) {
		const struct box_pair *a = &pairs[i];
		const char *name = far ? a->near_name : a->far_name;

		if (a->state == NULL && (far ? a->near : a->far) != NULL &&
		    name != NULL && next_name(there, here, target, name))
			return i;
	}
	return SIZE_MAX;
}

/* The rest of name under parent, from the '/' on; NULL: not under it. */
static const char *
under(const char *name, const char *parent)
{
	size_t n = strlen(parent);

	if (name != NULL && strncmp(name, parent, n) == 0 && name[n] == '/')
		return name + n;
	return NULL;
}

static const char *
side_name(const struct box_pair *p, bool far)
{
	return far ? p->far_name : p->near_name;
}

/*
 * Member g's children (rename.h, "Names swapped"): a rename of g on M
 * takes every folder under it along, so each child with a row must be a
 * member too, under g by the same rest on both sides, going to the same
 * rest under g's target on S.  Then g's renames on M are the children's
 * too, and the children's cycle has only its rows left to do.  Anything
 * else (a child left where it was on S, or moved elsewhere) would be
 * moved on M where S did not move it.
 */
static bool
family_ok(const struct box_pair *pairs, size_t npairs, const size_t *next,
	  size_t g, bool far)
{
	const char *gs = side_name(&pairs[g], far);
	const char *gm = side_name(&pairs[g], !far);
	const char *ts = side_name(&pairs[next[g]], far);
	size_t k;

	for (k = 0; k < npairs; k++) {
		const struct box_pair *q = &pairs[k];
		const char *rs = under(side_name(q, far), gs);
		const char *rm = under(side_name(q, !far), gm);

		if (q->state == NULL || (rs == NULL && rm == NULL))
			continue;
		if (rs == NULL || rm == NULL || strcmp(rs, rm) != 0 ||
		    next[k] == SIZE_MAX)
			return false;
		rs = under(side_name(&pairs[next[k]], far), ts);
		if (rs == NULL || strcmp(rs, rm) != 0)
			return false;
	}
	return true;
}

/* Drop the cycles with a member whose children do not go along with it,
 * until none is left (a cycle dropped may be another's children). */
static void
drop_families(const struct box_pair *pairs, size_t npairs, size_t *next,
	      bool far)
{
	bool changed;
	size_t g, c, k;

	do {
		changed = false;
		for (g = 0; g < npairs; g++) {
			if (next[g] == SIZE_MAX ||
			    family_ok(pairs, npairs, next, g, far))
				continue;
			for (c = g; c != SIZE_MAX; c = k) {
				k = next[c];
				next[c] = SIZE_MAX;
			}
			changed = true;
		}
	} while (changed);
}

size_t
rename_cycles(const struct box_pair *pairs, size_t npairs, const bool *reset,
	      const struct rename_link *links, size_t nlinks, bool far,
	      size_t *next)
{
	size_t g, i, n = 0;

	for (g = 0; g < npairs; g++) {
		const struct rename_link *l;
		const char *target;

		next[g] = SIZE_MAX;
		if (!cycle_member(pairs, g, reset, far))
			continue;
		l = sole_link(links, nlinks, g, far);
		if (l == NULL || l->cand == g ||
		    !cycle_member(pairs, l->cand, reset, far))
			continue;
		target = far ? pairs[l->cand].far_name :
			       pairs[l->cand].near_name;
		if (cycle_name_ok(&pairs[g], target, far) &&
		    ((far ? pairs[g].near : pairs[g].far) != NULL ||
		     rename_cycle_adopt(pairs, npairs, g, target, far) !=
			     SIZE_MAX))
			next[g] = l->cand;
	}
	/* only whole cycles: a chain that ends is a folder whose messages
	 * went somewhere no link shows, and nothing of it is taken */
	for (g = 0; g < npairs; g++) {
		size_t c = g;

		for (i = 0; i < npairs && c != SIZE_MAX; i++) {
			c = next[c];
			if (c == g)
				break;
		}
		if (c != g)
			next[g] = SIZE_MAX;
	}
	drop_families(pairs, npairs, next, far);
	for (g = 0; g < npairs; g++)
		n += next[g] != SIZE_MAX;
	return n;
}
