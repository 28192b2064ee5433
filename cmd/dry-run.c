/*
 * The text of a dry run's planned actions.  tests/integ compares these
 * lines: change them only with the tests.
 */
#include "dry-run.h"

#include <stdio.h>

#include "flags.h"

static void
msg_id(const struct sync_msg_id *id, char *buf, size_t len)
{
	if (id->key == NULL)
		snprintf(buf, len, "UID %u", id->uid);
	else
		snprintf(buf, len, "%s", id->key);
}

/* "far UID- near KEY-": the two messages of a plan entry, "-" if none */
static void
msg_line(const struct sync_action *a, char *buf, size_t len)
{
	char uid[16] = "", ff[8], nf[8];
	const char *fid = a->has_far ? "" : "-";
	const char *key = a->near_key != NULL && a->near_key[0] != '\0' ?
				  a->near_key :
				  "-";

	if (a->has_far)
		snprintf(uid, sizeof(uid), "%u", a->far_uid);
	if (a->kind == SYNC_ACTION_AMBIGUOUS) {
		snprintf(buf, len,
			 "%s: far %s%s near %s: leave alone (same "
			 "Message-ID, other content on the other side)",
			 a->box, uid, fid, key);
		return;
	}
	mf_flags_to_maildir(a->far_flags, ff);
	mf_flags_to_maildir(a->near_flags, nf);
	snprintf(buf, len, "%s: far %s%s near %s: %s%s%s%s%s -> flags %s/%s",
		 a->box, uid, fid, key,
		 a->near_op == PLAN_OP_COPY ? "pull " : "",
		 a->far_op == PLAN_OP_COPY ? "push " : "",
		 a->far_op == PLAN_OP_DELETE ? "expunge-far " :
		 a->far_op == PLAN_OP_FLAGS  ? "flags-far " :
					       "",
		 a->near_op == PLAN_OP_DELETE ? "delete-near " :
		 a->near_op == PLAN_OP_FLAGS  ? "flags-near " :
						"",
		 a->forget ? "forget" : "", ff, nf);
}

void
dry_run_line(const struct sync_action *a, char *buf, size_t len)
{
	char sid[160], mid[160];
	bool far = a->side == SYNC_SIDE_FAR;

	if (a->kind != SYNC_ACTION_MOVE) {
		msg_line(a, buf, len);
		return;
	}
	msg_id(&a->seen_id, sid, sizeof(sid));
	msg_id(&a->mirror_id, mid, sizeof(mid));
	snprintf(buf, len, "%s -> %s: %s %s moved: would move %s %s", a->box,
		 a->to, far ? "far" : "near", sid, far ? "near" : "far", mid);
}
