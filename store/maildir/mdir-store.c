/*
 * The Maildir store: struct mf_store over a directory tree.
 *
 * Message operations work on the selected folder through directory file
 * descriptors and the index of mdir-index.c (key -> current file name).
 * Maildir has no locks that other readers honour, so every operation that
 * touches a message by name is written for the file having been renamed or
 * removed by someone else since we looked:
 *
 *   look the key up; if the index does not know it and was not rebuilt
 *   during this call, rescan the folder once and look again;
 *   try the operation; on ENOENT the name is stale: rescan, look the key up
 *   again and retry once; not found -> the message is gone.
 *
 * A rescan costs a readdir of the folder, so "not in the index" rescans at
 * most once per call, while an ENOENT (proof that something changed under
 * us) always earns one.
 *
 * Durability of flag changes and removals: a rename or unlink is made
 * durable by an fsync of the directory, done once per set_flags() or
 * remove() call for each directory touched (not per message).  A crash
 * before it may lose the change, never the message: the old name then
 * survives and the next sync sees the old flags and applies them again.
 */
#include "mdir-store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/crlf.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/str.h"
#include "base/testhook.h"
#include "base/xalloc.h"
#include "flags.h"
#include "mdir-name.h"
#include "mdir-path.h"
#include "mdir-adopt.h"
#include "mdir-private.h"

static struct mdir_store *
mdir(struct mf_store *st)
{
	return (struct mdir_store *)st;
}

static int
need_box(struct mdir_store *st, const char *op, struct mf_err *err)
{
	if (st->box == NULL)
		return mf_err_set(err, MF_E_INTERNAL, "%s: no mailbox selected",
				  op);
	return 0;
}

static int
rescan(struct mdir_store *st, struct mf_err *err)
{
	if (mdir_index_scan(&st->idx, st->box->dir_fd, st->box->name, err) < 0)
		return mf_err_prefix(err, "%s", st->box->name);
	return 0;
}

/*
 * The entry for key: from the index, or after one rescan per call when the
 * index does not know it (*rescanned tracks the call), or after a forced
 * rescan when the caller just got ENOENT for the name it had.  *e_r is
 * NULL when the message is gone.  -1 only if the folder cannot be read.
 */
static int
find_key(struct mdir_store *st, const char *key, bool force, bool *rescanned,
	 struct mdir_ent **e_r, struct mf_err *err)
{
	struct mdir_ent *e = force ? NULL : mdir_index_find(&st->idx, key);

	if (e == NULL && (force || !*rescanned)) {
		if (rescan(st, err) < 0)
			return -1;
		*rescanned = true;
		e = mdir_index_find(&st->idx, key);
	}
	*e_r = e;
	return 0;
}

static int
sub_fd(const struct mdir_store *st, const struct mdir_ent *e)
{
	return e->in_new ? st->box->new_fd : st->box->cur_fd;
}

/* ---- select and scan ------------------------------------------------ */

static int
mdir_select_box(struct mf_store *mst, const char *name,
		const struct mf_select_req *req, struct mf_box_status *status_r,
		struct mf_err *err)
{
	struct mdir_store *st = mdir(mst);
	struct mdir_box *box;
	struct mf_err cerr = { 0 };
	unsigned stale = 0;

	if (mdir_box_open(st, name, &box, err) < 0)
		return -1;
	mdir_box_unref(&st->box);
	mdir_index_clear(&st->idx);
	st->box = box;
	st->readonly = req != NULL && req->readonly;
	/* what crashed or killed deliveries of ours left in tmp/ */
	if (!st->readonly && mdir_tmp_clean(box->dir_fd, st->host, time(NULL),
					    &st->started, &stale, &cerr) < 0)
		mf_log(MF_LOG_WARN, MF_LOGC_MAILDIR, "%s: %s", name, cerr.msg);
	if (status_r != NULL) {
		memset(status_r, 0, sizeof(*status_r));
		if (mdir_dir_token(box->dir_fd, &status_r->dir_token, err) < 0)
			return mf_err_prefix(err, "%s", name);
	}
	return 0;
}

