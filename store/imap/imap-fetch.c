/*
 * scan (UIDs, flags, sizes, dates, modseqs, Message-IDs) and fetch
 * (message bodies streamed into sinks).
 *
 * Fetch design: items are grouped by what is asked (whole body, a byte
 * range, the header) and each group goes out as ranged UID FETCH commands
 * of up to IMAP_UIDS_PER_CMD UIDs, all pipelined.  When the parser meets a
 * literal it asks us for a sink (literal_cb): the FETCH list so far holds
 * the UID (Dovecot, like most servers, sends UID first), so the body
 * streams straight into that item's sink and is never held in memory.  A
 * server that sends BODY[] before UID gets a spool (memory, then a temp
 * file) that is copied into the right sink once the whole FETCH response
 * has told us its UID.  The sink is finished when the FETCH response is
 * complete.  Items whose UID never came back are reported gone.
 *
 * An item's sink failing (disk full) fails only that item: the wrapper sink
 * keeps reading so the connection stays in step.
 */
#include "imap-private.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"

/*
 * Bodies: no message is taken larger than IMAP_MAX_MESSAGE_SIZE, nor larger
 * than the RFC822.SIZE a scan of this mailbox reported for it plus
 * IMAP_SIZE_SLACK.  The slack is there because servers that store bare LF
 * may count RFC822.SIZE one way and send BODY[] with CRLF the other (or
 * the message was rewritten in between); a real difference is a few bytes
 * per line, a hostile one is gigabytes.  A body over its limit fails that
 * item before a byte reaches its sink; the literal is read and dropped to
 * keep the connection in step if it is at most IMAP_MAX_DISCARD bytes,
 * else the connection ends (MF_E_NET).  store/imap/QUIRKS.md, mailferry(1).
 */
#define IMAP_MAX_MESSAGE_SIZE (1ull << 30)
#define IMAP_SIZE_SLACK (64u * 1024u)
#define IMAP_MAX_DISCARD (64ull << 20)

/* VANISHED can name huge ranges; beyond this we say "rescan" instead */
#define MAX_VANISHED (4u * 1024u * 1024u)
#define MAX_SEARCH (16u * 1024u * 1024u)

/* ---- sizes the scans saw --------------------------------------------- */

struct size_entry {
	uint32_t uid;
	uint64_t size;
};

struct imap_size_memo {
	char *box; /* the server name it was scanned under */
	uint32_t uidvalidity;
	struct size_entry *v; /* sorted by uid, unique */
	size_t n, cap;
};

void
imap_size_memo_free(struct imap_size_memo **m)
{
	if (*m == NULL)
		return;
	free((*m)->box);
	free((*m)->v);
	free(*m);
	*m = NULL;
}

/* The memo if it belongs to the selected mailbox as it is now, else NULL. */
static struct imap_size_memo *
memo_of_selected(const struct imap_store *st)
{
	const struct imap_size_memo *m = st->sizes;

	if (m == NULL || st->sel_server == NULL ||
	    strcmp(m->box, st->sel_server) != 0 ||
	    m->uidvalidity != st->sel_status.uidvalidity)
		return NULL;
	return st->sizes;
}

