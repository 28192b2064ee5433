/*
 * Delivery into a maildir: tmp/ -> durable -> rename -> directory fsync.
 *
 * deliver_begin() picks the unique name (the key) at once, so the engine
 * can journal it before a byte is written, and reserves it with an
 * O_CREAT|O_EXCL create of tmp/mailferry.<key> (MDIR_TMP_PREFIX: what lets
 * a later run tell a dead delivery of ours from another program's file).
 * The file is closed again right away
 * and reopened by the sink's first write, then closed by finish(): however
 * many deliveries are begun before a flush (500 is normal), only the one
 * being written holds a descriptor.  The sink turns canonical CRLF into the
 * bare LF maildir readers expect, through one fixed buffer, counting both
 * sizes as it goes.
 *
 * deliver_flush() then, for the whole batch:
 *   1. makes the contents durable: one syncfs() per file system on Linux
 *      (see below), an fsync() per file at finish() elsewhere;
 *   2. renames tmp/mailferry.<key> to new/<key>,S=<lf>,W=<crlf> (no flags
 *      and no keywords, like a delivery agent; Dovecot does the same) or to
 *      cur/<key>,S=<lf>,W=<crlf>:2,<letters>, keyword letters included
 *      (deliver_begin gave each keyword its dovecot-keywords letter);
 *   3. fsyncs each touched cur/ and new/ once.
 * Only after 3 is a rename durable; only after 1 may it happen at all, or a
 * power loss could leave a durable name pointing at lost data.
 *
 * Why one syncfs() is as good as an fsync() per file: syncfs(2) writes back
 * every dirty page and inode of the file system and waits for it, which
 * includes the data of every tmp file we wrote and closed before the call;
 * on a journalling file system that is one journal commit instead of one
 * per message.  Since Linux 5.8 it also reports writeback errors that
 * happened since the descriptor was opened (earlier kernels may return 0
 * after a failed writeback, as fsync() on a closed-and-reopened file may
 * too).  The directory fsyncs of step 3 stay: syncfs before the renames does
 * not cover them.
 *
 * With cfg->no_fsync steps 1 and 3 are skipped.  A delivery whose sink saw
 * no finish() is unlinked and reported "incomplete".  deliver_abort_all()
 * unlinks the tmp/ file of every delivery begun, finished or not.  Unfinished or failed
 * deliveries never reach new/ or cur/; a crash at any point leaves at most
 * a file in tmp/, which no scan reports and which the next read-write
 * select_box removes once its process is gone (mdir_tmp_clean()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/crlf.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/testhook.h"
#include "base/xalloc.h"
#include "mdir-name.h"
#include "mdir-private.h"

#define KEY_TRIES 5

struct mdir_dsink {
	struct mf_sink sink; /* first: the sink pointer is the object */
	struct mdir_store *st;
	struct mdir_box *box; /* a reference */
	struct mf_delivery *d;
	char key[sizeof(((struct mf_delivery *)0)->key)];
	/* in tmp/: MDIR_TMP_PREFIX + key, so a crash's leftovers are known
	 * as ours (mdir-name.h) */
	char tmp[MDIR_TMP_NAME_SIZE(sizeof(((struct mf_delivery *)0)->key))];
	int fd; /* open from the first write to finish */
	bool finished, failed;
	struct mf_err fail;	  /* why, when failed */
	struct mf_nl_state to_lf; /* CRLF -> LF across writes */
	struct mf_nl_state count; /* LF output -> canonical size */
	uint64_t lf_size, crlf_size;
	uint32_t kw_letters;
};

/* Deliveries made by this process, for the Q part of unique names. */
static unsigned long deliver_counter;

enum mf_err_class
mdir_errno_class(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case EIO:
	case EROFS:
		return MF_E_STORE;
	default:
		return MF_E_BOX;
	}
}

static int
sink_fail(struct mdir_dsink *ds, struct mf_err *err)
{
	ds->failed = true;
	if (ds->fd >= 0) {
		close(ds->fd);
		ds->fd = -1;
	}
	mf_err_copy(&ds->fail, err);
	return -1;
}

static int
sink_open(struct mdir_dsink *ds, struct mf_err *err)
{
	ds->fd = openat(ds->box->tmp_fd, ds->tmp, O_WRONLY | O_CLOEXEC);
	if (ds->fd < 0)
		return mf_err_sys(err, mdir_errno_class(errno), "open tmp/%s",
				  ds->tmp);
	return 0;
}

static int
dsink_write(struct mf_sink *sink, const void *data, size_t len,
	    struct mf_err *err)
{
	struct mdir_dsink *ds = (struct mdir_dsink *)sink;
	const char *in = data;
	char *out = ds->st->dbuf;

