/*
 * move: files from the selected folder into another folder of the same
 * maildir, by rename(2), so a message moved on the server is not
 * downloaded again.
 *
 * The file keeps its name (and so its key and flags) and its subdirectory
 * (new/ stays new/), except for its keyword letters: a letter means what
 * the folder's dovecot-keywords says, so they become the destination's
 * letters for the same keywords (mdir_name_for_box).  A name already taken in the destination fails the
 * item: we never overwrite a file, not even one with the same key, as it
 * may be another message.  Both folders' directories are fsynced before
 * returning, so a move the engine records has reached the disk.
 *
 * The rename is atomic where the kernel offers RENAME_NOREPLACE; where it
 * does not (EINVAL: an older kernel or a filesystem without it), a link()
 * then unlink() does the same job without overwriting.  A crash between the
 * two leaves the message in both folders, which the engine heals: the
 * source copy is a row whose far message is gone (deleted locally), the
 * destination copy is paired with the far message by content.
 *
 * relabel: the same letter translation for a file someone else renamed
 * into the selected folder (mv keeps the name, and so the source's
 * letters).  The file is renamed in place, within its subdirectory: one
 * atomic rename that names the same message either way.  A letter the
 * source does not name is kept as it is (we cannot know what it means).
 * The guard against a second translation is the caller's expect
 * (store.h): once translated, the letters read differently here.
 */
#include "mdir-name.h"
#include "mdir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/testhook.h"
#include "flags.h"

static int
move_noreplace(int from_fd, const char *name, int to_fd, const char *to)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(from_fd, name, to_fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	if (linkat(from_fd, name, to_fd, to, 0) < 0)
		return -1;
	if (unlinkat(from_fd, name, 0) < 0) {
		int e = errno;

		/* leave one copy, not two */
		(void)unlinkat(to_fd, to, 0);
		errno = e;
		return -1;
	}
	return 0;
}

static int
move_one(struct mdir_store *st, struct mf_move_item *item, struct mdir_box *dst,
	 bool *rescanned, struct mf_err *err)
{
	char to[MDIR_NAME_MAX + 1];
	struct mdir_ent *e;
	int tries, r = -1, to_fd;
	bool in_new = false;

	for (tries = 0; tries < 2; tries++) {
		if (mdir_find_key(st, item->key, tries > 0, rescanned, &e,
				  err) < 0)
			return -1;
		if (e == NULL)
			break;
		if (mdir_name_for_box(st, e, dst, false, to, sizeof(to),
				      &item->err) < 0) {
			item->status = -1;
			return 0;
		}
		in_new = e->in_new;
		to_fd = in_new ? dst->new_fd : dst->cur_fd;
		r = move_noreplace(in_new ? st->box->new_fd : st->box->cur_fd,
				   e->name, to_fd, to);
		/* ENOENT: renamed under us (a flag change): look again */
		if (r == 0 || errno != ENOENT)
			break;
	}
	if (e == NULL) {
		item->gone = true;
		return 0;
	}
	if (r < 0) {
		item->status = -1;
		if (errno == EEXIST)
			mf_err_set(&item->err, MF_E_MSG,
				   "move %s to %s: the "
				   "name is taken there",
				   e->name, dst->name);
		else
			mf_err_sys(&item->err, MF_E_MSG, "move %s to %s",
				   e->name, dst->name);
		return 0;
	}
	snprintf(item->new_key, sizeof(item->new_key), "%s", item->key);
	if (in_new) {
		st->box->dirty_new = true;
		dst->dirty_new = true;
	} else {
		st->box->dirty_cur = true;
		dst->dirty_cur = true;
	}
	mdir_index_drop(&st->idx, e);
	mf_test_step("maildir move");
	return 0;
}

