/*
 * One side of the channel (struct side, engine.h): making one, opening its
 * folders, and telling whether a folder's listed status is the recorded
 * one.  side_open() is the engine's only call of the store's select_box().
 */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "boxes.h"
#include "engine.h"

void
side_init(struct side *s, enum side_id id, struct mf_store *st, const char *box,
	  struct state_side *rec)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->label = id == SIDE_FAR ? "far" : "near";
	s->st = st;
	s->uids = (st->caps & MF_CAP_UIDS) != 0;
	s->box = box;
	s->rec = rec;
}

void
side_deinit(struct side *s)
{
	free(s->view);
	s->view = NULL;
	mf_arena_destroy(&s->arena);
	mf_scan_result_free(&s->kept);
	mf_scan_result_free(&s->since);
}

const char *
side_box_of(const struct side *s, const struct box_pair *p)
{
	return s->id == SIDE_FAR ? p->far_name : p->near_name;
}

bool
side_same_status(const struct side *s, const struct mf_box_status *now)
{
	const struct state_side *rec = s->rec;

	/* a directory token is all a store with one needs (maildir) */
	if (s->st->caps & MF_CAP_DIR_TOKEN)
		return now->dir_token != 0 && now->dir_token == rec->dir_token;
	if (!now->has_status)
		return false;
	/* without HIGHESTMODSEQ a flag change leaves no trace in STATUS */
	return now->uidvalidity == rec->uidvalidity &&
	       now->uidnext == rec->uidnext && now->messages == rec->messages &&
	       now->highestmodseq != 0 &&
	       now->highestmodseq == rec->highestmodseq;
}

int
side_open(const struct side *s, const char *box, bool readonly,
	  struct mf_box_status *status_r, struct mf_err *err)
{
	struct mf_select_req req = { .readonly = readonly };

	return s->st->ops->select_box(s->st, box, &req, status_r, err);
}

/*
 * Open the side's folder on the store.  A side whose listed status showed
 * no change is opened only when something has to be done there; its view
 * and the status recorded at the end stay those of the listing, so a change
 * made between the listing and now is seen by the next run.
 */
int
side_select(struct side *s, struct mf_err *err)
{
	struct mf_box_status now;

	if (s->selected)
		return 0;
	if (side_open(s, s->box, false, &now, err) < 0)
		return mf_err_prefix(err, "%s %s", s->label, s->box);
	if (!s->status_known)
		s->status = now;
	s->status_known = true;
	s->selected = true;
	if (now.uidnext > s->uidnext)
		s->uidnext = now.uidnext;
	return 0;
}

void
side_reopen(struct side *s)
{
	s->selected = false;
	s->status_known = false;
}

void
side_listed(struct side *s, const struct mf_box_info *info)
{
	s->status = info->status;
	s->status_known = true;
	s->uidnext = info->status.uidnext;
}

void
side_take_scan(struct side *s, struct side_scan *kept)
{
	if (kept == NULL || kept->res == NULL)
		return;
	mf_scan_result_free(&s->kept);
	s->kept = kept->res;
	kept->res = NULL;
	s->status = kept->status;
	s->status_known = true;
	if (kept->status.uidnext > s->uidnext)
		s->uidnext = kept->status.uidnext;
}
