/*
 * Folder names swapped or rotated on one side (rename.h, "Names
 * swapped"): the other side's folders are renamed around the cycle, the
 * rows follow, and the plan's pairs take the rows whose folders they now
 * hold.  Runs in renames_run() after the plain renames.
 */
#include "rename.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/str.h"
#include "base/testhook.h"
#include "base/xalloc.h"
#include "boxes.h"
#include "engine.h"
#include "state.h"
#include "sync.h"

/* One folder of a cycle: pair m's row, whose folder on S now has the name
 * target there (the next member's), and goes to it on M by way of tmp. */
struct member {
	size_t pair;
	struct state_box *row;
	const char *name, *target, *tmp; /* on S, arena copies */
	const struct mf_box_info *m_info;
	/* under another cycle's member: moved on M by that one's renames */
	bool follows;
};

struct cycle {
	const struct sync_opts *o;
	struct box_plan *plan;
	struct state_box_list *state;
	bool far; /* S: the side the cycle was found on */
	struct mf_store *m;
	struct member *v;
	size_t n;
};

static char *
row_name(struct state_box *row, bool far)
{
	return far ? row->far_name : row->near_name;
}

static void
row_set(struct state_box *row, bool far, const char *name)
{
	char **slot = far ? &row->far_name : &row->near_name;

	free(*slot);
	*slot = xstrdup(name);
}

/* The rows of the folders under old on M (its children, which a rename
 * there took along) take their names under the row's new one. */
static int
children_follow(const struct cycle *c, const struct state_box *row,
		const char *old, struct mf_err *err)
{
	const char *to = row_name((struct state_box *)row, !c->far);
	size_t n = strlen(old), k;

	for (k = 0; k < c->state->n; k++) {
		struct state_box *kid = &c->state->v[k];
		const char *name = row_name(kid, !c->far);
		char *t;

		if (kid == row || strncmp(name, old, n) != 0 || name[n] != '/')
			continue;
		t = xasprintf("%s%s", to, name + n);
		row_set(kid, !c->far, t);
		free(t);
		if (state_box_update(c->o->db, kid, err) < 0)
			return -1;
	}
	return 0;
}

/* One row written, its name on M having been old, and its children's
 * rows with it: in a transaction of their own, so that a stop never
 * leaves a child's row behind the folder its parent's rename moved. */
static int
row_write(const struct cycle *c, struct state_box *row, const char *old,
	  struct mf_err *err)
{
	if (state_begin(c->o->db, err) < 0)
		return -1;
	if (state_box_update(c->o->db, row, err) < 0 ||
	    children_follow(c, row, old, err) < 0) {
		state_rollback(c->o->db);
		return -1;
	}
	return state_commit(c->o->db, err);
}

/* Pair i's name on a side, as listed at the start of the run. */
static const char *
plan_name(const struct cycle *c, size_t i, bool far)
{
	return far ? c->plan->v[i].far_name : c->plan->v[i].near_name;
}

/* Is name taken on M by a folder outside the cycle's rows? */
static bool
taken_on_m(const struct cycle *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->plan->n; i++) {
		const struct box_pair *p = &c->plan->v[i];
		const char *there = c->far ? p->near_name : p->far_name;

		if (there != NULL && strcmp(there, name) == 0)
			return true;
	}
	return false;
}

/* Rename on M from what the row says to to, the row following.  1: done
 * or nothing to do; 0: not possible (said why); -1: store-level or state
 * error. */
static int
step(struct cycle *c, struct member *mb, const char *to, struct mf_err *err)
{
	const char *from = row_name(mb->row, !c->far);
	struct mf_err e = { 0 };
	char *old;
	int r;

	if (strcmp(from, to) == 0)
		return 1;
	if (c->m->ops->rename_box(c->m, from, to, &e) < 0) {
		if (mf_err_is_store_level(e.cls)) {
			*err = e;
			return mf_err_prefix(err, "%s: rename to %s", from, to);
		}
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "%s: not renamed to %s on the %s side (names swapped "
		       "on the %s side), left for the next run: %s",
		       from, to, c->far ? "near" : "far",
		       c->far ? "far" : "near", e.msg);
		return 0;
	}
	mf_test_step(c->far ? "rename near" : "rename far");
	old = xstrdup(from); /* row_set() frees from */
	row_set(mb->row, !c->far, to);
	r = row_write(c, mb->row, old, err);
	free(old);
	if (r < 0)
		return -1;
	mf_test_step("rename record");
	return 1;
}

