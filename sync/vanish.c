/*
 * A folder pair one of whose folders vanished since the last run: the
 * other one is removed too where the policy says so (remove:) and only
 * when every message in it was synced, else it is kept and said so.  A
 * maildir folder gone on the near side while remove: does not cover the
 * far side is pulled again instead (forget_vanished_near).  A folder gone
 * on a server (far, or an IMAP near side) is kept, not uploaded again: a
 * server folder can vanish from a listing without being deleted (a rename,
 * an ACL or namespace change), and uploading it would then store every
 * message a second time on that server.
 *
 * A row still journaled for a move out of the folder (sync/move.h, "Crash
 * safety": the move pass settles journals before the folders run, so one
 * left here is one it could not settle this run) keeps the folder and its
 * state: removing either would drop the journal, re-pulling would copy a
 * message the move may have taken elsewhere already.
 */
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "boxes.h"
#include "engine.h"

/*
 * A maildir folder missing from the listing may still be there, unreadable:
 * a symlink to a disk that is not mounted, an empty mount point.  Only one
 * whose name is gone from the file system is gone (mdir-store.h); anything
 * else fails the folder, and neither side is touched.  Other near stores
 * (IMAP) list what they have.
 */
static int
near_gone(const struct sync_opts *o, const char *name, struct mf_err *err)
{
	struct mf_select_req req = { .readonly = true };
	struct mf_err e = { 0 };

	if (!(o->near->caps & MF_CAP_DIR_TOKEN))
		return 0;
	if (o->near->ops->select_box(o->near, name, &req, NULL, &e) == 0)
		return mf_err_set(err, MF_E_BOX,
				  "%s: not listed on the near side, yet it "
				  "opens: kept",
				  name);
	if (e.sys_errno == ENOENT)
		return 0;
	mf_err_copy(err, &e);
	return mf_err_prefix(err, "not listed on the near side, but not "
				  "gone either: kept");
}

/*
 * How many of rows are journaled moves (see the top of the file).  A row
 * journaled by an older version (no journal argument) is not one: the
 * move pass never settles it, the folders' rules take it as any row.
 */
static size_t
moves_journaled(const struct state_msg_list *rows)
{
	size_t i, n = 0;

	for (i = 0; i < rows->n; i++)
		n += rows->v[i].pending == STATE_PENDING_MOVE &&
		     rows->v[i].pending_move != NULL;
	return n;
}

int
forget_vanished_near(const struct sync_opts *o, const struct box_pair *pair,
		     struct mf_err *err)
{
	struct state_msg_list *rows = NULL;
	size_t journaled;

	if (near_gone(o, pair->near_name, err) < 0)
		return -1;
	if (o->dry_run)
		return 0; /* a real run settles the journals first */
	if (state_msgs_load(o->db, pair->state->id, &rows, err) < 0)
		return -1;
	journaled = moves_journaled(rows);
	state_msg_list_free(&rows);
	if (journaled > 0)
		return mf_err_set(err, MF_E_BOX,
				  "%s: vanished on the near side, %zu moves "
				  "out of it not settled yet: kept",
				  pair->near_name, journaled);
	mf_log(MF_LOG_NOTICE, MF_LOGC_SYNC,
	       "%s: vanished on the near side; remove: does not cover the "
	       "far side, so it is made again and pulled",
	       pair->near_name);
	if (state_begin(o->db, err) < 0)
		return -1;
	if (state_box_delete(o->db, pair->state->id, err) < 0) {
		state_rollback(o->db);
		return -1;
	}
	if (state_commit(o->db, err) < 0)
		return -1;
	if (o->near->ops->create_box(o->near, pair->near_name, err) < 0)
		return mf_err_prefix(err, "%s: create", pair->near_name);
	return 0;
}

/* The near folder of a vanished far one goes only if all of it is synced. */
int
remove_vanished(const struct sync_opts *o, const struct box_pair *pair,
		bool far_gone, struct sync_box_report *rep, struct mf_err *err)
{
	struct mf_store *st = far_gone ? o->near : o->far;
	const char *name = far_gone ? pair->near_name : pair->far_name;
	unsigned side = far_gone ? SYNC_SIDE_NEAR : SYNC_SIDE_FAR;
	struct side s;
	struct mf_scan_req sreq = { .want = 0 };
	struct mf_box_status status;
	struct mf_scan_result *res = NULL;
	struct state_msg_list *rows = NULL;
	size_t i, unsynced = 0;
	int ret = -1;

	rep->outcome = far_gone ? SYNC_BOX_VANISHED_FAR_KEPT :
				  SYNC_BOX_VANISHED_NEAR_KEPT;
	if (!(o->policy->remove & side) || o->dry_run)
		return 0;
	if (!far_gone && near_gone(o, pair->near_name, err) < 0)
		return -1;
	side_init(&s, far_gone ? SIDE_NEAR : SIDE_FAR, st, name, NULL);
	if (side_open(&s, name, true, &status, err) < 0 ||
	    st->ops->scan(st, &sreq, &res, err) < 0 ||
	    state_msgs_load(o->db, pair->state->id, &rows, err) < 0)
		goto out;
	if (moves_journaled(rows) > 0) {
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "%s: vanished on the %s side, %zu moves out of it not "
		       "settled yet: kept",
		       name, far_gone ? "far" : "near", moves_journaled(rows));
		ret = 0;
		goto out;
	}
	for (i = 0; i < res->n; i++) {
		const struct mf_msg *m = &res->msgs[i];
		bool known = false;
		size_t k;

		for (k = 0; k < rows->n && !known; k++) {
			const struct state_msg *row = &rows->v[k];

			if (far_gone && !(st->caps & MF_CAP_UIDS))
				known = row->near_key != NULL &&
					strcmp(row->near_key, m->key) == 0;
			else if (far_gone)
				known = row->near_uid == m->uid;
			else
				known = row->far_uid == m->uid;
		}
		unsynced += !known;
	}
	if (unsynced > 0) {
		mf_log(MF_LOG_WARN, MF_LOGC_SYNC,
		       "%s: vanished on the %s side "
		       "but %zu messages here were never synced: kept",
		       name, far_gone ? "far" : "near", unsynced);
		ret = 0;
		goto out;
	}
	if (st->ops->delete_box(st, name, err) < 0)
		goto out;
	if (state_begin(o->db, err) < 0)
		goto out;
	if (state_box_delete(o->db, pair->state->id, err) < 0) {
		state_rollback(o->db);
		goto out;
	}
	ret = state_commit(o->db, err);
	rep->outcome = SYNC_BOX_REMOVED;
out:
	mf_scan_result_free(&res);
	state_msg_list_free(&rows);
	return ret;
}
