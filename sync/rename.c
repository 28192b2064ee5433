/*
 * Folder renames (rename.h has the rules): carry out what rename_decide()
 * took on the evidence rename_find() read, and rewrite the folder plan.
 * Runs once per channel after the folders are paired and before the move
 * pass (sync.c).
 */
#include "rename.h"

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

static const char *
name_on(const struct box_pair *p, bool far)
{
	return far ? p->far_name : p->near_name;
}

/* Renames done on one side in this run, for the children that followed
 * their parent there. */
struct done {
	bool far;
	const char *from, *to;
};

struct doer {
	const struct sync_opts *o;
	struct box_plan *plan;
	struct state_box_list *state;
	const bool *reset;
	struct done *done;
	size_t ndone;
	/* pairs for the folders made anew under a renamed one's name */
	struct box_pair *extra;
	size_t nextra;
};

/* What a folder listed as name is called now on side far. */
static const char *
now_named(const struct doer *d, bool far, const char *name)
{
	size_t i;

	for (i = d->ndone; i-- > 0;) {
		const struct done *x = &d->done[i];
		size_t n = strlen(x->from);
		char *s;

		if (x->far != far || strncmp(name, x->from, n) != 0 ||
		    name[n] != '/')
			continue;
		s = xasprintf("%s%s", x->to, name + n);
		name = mf_arena_strdup(d->plan->arena, s);
		free(s);
		return name;
	}
	return name;
}

/*
 * INBOX renamed on the server: Dovecot (RFC 3501 section 6.3.5) moves
 * its messages into the new folder, which keeps INBOX's UIDVALIDITY and
 * UIDs, and makes INBOX anew.  The local INBOX stays; the files its row
 * names are moved into the new folder (rename(2), names kept), where the
 * row follows them.  A key side only: an IMAP near side's moves would
 * give new UIDs the row does not have.  1: done; 0: not possible; -1:
 * store-level error.  Done twice after a stop, a file moved already is
 * simply not in INBOX any more.
 */
static int
inbox_out(struct doer *d, const struct rename_job *j, struct mf_err *err)
{
	const struct box_pair *g = &d->plan->v[j->gone];
	const struct box_pair *c = &d->plan->v[j->cand];
	struct mf_store *st = d->o->near;
	struct mf_select_req sel = { .readonly = false };
	struct state_msg_list *rows = NULL;
	struct mf_move_item *items;
	struct mf_err e = { 0 };
	size_t i, n = 0;
	int ret = 1;

	if ((st->caps & MF_CAP_UIDS) || st->ops->move == NULL)
		return 0;
	if (state_msgs_load(d->o->db, g->state->id, &rows, err) < 0)
		return -1;
	items = xcalloc(rows->n + 1, sizeof(*items));
	for (i = 0; i < rows->n; i++)
		if (rows->v[i].near_key != NULL)
			items[n++].key = rows->v[i].near_key;
	if ((c->near == NULL &&
	     st->ops->create_box(st, c->near_name, &e) < 0) ||
	    st->ops->select_box(st, g->near_name, &sel, NULL, &e) < 0 ||
	    (n > 0 && st->ops->move(st, items, n, c->near_name, &e) < 0))
		ret = 0;
	for (i = 0; ret > 0 && i < n; i++)
		if (items[i].status != 0 && !items[i].gone) {
			e = items[i].err;
			ret = 0;
		}
	if (ret == 0 && mf_err_is_store_level(e.cls)) {
		*err = e;
		ret = mf_err_prefix(err, "INBOX: move to %s", c->near_name);
	} else if (ret == 0) {
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "INBOX: its messages not moved to %s: %s", c->near_name,
		       e.msg);
	} else {
		mf_test_step("rename near");
		for (i = 0; i < n; i++)
			d->plan->v[j->cand].moved_in += !items[i].gone;
	}
	free(items);
	state_msg_list_free(&rows);
	return ret;
}

/* The rename on the side that did not see it.  1: done or nothing to
 * do; 0: not possible (said why); -1: store-level error. */
static int
mirror(struct doer *d, const struct rename_job *j, struct mf_err *err)
{
	const struct box_pair *g = &d->plan->v[j->gone];
	const struct box_pair *c = &d->plan->v[j->cand];
	bool far = j->kind == RENAME_NEAR;
	struct mf_store *st = far ? d->o->far : d->o->near;
	const char *from, *to = name_on(c, far), *now;
	struct mf_err e = { 0 };

	if (j->kind == RENAME_RECORD || j->keep)
		return 1;
	if (rename_is_inbox(g))
		return inbox_out(d, j, err);
	from = j->kind == RENAME_FAR_WINS ? d->plan->v[j->fold].near_name :
					    name_on(g, far);
	now = now_named(d, far, from);
	if (strcmp(now, to) == 0)
		return 1; /* its parent's rename took it along */
	if (st->ops->rename_box == NULL) {
		mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
		       "%s: the %s store cannot rename folders", from,
		       far ? "far" : "near");
		return 0;
	}
	if (st->ops->rename_box(st, now, to, &e) < 0) {
		if (mf_err_is_store_level(e.cls)) {
			*err = e;
			return mf_err_prefix(err, "%s: rename to %s", from, to);
		}
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "%s: not renamed to %s on the %s side, so left as a "
		       "folder gone and one new: %s",
		       from, to, far ? "far" : "near", e.msg);
		return 0;
	}
	mf_test_step(far ? "rename far" : "rename near");
	d->done = xrealloc(d->done, (d->ndone + 1) * sizeof(*d->done));
	d->done[d->ndone].far = far;
	d->done[d->ndone].from = from;
	d->done[d->ndone].to = to;
	d->ndone++;
	return 1;
}