/*
 * The rows' names on S, all in one transaction: by way of the temporary
 * names, as the names are UNIQUE and each target is another row's name
 * until its row has moved on.
 */
static int
rows_follow(struct cycle *c, struct mf_err *err)
{
	size_t i;
	int pass;

	if (state_begin(c->o->db, err) < 0)
		return -1;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < c->n; i++) {
			struct member *mb = &c->v[i];

			row_set(mb->row, c->far, pass ? mb->target : mb->tmp);
			if (state_box_update(c->o->db, mb->row, err) < 0) {
				state_rollback(c->o->db);
				return -1;
			}
		}
	if (state_commit(c->o->db, err) < 0)
		return -1;
	mf_test_step("rename record");
	return 0;
}

/* The renames on M: each folder out of the way, then each to its
 * target.  1: done; 0: stopped (said why); -1: error. */
static int
mirror_all(struct cycle *c, struct mf_err *err)
{
	size_t i;
	int r = 1;

	if (c->m->ops->rename_box == NULL) {
		mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
		       "%s: names swapped on the %s side, and the %s store "
		       "cannot rename folders",
		       c->v[0].name, c->far ? "far" : "near",
		       c->far ? "near" : "far");
		return 0;
	}
	for (i = 0; i < c->n && r > 0; i++) {
		const char *now = row_name(c->v[i].row, !c->far);

		if (strcmp(now, c->v[i].target) == 0)
			continue;
		/* its parent's renames move it; not there: the parent's
		 * cycle stopped, and this one waits for it */
		if (c->v[i].follows) {
			mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
			       "%s: names swapped on the %s side, left for "
			       "the next run: its parent is not renamed yet",
			       c->v[i].name, c->far ? "far" : "near");
			return 0;
		}
		if (strcmp(now, c->v[i].tmp) != 0 &&
		    taken_on_m(c, c->v[i].tmp)) {
			mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
			       "%s: names swapped on the %s side, not carried: "
			       "%s is taken on the %s side",
			       c->v[i].name, c->far ? "far" : "near",
			       c->v[i].tmp, c->far ? "near" : "far");
			return 0;
		}
		r = step(c, &c->v[i], c->v[i].tmp, err);
	}
	for (i = 0; i < c->n && r > 0; i++)
		r = step(c, &c->v[i], c->v[i].target, err);
	return r;
}

/* The status of a folder on M after the renames, as a listing would give
 * it (rename.c looked_at() does the same for a plain rename); NULL: the
 * folder's sync selects it. */
static const struct mf_box_info *
m_status(struct cycle *c, const struct member *mb)
{
	struct mf_select_req sel = { .readonly = true };
	struct mf_box_status status = { 0 };
	struct mf_box_info *info;
	struct mf_err e = { 0 };

	/* a maildir directory renamed keeps its listed token */
	if (c->m->caps & MF_CAP_DIR_TOKEN)
		return mb->m_info;
	if (c->m->ops->select_box(c->m, mb->target, &sel, &status, &e) < 0) {
		mf_debug(MF_LOGC_SYNC, "%s: after the rename: %s", mb->target,
			 e.msg);
		return NULL;
	}
	info = mf_arena_alloc(c->plan->arena, sizeof(*info));
	info->name = mf_arena_strdup(c->plan->arena, mb->target);
	info->status = status;
	info->status.has_status = true;
	return info;
}

/* The members of the cycle through pair g, in order; next[] of them
 * cleared so that each cycle is taken once.  -1: no state row. */
static int
members_of(struct cycle *c, const struct state_box_list *state, size_t g,
	   size_t *next, struct mf_err *err)
{
	struct mf_arena *a = c->plan->arena;
	size_t i = g, k;

	c->n = 0;
	do {
		struct box_pair *p = &c->plan->v[i];
		struct member *mb;

		c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
		mb = &c->v[c->n++];
		memset(mb, 0, sizeof(*mb));
		mb->pair = i;
		for (k = 0; k < state->n; k++)
			if (state->v[k].id == p->state->id)
				mb->row = &state->v[k];
		if (mb->row == NULL)
			return mf_err_set(err, MF_E_INTERNAL,
					  "%s: no state row", p->far_name);
		/* the pair's names may be the row's strings, which change */
		p->far_name = mf_arena_strdup(a, p->far_name);
		p->near_name = mf_arena_strdup(a, p->near_name);
		mb->name = c->far ? p->far_name : p->near_name;
		mb->m_info = c->far ? p->near : p->far;
		k = next[i];
		next[i] = SIZE_MAX;
		i = k;
	} while (i != g);
	for (i = 0; i < c->n; i++) {
		struct member *mb = &c->v[i];
		char *t;

		mb->target = c->v[(i + 1) % c->n].name;
		t = xasprintf("%s%s", mb->target, RENAME_SWAP_SUFFIX);
		mb->tmp = mf_arena_strdup(a, t);
		free(t);
	}
	return 0;
}