static int
cmp_size_entry(const void *a, const void *b)
{
	const struct size_entry *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static long
memo_find(const struct imap_size_memo *m, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (m != NULL && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].uid == uid)
			return (long)mid;
		if (m->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Keep the sizes res reports (a size of 0 is "not asked"). */
static void
memo_note(struct imap_store *st, const struct mf_scan_result *res)
{
	struct imap_size_memo *m = memo_of_selected(st);
	size_t i, old;

	if (m == NULL) {
		imap_size_memo_free(&st->sizes);
		m = st->sizes = xcalloc(1, sizeof(*m));
		m->box = xstrdup(st->sel_server);
		m->uidvalidity = st->sel_status.uidvalidity;
	}
	old = m->n;
	for (i = 0; i < res->n; i++) {
		const struct mf_msg *msg = &res->msgs[i];
		long k;

		if (msg->size == 0)
			continue;
		k = memo_find(m, old, msg->uid);
		if (k >= 0) {
			m->v[k].size = msg->size;
			continue;
		}
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 256;
			m->v = xreallocarray(m->v, m->cap, sizeof(*m->v));
		}
		m->v[m->n].uid = msg->uid;
		m->v[m->n++].size = msg->size;
	}
	if (m->n > old)
		mf_qsort(m->v, m->n, sizeof(*m->v), cmp_size_entry);
}

/* The size a scan reported for uid in the selected mailbox; 0: unknown. */
static uint64_t
memo_size(const struct imap_store *st, uint32_t uid)
{
	const struct imap_size_memo *m = memo_of_selected(st);
	long k = m != NULL ? memo_find(m, m->n, uid) : -1;

	return k >= 0 ? m->v[k].size : 0;
}

/* ---- scan ----------------------------------------------------------- */

#define HAVE_FLAGS 0x01u
#define HAVE_SIZE 0x02u
#define HAVE_DATE 0x04u
#define HAVE_MODSEQ 0x08u
#define HAVE_MSGID 0x10u

struct scan_msg {
	struct mf_msg m;
	unsigned have;
};

struct scan_ctx {
	struct imap_store *st;
	const struct mf_scan_req *req;
	struct mf_scan_result *res;
	struct scan_msg *v;
	size_t n, cap;
	uint32_t *vanished;
	size_t nvanished, vcap;
	bool vanished_overflow, got_vanished;
	uint32_t *search;
	size_t nsearch, scap;
	bool search_bad;
	/* a FETCH whose UID item was not a valid nonzero number was seen;
	 * the first one's sequence number */
	bool bad_uid;
	uint32_t bad_uid_seq;
};

/* "<id@host>" from a Message-ID header block, or NULL. */
static const char *
extract_msgid(struct mf_arena *a, const char *s, size_t len)
{
	const char *lt = memchr(s, '<', len), *gt;

	if (lt == NULL)
		return NULL;
	gt = memchr(lt, '>', len - (size_t)(lt - s));
	if (gt == NULL || gt - lt > 1000)
		return NULL;
	return mf_arena_strndup(a, lt, (size_t)(gt - lt) + 1);
}

/*
 * One FETCH of the scan.  A FETCH without a UID item is someone else's
 * (another client changed flags): not ours, not an error.  One whose UID
 * item is not a valid nonzero number is claimed and remembered, and the
 * scan fails: dropped, that message would look deleted.  A RFC822.SIZE or
 * MODSEQ over 2^63-1 is not taken (as if not sent): the state could not
 * record it, and every run of the channel would stop on it.
 */
static bool
scan_fetch(struct scan_ctx *sc, uint32_t seq, const struct imap_arg *l,
	   size_t n)
{
	struct scan_msg sm = { 0 };
	bool has_uid = false;
	size_t i;

	sm.m.keywords = "";
	for (i = 0; i + 1 < n; i += 2) {
		const struct imap_arg *k = &l[i], *v = &l[i + 1];
		const char *key, *s;
		const struct imap_arg *sub;
		size_t nsub, len;

		if (!imap_arg_get_atom(k, &key))
			continue;
		if (strcasecmp(key, "UID") == 0) {
			has_uid = true;
			if (!imap_arg_get_u32(v, &sm.m.uid))
				sm.m.uid = 0;
		} else if (strcasecmp(key, "FLAGS") == 0 &&
			   imap_arg_get_list(v, &sub, &nsub)) {
			char *kw;

			imap_parse_flags(sub, nsub, &sm.m.flags, &kw);
			sm.m.keywords = kw[0] ? mf_arena_strdup(sc->res->arena,
								kw) :
						"";
			free(kw);
			sm.have |= HAVE_FLAGS;
		} else if (strcasecmp(key, "RFC822.SIZE") == 0 &&
			   imap_arg_get_u63(v, &sm.m.size)) {
			sm.have |= HAVE_SIZE;
		} else if (strcasecmp(key, "INTERNALDATE") == 0 &&
			   imap_arg_get_astring(v, &s, &len) &&
			   imap_date_parse(s, len, &sm.m.date)) {
			sm.have |= HAVE_DATE;
		} else if (strcasecmp(key, "MODSEQ") == 0 &&
			   imap_arg_get_list(v, &sub, &nsub) && nsub == 1 &&
			   imap_arg_get_u63(&sub[0], &sm.m.modseq)) {
			sm.have |= HAVE_MODSEQ;
		} else if (strncasecmp(key, "BODY[HEADER.FIELDS", 18) == 0) {
			if (imap_arg_get_nstring(v, &s, &len) && s != NULL)
				sm.m.msgid = extract_msgid(sc->res->arena, s,
							   len);
			sm.have |= HAVE_MSGID;
		}
	}
	if (!has_uid)
		return false; /* not ours (see above) */
	if (sm.m.uid == 0) {
		if (!sc->bad_uid)
			sc->bad_uid_seq = seq;
		sc->bad_uid = true;
		return true;
	}
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 256;
		sc->v = xreallocarray(sc->v, sc->cap, sizeof(*sc->v));
	}
	sc->v[sc->n++] = sm;
	return true;
}

static void
scan_vanished(struct scan_ctx *sc, const struct imap_resp *resp)
{
	const struct imap_arg *set = &resp->args[1];
	const char *s;
	size_t len;

	/* "* VANISHED (EARLIER) 1:3,7" or, unsolicited, "* VANISHED 4" */
	if (set->type == IMAP_ARG_LIST) {
		if (resp->count < 3)
			return;
		set = &resp->args[2];
	}
	if (!imap_arg_get_atom(set, &s))
		return;
	len = set->len;
	sc->got_vanished = true;
	if (!sc->vanished_overflow &&
	    !imap_seqset_collect(s, len, &sc->vanished, &sc->nvanished,
				 &sc->vcap, MAX_VANISHED))
		sc->vanished_overflow = true;
}

static bool
scan_untagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct scan_ctx *sc = ctx;
	const struct imap_arg *l;
	size_t n;
	uint32_t seq;

	(void)cmd;
	if (resp->count >= 2 && imap_arg_is_atom(&resp->args[0], "VANISHED")) {
		scan_vanished(sc, resp);
		return false; /* also for the store's bookkeeping */
	}
	if (resp->count >= 3 && imap_arg_get_u32(&resp->args[0], &seq) &&
	    imap_arg_is_atom(&resp->args[1], "FETCH") &&
	    imap_arg_get_list(&resp->args[2], &l, &n))
		return scan_fetch(sc, seq, l, n);
	return false;
}

static bool
search_untagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct scan_ctx *sc = ctx;
	size_t i;

	(void)cmd;
	if (resp->count >= 1 && imap_arg_is_atom(&resp->args[0], "SEARCH")) {
		for (i = 1; i < resp->count; i++) {
			uint32_t uid;

			if (!imap_arg_get_u32(&resp->args[i], &uid) ||
			    uid == 0) {
				sc->search_bad = true; /* not a UID */
				continue;
			}
			if (sc->nsearch >= MAX_SEARCH) {
				sc->search_bad = true;
				break;
			}
			if (sc->nsearch == sc->scap) {
				sc->scap = sc->scap ? sc->scap * 2 : 256;
				sc->search = xreallocarray(sc->search, sc->scap,
							   sizeof(uint32_t));
			}
			sc->search[sc->nsearch++] = uid;
		}
		return true;
	}
	if (resp->count >= 1 && imap_arg_is_atom(&resp->args[0], "ESEARCH")) {
		/* * ESEARCH (TAG "A5") UID ALL 1:3,5 */
		for (i = 1; i + 1 < resp->count; i++) {
			const char *s;

			if (!imap_arg_is_atom(&resp->args[i], "ALL") ||
			    !imap_arg_get_atom(&resp->args[i + 1], &s))
				continue;
			if (!imap_seqset_collect(s, resp->args[i + 1].len,
						 &sc->search, &sc->nsearch,
						 &sc->scap, MAX_SEARCH))
				sc->search_bad = true;
		}
		return true;
	}
	return false;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_scan(const void *a, const void *b)
{
	const struct scan_msg *x = a, *y = b;

	return x->m.uid < y->m.uid ? -1 : x->m.uid > y->m.uid;
}

