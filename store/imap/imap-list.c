/*
 * list_boxes: LIST with its STATUS in one round trip where the server has
 * LIST-STATUS (RFC 5819), else LIST followed by one pipelined STATUS per
 * selectable mailbox.  Roles come from SPECIAL-USE attributes (RFC 6154),
 * matched case-insensitively (some servers send "\archive").
 */
#include "imap-private.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"

struct entry {
	char *raw; /* server name, raw bytes */
	size_t raw_len;
	char *name; /* canonical; NULL: cannot be used (name_entries) */
	char delim;
	unsigned attrs;
	enum mf_role role;
	struct mf_box_status status;
};

struct list_ctx {
	struct imap_store *st;
	struct entry *v;
	size_t n, cap;
};

/*
 * The LIST sent with the session setup (imap_prelist_submit()), and what
 * it asked: imap_list_boxes() takes its answer only when a LIST sent
 * then would have been the same command and nothing was sent in between.
 */
struct imap_prelist {
	struct list_ctx lc;
	struct imap_cmd *cmd;
	bool special, list_status, modseq;
	unsigned tag_mark; /* imap_client_tags_used() at the mark; 0: none */
};

static struct entry *
find_raw(struct list_ctx *lc, const char *raw, size_t len)
{
	size_t i;

	for (i = 0; i < lc->n; i++)
		if (lc->v[i].raw_len == len &&
		    memcmp(lc->v[i].raw, raw, len) == 0)
			return &lc->v[i];
	return NULL;
}

/*
 * RFC 8474 section 7: "(" objectid ")", objectid = 1*255(ALPHA / DIGIT /
 * "_" / "-").  Anything else is ignored, never a protocol error: the id
 * is only evidence for a rename (sync/rename.h), and an unknown one just
 * leaves today's evidence, while refusing the line would fail the whole
 * listing or SELECT over a quirk.  Never stored half: a value that is not
 * an objectid could not be compared safely with a recorded one.
 */
