/*
 * Which messages need their identity before planning (plan.h,
 * plan_ident_need() and plan_hints_to_digest()).  Pure: the engine reads
 * what these say (snapshot.c) and plans after.  A row names its messages
 * with the planner's own lookup (plan_find_far/near), so "new" here is what
 * plan_box() will find new.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void
plan_ident_need(const struct plan_input *in, struct plan_ident_need *need)
{
	bool *known_far = xcalloc(in->nfar + 1, sizeof(bool));
	bool *known_near = xcalloc(in->nnear + 1, sizeof(bool));
	bool pending_far = false, pending_near = false;
	bool reset = in->far_reset || in->near_reset;
	size_t i, new_far = 0, new_near = 0;

	memset(need, 0, sizeof(*need));
	for (i = 0; i < in->nstate; i++) {
		const struct state_msg *row = &in->state[i];
		long k;

		if (row->pending == STATE_PENDING_PUSH)
			pending_far = true;
		if (row->pending == STATE_PENDING_PULL && in->near_uids)
			pending_near = true;
		/* after a reset no recorded UID means anything, and a row
		 * that is not found again by its identity (one a stopped
		 * first run left without it) is forgotten, which makes its
		 * message on the other side new as well (plan.c,
		 * plan_recorded_row and plan_pending_row): so nothing
		 * counts as known on either side then */
		if (reset)
			continue;
		k = plan_find_far(in, row->far_uid);
		if (k >= 0)
			known_far[k] = true;
		k = plan_find_near(in, row);
		if (k >= 0)
			known_near[k] = true;
	}
	for (i = 0; i < in->nfar; i++)
		new_far += !known_far[i];
	for (i = 0; i < in->nnear; i++)
		new_near += !known_near[i];
	need->new_both = new_far > 0 && new_near > 0;
	need->far = xcalloc(in->nfar + 1, sizeof(bool));
	need->near = xcalloc(in->nnear + 1, sizeof(bool));
	if (new_far > 0 && (new_near > 0 || pending_far || in->far_reset)) {
		for (i = 0; i < in->nfar; i++)
			need->far[i] = !known_far[i];
		need->nfar_want = new_far;
	}
	if (new_near > 0 && (new_far > 0 || pending_near || in->near_reset)) {
		for (i = 0; i < in->nnear; i++)
			need->near[i] = !known_near[i];
		need->nnear_want = new_near;
	}
	free(known_far);
	free(known_near);
}

void
plan_ident_need_free(struct plan_ident_need *need)
{
	free(need->far);
	free(need->near);
	memset(need, 0, sizeof(*need));
}

/*
 * A checked UID hint of another tool (an OfflineIMAP FMD5 that matches)
 * where the two copies do not both have a Message-ID and their headers
 * differ beyond what the fingerprint forgives (OfflineIMAP turns some
 * malformed messages' header into body, Message-ID and all): only the
 * whole content can tell.  Few messages get here.
 */
void
plan_hints_to_digest(const struct plan_input *in, struct plan_ident_need *need)
{
	size_t i;

	memset(need, 0, sizeof(*need));
	need->far = xcalloc(in->nfar + 1, sizeof(bool));
	need->near = xcalloc(in->nnear + 1, sizeof(bool));
	if (in->near_uids || in->far_reset)
		return;
	for (i = 0; i < in->nnear; i++) {
		const struct mf_msg *nm = &in->near[i], *fm;
		long k;

		if (!nm->name_uid_checked || nm->name_uid == 0)
			continue;
		k = plan_find_far(in, nm->name_uid);
		if (k < 0)
			continue;
		fm = &in->far[k];
		if ((plan_is_msgid(fm->msgid) && plan_is_msgid(nm->msgid)) ||
		    (fm->size != 0 && fm->size == nm->size) ||
		    (fm->fp != NULL && nm->fp != NULL &&
		     strcmp(fm->fp, nm->fp) == 0))
			continue;
		need->nfar_want += !need->far[k];
		need->far[k] = true;
		need->near[i] = true;
		need->nnear_want++;
	}
}