/*
 * A run stopped between a rename on M and its record left a member's
 * folder there under the name the rename gave it, and the row under the
 * one before: the row takes the folder where it is, and the pair that
 * listing made for it (no state) goes.  -1: state error.
 */
static int
adopt(struct cycle *c, struct mf_err *err)
{
	size_t i, a;
	char *old;
	int r;

	for (i = 0; i < c->n; i++) {
		struct member *mb = &c->v[i];
		struct box_pair *ap;

		if (mb->m_info != NULL)
			continue;
		a = rename_cycle_adopt(c->plan->v, c->plan->n, mb->pair,
				       mb->target, c->far);
		if (a == SIZE_MAX)
			return mf_err_set(err, MF_E_INTERNAL,
					  "%s: no folder to take on", mb->name);
		ap = &c->plan->v[a];
		mb->m_info = c->far ? ap->near : ap->far;
		ap->action = BOX_FOLDED;
		/* a child whose parent's record in this run moved its row on
		 * already (children_follow()): the row is where the folder
		 * has gone since the listing */
		if (strcmp(row_name(mb->row, !c->far),
			   plan_name(c, mb->pair, !c->far)) != 0)
			continue;
		old = xstrdup(row_name(mb->row, !c->far));
		row_set(mb->row, !c->far,
			c->far ? ap->near_name : ap->far_name);
		r = row_write(c, mb->row, old, err);
		free(old);
		if (r < 0)
			return -1;
		mf_test_step("rename record");
	}
	return 0;
}

/* The report: one renamed folder per member (sync.c reports
 * BOX_RENAMED pairs and syncs nothing for them). */
static void
report(struct cycle *c, struct box_pair **extra, size_t *nextra)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		struct box_pair p = { 0 };

		p.action = BOX_RENAMED;
		p.far_name = p.near_name = c->v[i].name;
		p.renamed_far = p.renamed_near = c->v[i].target;
		p.renamed_on_far = c->far;
		*extra = xrealloc(*extra, (*nextra + 1) * sizeof(**extra));
		(*extra)[(*nextra)++] = p;
	}
}

/*
 * The plan after the cycle: the pair named target takes the row whose
 * folder it now is on both sides, and syncs it.  Stopped or a dry run:
 * the members sync nothing in this run (synced as folders made anew they
 * would get every message twice); the next run finds the cycle again.
 */
static void
replan(struct cycle *c, bool done)
{
	const struct mf_box_info **info;
	size_t i;

	if (!done) {
		for (i = 0; i < c->n; i++)
			c->plan->v[c->v[i].pair].action = BOX_FOLDED;
		return;
	}
	info = xcalloc(c->n, sizeof(*info));
	for (i = 0; i < c->n; i++)
		info[i] = m_status(c, &c->v[i]);
	for (i = 0; i < c->n; i++) {
		struct box_pair *p = &c->plan->v[c->v[(i + 1) % c->n].pair];

		p->state = c->v[i].row;
		p->far_name = p->near_name = c->v[i].target;
		if (c->far)
			p->near = info[i];
		else
			p->far = info[i];
		p->action = BOX_SYNC;
	}
	free(info);
}

/* The pairs' names may be rows' strings, which a rename's rows (the
 * children's too, children_follow()) change: the plan keeps copies. */
static void
names_own(struct box_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		struct box_pair *p = &plan->v[i];

		if (p->far_name != NULL)
			p->far_name = mf_arena_strdup(plan->arena, p->far_name);
		if (p->near_name != NULL)
			p->near_name = mf_arena_strdup(plan->arena,
						       p->near_name);
	}
}

/* Is pair i under a member of a cycle not yet carried out (next[] set)?
 * Such a cycle goes first: its renames on M move i's folder. */