static void
fetch_items(struct imap_store *st, const struct mf_scan_req *req,
	    struct imap_cmd *cmd)
{
	unsigned want = req->want;

	imap_cmd_printf(cmd, " (UID");
	if (want & MF_WANT_FLAGS)
		imap_cmd_printf(cmd, " FLAGS");
	if (want & MF_WANT_SIZE)
		imap_cmd_printf(cmd, " RFC822.SIZE");
	if ((want & MF_WANT_DATE) || req->since != 0)
		imap_cmd_printf(cmd, " INTERNALDATE");
	if ((want & MF_WANT_MODSEQ) && !st->sel_nomodseq)
		imap_cmd_printf(cmd, " MODSEQ");
	if (want & MF_WANT_MSGID)
		imap_cmd_printf(cmd, " BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]");
	imap_cmd_printf(cmd, ")");
	if (req->changedsince != 0 && !st->sel_nomodseq) {
		imap_cmd_printf(cmd, " (CHANGEDSINCE %llu%s)",
				(unsigned long long)req->changedsince,
				req->vanished && st->qresync ? " VANISHED" :
							       "");
	}
}

/* Merge duplicate UIDs (an unsolicited FETCH for a UID in the range). */
static size_t
merge_dups(struct scan_msg *v, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		struct scan_msg *d;

		if (o == 0 || v[o - 1].m.uid != v[i].m.uid) {
			v[o++] = v[i];
			continue;
		}
		d = &v[o - 1];
		if (v[i].have & HAVE_FLAGS) {
			d->m.flags = v[i].m.flags;
			d->m.keywords = v[i].m.keywords;
		}
		if (v[i].have & HAVE_SIZE)
			d->m.size = v[i].m.size;
		if (v[i].have & HAVE_DATE)
			d->m.date = v[i].m.date;
		if (v[i].have & HAVE_MODSEQ)
			d->m.modseq = v[i].m.modseq;
		if (v[i].have & HAVE_MSGID)
			d->m.msgid = v[i].m.msgid;
		d->have |= v[i].have;
	}
	return o;
}

static int
run_search(struct imap_store *st, struct scan_ctx *sc, struct mf_err *err)
{
	const struct mf_scan_req *req = sc->req;
	struct imap_cmd *cmd = imap_cmd_new(st->client);
	char date[IMAP_DATE_SIZE];
	int r;

	/* SINCE compares dates in the server's zone: ask one day early and
	 * filter by the exact INTERNALDATE afterwards */
	imap_search_date_format(req->since - 86400, date);
	cmd->untagged = search_untagged;
	cmd->ctx = sc;
	imap_cmd_printf(cmd, "UID SEARCH %s",
			(st->caps & IMAP_CAP_ESEARCH) ? "RETURN (ALL) " : "");
	if (req->uid_lo != 0 || req->uid_hi != 0)
		imap_cmd_printf(cmd, "UID %u:%u ",
				req->uid_lo ? req->uid_lo : 1,
				req->uid_hi ? req->uid_hi : UINT32_MAX);
	imap_cmd_printf(cmd, "SINCE %s", date);
	r = imap_client_run(st->client, cmd, MF_E_BOX, "UID SEARCH", err);
	imap_cmd_free(&cmd);
	if (r == 0 && sc->search_bad)
		r = mf_err_set(err, MF_E_BOX,
			       "UID SEARCH: malformed or "
			       "oversized answer");
	if (r == 0 && sc->nsearch > 1)
		mf_qsort(sc->search, sc->nsearch, sizeof(uint32_t), cmp_u32);
	return r;
}

/* UID FETCH commands for the UIDs run_search() found, submitted; each
 * covers at most 4 * IMAP_UIDS_PER_CMD UIDs and IMAP_SET_MAX_BYTES of
 * set.  The caller frees the *n_r commands and the array. */
static struct imap_cmd **
submit_found_fetches(struct imap_store *st, struct scan_ctx *sc, size_t *n_r)
{
	struct imap_cmd **cmds;
	size_t ncmds = 0, pos = 0;

	cmds = xcalloc(sc->nsearch / IMAP_UIDS_PER_CMD + 1, sizeof(*cmds));
	while (pos < sc->nsearch) {
		struct mf_buf set;
		size_t end = pos + 4 * IMAP_UIDS_PER_CMD;

		mf_buf_init(&set, IMAP_SET_MAX_BYTES + 64);
		if (end > sc->nsearch)
			end = sc->nsearch;
		if (imap_uidset_append(&set, sc->search, end, &pos,
				       IMAP_SET_MAX_BYTES) == 0) {
			mf_buf_deinit(&set);
			break;
		}
		cmds = xreallocarray(cmds, ncmds + 1, sizeof(*cmds));
		cmds[ncmds] = imap_cmd_new(st->client);
		cmds[ncmds]->untagged = scan_untagged;
		cmds[ncmds]->ctx = sc;
		imap_cmd_printf(cmds[ncmds], "UID FETCH %s", set.data);
		fetch_items(st, sc->req, cmds[ncmds]);
		imap_client_submit(st->client, cmds[ncmds++]);
		mf_buf_deinit(&set);
	}
	*n_r = ncmds;
	return cmds;
}

