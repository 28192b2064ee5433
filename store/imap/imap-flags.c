/*
 * set_flags, remove and change: UID STORE grouped by identical change,
 * pipelined.
 *
 * Items asking for the same change (same sign, same flags and keywords,
 * same UNCHANGEDSINCE) share commands with ranged UID sets.  A conditional
 * STORE (RFC 7162 3.1.3) refused for some UIDs answers OK [MODIFIED set]:
 * those items get conflict = true and the engine rescans them.
 *
 * change: both, in that order, behind one wait (the server runs them in
 * order; each item is answered as by the two calls).
 *
 * remove: +FLAGS.SILENT (\Deleted), then UID EXPUNGE (RFC 4315) of exactly
 * those UIDs, pipelined behind the STOREs: one round trip, not two.  The
 * server runs them in order, and UID EXPUNGE removes only what carries
 * \Deleted among those UIDs, so a UID whose STORE failed is removed only
 * if it was flagged \Deleted already (and is reported failed: the next
 * run sees it gone, and it is one we were deleting).  Without UIDPLUS we
 * never send a plain EXPUNGE: it would also remove messages that another
 * client flagged \Deleted and meant to keep.
 */
#include "imap-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/testhook.h"
#include "base/xalloc.h"
#include "flags.h"

/* One change of one item. */
struct change {
	uint32_t uid;
	const char *spec; /* "+FLAGS.SILENT (\Seen kw)", "" */
	uint64_t unchangedsince;
	size_t item; /* index into the caller's array */
};

struct store_cmd {
	struct imap_cmd *cmd;
	size_t first, count; /* its range of the sorted changes */
	uint32_t *modified;  /* from [MODIFIED set], sorted */
	size_t nmodified, cap;
	bool modified_bad;
};

static int
cmp_change(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int c = strcmp(x->spec, y->spec);

	if (c != 0)
		return c;
	if (x->unchangedsince != y->unchangedsince)
		return x->unchangedsince < y->unchangedsince ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool
in_set(const uint32_t *set, size_t n, uint32_t uid)
{
	return n > 0 && mf_bsearch(&uid, set, n, sizeof(*set), cmp_u32) != NULL;
}

static void
store_tagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct store_cmd *sc = ctx;
	const char *s;

	(void)cmd;
	mf_test_step("imap store");
	/* [MODIFIED 7,9] (RFC 7162 3.1.3) */
	if (resp->ncode < 2 || !imap_arg_is_atom(&resp->code[0], "MODIFIED") ||
	    !imap_arg_get_atom(&resp->code[1], &s))
		return;
	if (!imap_seqset_collect(s, resp->code[1].len, &sc->modified,
				 &sc->nmodified, &sc->cap, 16u * 1024u * 1024u))
		sc->modified_bad = true;
	if (sc->nmodified > 1)
		mf_qsort(sc->modified, sc->nmodified, sizeof(uint32_t),
			 cmp_u32);
}

/*
 * Sort the changes and send one command per group of equal changes (UIDs
 * chunked) as "VERB set [(UNCHANGEDSINCE m)] spec", all pipelined; the
 * caller waits.  *scs_r has room for nch commands (one per change at most,
 * so the ctx pointers never move); the caller frees it with free_cmds().
 */
static void
submit_changes(struct imap_store *st, struct change *ch, size_t nch,
	       const char *verb, struct store_cmd **scs_r, size_t *nscs_r)
{
	struct store_cmd *scs = xcalloc(nch ? nch : 1, sizeof(*scs));
	uint32_t *uids = xcalloc(nch ? nch : 1, sizeof(*uids));
	size_t nscs = 0, i, j;

	mf_qsort(ch, nch, sizeof(*ch), cmp_change);
	for (i = 0; i < nch; i = j) {
		size_t nu = 0, pos = 0;

		for (j = i; j < nch && strcmp(ch[i].spec, ch[j].spec) == 0 &&
			    ch[i].unchangedsince == ch[j].unchangedsince;
		     j++)
			uids[nu++] = ch[j].uid;
		while (pos < nu) {
			struct mf_buf set;
			size_t start = pos, end = pos + 4 * IMAP_UIDS_PER_CMD;
			struct store_cmd *sc = &scs[nscs];

			mf_buf_init(&set, IMAP_SET_MAX_BYTES + 64);
			if (imap_uidset_append(&set, uids, end < nu ? end : nu,
					       &pos, IMAP_SET_MAX_BYTES) == 0) {
				mf_buf_deinit(&set);
				break;
			}
			nscs++;
			sc->first = i + start;
			sc->count = pos - start;
			sc->cmd = imap_cmd_new(st->client);
			sc->cmd->tagged = store_tagged;
			sc->cmd->ctx = sc;
			imap_cmd_printf(sc->cmd, "%s %s", verb, set.data);
			if (ch[i].unchangedsince != 0 && st->condstore &&
			    !st->sel_nomodseq)
				imap_cmd_printf(sc->cmd,
						" (UNCHANGEDSINCE "
						"%llu)",
						(unsigned long long)ch[i]
							.unchangedsince);
			if (ch[i].spec[0] != '\0')
				imap_cmd_printf(sc->cmd, " %s", ch[i].spec);
			mf_buf_deinit(&set);
			imap_client_submit(st->client, sc->cmd);
		}
	}
	free(uids);
	*scs_r = scs;
	*nscs_r = nscs;
}