bool
imap_objectid_get(const struct imap_arg *v, char out[MF_MAILBOXID_MAX + 1])
{
	const struct imap_arg *l;
	const char *a;
	size_t n, i;

	out[0] = '\0';
	if (!imap_arg_get_list(v, &l, &n) || n != 1 ||
	    !imap_arg_get_atom(&l[0], &a) || l[0].len == 0 ||
	    l[0].len > MF_MAILBOXID_MAX)
		return false;
	for (i = 0; i < l[0].len; i++) {
		char c = a[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	memcpy(out, a, l[0].len + 1);
	return true;
}

void
imap_status_items_parse(struct mf_box_status *s, const struct imap_arg *l,
			size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2) {
		const struct imap_arg *k = &l[i], *v = &l[i + 1];
		bool ok = true;

		if (imap_arg_is_atom(k, "MESSAGES"))
			ok = imap_arg_get_u32(v, &s->messages);
		else if (imap_arg_is_atom(k, "UIDNEXT"))
			ok = imap_arg_get_u32(v, &s->uidnext);
		else if (imap_arg_is_atom(k, "UIDVALIDITY"))
			ok = imap_arg_get_u32(v, &s->uidvalidity);
		else if (imap_arg_is_atom(k, "UNSEEN"))
			ok = imap_arg_get_u32(v, &s->unseen);
		else if (imap_arg_is_atom(k, "HIGHESTMODSEQ"))
			ok = imap_arg_get_u63(v, &s->highestmodseq);
		else if (imap_arg_is_atom(k, "MAILBOXID"))
			ok = imap_objectid_get(v, s->mailboxid);
		if (!ok)
			mf_debug(MF_LOGC_IMAP, "STATUS: bad value ignored");
	}
	/* no valid UIDVALIDITY: the counters are not worth recording, and
	 * the engine must SELECT, which refuses the folder if it is 0 there
	 * too; so 0 never reaches the state */
	if (s->uidvalidity == 0) {
		mf_debug(MF_LOGC_IMAP, "STATUS: no valid UIDVALIDITY; "
				       "status ignored");
		memset(s, 0, sizeof(*s));
		return;
	}
	s->has_status = true;
}

static bool
status_cb(struct list_ctx *lc, const struct imap_resp *resp)
{
	const struct imap_arg *l;
	const char *name;
	size_t len, n;
	struct entry *e;

	if (resp->count < 3 ||
	    !imap_arg_get_astring(&resp->args[1], &name, &len) ||
	    !imap_arg_get_list(&resp->args[2], &l, &n))
		return true;
	e = find_raw(lc, name, len);
	if (e == NULL)
		return true;
	imap_status_items_parse(&e->status, l, n);
	/* an id we did not ask for (no OBJECTID, or disabled) is not used */
	if (!(lc->st->caps & IMAP_CAP_OBJECTID))
		e->status.mailboxid[0] = '\0';
	return true;
}

static bool
list_untagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct list_ctx *lc = ctx;
	const struct imap_arg *attrs;
	const char *name, *d;
	size_t nattrs, len, dlen, i;
	struct entry *e;

	(void)cmd;
	if (resp->count >= 1 && imap_arg_is_atom(&resp->args[0], "STATUS"))
		return status_cb(lc, resp);
	if (resp->count < 4 || !imap_arg_is_atom(&resp->args[0], "LIST"))
		return false;
	if (!imap_arg_get_list(&resp->args[1], &attrs, &nattrs) ||
	    !imap_arg_get_astring(&resp->args[3], &name, &len))
		return true; /* malformed: ignore that line */
	if (find_raw(lc, name, len) != NULL)
		return true;
	if (lc->n == lc->cap) {
		lc->cap = lc->cap ? lc->cap * 2 : 32;
		lc->v = xreallocarray(lc->v, lc->cap, sizeof(*lc->v));
	}
	e = &lc->v[lc->n++];
	memset(e, 0, sizeof(*e));
	e->raw = xstrndup(name, len);
	e->raw_len = len;
	if (imap_arg_get_nstring(&resp->args[2], &d, &dlen) && d != NULL &&
	    dlen == 1)
		e->delim = d[0];
	for (i = 0; i < nattrs; i++) {
		const char *a;
		enum mf_role role;

		if (!imap_arg_get_atom(&attrs[i], &a))
			continue;
		if (imap_arg_is_atom(&attrs[i], "\\Noselect") ||
		    imap_arg_is_atom(&attrs[i], "\\NonExistent"))
			e->attrs |= MF_BOX_NOSELECT;
		else if (imap_arg_is_atom(&attrs[i], "\\Noinferiors"))
			e->attrs |= MF_BOX_NOINFERIORS;
		else if (imap_arg_is_atom(&attrs[i], "\\HasChildren"))
			e->attrs |= MF_BOX_HASCHILDREN;
		else if (imap_arg_is_atom(&attrs[i], "\\HasNoChildren"))
			e->attrs |= MF_BOX_HASNOCHILDREN;
		else if ((role = mf_role_from_name(a)) != MF_ROLE_NONE &&
			 role != MF_ROLE_INBOX && e->role == MF_ROLE_NONE)
			e->role = role;
	}
	return true;
}

