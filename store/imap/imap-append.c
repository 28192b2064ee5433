/*
 * Deliveries: deliver_begin() hands out a spool sink, deliver_flush() sends
 * one APPEND per finished spool into the selected mailbox, all pipelined.
 *
 * With LITERAL+ (or LITERAL- for small messages) each APPEND goes out in
 * one piece; otherwise the queue in imap-cmd.c sends the command line,
 * waits for "+", then the message, and the next APPEND follows without
 * waiting for the previous one's tagged OK.  Where the server offers
 * MULTIAPPEND (RFC 3502) the batch goes as one APPEND command instead
 * (imap-multiappend.c, which says how a refused batch is handled).
 * APPENDUID (RFC 4315) gives the new UID; without UIDPLUS it stays 0 and
 * the engine finds the message by its Message-ID later.
 *
 * deliver_abort_all() only drops spools: nothing reaches the wire before
 * deliver_flush(), and a flush always ends with every APPEND answered or
 * its connection given up (then the delivery's result is unknown, see
 * store.h).  select_box() aborts what is begun, since an APPEND names the
 * selected mailbox.
 */
#include "imap-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/testhook.h"
#include "base/xalloc.h"
#include "flags.h"

#define SPOOL_MEM_MAX (1024u * 1024u)

/* ---- spool ---------------------------------------------------------- */

struct imap_spool {
	struct mf_sink sink;
	char *mem;
	size_t len, cap;
	int fd; /* -1 while in memory */
	uint64_t size;
	bool finished, failed;
};

static int
open_tmp(struct mf_err *err)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	path = xasprintf("%s/mailferry-spool.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	else
		mf_err_sys(err, MF_E_STORE, "create spool file in %s", dir);
	free(path);
	return fd;
}

static int
spool_write(struct mf_sink *sink, const void *data, size_t len,
	    struct mf_err *err)
{
	struct imap_spool *sp = (struct imap_spool *)sink;

	if (sp->finished)
		return mf_err_set(err, MF_E_INTERNAL,
				  "spool: write after "
				  "finish");
	if (sp->fd < 0 && sp->len + len > SPOOL_MEM_MAX) {
		/* too big for memory: move to a temp file */
		sp->fd = open_tmp(err);
		if (sp->fd < 0)
			return -1;
		if (mf_write_all(sp->fd, sp->mem, sp->len) < 0)
			return mf_err_sys(err, MF_E_STORE, "write spool file");
		free(sp->mem);
		sp->mem = NULL;
		sp->len = sp->cap = 0;
	}
	if (sp->fd >= 0) {
		if (mf_write_all(sp->fd, data, len) < 0)
			return mf_err_sys(err, MF_E_STORE, "write spool file");
	} else {
		if (sp->len + len > sp->cap) {
			size_t cap = sp->cap ? sp->cap : 16 * 1024;

			while (cap < sp->len + len)
				cap *= 2;
			sp->mem = xrealloc(sp->mem, cap);
			sp->cap = cap;
		}
		memcpy(sp->mem + sp->len, data, len);
		sp->len += len;
	}
	sp->size += len;
	return 0;
}

static int
spool_finish(struct mf_sink *sink, struct mf_err *err)
{
	struct imap_spool *sp = (struct imap_spool *)sink;

	(void)err;
	sp->finished = true;
	return 0;
}

static const struct mf_sink_ops spool_ops = { spool_write, spool_finish };

struct imap_spool *
imap_spool_create(void)
{
	struct imap_spool *sp = xcalloc(1, sizeof(*sp));

	sp->sink.ops = &spool_ops;
	sp->fd = -1;
	return sp;
}

void
imap_spool_destroy(struct imap_spool **spp)
{
	struct imap_spool *sp = *spp;

	if (sp == NULL)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->mem);
	free(sp);
	*spp = NULL;
}

struct mf_sink *
imap_spool_sink(struct imap_spool *sp)
{
	return &sp->sink;
}

bool
imap_spool_finished(const struct imap_spool *sp)
{
	return sp->finished;
}

uint64_t
imap_spool_size(const struct imap_spool *sp)
{
	return sp->size;
}