/* Wait for every command submitted; a broken session ends the store. */
static int
wait_changes(struct imap_store *st, struct mf_err *err)
{
	int ret = imap_client_wait_all(st->client, err);

	if (ret < 0)
		imap_store_fail(st, err);
	return ret;
}

/* Items of the failed commands among scs get status -1 and the reason,
 * unless an earlier command failed them already. */
static void
fail_items(struct mf_remove_item *items, const struct change *ch,
	   const struct store_cmd *scs, size_t nscs, const char *what)
{
	size_t i, k;

	for (k = 0; k < nscs; k++) {
		if (scs[k].cmd->status == IMAP_CMD_OK)
			continue;
		for (i = scs[k].first; i < scs[k].first + scs[k].count; i++) {
			struct mf_remove_item *it = &items[ch[i].item];

			if (it->status != 0)
				continue;
			it->status = -1;
			mf_err_set(&it->err, MF_E_MSG, "UID %u: %s: %s",
				   it->uid, what, scs[k].cmd->text);
		}
	}
}

static void
free_cmds(struct store_cmd *scs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		imap_cmd_free(&scs[i].cmd);
		free(scs[i].modified);
	}
	free(scs);
}

static char *
flag_spec(char sign, unsigned flags, const char *kw)
{
	char list[8192];

	if (mf_flags_to_imap_list(flags & MF_FLAG_ALL, kw, list,
				  sizeof(list)) <= 0)
		return NULL;
	return xasprintf("%cFLAGS.SILENT (%s)", sign, list);
}

/* A set_flags in flight: submitted, its answers not yet read. */
struct flags_run {
	struct change *ch;
	char **specs;
	size_t nch, nspecs;
	struct store_cmd *scs;
	size_t nscs;
};

static void
flags_submit(struct imap_store *st, struct mf_flag_item *items, size_t n,
	     struct flags_run *fr)
{
	size_t i;

	fr->ch = xcalloc(2 * n + 1, sizeof(*fr->ch));
	fr->specs = xcalloc(2 * n + 1, sizeof(*fr->specs));
	fr->nch = fr->nspecs = 0;
	for (i = 0; i < n; i++) {
		struct mf_flag_item *it = &items[i];
		char *add = flag_spec('+', it->add, it->kw_add);
		char *del = flag_spec('-', it->del, it->kw_del);

		it->status = 0;
		it->conflict = it->gone = false;
		it->new_key[0] = '\0';
		mf_err_clear(&it->err);
		if (add != NULL) {
			fr->specs[fr->nspecs++] = add;
			fr->ch[fr->nch++] = (struct change){ it->uid, add,
							     it->unchangedsince,
							     i };
		}
		if (del != NULL) {
			fr->specs[fr->nspecs++] = del;
			fr->ch[fr->nch++] = (struct change){ it->uid, del,
							     it->unchangedsince,
							     i };
		}
	}
	submit_changes(st, fr->ch, fr->nch, "UID STORE", &fr->scs, &fr->nscs);
}

/* After the wait: each item's answer (ok true), then free the run. */
static void
flags_collect(struct mf_flag_item *items, struct flags_run *fr, bool ok)
{
	size_t i, k;

	for (k = 0; ok && k < fr->nscs; k++) {
		const struct store_cmd *sc = &fr->scs[k];

		for (i = sc->first; i < sc->first + sc->count; i++) {
			struct mf_flag_item *it = &items[fr->ch[i].item];

			if (sc->cmd->status != IMAP_CMD_OK) {
				it->status = -1;
				mf_err_set(&it->err, MF_E_MSG,
					   "UID %u: STORE: %s", it->uid,
					   sc->cmd->text);
			} else if (sc->modified_bad ||
				   in_set(sc->modified, sc->nmodified,
					  it->uid)) {
				it->conflict = true;
			}
		}
	}
	free_cmds(fr->scs, fr->nscs);
	for (i = 0; i < fr->nspecs; i++)
		free(fr->specs[i]);
	free(fr->specs);
	free(fr->ch);
}