static int
cmp_info(const void *a, const void *b)
{
	const struct mf_box_info *x = a, *y = b;
	bool xi = strcmp(x->name, "INBOX") == 0;
	bool yi = strcmp(y->name, "INBOX") == 0;

	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void
status_items(struct imap_store *st, bool modseq, struct imap_cmd *cmd)
{
	imap_cmd_printf(cmd, "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN%s%s)",
			modseq ? " HIGHESTMODSEQ" : "",
			(st->caps & IMAP_CAP_OBJECTID) ? " MAILBOXID" : "");
}

/* LIST "" "*", with RETURN (SPECIAL-USE STATUS (...)) where the server
 * can; the caller runs and frees it. */
static struct imap_cmd *
new_list_cmd(struct imap_store *st, struct list_ctx *lc, bool special,
	     bool list_status, bool modseq)
{
	struct imap_cmd *cmd = imap_cmd_new(st->client);

	cmd->untagged = list_untagged;
	cmd->ctx = lc;
	imap_cmd_printf(cmd, "LIST \"\" \"*\"");
	if (special || list_status) {
		imap_cmd_printf(cmd, " RETURN (%s%s",
				special ? "SPECIAL-USE" : "",
				special && list_status ? " " : "");
		if (list_status) {
			imap_cmd_printf(cmd, "STATUS ");
			status_items(st, modseq, cmd);
		}
		imap_cmd_printf(cmd, ")");
	}
	return cmd;
}

/* One STATUS per selectable mailbox, all in flight at once; a refused
 * one is logged (store_name) and leaves that status empty. */
static int
status_each(struct imap_store *st, struct list_ctx *lc, const char *store_name,
	    struct mf_err *err)
{
	struct imap_cmd **scmds;
	size_t i, nscmds = 0;
	int ret = 0;

	scmds = xcalloc(lc->n ? lc->n : 1, sizeof(*scmds));
	for (i = 0; i < lc->n; i++) {
		if ((lc->v[i].attrs & MF_BOX_NOSELECT) || lc->v[i].name == NULL)
			continue;
		scmds[nscmds] = imap_cmd_new(st->client);
		scmds[nscmds]->untagged = list_untagged;
		scmds[nscmds]->ctx = lc;
		imap_cmd_printf(scmds[nscmds], "STATUS ");
		imap_cmd_add_astring(scmds[nscmds], lc->v[i].raw,
				     lc->v[i].raw_len);
		imap_cmd_printf(scmds[nscmds], " ");
		status_items(st, st->condstore, scmds[nscmds]);
		imap_client_submit(st->client, scmds[nscmds++]);
	}
	if (imap_client_wait_all(st->client, err) < 0)
		ret = -1;
	for (i = 0; ret == 0 && i < nscmds; i++)
		if (scmds[i]->status != IMAP_CMD_OK)
			mf_log(MF_LOG_WARN, MF_LOGC_IMAP,
			       "%s: STATUS: "
			       "%s",
			       store_name, scmds[i]->text);
	for (i = 0; i < nscmds; i++)
		imap_cmd_free(&scmds[i]);
	free(scmds);
	return ret;
}

/*
 * Each listed mailbox's canonical name, before anything else is asked
 * about it: a name that cannot be represented or is unsafe (control
 * characters, "..") is logged once and left out, STATUS included.
 */
static void
name_entries(struct imap_store *st, struct list_ctx *lc)
{
	size_t i;

	for (i = 0; i < lc->n; i++) {
		struct entry *e = &lc->v[i];

		if (imap_name_from_server(st, e->raw, e->raw_len,
					  e->delim ? e->delim : st->delim,
					  &e->name) < 0)
			e->name = NULL;
	}
}

/* The listed mailboxes under canonical names, sorted (INBOX first); the
 * names move from lc into the list. */
static struct mf_box_list *
make_box_list(struct list_ctx *lc, bool status)
{
	struct mf_box_list *list = xcalloc(1, sizeof(*list));
	size_t i;

	list->v = xcalloc(lc->n ? lc->n : 1, sizeof(*list->v));
	for (i = 0; i < lc->n; i++) {
		struct entry *e = &lc->v[i];
		struct mf_box_info *info = &list->v[list->n];
		char *name = e->name;

		if (name == NULL)
			continue;
		e->name = NULL;
		/* the prefix itself ("INBOX." listed as "INBOX") is INBOX */
		info->name = name;
		info->role = strcmp(name, "INBOX") == 0 ? MF_ROLE_INBOX :
							  e->role;
		info->attrs = e->attrs;
		if (status)
			info->status = e->status;
		list->n++;
	}
	mf_qsort(list->v, list->n, sizeof(*list->v), cmp_info);
	return list;
}

/* two server names for one canonical name ("INBOX.INBOX" under an
 * "INBOX." prefix): keep the first, never merge two mailboxes */
static void
drop_same_names(struct mf_box_list *list, const char *store_name)
{
	size_t i, k;

	for (i = 1, k = 1; i < list->n; i++) {
		if (strcmp(list->v[i].name, list->v[k - 1].name) == 0) {
			mf_log(MF_LOG_WARN, MF_LOGC_IMAP,
			       "%s: two server "
			       "mailboxes map to '%s'; skipping one",
			       store_name, list->v[i].name);
			free(list->v[i].name);
			continue;
		}
		list->v[k++] = list->v[i];
	}
	if (list->n > 0)
		list->n = k;
}

static void
free_entries(struct list_ctx *lc)
{
	size_t i;

	for (i = 0; i < lc->n; i++) {
		free(lc->v[i].raw);
		free(lc->v[i].name);
	}
	free(lc->v);
	lc->v = NULL;
	lc->n = lc->cap = 0;
}

void
imap_prelist_submit(struct imap_store *st, uint64_t caps)
{
	struct imap_prelist *pl = xcalloc(1, sizeof(*pl));

	pl->lc.st = st;
	pl->special = (caps & IMAP_CAP_SPECIAL_USE) &&
		      (caps & IMAP_CAP_LIST_EXTENDED);
	pl->list_status = (caps & IMAP_CAP_LIST_STATUS) != 0;
	/* ENABLE CONDSTORE is in flight before it: HIGHESTMODSEQ is what
	 * the LIST would ask once it is answered (checked when taken) */
	pl->modseq = (caps & IMAP_CAP_CONDSTORE) != 0;
	pl->cmd = new_list_cmd(st, &pl->lc, pl->special, pl->list_status,
			       pl->modseq);
	imap_client_submit(st->client, pl->cmd);
	st->prelist = pl;
}

void
imap_prelist_mark(struct imap_store *st)
{
	if (st->prelist != NULL)
		st->prelist->tag_mark = imap_client_tags_used(st->client);
}

int
imap_prelist_settle(struct imap_store *st, struct mf_err *err)
{
	if (st->prelist == NULL)
		return 0;
	return imap_client_wait(st->client, st->prelist->cmd, err);
}

void
imap_prelist_free(struct imap_store *st)
{
	struct imap_prelist *pl = st->prelist;

	if (pl == NULL)
		return;
	st->prelist = NULL;
	imap_cmd_free(&pl->cmd);
	free_entries(&pl->lc);
	free(pl);
}

/*
 * The setup's LIST into *lc when it answers this request: 1 when taken,
 * 0 when there is none or it is not the one (sent with other options,
 * HIGHESTMODSEQ asked where ENABLE was refused, refused itself, or a
 * command ran since, so that its answer may be older than now), -1 when
 * the session broke.
 */
static int
take_prelist(struct imap_store *st, bool special, bool list_status,
	     struct list_ctx *lc, struct mf_err *err)
{
	struct imap_prelist *pl = st->prelist;
	bool same;

	if (pl == NULL)
		return 0;
	if (imap_client_wait(st->client, pl->cmd, err) < 0) {
		imap_prelist_free(st);
		return -1;
	}
	same = pl->tag_mark != 0 &&
	       pl->tag_mark == imap_client_tags_used(st->client) &&
	       pl->cmd->status == IMAP_CMD_OK && pl->special == special &&
	       pl->list_status == list_status && pl->modseq == st->condstore;
	mf_debug(MF_LOGC_IMAP, "LIST sent with the login: %s",
		 same ? "taken" : "not the one asked now, listing again");
	if (same) {
		*lc = pl->lc;
		pl->lc.v = NULL;
		pl->lc.n = pl->lc.cap = 0;
	}
	imap_prelist_free(st);
	return same ? 1 : 0;
}

int
imap_list_boxes(struct mf_store *mst, bool status, struct mf_box_list **list_r,
		struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	struct list_ctx lc = { .st = st };
	struct imap_cmd *cmd = NULL;
	struct mf_box_list *list;
	bool list_status = (st->caps & IMAP_CAP_LIST_STATUS) != 0;
	bool special = (st->caps & IMAP_CAP_SPECIAL_USE) &&
		       (st->caps & IMAP_CAP_LIST_EXTENDED);
	int ret = -1, took;

	*list_r = NULL;
	/* a LIST-STATUS answers a request without status too: the
	 * statuses are just not copied (make_box_list()) */
	took = take_prelist(st, special, list_status, &lc, err);
	if (took < 0)
		goto out;
	list_status = list_status && (status || took);
	if (!took) {
		cmd = new_list_cmd(st, &lc, special, list_status,
				   st->condstore);
		if (imap_client_run(st->client, cmd, MF_E_STORE, "LIST", err) <
		    0)
			goto out;
	}
	lc.st = st;
	name_entries(st, &lc);
	if (status && !list_status && status_each(st, &lc, mst->name, err) < 0)
		goto out;
	list = make_box_list(&lc, status);
	drop_same_names(list, mst->name);
	*list_r = list;
	ret = 0;
out:
	imap_cmd_free(&cmd);
	free_entries(&lc);
	if (ret < 0)
		imap_store_fail(st, err);
	return ret;
}