/* The row takes the new names, in one transaction. */
static int
record(struct doer *d, const struct rename_job *j, struct mf_err *err)
{
	struct box_pair *g = &d->plan->v[j->gone];
	const struct box_pair *c = &d->plan->v[j->cand];
	struct state_box *row = NULL;
	size_t i;

	for (i = 0; i < d->state->n; i++)
		if (d->state->v[i].id == g->state->id)
			row = &d->state->v[i];
	if (row == NULL)
		return mf_err_set(err, MF_E_INTERNAL, "%s: no state row",
				  g->far_name);
	/* g's names may be the row's own strings, which go now */
	g->far_name = mf_arena_strdup(d->plan->arena, g->far_name);
	g->near_name = mf_arena_strdup(d->plan->arena, g->near_name);
	free(row->far_name);
	free(row->near_name);
	/* keep: the other side's name stays (g's, now copied) */
	row->far_name = xstrdup(j->keep && j->kind == RENAME_NEAR ?
					g->far_name :
					c->far_name);
	row->near_name = xstrdup(j->keep && j->kind == RENAME_FAR ?
					 g->near_name :
					 c->near_name);
	if (state_begin(d->o->db, err) < 0)
		return -1;
	if (state_box_update(d->o->db, row, err) < 0) {
		state_rollback(d->o->db);
		return -1;
	}
	if (state_commit(d->o->db, err) < 0)
		return -1;
	mf_test_step("rename record");
	return 0;
}

/*
 * A folder made anew on side far under the name of g, which was renamed:
 * a pair of its own, without state, for sync_run() to create (or skip,
 * as the policy says) like any new folder.  INBOX is there on both sides.
 */
static void
add_anew(struct doer *d, const struct box_pair *g, bool far)
{
	struct box_pair p = { 0 };
	unsigned there = far ? SYNC_SIDE_NEAR : SYNC_SIDE_FAR;

	p.far_name = g->far_name;
	p.near_name = g->near_name;
	if (rename_is_inbox(g)) {
		p.action = BOX_SYNC;
		p.far = g->far;
		p.near = g->near;
	} else if (far) {
		p.far = g->far;
		p.action = (d->o->policy->create & there) ? BOX_CREATE_NEAR :
							    BOX_SKIP_NEW_FAR;
		if (p.action == BOX_SKIP_NEW_FAR)
			p.near_name = NULL;
	} else {
		p.near = g->near;
		p.action = (d->o->policy->create & there) ? BOX_CREATE_FAR :
							    BOX_SKIP_NEW_NEAR;
		if (p.action == BOX_SKIP_NEW_NEAR)
			p.far_name = NULL;
	}
	d->extra = xrealloc(d->extra, (d->nextra + 1) * sizeof(*d->extra));
	d->extra[d->nextra++] = p;
}

/*
 * The status of an IMAP folder we just renamed, as a listing would give
 * it, so that the move pass can take the folder in (move.c reads the
 * listed status; a server that changed the UIDVALIDITY on RENAME shows
 * here, and the folder is matched again, not moved from).  NULL when it
 * cannot be read: the folder's sync selects it then.
 */
static const struct mf_box_info *
looked_at(struct doer *d, struct mf_store *st, const char *name)
{
	struct mf_select_req sel = { .readonly = true };
	struct mf_box_info *info;
	struct mf_box_status status = { 0 };
	struct mf_err e = { 0 };

	if (st->ops->select_box(st, name, &sel, &status, &e) < 0) {
		mf_debug(MF_LOGC_SYNC, "%s: after the rename: %s", name, e.msg);
		return NULL;
	}
	info = mf_arena_alloc(d->plan->arena, sizeof(*info));
	info->name = mf_arena_strdup(d->plan->arena, name);
	info->status = status;
	info->status.has_status = true;
	return info;
}

/*
 * A rename that kept its role (rename.h): the new pair takes the other
 * side's folder of that role from g, under its name, as the row does.
 * After it, replan() goes on as after a rename whose mirror is done.
 */
static void
keep_other(struct doer *d, const struct rename_job *j)
{
	struct box_pair *g = &d->plan->v[j->gone];
	struct box_pair *c = &d->plan->v[j->cand];

	if (j->kind == RENAME_FAR) {
		c->near_name = g->near_name;
		c->near_role = g->near_role;
	} else {
		c->far_name = g->far_name;
		c->far_role = g->far_role;
	}
	c->role_mapped = strcmp(c->far_name, c->near_name) != 0;
}