/* One UID FETCH lo:hi ("lo:*" when hi is UINT32_MAX), submitted; an
 * array of one command, *n_r = 1. */
static struct imap_cmd **
submit_range_fetch(struct imap_store *st, struct scan_ctx *sc, uint32_t lo,
		   uint32_t hi, size_t *n_r)
{
	struct imap_cmd **cmds = xcalloc(1, sizeof(*cmds));

	cmds[0] = imap_cmd_new(st->client);
	cmds[0]->untagged = scan_untagged;
	cmds[0]->ctx = sc;
	if (hi == UINT32_MAX)
		imap_cmd_printf(cmds[0], "UID FETCH %u:*", lo);
	else
		imap_cmd_printf(cmds[0], "UID FETCH %u:%u", lo, hi);
	fetch_items(st, sc->req, cmds[0]);
	imap_client_submit(st->client, cmds[0]);
	*n_r = 1;
	return cmds;
}

/* The messages fetched into sc->res, in UID order, one per UID. */
static void
take_asked(struct scan_ctx *sc, uint32_t lo, uint32_t hi)
{
	const struct mf_scan_req *req = sc->req;
	struct mf_scan_result *res = sc->res;
	size_t i, o;

	/* "n:*" also returns the last message when its UID < n (RFC 3501
	 * 6.4.8): keep only what was asked */
	for (i = 0, o = 0; i < sc->n; i++) {
		struct scan_msg *m = &sc->v[i];

		if (m->m.uid < lo || m->m.uid > hi)
			continue;
		if (req->since != 0 &&
		    (!(m->have & HAVE_DATE) || m->m.date < req->since))
			continue;
		sc->v[o++] = *m;
	}
	if (o > 1)
		mf_qsort(sc->v, o, sizeof(*sc->v), cmp_scan);
	o = merge_dups(sc->v, o);
	res->msgs = xcalloc(o ? o : 1, sizeof(*res->msgs));
	for (i = 0; i < o; i++)
		res->msgs[i] = sc->v[i].m;
	res->n = o;
}

/* Sorted, duplicates dropped; the new count. */
static size_t
sort_unique(uint32_t *v, size_t n)
{
	size_t i, o;

	if (n > 1)
		mf_qsort(v, n, sizeof(uint32_t), cmp_u32);
	for (i = 0, o = 0; i < n; i++)
		if (o == 0 || v[o - 1] != v[i])
			v[o++] = v[i];
	return o;
}

/*
 * A full listing (every UID, no date or modseq filter) must account for
 * every message the server says exists: a FETCH response we could not use
 * would otherwise read as a deletion.  When the count listed differs from
 * EXISTS, one UID SEARCH ALL settles it.  Every UID it names must have been
 * listed, except those at or above the UIDNEXT of the SELECT: mail that
 * arrived during the scan, which the next run lists.  A listed UID that
 * the search no longer names was expunged meanwhile; it stays listed,
 * which deletes nothing.  And the search must itself agree with EXISTS.
 */
static int
check_complete(struct imap_store *st, struct scan_ctx *sc, struct mf_err *err)
{
	const struct mf_scan_result *res = sc->res;
	uint32_t exists = st->exists, uidnext = st->sel_status.uidnext;
	struct imap_cmd *cmd = imap_cmd_new(st->client);
	size_t i, missing = 0, n;
	int r;

	cmd->untagged = search_untagged;
	cmd->ctx = sc;
	imap_cmd_printf(cmd, "UID SEARCH %sALL",
			(st->caps & IMAP_CAP_ESEARCH) ? "RETURN (ALL) " : "");
	r = imap_client_run(st->client, cmd, MF_E_BOX, "UID SEARCH ALL", err);
	imap_cmd_free(&cmd);
	if (r < 0)
		return mf_err_prefix(err, "%s", st->sel_name);
	if (sc->search_bad)
		return mf_err_set(err, MF_E_BOX,
				  "%s: UID SEARCH ALL: malformed or "
				  "oversized answer",
				  st->sel_name);
	n = sort_unique(sc->search, sc->nsearch);
	for (i = 0; i < n; i++)
		if (mf_msgs_find_uid(res->msgs, res->n, sc->search[i]) < 0 &&
		    (uidnext == 0 || sc->search[i] < uidnext))
			missing++;
	if (missing == 0 && n == st->exists) {
		mf_debug(MF_LOGC_IMAP,
			 "%s: %u EXISTS, %zu listed: the "
			 "UID list agrees",
			 st->sel_name, exists, res->n);
		return 0;
	}
	return mf_err_set(err, MF_E_BOX,
			  "%s: listing incomplete: %u EXISTS, %zu listed "
			  "(UID SEARCH ALL: %zu UIDs, %zu of them not listed)",
			  st->sel_name, exists, res->n, n, missing);
}

/* The VANISHED UIDs, sorted and unique, handed over to sc->res. */
static void
take_vanished(struct scan_ctx *sc)
{
	struct mf_scan_result *res = sc->res;
	size_t i, o;

	if (sc->nvanished > 1)
		mf_qsort(sc->vanished, sc->nvanished, sizeof(uint32_t),
			 cmp_u32);
	for (i = 0, o = 0; i < sc->nvanished; i++)
		if (o == 0 || sc->vanished[o - 1] != sc->vanished[i])
			sc->vanished[o++] = sc->vanished[i];
	res->vanished = sc->vanished;
	res->nvanished = o;
	res->vanished_valid = true;
	sc->vanished = NULL;
}

/* A range scan in flight (imap_scan_submit()). */
struct imap_scan_run {
	struct scan_ctx sc;
	const struct mf_scan_req *req;
	struct mf_scan_result *res;
	struct imap_cmd **cmds;
	size_t ncmds;
	uint32_t lo, hi;
};