void
imap_spool_data(const struct imap_spool *sp, const char **mem_r, int *fd_r)
{
	*mem_r = sp->fd < 0 ? (sp->mem != NULL ? sp->mem : "") : NULL;
	*fd_r = sp->fd;
}

int
imap_spool_copy(const struct imap_spool *sp, struct mf_sink *sink,
		struct mf_err *err)
{
	char buf[64 * 1024];
	uint64_t off = 0;

	if (sp->fd < 0)
		return sp->len ? mf_sink_write(sink, sp->mem, sp->len, err) : 0;
	while (off < sp->size) {
		ssize_t r = pread(sp->fd, buf, sizeof(buf), (off_t)off);

		if (r <= 0)
			return mf_err_sys(err, MF_E_STORE, "read spool file");
		if (mf_sink_write(sink, buf, (size_t)r, err) < 0)
			return -1;
		off += (uint64_t)r;
	}
	return 0;
}

/* ---- deliveries ----------------------------------------------------- */

int
imap_deliver_begin(struct mf_store *mst, struct mf_delivery *d,
		   struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	struct imap_spool *sp;

	if (imap_need_selected(st, "deliver", err) < 0)
		return -1;
	sp = imap_spool_create();
	d->key[0] = '\0';
	d->status = 0;
	d->uid = 0;
	mf_err_clear(&d->err);
	d->sink = &sp->sink;
	d->priv = sp;
	if (st->ndeliv == st->deliv_cap) {
		st->deliv_cap = st->deliv_cap ? st->deliv_cap * 2 : 64;
		st->deliv = xreallocarray(st->deliv, st->deliv_cap,
					  sizeof(*st->deliv));
	}
	st->deliv[st->ndeliv].d = d;
	st->deliv[st->ndeliv].sp = sp;
	st->ndeliv++;
	return 0;
}

void
imap_deliver_discard_all(struct imap_store *st)
{
	size_t i;

	for (i = 0; i < st->ndeliv; i++)
		imap_spool_destroy(&st->deliv[i].sp);
	st->ndeliv = 0;
}

/*
 * Nothing to take back from the server: begin only spools, and every
 * APPEND is sent and answered (or its connection lost) inside one
 * deliver_flush() call.  The caller's structs are still lent to us here,
 * so each is told.
 */
void
imap_deliver_abort_all(struct mf_store *mst)
{
	struct imap_store *st = imap_store_of(mst);
	size_t i;

	for (i = 0; i < st->ndeliv; i++) {
		struct mf_delivery *d = st->deliv[i].d;

		d->status = -1;
		mf_err_set(&d->err, MF_E_MSG, "delivery aborted");
		d->sink = NULL;
		d->priv = NULL;
	}
	imap_deliver_discard_all(st);
}

static void
append_tagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct mf_delivery *d = ctx;
	uint32_t uidvalidity, uid;

	if (cmd->status != IMAP_CMD_OK) {
		d->status = -1;
		mf_err_set(&d->err, MF_E_MSG, "APPEND: %s", cmd->text);
		return;
	}
	d->status = 0;
	/* [APPENDUID uidvalidity uid] (RFC 4315) */
	if (resp->ncode >= 3 && imap_arg_is_atom(&resp->code[0], "APPENDUID") &&
	    imap_arg_get_u32(&resp->code[1], &uidvalidity) &&
	    imap_arg_get_u32(&resp->code[2], &uid))
		d->uid = uid;
	mf_test_step("imap append");
}

bool
imap_appendable(struct imap_store *st, struct mf_delivery *d,
		const struct imap_spool *sp, char *flags, size_t size)
{
	uint64_t limit = imap_client_append_limit(st->client);

	d->status = -1;
	if (!imap_spool_finished(sp)) {
		mf_err_set(&d->err, MF_E_MSG,
			   "delivery not finished: discarded");
		return false;
	}
	/* sent, it would be refused after its bytes crossed the wire; kept
	 * out, it is reported and tried again next run (the limit may have
	 * been raised) */
	if (limit > 0 && imap_spool_size(sp) > limit) {
		mf_err_set(&d->err, MF_E_MSG,
			   "%llu bytes, over the server's APPENDLIMIT of %llu: "
			   "not copied",
			   (unsigned long long)imap_spool_size(sp),
			   (unsigned long long)limit);
		return false;
	}
	if (mf_flags_to_imap_list(d->flags & MF_FLAG_ALL, d->keywords, flags,
				  size) < 0) {
		mf_err_set(&d->err, MF_E_MSG, "too many keywords");
		return false;
	}
	d->status = 0;
	return true;
}