static int
mdir_scan(struct mf_store *mst, const struct mf_scan_req *req,
	  struct mf_scan_result **res_r, struct mf_err *err)
{
	struct mdir_store *st = mdir(mst);
	struct mf_err kerr = { 0 };
	size_t i;

	if (need_box(st, "scan", err) < 0)
		return -1;
	/* Dovecot may have added keywords since we opened the folder */
	if (mdir_kwmap_load(&st->box->kw, st->box->dir_fd, &kerr) < 0)
		mf_log(MF_LOG_WARN, MF_LOGC_MAILDIR, "%s: %s", st->box->name,
		       kerr.msg);
	if (rescan(st, err) < 0)
		return -1;
	if (mdir_scan_result(&st->idx, st->box->cur_fd, st->box->new_fd,
			     &st->box->kw, req, res_r, err) < 0)
		return -1;
	/* another tool's UIDs in the names: only worth a look when some
	 * file carries one (an adopted mbsync or OfflineIMAP Maildir) */
	for (i = 0; i < (*res_r)->n; i++)
		if ((*res_r)->msgs[i].name_uid != 0)
			break;
	if (i < (*res_r)->n) {
		struct mdir_hints h;

		mdir_hints_load(&h, st->box->dir_fd, st->box->name);
		mdir_hints_apply(&h, &st->idx, *res_r);
		mdir_hints_free(&h);
	}
	return 0;
}

/* ---- fetch ---------------------------------------------------------- */

/*
 * Find the end of the header block in canonical bytes: the CRLF of the
 * first empty line, or the very first CRLF of a message with no header
 * fields.  *state carries across chunks (start it at 1: "at a line
 * start").  Returns the length of p up to and including the end, or
 * SIZE_MAX if it is not in p.
 */
static size_t
header_end(int *state, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = p[i];

		switch (*state) {
		case 1: /* at a line start */
			*state = c == '\r' ? 2 : c == '\n' ? 3 : 0;
			break;
		case 2: /* CR at a line start */
			*state = c == '\n' ? 3 : 0;
			break;
		default:
			*state = c == '\n' ? 1 : 0;
			break;
		}
		if (*state == 3)
			return i + 1;
	}
	return SIZE_MAX;
}

/* Write the part of out[0..n) at canonical offset pos that the item
 * wants. */
static int
emit(struct mf_fetch_item *item, uint64_t pos, const char *out, size_t n)
{
	uint64_t lo = item->offset, hi;
	uint64_t a, b;

	hi = item->length != 0 ? item->offset + item->length : UINT64_MAX;
	if (hi < lo)
		hi = UINT64_MAX; /* overflow: to the end */
	a = pos > lo ? pos : lo;
	b = pos + n < hi ? pos + n : hi;
	if (a >= b)
		return 0;
	if (mf_sink_write(item->sink, out + (a - pos), (size_t)(b - a),
			  &item->err) < 0)
		return -1;
	item->bytes += b - a;
	return 0;
}

/* Stream one open file into the item's sink as canonical bytes. */
static int
stream_file(struct mdir_store *st, int fd, struct mf_fetch_item *item,
	    const char *key)
{
	struct mf_nl_state nl = { 0 };
	uint64_t pos = 0;
	int hstate = 1;

	for (;;) {
		ssize_t n = read(fd, st->fbuf_in, MDIR_IO_CHUNK);
		size_t out_len, cut;
		bool last = false;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mf_err_sys(&item->err, MF_E_MSG, "read %s", key);
		if (n == 0)
			break;
		out_len = mf_to_crlf(&nl, st->fbuf_in, (size_t)n, st->fbuf_out);
		if (item->header_only) {
			cut = header_end(&hstate, st->fbuf_out, out_len);
			if (cut != SIZE_MAX) {
				out_len = cut;
				last = true;
			}
		}
		if (emit(item, pos, st->fbuf_out, out_len) < 0)
			return -1;
		pos += out_len;
		if (last ||
		    (item->length != 0 && pos >= item->offset + item->length))
			break;
	}
	return mf_sink_finish(item->sink, &item->err);
}