struct imap_scan_run *
imap_scan_submit(struct imap_store *st, const struct mf_scan_req *req)
{
	struct imap_scan_run *run = xcalloc(1, sizeof(*run));

	run->req = req;
	run->sc.st = st;
	run->sc.req = req;
	run->lo = req->uid_lo ? req->uid_lo : 1;
	run->hi = req->uid_hi ? req->uid_hi : UINT32_MAX;
	run->res = xcalloc(1, sizeof(*run->res));
	run->res->arena = mf_arena_create(64 * 1024);
	if (st->sel_kw_permanent != NULL)
		run->res->kw_visible = mf_arena_strdup(run->res->arena,
						       st->sel_kw_permanent);
	run->sc.res = run->res;
	run->cmds = submit_range_fetch(st, &run->sc, run->lo, run->hi,
				       &run->ncmds);
	return run;
}

/* After the commands were waited for (waited: without a store failure):
 * the result, or -1; frees the run either way. */
int
imap_scan_finish(struct imap_scan_run **runp, bool waited,
		 struct mf_scan_result **res_r, struct mf_err *err)
{
	struct imap_scan_run *run = *runp;
	struct imap_store *st = run->sc.st;
	const struct mf_scan_req *req = run->req;
	struct scan_ctx *sc = &run->sc;
	size_t i;
	int ret = -1;

	*runp = NULL;
	*res_r = NULL;
	if (!waited)
		goto out;
	for (i = 0; i < run->ncmds; i++)
		if (run->cmds[i]->status != IMAP_CMD_OK) {
			mf_err_set(err, MF_E_BOX, "%s: UID FETCH: %s",
				   st->sel_name, run->cmds[i]->text);
			goto out;
		}
	if (sc->bad_uid) {
		mf_err_set(err, MF_E_BOX,
			   "%s: the FETCH response for message %u has "
			   "no valid UID",
			   st->sel_name, sc->bad_uid_seq);
		goto out;
	}
	take_asked(sc, run->lo, run->hi);
	memo_note(st, run->res);
	if (req->uid_lo == 0 && req->uid_hi == 0 && req->since == 0 &&
	    req->changedsince == 0 && run->res->n != st->exists &&
	    check_complete(st, sc, err) < 0)
		goto out;
	if (req->vanished && req->changedsince != 0 && st->qresync &&
	    !st->sel_nomodseq && !sc->vanished_overflow)
		take_vanished(sc);
	*res_r = run->res;
	run->res = NULL;
	ret = 0;
out:
	for (i = 0; i < run->ncmds; i++)
		imap_cmd_free(&run->cmds[i]);
	free(run->cmds);
	free(sc->v);
	free(sc->vanished);
	free(sc->search);
	mf_scan_result_free(&run->res);
	free(run);
	return ret;
}

/* The SEARCH SINCE form: the found UIDs, then their FETCH. */
static int
scan_since(struct imap_store *st, const struct mf_scan_req *req,
	   struct mf_scan_result **res_r, struct mf_err *err)
{
	struct imap_scan_run *run = xcalloc(1, sizeof(*run));
	bool ok;

	run->req = req;
	run->sc.st = st;
	run->sc.req = req;
	run->lo = req->uid_lo ? req->uid_lo : 1;
	run->hi = req->uid_hi ? req->uid_hi : UINT32_MAX;
	run->res = xcalloc(1, sizeof(*run->res));
	run->res->arena = mf_arena_create(64 * 1024);
	if (st->sel_kw_permanent != NULL)
		run->res->kw_visible = mf_arena_strdup(run->res->arena,
						       st->sel_kw_permanent);
	run->sc.res = run->res;
	ok = run_search(st, &run->sc, err) == 0;
	if (ok) {
		run->cmds = submit_found_fetches(st, &run->sc, &run->ncmds);
		ok = imap_client_wait_all(st->client, err) == 0;
		if (!ok)
			imap_store_fail(st, err);
	}
	return imap_scan_finish(&run, ok, res_r, err);
}

int
imap_scan(struct mf_store *mst, const struct mf_scan_req *req,
	  struct mf_scan_result **res_r, struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	struct imap_scan_run *run;
	bool ok;

	*res_r = NULL;
	if (imap_need_selected(st, "scan", err) < 0)
		return -1;
	if (req->since != 0)
		return scan_since(st, req, res_r, err);
	run = imap_scan_submit(st, req);
	ok = imap_client_wait_all(st->client, err) == 0;
	if (!ok)
		imap_store_fail(st, err);
	return imap_scan_finish(&run, ok, res_r, err);
}

/* ---- fetch ---------------------------------------------------------- */

enum section {
	SEC_FULL,    /* BODY[] */
	SEC_PARTIAL, /* BODY[]<offset> */
	SEC_HEADER,  /* BODY[HEADER] */
};

struct fitem;

/* Wraps an item's sink: counts, and turns a write error into an item
 * error so the stream stays in step. */
struct wrap_sink {
	struct mf_sink sink;
	struct fitem *fi;
};

struct fitem {
	struct mf_fetch_item *item;
	enum section sec;
	uint64_t offset;
	struct wrap_sink wrap;
	bool streaming, done, failed;
	struct imap_spool *spool; /* BODY[] before UID */
};

struct fetch_ctx {
	struct imap_store *st;
	struct fitem *fi;
	size_t n;
	struct fitem **index; /* sorted by (uid, sec, offset) */
	/* the literal of the current response when its UID came late */
	struct imap_spool *pending_spool;
	struct mf_sink discard;
	/* a literal too large to read past: its first write ends the
	 * connection (cut_uid 0: the UID was not known yet) */
	struct mf_sink cut;
	uint32_t cut_uid;
	uint64_t cut_size;
};

static int
wrap_write(struct mf_sink *sink, const void *data, size_t len,
	   struct mf_err *err)
{
	struct wrap_sink *w = (struct wrap_sink *)sink;
	struct fitem *fi = w->fi;