void
imap_append_add_message(struct imap_cmd *cmd, const struct imap_delivery *dv,
			const char *flags)
{
	char date[IMAP_DATE_SIZE];
	const char *mem;
	int fd;

	imap_cmd_printf(cmd, " (%s)", flags);
	if (dv->d->date > 0) {
		imap_date_format(dv->d->date, date);
		imap_cmd_printf(cmd, " \"%s\"", date);
	}
	imap_cmd_printf(cmd, " ");
	imap_spool_data(dv->sp, &mem, &fd);
	imap_cmd_add_literal(cmd, mem, fd, imap_spool_size(dv->sp));
}

/* Two finished deliveries or more, and a server that takes them at once. */
static bool
multiappend_wanted(const struct imap_store *st)
{
	size_t i, n = 0;

	if (!(st->caps & IMAP_CAP_MULTIAPPEND) || st->multiappend_refused)
		return false;
	for (i = 0; i < st->ndeliv && n < 2; i++)
		n += imap_spool_finished(st->deliv[i].sp);
	return n >= 2;
}

int
imap_deliver_flush(struct mf_store *mst, struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	struct imap_cmd **cmds;
	size_t i, n = st->ndeliv;
	int ret = 0, multi;

	if (n == 0)
		return 0;
	if (imap_need_selected(st, "deliver", err) < 0) {
		/* nothing sent: every delivery failed, none lent any more */
		imap_deliver_abort_all(mst);
		return -1;
	}
	cmds = xcalloc(n, sizeof(*cmds));
	/* 0: all sent and answered; 1: refused, nothing landed, go singly */
	multi = multiappend_wanted(st) ? imap_multiappend_flush(st, err) : 1;
	for (i = 0; multi > 0 && i < n; i++) {
		struct mf_delivery *d = st->deliv[i].d;
		char flags[IMAP_APPEND_FLAGS_MAX];

		if (!imap_appendable(st, d, st->deliv[i].sp, flags,
				     sizeof(flags)))
			continue;
		cmds[i] = imap_cmd_new(st->client);
		cmds[i]->tagged = append_tagged;
		cmds[i]->ctx = d;
		imap_cmd_printf(cmds[i], "APPEND ");
		imap_cmd_add_mailbox(cmds[i], st->sel_server);
		imap_append_add_message(cmds[i], &st->deliv[i], flags);
		imap_client_submit(st->client, cmds[i]);
	}
	if (multi < 0) {
		ret = -1;
	} else if (multi > 0 && imap_client_wait_all(st->client, err) < 0) {
		imap_store_fail(st, err);
		ret = -1;
	}
	/* an APPENDUID from a server that does not offer UIDPLUS (Dovecot
	 * with the capability hidden, or disabled in the configuration) is
	 * not relied on: the engine finds such messages by identity */
	if (!(st->caps & IMAP_CAP_UIDPLUS))
		for (i = 0; i < n; i++)
			st->deliv[i].d->uid = 0;
	for (i = 0; i < n; i++) {
		struct mf_delivery *d = st->deliv[i].d;

		/* sent, never answered: it may have landed (err's class is
		 * store-level, which store.h says means "unknown") */
		if (cmds[i] != NULL && cmds[i]->status == IMAP_CMD_PENDING) {
			d->status = -1;
			mf_err_copy(&d->err, err);
		}
		imap_cmd_free(&cmds[i]);
		d->sink = NULL;
		d->priv = NULL;
	}
	free(cmds);
	imap_deliver_discard_all(st);
	return ret;
}