static bool
is_regular(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int
fetch_one(struct mdir_store *st, struct mf_fetch_item *item, bool *rescanned,
	  struct mf_err *err)
{
	struct mdir_ent *e;
	int fd = -1, tries;

	for (tries = 0; tries < 2; tries++) {
		if (find_key(st, item->key, tries > 0, rescanned, &e, err) < 0)
			return -1;
		if (e == NULL)
			break;
		/* never through a symlink: its target may be any file on
		 * the machine (outside the Maildir), and uploading it is
		 * not what a Maildir holds; the name stays listed, so a
		 * message synced before is not taken as deleted */
		fd = openat(sub_fd(st, e), e->name,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd >= 0 || errno != ENOENT)
			break;
	}
	if (e == NULL) {
		/* a failure all the same: the sink got nothing */
		item->status = -1;
		item->gone = true;
		mf_err_set(&item->err, MF_E_MSG, "message %s is gone",
			   item->key);
		return 0;
	}
	if (fd < 0) {
		item->status = -1;
		if (errno == ENOENT)
			mf_err_set(&item->err, MF_E_MSG,
				   "message %s keeps "
				   "being renamed; try again",
				   item->key);
		else if (errno == ELOOP)
			mf_err_set(&item->err, MF_E_MSG,
				   "%s is a symbolic link: not read (only "
				   "regular files are messages)",
				   e->name);
		else
			mf_err_sys(&item->err, MF_E_MSG, "open %s", e->name);
		return 0;
	}
	if (!is_regular(fd)) {
		close(fd);
		item->status = -1;
		mf_err_set(&item->err, MF_E_MSG,
			   "%s is not a regular file: not read", e->name);
		return 0;
	}
	if (stream_file(st, fd, item, item->key) < 0)
		item->status = -1;
	close(fd);
	return 0;
}

static int
mdir_fetch(struct mf_store *mst, struct mf_fetch_item *items, size_t n,
	   struct mf_err *err)
{
	struct mdir_store *st = mdir(mst);
	bool rescanned = false;
	size_t i;

	if (need_box(st, "fetch", err) < 0)
		return -1;
	if (st->fbuf_in == NULL) {
		st->fbuf_in = xmalloc(MDIR_IO_CHUNK);
		st->fbuf_out = xmalloc(2 * MDIR_IO_CHUNK);
	}
	for (i = 0; i < n; i++) {
		struct mf_fetch_item *item = &items[i];

		item->status = 0;
		item->bytes = 0;
		item->gone = false;
		mf_err_clear(&item->err);
		if (item->key == NULL || item->sink == NULL) {
			item->status = -1;
			mf_err_set(&item->err, MF_E_INTERNAL,
				   "fetch: item without key or sink");
			continue;
		}
		if (fetch_one(st, item, &rescanned, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- set_flags ------------------------------------------------------ */

/* The new name for e under item's changes. */
static int
flagged_name(struct mdir_store *st, const struct mdir_ent *e,
	     const struct mf_flag_item *item, char *buf, size_t size,
	     struct mf_err *ierr)
{
	const struct mdir_kwmap *kw = &st->box->kw;
	struct mdir_name pn;
	unsigned flags = (e->flags | item->add) & ~item->del & MF_FLAG_ALL;
	uint32_t letters = e->kw_letters;

	/* Removals first: names match without case, so one spelling
	 * removed and another added keeps the letter.  Keywords still
	 * without a letter were reported by mdir_box_kw_ensure; the engine
	 * keeps them in its state. */
	letters &= ~mdir_kwmap_letters(kw, item->kw_del, NULL);
	letters |= mdir_kwmap_letters(kw, item->kw_add, NULL);
	mdir_name_parse(e->name, strlen(e->name), &pn);
	return mdir_name_with_flags(&pn, flags, letters, buf, size, ierr);
}

/* Letters the selected folder's file names use but the map does not name:
 * someone else's, never to be handed out. */
static uint32_t
unnamed_letters(const struct mdir_store *st, const struct mdir_box *box)
{
	uint32_t used = 0;
	size_t i;

	if (box != st->box || !st->idx.valid)
		return 0;
	for (i = 0; i < st->idx.n; i++)
		if (st->idx.v[i].name != NULL)
			used |= st->idx.v[i].kw_letters;
	return used & ~mdir_kwmap_taken(&box->kw);
}

/* Log the keywords of overflow not yet reported for box; once each. */
static void
note_overflow(struct mdir_store *st, const struct mdir_box *box,
	      const char *overflow)
{
	char *fresh, *all, shown[512], bx[128];

	if (st->kw_noted_box == NULL ||
	    strcmp(st->kw_noted_box, box->name) != 0) {
		free(st->kw_noted_box);
		free(st->kw_noted);
		st->kw_noted_box = xstrdup(box->name);
		st->kw_noted = xstrdup("");
	}
	fresh = mf_kw_minus(overflow, st->kw_noted);
	if (fresh[0] != '\0') {
		mf_str_sanitize(bx, sizeof(bx), box->name, strlen(box->name));
		mf_str_sanitize(shown, sizeof(shown), fresh, strlen(fresh));
		mf_log(MF_LOG_NOTICE, MF_LOGC_MAILDIR,
		       "%s: all 26 "
		       "dovecot-keywords letters are taken; kept in the state "
		       "database only, not in file names: %s",
		       bx, shown);
		all = mf_kw_union(st->kw_noted, fresh);
		free(st->kw_noted);
		st->kw_noted = all;
	}
	free(fresh);
}

int
mdir_box_kw_ensure(struct mdir_store *st, struct mdir_box *box,
		   const char *keywords, uint32_t avoid, struct mf_err *err)
{
	char *overflow = NULL;

	if (keywords == NULL || keywords[0] == '\0')
		return 0;
	if (mdir_kwmap_ensure(&box->kw, box->dir_fd, box->name, keywords,
			      avoid | unnamed_letters(st, box), st->no_fsync,
			      &overflow, err) < 0) {
		err->cls = MF_E_MSG; /* only these messages wait */
		return -1;
	}
	if (overflow[0] != '\0')
		note_overflow(st, box, overflow);
	free(overflow);
	return 0;
}

static int
flags_one(struct mdir_store *st, struct mf_flag_item *item, bool *rescanned,
	  struct mf_err *err)
{
	char name[MDIR_NAME_MAX + 1];
	struct mdir_ent *e;
	int tries, r = -1;

	for (tries = 0; tries < 2; tries++) {
		if (find_key(st, item->key, tries > 0, rescanned, &e, err) < 0)
			return -1;
		if (e == NULL)
			break;
		if (flagged_name(st, e, item, name, sizeof(name), &item->err) <
		    0) {
			item->status = -1;
			return 0;
		}
		if (!e->in_new && strcmp(name, e->name) == 0)
			return 0; /* nothing to change */
		r = renameat(sub_fd(st, e), e->name, st->box->cur_fd, name);
		if (r == 0 || errno != ENOENT)
			break;
	}
	if (e == NULL) {
		item->gone = true; /* nothing to flag: not an error */
		return 0;
	}
	if (r < 0) {
		item->status = -1;
		if (errno == ENOENT)
			mf_err_set(&item->err, MF_E_MSG,
				   "message %s keeps "
				   "being renamed; try again",
				   item->key);
		else
			mf_err_sys(&item->err, MF_E_MSG, "rename %s", e->name);
		return 0;
	}
	st->box->dirty_cur = true;
	if (e->in_new)
		st->box->dirty_new = true;
	mdir_index_rename(&st->idx, e, name, false);
	mf_test_step("maildir flags");
	return 0;
}

static int
mdir_set_flags(struct mf_store *mst, struct mf_flag_item *items, size_t n,
	       struct mf_err *err)
{
	struct mdir_store *st = mdir(mst);
	struct mf_err kw_err = { 0 };
	bool rescanned = false, kw_failed;
	char *kw_all = NULL;
	size_t i;

	if (need_box(st, "set flags", err) < 0)
		return -1;
	if (st->readonly)
		return mf_err_set(err, MF_E_BOX,
				  "%s: set flags: selected "
				  "read-only",
				  st->box->name);
	/* letters for every new keyword at once: one file write at most */
	for (i = 0; i < n; i++) {
		char *next = mf_kw_union(kw_all, items[i].kw_add);

		free(kw_all);
		kw_all = next;
	}
	kw_failed = mdir_box_kw_ensure(st, st->box, kw_all, 0, &kw_err) < 0;
	free(kw_all);
	for (i = 0; i < n; i++) {
		struct mf_flag_item *item = &items[i];
		size_t unmapped = 0;

		item->status = 0;
		item->gone = false;
		item->conflict = false;
		item->new_key[0] = '\0';
		mf_err_clear(&item->err);
		if (kw_failed) {
			mdir_kwmap_letters(&st->box->kw, item->kw_add,
					   &unmapped);
			if (unmapped > 0) {
				item->status = -1;
				mf_err_copy(&item->err, &kw_err);
				continue;
			}
		}
		if (item->key == NULL) {
			item->status = -1;
			mf_err_set(&item->err, MF_E_INTERNAL,
				   "set flags: item without key");
			continue;
		}
		if (flags_one(st, item, &rescanned, err) < 0)
			return -1;
		/* the key never changes with the flags */
		if (strlen(item->key) < sizeof(item->new_key))
			memcpy(item->new_key, item->key, strlen(item->key) + 1);
	}
	return mdir_box_sync_dirs(st, st->box, err);
}

int
mdir_name_for_box(struct mdir_store *st, const struct mdir_ent *e,
		  struct mdir_box *dst, bool with_info, char *buf, size_t size,
		  struct mf_err *err)
{
	return mdir_name_translate(st, e, &st->box->kw, dst, with_info, buf,
				   size, err);
}

int
mdir_name_translate(struct mdir_store *st, const struct mdir_ent *e,
		    const struct mdir_kwmap *src, struct mdir_box *dst,
		    bool with_info, char *buf, size_t size, struct mf_err *err)
{
	struct mdir_name pn;
	uint32_t letters = e->kw_letters, unnamed;
	char *names;
	int ret = 0;

	mdir_name_parse(e->name, strlen(e->name), &pn);
	if (letters != 0) {
		names = mdir_kwmap_names(src, letters);
		unnamed = letters & ~mdir_kwmap_mask(src);
		/* the unnamed letters it keeps must not get a name there */
		if (mdir_box_kw_ensure(st, dst, names, unnamed, err) < 0)
			ret = -1;
		letters = mdir_kwmap_letters(&dst->kw, names, NULL) |
			  (unnamed & ~mdir_kwmap_taken(&dst->kw));
		free(names);
		if (ret < 0)
			return mf_err_prefix(err, "%s", dst->name);
	}
	if (letters == e->kw_letters && (pn.sep != '\0' || !with_info)) {
		if (strlen(e->name) >= size)
			return mf_err_set(err, MF_E_MSG, "name too long");
		memcpy(buf, e->name, strlen(e->name) + 1);
		return 0;
	}
	return mdir_name_with_flags(&pn, pn.flags, letters, buf, size, err);
}

/* ---- remove --------------------------------------------------------- */

static int
remove_one(struct mdir_store *st, struct mf_remove_item *item,
	   struct mdir_box *trash, bool *rescanned, struct mf_err *err)
{
	char name[MDIR_NAME_MAX + 1];
	struct mdir_ent *e;
	int tries, r = -1;

	for (tries = 0; tries < 2; tries++) {
		if (find_key(st, item->key, tries > 0, rescanned, &e, err) < 0)
			return -1;
		if (e == NULL)
			break;
		if (trash != NULL && !item->discard) {
			/* with info, and the letters the trash's names give */
			if (mdir_name_for_box(st, e, trash, true, name,
					      sizeof(name), &item->err) < 0) {
				item->status = -1;
				return 0;
			}
			r = renameat(sub_fd(st, e), e->name, trash->cur_fd,
				     name);
		} else {
			r = unlinkat(sub_fd(st, e), e->name, 0);
		}
		if (r == 0 || errno != ENOENT)
			break;
	}
	if (e == NULL) {
		item->gone = true; /* already gone: fine */
		return 0;
	}
	if (r < 0) {
		item->status = -1;
		if (errno == ENOENT)
			mf_err_set(&item->err, MF_E_MSG,
				   "message %s keeps "
				   "being renamed; try again",
				   item->key);
		else
			mf_err_sys(&item->err, MF_E_MSG, "remove %s", e->name);
		return 0;
	}
	if (e->in_new)
		st->box->dirty_new = true;
	else
		st->box->dirty_cur = true;
	if (trash != NULL && !item->discard)
		trash->dirty_cur = true;
	mdir_index_drop(&st->idx, e);
	mf_test_step("maildir remove");
	return 0;
}

/* The trash folder for remove(), created if missing; NULL: unlink. */
static int
open_trash(struct mdir_store *st, struct mdir_box **trash_r, struct mf_err *err)
{
	*trash_r = NULL;
	if (st->trash == NULL || strcmp(st->trash, st->box->name) == 0)
		return 0; /* removing from the trash itself: unlink */
	if (mdir_box_open(st, st->trash, trash_r, NULL) == 0)
		return 0;
	if (mdir_create_box(&st->base, st->trash, err) < 0 ||
	    mdir_box_open(st, st->trash, trash_r, err) < 0)
		return mf_err_prefix(err, "trash");
	return 0;
}

static int
mdir_remove(struct mf_store *mst, struct mf_remove_item *items, size_t n,
	    bool expunge, struct mf_err *err)
{
	struct mdir_store *st = mdir(mst);
	struct mdir_box *trash = NULL;
	bool rescanned = false;
	int ret = 0;
	size_t i;

	(void)expunge; /* a maildir has no \Deleted-then-expunge step */
	if (need_box(st, "remove", err) < 0)
		return -1;
	if (st->readonly)
		return mf_err_set(err, MF_E_BOX,
				  "%s: remove: selected "
				  "read-only",
				  st->box->name);
	if (n > 0 && open_trash(st, &trash, err) < 0)
		return -1;
	for (i = 0; i < n && ret == 0; i++) {
		struct mf_remove_item *item = &items[i];

		item->status = 0;
		item->gone = false;
		mf_err_clear(&item->err);
		if (item->key == NULL) {
			item->status = -1;
			mf_err_set(&item->err, MF_E_INTERNAL,
				   "remove: item without key");
			continue;
		}
		ret = remove_one(st, item, trash, &rescanned, err);
	}
	if (trash != NULL && ret == 0)
		ret = mdir_box_sync_dirs(st, trash, err);
	if (ret == 0)
		ret = mdir_box_sync_dirs(st, st->box, err);
	mdir_box_unref(&trash);
	return ret;
}

int
mdir_find_key(struct mdir_store *st, const char *key, bool force,
	      bool *rescanned, struct mdir_ent **e_r, struct mf_err *err)
{
	return find_key(st, key, force, rescanned, e_r, err);
}

/* ---- the store ------------------------------------------------------ */

static void
mdir_destroy(struct mf_store *mst)
{
	struct mdir_store *st = mdir(mst);

	mdir_deliver_discard_all(st);
	free(st->pending);
	mdir_box_unref(&st->box);
	mdir_index_deinit(&st->idx);
	free(st->dbuf);
	free(st->fbuf_in);
	free(st->fbuf_out);
	free(st->root);
	free(st->trash);
	free(st->kw_noted_box);
	free(st->kw_noted);
	free(st->base.name);
	free(st);
}

static const struct mf_store_ops mdir_ops = {
	.kind = "maildir",
	.list_boxes = mdir_list_boxes,
	.create_box = mdir_create_box,
	.delete_box = mdir_delete_box,
	.rename_box = mdir_rename_box,
	.select_box = mdir_select_box,
	.scan = mdir_scan,
	.fetch = mdir_fetch,
	.deliver_begin = mdir_deliver_begin,
	.deliver_flush = mdir_deliver_flush,
	.deliver_abort_all = mdir_deliver_abort_all,
	.set_flags = mdir_set_flags,
	.remove = mdir_remove,
	.move = mdir_move,
	.relabel = mdir_relabel,
	.destroy = mdir_destroy,
};

static char *
strip_root(const char *path)
{
	char *root = xstrdup(path);
	size_t len = strlen(root);

	while (len > 1 && root[len - 1] == '/')
		root[--len] = '\0';
	return root;
}

int
mdir_store_create(const struct mdir_store_cfg *cfg, struct mf_store **st_r,
		  struct mf_err *err)
{
	struct mdir_store *st;
	char host[256] = "";
	char *rel;

	if (cfg->path == NULL || cfg->path[0] == '\0')
		return mf_err_set(err, MF_E_CONFIG, "maildir: no path");
	if (cfg->layout != MDIR_LAYOUT_FS &&
	    cfg->layout != MDIR_LAYOUT_MAILDIRPP)
		return mf_err_set(err, MF_E_CONFIG, "maildir: bad layout %d",
				  (int)cfg->layout);
	if (cfg->trash != NULL) {
		if (mdir_path_from_box(cfg->layout, cfg->trash,
				       strlen(cfg->path), &rel, err) < 0)
			return mf_err_prefix(err, "maildir trash");
		free(rel);
	}
	if (!mf_path_is_dir(cfg->path)) {
		if (!cfg->create_root)
			return mf_err_set(err, MF_E_STORE,
					  "maildir %s does not exist",
					  cfg->path);
		if (mf_mkdir_p(cfg->path, 0700, err) < 0)
			return -1;
	}
	st = xcalloc(1, sizeof(*st));
	st->base.ops = &mdir_ops;
	st->base.caps = MF_CAP_DIR_TOKEN | MF_CAP_KEYWORDS;
	/* placeholders are marked in the file name (mdir-name.c); readdir
	 * races with a reader renaming new/ to cur/ */
	st->base.caps |= MF_CAP_PLACEHOLDERS | MF_CAP_SCAN_MAY_MISS;
	st->base.name = xstrdup(cfg->name != NULL ? cfg->name : "maildir");
	st->root = strip_root(cfg->path);
	st->layout = cfg->layout;
	st->no_fsync = cfg->no_fsync;
	st->tidy_tmp = cfg->tidy_tmp;
	st->trash = cfg->trash != NULL ? xstrdup(cfg->trash) : NULL;
	if (st->trash != NULL && mdir_box_is_inbox(st->trash)) {
		free(st->trash);
		st->trash = xstrdup("INBOX");
	}
	mdir_index_init(&st->idx);
	clock_gettime(CLOCK_REALTIME, &st->started);
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	mdir_name_escape_host(host, st->host, sizeof(st->host));
	*st_r = &st->base;
	return 0;
}
