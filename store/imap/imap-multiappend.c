/*
 * MULTIAPPEND (RFC 3502): a flush's deliveries in one APPEND command, so
 * the server stores them in one transaction (Dovecot: one fsync for the
 * batch instead of one per message, which is most of the time of a push
 * of small messages on loopback).
 *
 * The cost of MULTIAPPEND is that it is atomic (RFC 3502 section 6.3.11:
 * all messages are appended or none), so one message the server refuses
 * (a quota, a size, content it does not like) would fail the batch.  A
 * refused batch is therefore sent again one APPEND per message, so that
 * only the refused message fails, as without MULTIAPPEND; and the rest of
 * the session uses single APPENDs.  Sending again is only safe if nothing
 * of the batch landed, which the RFC promises but a careless server may
 * not keep: the mailbox's UIDNEXT is asked before (pipelined with the
 * APPEND: no round trip of its own) and after the refusal, and only an
 * unchanged UIDNEXT (UIDs only grow, RFC 3501 2.3.1.1) lets the batch go
 * again.  A UIDNEXT that moved makes the flush fail with the result of
 * every delivery unknown: the engine keeps them journaled and looks for
 * each by identity before copying it again (store.h, deliver_flush).
 *
 * APPENDUID (RFC 4315 section 3) then carries a UID set, in the order the
 * messages were sent; one that does not name exactly one UID per message,
 * ascending, is not used (every UID stays 0: found by identity).
 */
#include "imap-private.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/testhook.h"
#include "base/xalloc.h"

struct multi {
	struct imap_store *st;
	size_t *idx; /* st->deliv indexes in the command, in order */
	size_t n;
};

/* The UIDNEXT of a "* STATUS box (UIDNEXT n)" answer. */
static bool
status_untagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	uint32_t *uidnext = ctx, v;
	const struct imap_arg *l;
	size_t n, i;

	(void)cmd;
	if (resp->count < 3 || !imap_arg_is_atom(&resp->args[0], "STATUS") ||
	    !imap_arg_get_list(&resp->args[2], &l, &n))
		return false;
	for (i = 0; i + 1 < n; i += 2)
		if (imap_arg_is_atom(&l[i], "UIDNEXT") &&
		    imap_arg_get_u32(&l[i + 1], &v))
			*uidnext = v;
	return true;
}

static struct imap_cmd *
status_submit(struct imap_store *st, uint32_t *uidnext)
{
	struct imap_cmd *cmd = imap_cmd_new(st->client);

	*uidnext = 0;
	cmd->untagged = status_untagged;
	cmd->ctx = uidnext;
	imap_cmd_printf(cmd, "STATUS ");
	imap_cmd_add_mailbox(cmd, st->sel_server);
	imap_cmd_printf(cmd, " (UIDNEXT)");
	imap_client_submit(st->client, cmd);
	return cmd;
}

/* [APPENDUID uidvalidity uid-set] onto the deliveries, in order. */
static void
multi_tagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct multi *m = ctx;
	uint32_t uidvalidity, *uids = NULL;
	size_t nuids = 0, cap = 0, i;
	const char *set;
	bool ok;

	if (cmd->status != IMAP_CMD_OK)
		return;
	ok = resp->ncode >= 3 &&
	     imap_arg_is_atom(&resp->code[0], "APPENDUID") &&
	     imap_arg_get_u32(&resp->code[1], &uidvalidity) &&
	     imap_arg_get_atom(&resp->code[2], &set) &&
	     imap_seqset_collect(set, strlen(set), &uids, &nuids, &cap, m->n) &&
	     nuids == m->n;
	for (i = 1; ok && i < nuids; i++)
		ok = uids[i] > uids[i - 1];
	for (i = 0; i < m->n; i++) {
		struct mf_delivery *d = m->st->deliv[m->idx[i]].d;

		d->status = 0;
		d->uid = ok ? uids[i] : 0;
	}
	free(uids);
	mf_test_step("imap append");
}

/* The deliveries of m in one APPEND command, submitted. */
static struct imap_cmd *
multi_submit(struct multi *m, char (*flags)[IMAP_APPEND_FLAGS_MAX])
{
	struct imap_store *st = m->st;
	struct imap_cmd *cmd = imap_cmd_new(st->client);
	size_t i;

	cmd->tagged = multi_tagged;
	cmd->ctx = m;
	imap_cmd_printf(cmd, "APPEND ");
	imap_cmd_add_mailbox(cmd, st->sel_server);
	for (i = 0; i < m->n; i++)
		imap_append_add_message(cmd, &st->deliv[m->idx[i]], flags[i]);
	imap_client_submit(st->client, cmd);
	return cmd;
}

/* A refused batch, UIDNEXT before and after: may it go again singly? */
static int
refused(struct multi *m, struct imap_cmd *cmd, uint32_t before,
	struct mf_err *err)
{
	struct imap_store *st = m->st;
	struct imap_cmd *scmd;
	uint32_t after;
	int r;

	st->multiappend_refused = true;
	scmd = status_submit(st, &after);
	r = imap_client_wait_all(st->client, err);
	imap_cmd_free(&scmd);
	if (r < 0)
		return imap_store_fail(st, err);
	if (before != 0 && after == before) {
		mf_log(MF_LOG_INFO, MF_LOGC_IMAP,
		       "%s: MULTIAPPEND of %zu messages refused (%s): "
		       "sending them one by one",
		       st->sel_name, m->n, cmd->text);
		return 1;
	}
	return mf_err_set(err, MF_E_BOX,
			  "MULTIAPPEND of %zu messages refused (%s) and the "
			  "folder's UIDNEXT %s (%u, then %u): some may have "
			  "landed; they are looked for before being copied "
			  "again",
			  m->n, cmd->text,
			  before == 0 || after == 0 ? "is unknown" : "moved",
			  before, after);
}

/* Every delivery of the command: its result is not known. */
static void
unknown(struct multi *m, const struct mf_err *why)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct mf_delivery *d = m->st->deliv[m->idx[i]].d;

		d->status = -1;
		mf_err_copy(&d->err, why);
	}
}

int
imap_multiappend_flush(struct imap_store *st, struct mf_err *err)
{
	struct multi m = { .st = st };
	char(*flags)[IMAP_APPEND_FLAGS_MAX];
	struct imap_cmd *scmd, *cmd;
	uint32_t before;
	size_t i;
	int ret = 0;

	m.idx = xcalloc(st->ndeliv, sizeof(*m.idx));
	flags = xcalloc(st->ndeliv, sizeof(*flags));
	for (i = 0; i < st->ndeliv; i++)
		if (imap_appendable(st, st->deliv[i].d, st->deliv[i].sp,
				    flags[m.n], sizeof(flags[m.n])))
			m.idx[m.n++] = i;
	if (m.n == 0)
		goto out;
	scmd = status_submit(st, &before);
	cmd = multi_submit(&m, flags);
	if (imap_client_wait_all(st->client, err) < 0) {
		/* sent, never answered: unknown, as for a single APPEND */
		ret = imap_store_fail(st, err);
		unknown(&m, err);
	} else if (cmd->status != IMAP_CMD_OK) {
		ret = refused(&m, cmd, before, err);
		if (ret < 0)
			unknown(&m, err);
	}
	imap_cmd_free(&scmd);
	imap_cmd_free(&cmd);
out:
	free(m.idx);
	free(flags);
	return ret;
}