	(void)err;
	if (fi->failed)
		return 0;
	if (mf_sink_write(fi->item->sink, data, len, &fi->item->err) < 0) {
		fi->failed = true;
		return 0;
	}
	fi->item->bytes += len;
	return 0;
}

static int
wrap_finish(struct mf_sink *sink, struct mf_err *err)
{
	(void)sink;
	(void)err;
	return 0;
}

static const struct mf_sink_ops wrap_ops = { wrap_write, wrap_finish };

static int
discard_write(struct mf_sink *sink, const void *data, size_t len,
	      struct mf_err *err)
{
	(void)sink;
	(void)data;
	(void)len;
	(void)err;
	return 0;
}

static const struct mf_sink_ops discard_ops = { discard_write, wrap_finish };

static int
cut_write(struct mf_sink *sink, const void *data, size_t len,
	  struct mf_err *err)
{
	struct fetch_ctx *fc = (struct fetch_ctx *)((char *)sink -
						    offsetof(struct fetch_ctx,
							     cut));

	(void)data;
	(void)len;
	if (fc->cut_uid == 0)
		return mf_err_set(err, MF_E_NET,
				  "%s: the server sends a body of %llu "
				  "bytes, over the limit of %llu: closing "
				  "the connection",
				  fc->st->sel_name,
				  (unsigned long long)fc->cut_size,
				  (unsigned long long)IMAP_MAX_MESSAGE_SIZE);
	return mf_err_set(err, MF_E_NET,
			  "%s: UID %u: the server sends a body of %llu bytes, "
			  "too large to read and drop: closing the connection",
			  fc->st->sel_name, fc->cut_uid,
			  (unsigned long long)fc->cut_size);
}

static const struct mf_sink_ops cut_ops = { cut_write, wrap_finish };

/* The most bytes a body for fi may have (see the top of the file). */
static uint64_t
body_limit(const struct fetch_ctx *fc, const struct fitem *fi,
	   uint64_t *known_r)
{
	uint64_t lim = IMAP_MAX_MESSAGE_SIZE;
	uint64_t known = memo_size(fc->st, fi->item->uid);

	if (known != 0 && known < lim - IMAP_SIZE_SLACK)
		lim = known + IMAP_SIZE_SLACK;
	if (fi->sec == SEC_PARTIAL && fi->item->length != 0 &&
	    fi->item->length < lim)
		lim = fi->item->length;
	*known_r = known;
	return lim;
}

/*
 * fi's body is size bytes, over its limit: fi fails, before a byte of it
 * reaches its sink.  True if the body is too large to be read and dropped.
 */
static bool
refuse_body(struct fetch_ctx *fc, struct fitem *fi, uint64_t size, uint64_t lim,
	    uint64_t known)
{
	struct mf_fetch_item *it = fi->item;

	fi->done = true;
	it->status = -1;
	if (known != 0 && lim < IMAP_MAX_MESSAGE_SIZE)
		mf_err_set(&it->err, MF_E_MSG,
			   "%s: UID %u: the server sends %llu bytes for a "
			   "message it listed as %llu bytes; refused",
			   fc->st->sel_name, it->uid, (unsigned long long)size,
			   (unsigned long long)known);
	else
		mf_err_set(&it->err, MF_E_MSG,
			   "%s: UID %u: the server sends %llu bytes, over "
			   "the limit of %llu; refused",
			   fc->st->sel_name, it->uid, (unsigned long long)size,
			   (unsigned long long)lim);
	fc->cut_uid = it->uid;
	fc->cut_size = size;
	return size > IMAP_MAX_DISCARD;
}

static int
cmp_key(uint32_t uid, enum section sec, uint64_t off, const struct fitem *b)
{
	if (uid != b->item->uid)
		return uid < b->item->uid ? -1 : 1;
	if (sec != b->sec)
		return sec < b->sec ? -1 : 1;
	if (off != b->offset)
		return off < b->offset ? -1 : 1;
	return 0;
}

static int
cmp_fitem(const void *a, const void *b)
{
	const struct fitem *x = *(struct fitem *const *)a;
	const struct fitem *y = *(struct fitem *const *)b;

	return cmp_key(x->item->uid, x->sec, x->offset, y);
}