int
mdir_move(struct mf_store *mst, struct mf_move_item *items, size_t n,
	  const char *dest, struct mf_err *err)
{
	struct mdir_store *st = (struct mdir_store *)mst;
	struct mdir_box *dst = NULL;
	bool rescanned = false;
	int ret = 0;
	size_t i;

	if (st->box == NULL)
		return mf_err_set(err, MF_E_INTERNAL,
				  "move: no mailbox "
				  "selected");
	if (st->readonly)
		return mf_err_set(err, MF_E_BOX,
				  "%s: move: selected "
				  "read-only",
				  st->box->name);
	if (strcmp(dest, st->box->name) == 0)
		return mf_err_set(err, MF_E_INTERNAL, "move: %s into itself",
				  dest);
	if (n == 0)
		return 0;
	if (mdir_box_open(st, dest, &dst, err) < 0)
		return mf_err_prefix(err, "move");
	if (dst->dev != st->box->dev) {
		mdir_box_unref(&dst);
		return mf_err_set(err, MF_E_BOX,
				  "move: %s and %s are on "
				  "different filesystems",
				  st->box->name, dest);
	}
	for (i = 0; i < n && ret == 0; i++) {
		struct mf_move_item *item = &items[i];

		item->status = 0;
		item->gone = false;
		item->new_uid = 0;
		item->new_key[0] = '\0';
		mf_err_clear(&item->err);
		if (item->key == NULL) {
			item->status = -1;
			mf_err_set(&item->err, MF_E_INTERNAL,
				   "move: item without key");
			continue;
		}
		ret = move_one(st, item, dst, &rescanned, err);
	}
	/* the destination first: a crash in between then leaves the file
	 * visible in both at worst, never in neither */
	if (ret == 0)
		ret = mdir_box_sync_dirs(st, dst, err);
	if (ret == 0)
		ret = mdir_box_sync_dirs(st, st->box, err);
	mdir_box_unref(&dst);
	return ret;
}

static int
relabel_one(struct mdir_store *st, struct mf_relabel_item *item,
	    struct mdir_box *from, bool *rescanned, struct mf_err *err)
{
	char to[MDIR_NAME_MAX + 1];
	struct mdir_ent *e;
	int tries, r = 0, fd;
	bool same = true;

	for (tries = 0; tries < 2; tries++) {
		char *now;

		if (mdir_find_key(st, item->key, tries > 0, rescanned, &e,
				  err) < 0)
			return -1;
		if (e == NULL) {
			item->gone = true;
			return 0;
		}
		now = mdir_kwmap_names(&st->box->kw, e->kw_letters);
		same = mf_kw_equal(now, item->expect);
		free(now);
		if (!same) {
			item->skipped = true;
			return 0;
		}
		if (mdir_name_translate(st, e, &from->kw, st->box, false, to,
					sizeof(to), &item->err) < 0) {
			item->status = -1;
			return 0;
		}
		if (strcmp(to, e->name) == 0)
			return 0;
		fd = e->in_new ? st->box->new_fd : st->box->cur_fd;
		r = renameat(fd, e->name, fd, to);
		/* ENOENT: renamed under us (a flag change): look again */
		if (r == 0 || errno != ENOENT)
			break;
	}
	if (r < 0) {
		item->status = -1;
		mf_err_sys(&item->err, MF_E_MSG, "rename %s", e->name);
		return 0;
	}
	if (e->in_new)
		st->box->dirty_new = true;
	else
		st->box->dirty_cur = true;
	mdir_index_rename(&st->idx, e, to, e->in_new);
	mf_test_step("maildir relabel");
	return 0;
}

int
mdir_relabel(struct mf_store *mst, struct mf_relabel_item *items, size_t n,
	     const char *from, struct mf_err *err)
{
	struct mdir_store *st = (struct mdir_store *)mst;
	struct mdir_box *src = NULL;
	bool rescanned = false;
	int ret = 0;
	size_t i;

	if (st->box == NULL)
		return mf_err_set(err, MF_E_INTERNAL,
				  "relabel: no mailbox "
				  "selected");
	if (st->readonly)
		return mf_err_set(err, MF_E_BOX,
				  "%s: relabel: selected "
				  "read-only",
				  st->box->name);
	if (n == 0)
		return 0;
	/* from's map as it is now: letters are only ever added to it */
	if (mdir_box_open(st, from, &src, err) < 0)
		return mf_err_prefix(err, "relabel");
	for (i = 0; i < n && ret == 0; i++) {
		struct mf_relabel_item *item = &items[i];

		item->status = 0;
		item->gone = item->skipped = false;
		mf_err_clear(&item->err);
		if (item->key == NULL) {
			item->status = -1;
			mf_err_set(&item->err, MF_E_INTERNAL,
				   "relabel: item without key");
			continue;
		}
		ret = relabel_one(st, item, src, &rescanned, err);
	}
	if (ret == 0)
		ret = mdir_box_sync_dirs(st, st->box, err);
	mdir_box_unref(&src);
	return ret;
}