	if (ds->failed)
		return mf_err_copy(err, &ds->fail);
	if (ds->finished)
		return mf_err_set(err, MF_E_INTERNAL,
				  "write after finish to tmp/%s", ds->tmp);
	if (ds->fd < 0 && sink_open(ds, err) < 0)
		return sink_fail(ds, err);
	while (len > 0) {
		size_t piece = len < MDIR_IO_CHUNK ? len : MDIR_IO_CHUNK;
		size_t n = mf_to_lf(&ds->to_lf, in, piece, out);

		ds->lf_size += n;
		ds->crlf_size += n + mf_crlf_extra(&ds->count, out, n);
		if (mf_write_all(ds->fd, out, n) < 0) {
			mf_err_sys(err, mdir_errno_class(errno), "write tmp/%s",
				   ds->tmp);
			return sink_fail(ds, err);
		}
		in += piece;
		len -= piece;
	}
	return 0;
}

static int
dsink_finish(struct mf_sink *sink, struct mf_err *err)
{
	struct mdir_dsink *ds = (struct mdir_dsink *)sink;
	char tail[1];
	size_t n;

	if (ds->failed)
		return mf_err_copy(err, &ds->fail);
	if (ds->finished)
		return mf_err_set(err, MF_E_INTERNAL, "finish twice on tmp/%s",
				  ds->tmp);
	if (ds->fd < 0 && sink_open(ds, err) < 0)
		return sink_fail(ds, err);
	n = mf_to_lf_end(&ds->to_lf, tail);
	if (n > 0) {
		ds->lf_size += n;
		ds->crlf_size += n + mf_crlf_extra(&ds->count, tail, n);
		if (mf_write_all(ds->fd, tail, n) < 0) {
			mf_err_sys(err, mdir_errno_class(errno), "write tmp/%s",
				   ds->tmp);
			return sink_fail(ds, err);
		}
	}
	if (ds->d->date > 0) {
		/* maildir keeps the internal date in the file's mtime */
		struct timespec ts[2] = {
			{ .tv_sec = (time_t)ds->d->date, .tv_nsec = 0 },
			{ .tv_sec = (time_t)ds->d->date, .tv_nsec = 0 },
		};

		if (futimens(ds->fd, ts) < 0) {
			mf_err_sys(err, MF_E_BOX, "set date of tmp/%s",
				   ds->tmp);
			return sink_fail(ds, err);
		}
	}
#ifndef __linux__
	/* no syncfs here: make each file durable on its own */
	if (!ds->st->no_fsync && fsync(ds->fd) < 0) {
		mf_err_sys(err, mdir_errno_class(errno), "fsync tmp/%s",
			   ds->tmp);
		return sink_fail(ds, err);
	}
#endif
	if (close(ds->fd) < 0) {
		ds->fd = -1;
		mf_err_sys(err, mdir_errno_class(errno), "close tmp/%s",
			   ds->tmp);
		return sink_fail(ds, err);
	}
	ds->fd = -1;
	ds->finished = true;
	if (ds->d->size != 0 && ds->d->size != ds->crlf_size)
		mf_debug(MF_LOGC_MAILDIR,
			 "tmp/%s: %" PRIu64 " bytes, "
			 "announced %" PRIu64,
			 ds->tmp, ds->crlf_size, ds->d->size);
	return 0;
}

static const struct mf_sink_ops dsink_ops = {
	.write = dsink_write,
	.finish = dsink_finish,
};

static uint32_t
random32(long usec, unsigned long counter)
{
	uint32_t r;

	if (getentropy(&r, sizeof(r)) == 0)
		return r;
	/* no entropy: still differ per call (pid and time differ anyway) */
	return (uint32_t)((unsigned long)usec * 2654435761u ^ counter);
}