static bool
under_member(const struct cycle *c, const size_t *next, size_t i)
{
	const struct box_pair *p = &c->plan->v[i];
	const char *name = c->far ? p->far_name : p->near_name;
	size_t j, n;

	for (j = 0; j < c->plan->n; j++) {
		const struct box_pair *q = &c->plan->v[j];
		const char *up = c->far ? q->far_name : q->near_name;

		if (j == i || next[j] == SIZE_MAX || up == NULL)
			continue;
		n = strlen(up);
		if (strncmp(name, up, n) == 0 && name[n] == '/')
			return true;
	}
	return false;
}

/* Does the cycle through g wait for another cycle, its parents'? */
static bool
blocked(const struct cycle *c, const size_t *next, size_t g)
{
	size_t i = g;

	do {
		if (under_member(c, next, i))
			return true;
		i = next[i];
	} while (i != g);
	return false;
}

/* The cycle through g: 1 carried out, 0 not (or a dry run), -1 error. */
static int
carry(struct cycle *c, size_t g, size_t *next, const bool *follows,
      struct box_pair **extra, size_t *nextra, struct mf_err *err)
{
	const struct sync_opts *o = c->o;
	size_t i;
	int r;

	if (members_of(c, c->state, g, next, err) < 0)
		return -1;
	for (i = 0; i < c->n; i++)
		c->v[i].follows = follows[c->v[i].pair];
	mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
	       "%s: %zu folder names swapped on the %s side: renamed "
	       "on the %s side too",
	       c->v[0].name, c->n, c->far ? "far" : "near",
	       c->far ? "near" : "far");
	if (!o->dry_run && adopt(c, err) < 0)
		return -1;
	r = o->dry_run ? 0 : mirror_all(c, err);
	if (r > 0)
		r = rows_follow(c, err) < 0 ? -1 : 1;
	if (r < 0)
		return -1;
	if (r > 0 || o->dry_run)
		report(c, extra, nextra);
	replan(c, r > 0);
	return r;
}

/*
 * The cycles of one side, parents' before their children's (a child's
 * cycle is done by its parents' renames on M, and only checked then:
 * mirror_all()).  A cycle still waiting when nothing else can go syncs
 * nothing in this run, as a stopped one.
 */
static int
run_side(const struct sync_opts *o, struct box_plan *plan,
	 struct state_box_list *state, const bool *reset,
	 const struct rename_link *links, size_t nlinks, bool far,
	 struct box_pair **extra, size_t *nextra, struct mf_err *err)
{
	struct cycle c = { .o = o, .plan = plan, .state = state, .far = far };
	size_t *next = xcalloc(plan->n + 1, sizeof(*next));
	bool *follows = xcalloc(plan->n + 1, sizeof(*follows));
	bool progress = true;
	size_t g;
	int r = 0;

	c.m = far ? o->near : o->far;
	if (rename_cycles(plan->v, plan->n, reset, links, nlinks, far, next) ==
	    0)
		progress = false;
	else
		names_own(plan);
	for (g = 0; g < plan->n; g++)
		follows[g] = next[g] != SIZE_MAX && under_member(&c, next, g);
	while (progress && r >= 0) {
		progress = false;
		for (g = 0; g < plan->n && r >= 0; g++) {
			if (next[g] == SIZE_MAX || blocked(&c, next, g))
				continue;
			r = carry(&c, g, next, follows, extra, nextra, err);
			progress = true;
		}
	}
	for (g = 0; g < plan->n && r >= 0; g++)
		if (next[g] != SIZE_MAX)
			plan->v[g].action = BOX_FOLDED;
	free(c.v);
	free(follows);
	free(next);
	return r < 0 ? -1 : 0;
}

int
rename_cycles_run(const struct sync_opts *o, struct box_plan *plan,
		  struct state_box_list *state, const bool *reset,
		  const struct rename_link *links, size_t nlinks,
		  struct mf_err *err)
{
	struct box_pair *extra = NULL;
	size_t nextra = 0;
	int ret;

	ret = run_side(o, plan, state, reset, links, nlinks, true, &extra,
		       &nextra, err);
	if (ret == 0)
		ret = run_side(o, plan, state, reset, links, nlinks, false,
			       &extra, &nextra, err);
	if (nextra > 0) {
		plan->v = xrealloc(plan->v,
				   (plan->n + nextra) * sizeof(*plan->v));
		memcpy(plan->v + plan->n, extra, nextra * sizeof(*extra));
		plan->n += nextra;
	}
	free(extra);
	return ret;
}