static struct fitem *
find_item(struct fetch_ctx *fc, uint32_t uid, enum section sec, uint64_t off)
{
	size_t lo = 0, hi = fc->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_key(uid, sec, off, fc->index[mid]);

		if (c == 0)
			return fc->index[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* "BODY[]", "BODY[]<100>", "BODY[HEADER]" -> section; false otherwise. */
static bool
parse_section(const char *key, enum section *sec_r, uint64_t *off_r)
{
	const char *lt;

	*off_r = 0;
	if (strncasecmp(key, "BODY[HEADER]", 12) == 0 && key[12] == '\0') {
		*sec_r = SEC_HEADER;
		return true;
	}
	if (strncasecmp(key, "BODY[]", 6) != 0)
		return false;
	if (key[6] == '\0') {
		*sec_r = SEC_FULL;
		return true;
	}
	if (key[6] != '<')
		return false;
	lt = strchr(key + 7, '>');
	if (lt == NULL || lt[1] != '\0' ||
	    !mf_str_to_u64(key + 7, (size_t)(lt - key - 7), off_r))
		return false;
	*sec_r = SEC_PARTIAL;
	return true;
}

static bool
find_uid(const struct imap_arg *l, size_t n, uint32_t *uid_r)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		if (imap_arg_is_atom(&l[i], "UID"))
			return imap_arg_get_u32(&l[i + 1], uid_r);
	return false;
}

static struct mf_sink *
literal_cb(void *ctx, const struct imap_resp *resp, const struct imap_arg *args,
	   size_t count, uint64_t size)
{
	struct fetch_ctx *fc = ctx;
	const char *key;
	enum section sec;
	uint64_t off;
	uint32_t uid;
	struct fitem *fi;
	uint64_t lim, known;

	if (resp->count < 2 || !imap_arg_is_atom(&resp->args[1], "FETCH") ||
	    count == 0 || count % 2 == 0 ||
	    !imap_arg_get_atom(&args[count - 1], &key) ||
	    !parse_section(key, &sec, &off))
		return NULL; /* small, kept in memory by the parser */
	if (!find_uid(args, count - 1, &uid)) {
		/* BODY[] before UID: keep it until the UID shows up */
		if (size > IMAP_MAX_MESSAGE_SIZE) {
			fc->cut_uid = 0;
			fc->cut_size = size;
			return &fc->cut;
		}
		imap_spool_destroy(&fc->pending_spool);
		fc->pending_spool = imap_spool_create();
		return imap_spool_sink(fc->pending_spool);
	}
	fi = find_item(fc, uid, sec, off);
	if (fi == NULL || fi->done || fi->streaming) {
		mf_debug(MF_LOGC_IMAP, "UID %u: unexpected body, discarded",
			 uid);
		fc->cut_uid = uid;
		fc->cut_size = size;
		return size > IMAP_MAX_DISCARD ? &fc->cut : &fc->discard;
	}
	lim = body_limit(fc, fi, &known);
	if (size > lim)
		return refuse_body(fc, fi, size, lim, known) ? &fc->cut :
							       &fc->discard;
	fi->streaming = true;
	fi->item->bytes = 0;
	return &fi->wrap.sink;
}

static void
finish_item(struct fitem *fi)
{
	struct mf_fetch_item *it = fi->item;

	fi->done = true;
	if (fi->failed) {
		it->status = -1;
		if (it->err.cls == MF_OK)
			it->err.cls = MF_E_MSG;
		return;
	}
	if (mf_sink_finish(it->sink, &it->err) < 0) {
		it->status = -1;
		return;
	}
	it->status = 0;
}

/* A body already read (spooled, in memory) over fi's limit fails fi. */
static bool
over_limit(struct fetch_ctx *fc, struct fitem *fi, uint64_t size)
{
	uint64_t known, lim = body_limit(fc, fi, &known);

	if (size <= lim)
		return false;
	(void)refuse_body(fc, fi, size, lim, known);
	return true;
}

static bool
fetch_untagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct fetch_ctx *fc = ctx;
	const struct imap_arg *l;
	size_t n, i;
	uint32_t uid, seq;
	bool mine = false;

	(void)cmd;
	if (resp->count < 3 || !imap_arg_get_u32(&resp->args[0], &seq) ||
	    !imap_arg_is_atom(&resp->args[1], "FETCH") ||
	    !imap_arg_get_list(&resp->args[2], &l, &n) ||
	    !find_uid(l, n, &uid)) {
		imap_spool_destroy(&fc->pending_spool);
		return false;
	}
	for (i = 0; i + 1 < n; i += 2) {
		const struct imap_arg *v = &l[i + 1];
		const char *key, *s;
		enum section sec;
		uint64_t off;
		size_t len;
		struct fitem *fi;

		if (!imap_arg_get_atom(&l[i], &key) ||
		    !parse_section(key, &sec, &off))
			continue;
		fi = find_item(fc, uid, sec, off);
		if (fi == NULL || fi->done)
			continue;
		mine = true;
		if (v->type == IMAP_ARG_LITERAL_SINK && fi->streaming) {
			finish_item(fi);
		} else if (v->type == IMAP_ARG_LITERAL_SINK &&
			   fc->pending_spool != NULL &&
			   over_limit(fc, fi,
				      imap_spool_size(fc->pending_spool))) {
			imap_spool_destroy(&fc->pending_spool);
		} else if (v->type == IMAP_ARG_LITERAL_SINK &&
			   fc->pending_spool != NULL) {
			fi->item->bytes = imap_spool_size(fc->pending_spool);
			if (imap_spool_copy(fc->pending_spool, fi->item->sink,
					    &fi->item->err) < 0)
				fi->failed = true;
			imap_spool_destroy(&fc->pending_spool);
			finish_item(fi);
		} else if (imap_arg_get_nstring(v, &s, &len) && s != NULL) {
			/* a small body as a quoted string or literal */
			if (over_limit(fc, fi, len))
				continue;
			if (mf_sink_write(fi->item->sink, s, len,
					  &fi->item->err) < 0)
				fi->failed = true;
			fi->item->bytes = len;
			finish_item(fi);
		} else {
			fi->done = true;
			fi->item->status = -1;
			mf_err_set(&fi->item->err, MF_E_MSG,
				   "UID %u: the "
				   "server sent no body (NIL)",
				   uid);
		}
	}
	imap_spool_destroy(&fc->pending_spool);
	return mine;
}

static void
section_spec(const struct fitem *fi, char *buf, size_t size)
{
	const struct mf_fetch_item *it = fi->item;

	switch (fi->sec) {
	case SEC_HEADER:
		snprintf(buf, size, "BODY.PEEK[HEADER]");
		break;
	case SEC_PARTIAL:
		snprintf(buf, size, "BODY.PEEK[]<%llu.%llu>",
			 (unsigned long long)it->offset,
			 (unsigned long long)(it->length ? it->length :
							   UINT32_MAX));
		break;
	case SEC_FULL:
		snprintf(buf, size, "BODY.PEEK[]");
		break;
	}
}

static int
cmp_group(const void *a, const void *b)
{
	const struct fitem *x = *(struct fitem *const *)a;
	const struct fitem *y = *(struct fitem *const *)b;

	/* same request spec together, then by UID */
	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->item->offset != y->item->offset)
		return x->item->offset < y->item->offset ? -1 : 1;
	if (x->item->length != y->item->length)
		return x->item->length < y->item->length ? -1 : 1;
	return x->item->uid < y->item->uid ? -1 : x->item->uid > y->item->uid;
}