/* Pick a unique name and create tmp/<prefix><key> exclusively. */
static int
reserve_key(struct mdir_store *st, struct mdir_box *box, char *key, size_t size,
	    char *tmp, size_t tmp_size, struct mf_err *err)
{
	int tries, fd;

	for (tries = 0; tries < KEY_TRIES; tries++) {
		struct timeval tv;
		unsigned long q = ++deliver_counter;

		gettimeofday(&tv, NULL);
		if (mdir_name_make_key(key, size, (int64_t)tv.tv_sec,
				       (long)tv.tv_usec, getpid(), q,
				       random32((long)tv.tv_usec, q), st->host,
				       err) < 0)
			return -1;
		if (mdir_name_tmp(tmp, tmp_size, key, err) < 0)
			return -1;
		fd = openat(box->tmp_fd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			return mf_err_sys(err, mdir_errno_class(errno),
					  "%s: create tmp/%s", box->name, tmp);
	}
	return mf_err_set(err, MF_E_BOX,
			  "%s: no unique name in tmp/ after "
			  "%d tries",
			  box->name, KEY_TRIES);
}

int
mdir_deliver_begin(struct mf_store *mst, struct mf_delivery *d,
		   struct mf_err *err)
{
	struct mdir_store *st = (struct mdir_store *)mst;
	struct mdir_dsink *ds;
	char tmp[sizeof(ds->tmp)];

	if (st->box == NULL)
		return mf_err_set(err, MF_E_INTERNAL,
				  "deliver: no mailbox selected");
	if (st->readonly)
		return mf_err_set(err, MF_E_BOX,
				  "%s: deliver: selected "
				  "read-only",
				  st->box->name);
	/* a keyword that cannot get its letter now fails this message
	 * only (MF_E_MSG): the next sync delivers it again */
	if (mdir_box_kw_ensure(st, st->box, d->keywords, 0, err) < 0)
		return -1;
	if (reserve_key(st, st->box, d->key, sizeof(d->key), tmp, sizeof(tmp),
			err) < 0)
		return -1;
	if (st->dbuf == NULL)
		st->dbuf = xmalloc(MDIR_IO_CHUNK + 1);
	ds = xcalloc(1, sizeof(*ds));
	ds->sink.ops = &dsink_ops;
	ds->st = st;
	ds->box = mdir_box_ref(st->box);
	ds->d = d;
	memcpy(ds->key, d->key, sizeof(ds->key));
	memcpy(ds->tmp, tmp, sizeof(ds->tmp));
	ds->fd = -1;
	ds->kw_letters = mdir_kwmap_letters(&st->box->kw, d->keywords, NULL);
	if (st->npending == st->pending_cap) {
		st->pending_cap = st->pending_cap ? st->pending_cap * 2 : 64;
		st->pending = xreallocarray(st->pending, st->pending_cap,
					    sizeof(*st->pending));
	}
	st->pending[st->npending++] = ds;
	d->status = 0;
	mf_err_clear(&d->err);
	d->uid = 0;
	d->sink = &ds->sink;
	d->priv = ds;
	return 0;
}

static void
dsink_free(struct mdir_dsink *ds)
{
	if (ds->fd >= 0)
		close(ds->fd);
	mdir_box_unref(&ds->box);
	free(ds);
}

static void
fail_delivery(struct mdir_dsink *ds, const struct mf_err *why)
{
	ds->d->status = -1;
	mf_err_copy(&ds->d->err, why);
	unlinkat(ds->box->tmp_fd, ds->tmp, 0);
}

/*
 * At destroy: the caller may no longer hold its struct mf_delivery (store.h
 * lends it only until a flush), so only our own copy of the key is used.
 */
void
mdir_deliver_discard_all(struct mdir_store *st)
{
	size_t i;

	for (i = 0; i < st->npending; i++) {
		struct mdir_dsink *ds = st->pending[i];

		if (ds->fd >= 0) {
			close(ds->fd);
			ds->fd = -1;
		}
		unlinkat(ds->box->tmp_fd, ds->tmp, 0);
		dsink_free(ds);
	}
	st->npending = 0;
}

/*
 * Before a flush, while the caller's structs are still lent to us: tell
 * each it failed, then discard as at destroy.  A tmp/ file that cannot be
 * unlinked (the folder went away) is harmless: no scan reports tmp/, and
 * select_box removes old ones.
 */
void
mdir_deliver_abort_all(struct mf_store *mst)
{
	struct mdir_store *st = (struct mdir_store *)mst;
	size_t i;

	for (i = 0; i < st->npending; i++) {
		struct mf_delivery *d = st->pending[i]->d;

		d->status = -1;
		mf_err_set(&d->err, MF_E_MSG, "delivery aborted");
		d->sink = NULL;
		d->priv = NULL;
	}
	mdir_deliver_discard_all(st);
}

/*
 * Step 1: one syncfs per file system holding a finished delivery.  A
 * failure fails the deliveries on that file system.
 */
static int
sync_contents(struct mdir_store *st, struct mf_err *err)
{
#ifdef __linux__
	dev_t *done = xcalloc(st->npending, sizeof(*done));
	size_t ndone = 0, i, j;
	int ret = 0;

	for (i = 0; i < st->npending; i++) {
		struct mdir_dsink *ds = st->pending[i];
		struct mf_err serr = { 0 };

		if (!ds->finished)
			continue;
		for (j = 0; j < ndone && done[j] != ds->box->dev; j++)
			;
		if (j < ndone)
			continue;
		done[ndone++] = ds->box->dev;
		if (mf_syncfs(ds->box->tmp_fd, &serr) == 0)
			continue;
		mf_err_prefix(&serr, "%s", ds->box->name);
		ret = mf_err_copy(err, &serr);
		for (j = i; j < st->npending; j++) {
			struct mdir_dsink *o = st->pending[j];

			if (o->finished && o->box->dev == ds->box->dev) {
				o->finished = false;
				o->failed = true;
				mf_err_copy(&o->fail, &serr);
			}
		}
	}
	free(done);
	return ret;
#else
	(void)st;
	(void)err;
	return 0;
#endif
}

/* Step 2 for one delivery. */
static void
move_into_place(struct mdir_store *st, struct mdir_dsink *ds)
{
	char base[MDIR_NAME_MAX + 1], full[MDIR_NAME_MAX + 1];
	struct mf_delivery *d = ds->d;
	struct mdir_name pn;
	struct mf_err e = { 0 };
	unsigned flags = d->flags & MF_FLAG_ALL;
	bool to_new = flags == 0 && ds->kw_letters == 0;
	int dest_fd = to_new ? ds->box->new_fd : ds->box->cur_fd;
	int n;

	/* a placeholder says so in its name (mdir-name.h), where a scan
	 * finds it even when the state database is lost */
	if (d->placeholder_of != 0)
		n = snprintf(base, sizeof(base),
			     "%s,PH=%" PRIu64 ",S=%" PRIu64 ",W=%" PRIu64,
			     ds->key, d->placeholder_of, ds->lf_size,
			     ds->crlf_size);
	else
		n = snprintf(base, sizeof(base), "%s,S=%" PRIu64 ",W=%" PRIu64,
			     ds->key, ds->lf_size, ds->crlf_size);
	if (n < 0 || (size_t)n >= sizeof(base)) {
		mf_err_set(&e, MF_E_INTERNAL, "file name too long");
		fail_delivery(ds, &e);
		return;
	}
	if (to_new) {
		memcpy(full, base, (size_t)n + 1);
	} else {
		mdir_name_parse(base, (size_t)n, &pn);
		if (mdir_name_with_flags(&pn, flags, ds->kw_letters, full,
					 sizeof(full), &e) < 0) {
			fail_delivery(ds, &e);
			return;
		}
	}
	if (renameat(ds->box->tmp_fd, ds->tmp, dest_fd, full) < 0) {
		mf_err_sys(&e, mdir_errno_class(errno), "%s: rename tmp/%s",
			   ds->box->name, ds->tmp);
		fail_delivery(ds, &e);
		return;
	}
	if (to_new)
		ds->box->dirty_new = true;
	else
		ds->box->dirty_cur = true;
	if (ds->box == st->box && st->idx.valid)
		mdir_index_put(&st->idx, full, to_new);
	d->status = 0;
	mf_err_clear(&d->err);
	mf_test_step("maildir deliver");
}

int
mdir_deliver_flush(struct mf_store *mst, struct mf_err *err)
{
	struct mdir_store *st = (struct mdir_store *)mst;
	struct mf_err incomplete = { 0 };
	int ret = 0;
	size_t i, j;

	if (st->npending == 0)
		return 0;
	if (!st->no_fsync && sync_contents(st, err) < 0)
		ret = -1;
	mf_err_set(&incomplete, MF_E_MSG, "incomplete delivery (no finish)");
	for (i = 0; i < st->npending; i++) {
		struct mdir_dsink *ds = st->pending[i];

		if (ds->finished)
			move_into_place(st, ds);
		else if (ds->failed)
			fail_delivery(ds, &ds->fail);
		else
			fail_delivery(ds, &incomplete);
	}
	/* Step 3, once per folder; a failure makes no rename certain. */
	for (i = 0; i < st->npending; i++) {
		struct mdir_box *box = st->pending[i]->box;
		struct mf_err serr = { 0 };

		if (!box->dirty_cur && !box->dirty_new)
			continue;
		if (mdir_box_sync_dirs(st, box, &serr) == 0)
			continue;
		ret = mf_err_copy(err, &serr);
		for (j = 0; j < st->npending; j++) {
			struct mdir_dsink *o = st->pending[j];

			if (o->box == box && o->d->status == 0) {
				o->d->status = -1;
				mf_err_copy(&o->d->err, &serr);
			}
		}
	}
	for (i = 0; i < st->npending; i++) {
		st->pending[i]->d->sink = NULL;
		st->pending[i]->d->priv = NULL;
		dsink_free(st->pending[i]);
	}
	st->npending = 0;
	return ret;
}