int
imap_set_flags(struct mf_store *mst, struct mf_flag_item *items, size_t n,
	       struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	struct flags_run fr;
	int ret;

	if (imap_need_selected(st, "set_flags", err) < 0)
		return -1;
	flags_submit(st, items, n, &fr);
	ret = wait_changes(st, err);
	flags_collect(items, &fr, ret == 0);
	return ret;
}

/* A remove in flight. */
struct remove_run {
	struct change *ch, *xch;
	struct store_cmd *scs, *xscs;
	size_t nscs, nxscs;
	bool uid_expunge;
};

static void
remove_submit(struct imap_store *st, struct mf_remove_item *items, size_t n,
	      bool expunge, struct remove_run *rr)
{
	size_t i;

	memset(rr, 0, sizeof(*rr));
	rr->uid_expunge = expunge && (st->caps & IMAP_CAP_UIDPLUS);
	if (expunge && !rr->uid_expunge && !st->warned_no_uidplus) {
		mf_log(MF_LOG_NOTICE, MF_LOGC_IMAP,
		       "%s: the server "
		       "has no UIDPLUS, so messages are left flagged "
		       "\\Deleted instead of expunged (a plain EXPUNGE "
		       "would remove other clients' \\Deleted "
		       "messages too)",
		       st->base.name);
		st->warned_no_uidplus = true;
	}
	rr->ch = xcalloc(n + 1, sizeof(*rr->ch));
	for (i = 0; i < n; i++) {
		items[i].status = 0;
		items[i].gone = false;
		mf_err_clear(&items[i].err);
		rr->ch[i] = (struct change){ items[i].uid,
					     "+FLAGS.SILENT (\\Deleted)", 0,
					     i };
	}
	submit_changes(st, rr->ch, n, "UID STORE", &rr->scs, &rr->nscs);
	if (rr->uid_expunge) {
		rr->xch = xcalloc(n + 1, sizeof(*rr->xch));
		for (i = 0; i < n; i++)
			rr->xch[i] = (struct change){ items[i].uid, "", 0, i };
		submit_changes(st, rr->xch, n, "UID EXPUNGE", &rr->xscs,
			       &rr->nxscs);
	}
}

static void
remove_collect(struct mf_remove_item *items, struct remove_run *rr, bool ok)
{
	if (ok) {
		fail_items(items, rr->ch, rr->scs, rr->nscs, "STORE \\Deleted");
		if (rr->uid_expunge)
			fail_items(items, rr->xch, rr->xscs, rr->nxscs,
				   "UID EXPUNGE");
	}
	free_cmds(rr->scs, rr->nscs);
	free_cmds(rr->xscs, rr->nxscs);
	free(rr->ch);
	free(rr->xch);
}

int
imap_remove(struct mf_store *mst, struct mf_remove_item *items, size_t n,
	    bool expunge, struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	struct remove_run rr;
	int ret;

	if (imap_need_selected(st, "remove", err) < 0)
		return -1;
	if (n == 0)
		return 0;
	remove_submit(st, items, n, expunge, &rr);
	ret = wait_changes(st, err);
	remove_collect(items, &rr, ret == 0);
	return ret;
}

int
imap_change(struct mf_store *mst, struct mf_flag_item *flags, size_t nflags,
	    struct mf_remove_item *rm, size_t nrm, bool expunge,
	    const struct mf_scan_req *then, struct mf_scan_result **then_r,
	    struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	struct imap_scan_run *scan = NULL;
	struct flags_run fr;
	struct remove_run rr;
	struct mf_err serr = { 0 };
	int ret;

	if (then_r != NULL)
		*then_r = NULL;
	if (imap_need_selected(st, "change", err) < 0)
		return -1;
	flags_submit(st, flags, nflags, &fr);
	if (nrm > 0)
		remove_submit(st, rm, nrm, expunge, &rr);
	/* SINCE needs a SEARCH answered first: not behind the changes */
	if (then != NULL && then_r != NULL && then->since == 0)
		scan = imap_scan_submit(st, then);
	ret = wait_changes(st, err);
	flags_collect(flags, &fr, ret == 0);
	if (nrm > 0)
		remove_collect(rm, &rr, ret == 0);
	/* a scan that failed only leaves *then_r NULL (store.h) */
	if (scan != NULL &&
	    imap_scan_finish(&scan, ret == 0, then_r, &serr) < 0)
		mf_debug(MF_LOGC_IMAP, "%s: the scan behind the changes: %s",
			 st->sel_name, serr.msg);
	return ret;
}