/* The plan after job j: the new pair syncs with the state, the old one
 * only reports. */
static void
replan(struct doer *d, const struct rename_job *j)
{
	struct box_pair *g = &d->plan->v[j->gone];
	struct box_pair *c = &d->plan->v[j->cand];
	const struct mf_box_info *mirror_info = NULL;
	struct mf_store *mst;

	if (j->keep)
		keep_other(d, j);
	g->renamed_far = c->far_name;
	g->renamed_near = c->near_name;
	g->renamed_on_far = j->kind != RENAME_NEAR;
	if (j->kind == RENAME_FAR_WINS)
		d->plan->v[j->fold].action = BOX_FOLDED;
	if (d->o->dry_run) {
		g->action = BOX_RENAMED;
		c->action = BOX_FOLDED;
		return;
	}
	/* A maildir directory renamed keeps cur/ and new/ and so its
	 * listed token; an IMAP folder is looked at under its new name. */
	mst = j->kind == RENAME_NEAR ? d->o->far : d->o->near;
	if (j->keep)
		mirror_info = j->kind == RENAME_NEAR ? g->far : g->near;
	else if (mst->caps & MF_CAP_DIR_TOKEN)
		mirror_info = j->kind == RENAME_FAR_WINS ?
				      d->plan->v[j->fold].near :
				      (j->kind == RENAME_NEAR ? g->far :
								g->near);
	else if (j->kind != RENAME_RECORD)
		mirror_info = looked_at(d, mst,
					name_on(c, j->kind == RENAME_NEAR));
	if (j->kind == RENAME_NEAR)
		c->far = mirror_info;
	else if (j->kind != RENAME_RECORD)
		c->near = mirror_info;
	c->state = g->state;
	c->action = BOX_SYNC;
	/* INBOX stays: what happened is the moves c reports */
	g->action = rename_is_inbox(g) ? BOX_FOLDED : BOX_RENAMED;
	if (d->reset[2 * j->gone])
		add_anew(d, g, true);
	if (d->reset[2 * j->gone + 1])
		add_anew(d, g, false);
}

static int
cmp_job(const void *a, const void *b, void *ctx)
{
	const struct box_plan *plan = ctx;
	const struct rename_job *x = a, *y = b;

	return strcmp(plan->v[x->gone].far_name, plan->v[y->gone].far_name);
}

/* Parents first: "A" sorts before "A/x". */
static void
sort_jobs(struct rename_job *jobs, size_t n, const struct box_plan *plan)
{
	size_t i, k;

	for (i = 1; i < n; i++) {
		struct rename_job t = jobs[i];

		for (k = i;
		     k > 0 && cmp_job(&jobs[k - 1], &t, (void *)plan) > 0; k--)
			jobs[k] = jobs[k - 1];
		jobs[k] = t;
	}
}

static int
carry_out(const struct sync_opts *o, struct box_plan *plan,
	  struct state_box_list *state, const bool *reset,
	  struct rename_job *jobs, size_t n, struct mf_err *err)
{
	struct doer d = {
		.o = o, .plan = plan, .state = state, .reset = reset
	};
	size_t i;
	int ret = 0;

	sort_jobs(jobs, n, plan);
	for (i = 0; i < n && ret == 0; i++) {
		int r = o->dry_run ? 1 : mirror(&d, &jobs[i], err);

		if (r < 0 ||
		    (r > 0 && !o->dry_run && record(&d, &jobs[i], err) < 0))
			ret = -1;
		else if (r > 0)
			replan(&d, &jobs[i]);
	}
	if (d.nextra > 0) {
		plan->v = xrealloc(plan->v,
				   (plan->n + d.nextra) * sizeof(*plan->v));
		memcpy(plan->v + plan->n, d.extra, d.nextra * sizeof(*d.extra));
		plan->n += d.nextra;
	}
	free(d.extra);
	free(d.done);
	return ret;
}

int
renames_run(const struct sync_opts *o, struct box_plan *plan,
	    struct state_box_list *state, struct mf_err *err)
{
	struct rename_link *links = NULL;
	struct rename_job *jobs = NULL;
	bool *reset = rename_resets(o, plan);
	size_t n, nlinks = 0;
	int ret;

	ret = rename_find(o, plan, reset, &links, &nlinks, err);
	if (ret == 0 && nlinks > 0) {
		jobs = xcalloc(plan->n, sizeof(*jobs));
		n = rename_decide(plan->v, plan->n, reset, links, nlinks, jobs);
		ret = carry_out(o, plan, state, reset, jobs, n, err);
		/* after: carry_out() appends pairs, the links' indexes stay */
		if (ret == 0)
			ret = rename_cycles_run(o, plan, state, reset, links,
						nlinks, err);
	}
	free(links);
	free(jobs);
	free(reset);
	return ret;
}
