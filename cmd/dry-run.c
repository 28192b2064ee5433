/*
 * The text of a dry run's planned actions.  tests/integ compares these
 * lines: change them only with the tests.
 */
#include "dry-run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
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

/* One copy of a moved message whose folder plan is to be hidden. */
struct dry_move_ent {
	char *box;    /* the folder's far name */
	bool far_msg; /* the far copy (uid), else the near one (key) */
	uint32_t uid;
	char *key;
	bool src;	   /* in the source folder: shadowed as a deletion */
	size_t copies;	   /* shadows hidden: copies (pull or push) */
	size_t deletions;  /* and deletions */
	bool pull, expfar; /* which counts they were in */
};

struct dry_moves {
	struct dry_move_ent *v;
	size_t n, cap;
};

struct dry_moves *
dry_moves_new(void)
{
	return xcalloc(1, sizeof(struct dry_moves));
}

void
dry_moves_free(struct dry_moves **dmp)
{
	struct dry_moves *dm = *dmp;
	size_t i;

	if (dm == NULL)
		return;
	for (i = 0; i < dm->n; i++) {
		free(dm->v[i].box);
		free(dm->v[i].key);
	}
	free(dm->v);
	free(dm);
	*dmp = NULL;
}

static void
add_ent(struct dry_moves *dm, const char *box, bool far_msg,
	const struct sync_msg_id *id, bool src)
{
	struct dry_move_ent *e;

	if (dm->n == dm->cap) {
		dm->cap = dm->cap ? 2 * dm->cap : 16;
		dm->v = xreallocarray(dm->v, dm->cap, sizeof(*dm->v));
	}
	e = &dm->v[dm->n++];
	memset(e, 0, sizeof(*e));
	e->box = xstrdup(box != NULL ? box : "");
	e->far_msg = far_msg;
	e->uid = id->uid;
	e->key = id->key != NULL ? xstrdup(id->key) : NULL;
	e->src = src;
}

static bool
same_msg(const struct dry_move_ent *e, const struct sync_action *a)
{
	if (a->box == NULL || strcmp(e->box, a->box) != 0)
		return false;
	if (e->far_msg)
		return a->has_far && e->key == NULL && a->far_uid == e->uid;
	return e->key != NULL && a->near_key != NULL &&
	       strcmp(e->key, a->near_key) == 0;
}

bool
dry_moves_note(struct dry_moves *dm, const struct sync_action *a)
{
	size_t i;

	if (dm == NULL)
		return false;
	if (a->kind == SYNC_ACTION_MOVE) {
		bool far = a->side == SYNC_SIDE_FAR;

		/* seen moved on its side into to; the other side's copy
		 * (mirror) is still in box */
		add_ent(dm, a->box, !far, &a->mirror_id, true);
		add_ent(dm, a->to, far, &a->seen_id, false);
		return false;
	}
	for (i = 0; i < dm->n; i++) {
		struct dry_move_ent *e = &dm->v[i];

		if (!same_msg(e, a))
			continue;
		if (e->src && e->far_msg && a->far_op == PLAN_OP_DELETE &&
		    a->near_op != PLAN_OP_COPY) {
			e->deletions++;
			e->expfar = true;
			return true;
		}
		if (e->src && !e->far_msg && a->near_op == PLAN_OP_DELETE &&
		    a->far_op != PLAN_OP_COPY) {
			e->deletions++;
			return true;
		}
		if (!e->src && e->far_msg && a->near_op == PLAN_OP_COPY) {
			e->copies++;
			e->pull = true;
			return true;
		}
		if (!e->src && !e->far_msg && a->far_op == PLAN_OP_COPY) {
			e->copies++;
			return true;
		}
	}
	return false;
}

static void
less(size_t *v, size_t n)
{
	*v = *v > n ? *v - n : 0;
}

void
dry_moves_adjust(const struct dry_moves *dm, const char *far_name,
		 struct plan_stats *st)
{
	size_t i;

	if (dm == NULL || far_name == NULL)
		return;
	for (i = 0; i < dm->n; i++) {
		const struct dry_move_ent *e = &dm->v[i];

		if (strcmp(e->box, far_name) != 0)
			continue;
		less(e->pull ? &st->pull : &st->push, e->copies);
		less(e->expfar ? &st->del_far : &st->del_near, e->deletions);
	}
}