static bool
same_spec(const struct fitem *x, const struct fitem *y)
{
	return x->sec == y->sec && x->item->offset == y->item->offset &&
	       x->item->length == y->item->length;
}

/* fi asks for item: the section its fields name, nothing fetched yet. */
static void
init_fitem(struct fitem *fi, struct mf_fetch_item *item)
{
	fi->item = item;
	item->status = -1;
	item->bytes = 0;
	item->gone = false;
	mf_err_clear(&item->err);
	fi->sec = item->header_only			 ? SEC_HEADER :
		  item->offset != 0 || item->length != 0 ? SEC_PARTIAL :
							   SEC_FULL;
	fi->offset = fi->sec == SEC_PARTIAL ? item->offset : 0;
	fi->wrap.sink.ops = &wrap_ops;
	fi->wrap.fi = fi;
}

/*
 * Submit UID FETCH commands for the nu UIDs that share spec_of's section,
 * at most IMAP_UIDS_PER_CMD UIDs and IMAP_SET_MAX_BYTES of set each.
 * The commands are appended to cmds (*ncmds grows); returns the array.
 */
static struct imap_cmd **
submit_spec_fetches(struct imap_store *st, struct fetch_ctx *fc,
		    const struct fitem *spec_of, const uint32_t *uids,
		    size_t nu, struct imap_cmd **cmds, size_t *ncmds)
{
	char spec[64];
	size_t k, pos = 0;

	section_spec(spec_of, spec, sizeof(spec));
	for (k = 0; pos < nu; k++) {
		struct mf_buf set;
		size_t end = pos + IMAP_UIDS_PER_CMD;
		struct imap_cmd *cmd;

		mf_buf_init(&set, IMAP_SET_MAX_BYTES + 64);
		if (imap_uidset_append(&set, uids, end < nu ? end : nu, &pos,
				       IMAP_SET_MAX_BYTES) == 0) {
			mf_buf_deinit(&set);
			break;
		}
		cmd = imap_cmd_new(st->client);
		cmd->untagged = fetch_untagged;
		cmd->ctx = fc;
		imap_cmd_printf(cmd, "UID FETCH %s (UID %s)", set.data, spec);
		mf_buf_deinit(&set);
		cmds = xreallocarray(cmds, *ncmds + 1, sizeof(*cmds));
		cmds[(*ncmds)++] = cmd;
		imap_client_submit(st->client, cmd);
	}
	return cmds;
}

/* Items the server never answered for are gone. */
static void
mark_gone(struct fetch_ctx *fc)
{
	size_t i;

	for (i = 0; i < fc->n; i++) {
		struct fitem *fi = &fc->fi[i];

		if (fi->done)
			continue;
		/* never came back: expunged meanwhile, or never existed */
		fi->item->gone = true;
		fi->item->status = -1;
		mf_err_set(&fi->item->err, MF_E_MSG,
			   "UID %u: no longer "
			   "exists",
			   fi->item->uid);
	}
}

/* The connection failed: what did not complete carries why (store.h). */
static void
unfinished(struct fetch_ctx *fc, const struct mf_err *err)
{
	size_t i;

	for (i = 0; i < fc->n; i++) {
		struct fitem *fi = &fc->fi[i];

		if (fi->done)
			continue;
		fi->item->status = -1;
		mf_err_copy(&fi->item->err, err);
	}
}

int
imap_fetch(struct mf_store *mst, struct mf_fetch_item *items, size_t n,
	   struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	struct fetch_ctx fc = { .st = st };
	struct fitem **order;
	struct imap_cmd **cmds = NULL;
	uint32_t *uids;
	size_t ncmds = 0, i, j;
	int ret = -1;

	if (imap_need_selected(st, "fetch", err) < 0)
		return -1;
	if (n == 0)
		return 0;
	fc.discard.ops = &discard_ops;
	fc.cut.ops = &cut_ops;
	fc.fi = xcalloc(n, sizeof(*fc.fi));
	fc.index = xcalloc(n, sizeof(*fc.index));
	order = xcalloc(n, sizeof(*order));
	uids = xcalloc(n, sizeof(*uids));
	for (i = 0; i < n; i++) {
		init_fitem(&fc.fi[i], &items[i]);
		fc.index[fc.n++] = &fc.fi[i];
		order[i] = &fc.fi[i];
	}
	mf_qsort(fc.index, fc.n, sizeof(*fc.index), cmp_fitem);
	mf_qsort(order, n, sizeof(*order), cmp_group);
	imap_client_set_literal_handler(st->client, literal_cb, &fc);
	for (i = 0; i < n; i = j) {
		size_t nu = 0;

		for (j = i; j < n && same_spec(order[i], order[j]); j++)
			uids[nu++] = order[j]->item->uid;
		cmds = submit_spec_fetches(st, &fc, order[i], uids, nu, cmds,
					   &ncmds);
	}
	if (imap_client_wait_all(st->client, err) < 0) {
		imap_store_fail(st, err);
		unfinished(&fc, err);
		goto out;
	}
	ret = 0;
	for (i = 0; i < ncmds; i++)
		if (cmds[i]->status == IMAP_CMD_BAD) {
			ret = mf_err_set(err, MF_E_BOX, "%s: UID FETCH: %s",
					 st->sel_name, cmds[i]->text);
			break;
		}
	mark_gone(&fc);
out:
	imap_client_set_literal_handler(st->client, NULL, NULL);
	imap_spool_destroy(&fc.pending_spool);
	for (i = 0; i < ncmds; i++)
		imap_cmd_free(&cmds[i]);
	free(cmds);
	free(uids);
	free(order);
	free(fc.index);
	free(fc.fi);
	return ret;
}
