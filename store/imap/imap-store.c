/*
 * The IMAP store: connecting and logging in (and again after a failure:
 * reconnect), mailbox names, SELECT, CREATE, DELETE, RENAME and IDLE.  The
 * bulk operations live in imap-list.c, imap-fetch.c, imap-append.c and
 * imap-flags.c.
 *
 * Connection set-up, in order (imap_store_create):
 *   1. TCP or tunnel; TLS at once for implicit TLS.
 *   2. Greeting.  With STARTTLS required: PREAUTH aborts (RFC 3501 6.2.1
 *      forbids STARTTLS then, and a PREAUTH in cleartext may be an
 *      attacker's); no STARTTLS capability aborts before any credentials;
 *      bytes after the tagged OK to STARTTLS are a response injection
 *      attack and abort; capabilities are read again over TLS and nothing
 *      said in cleartext (capabilities, alerts) is kept.
 *   3. Login (imap-auth.c) unless PREAUTH (a tunnel); capabilities again
 *      after login, from OK [CAPABILITY] or a CAPABILITY command.
 *   4. COMPRESS=DEFLATE (if configured), ID, ENABLE CONDSTORE QRESYNC
 *      UTF8=ACCEPT, NAMESPACE (or LIST "" "") for prefix and delimiter.
 */
#include "imap-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "flags.h"
#include "imap-auth.h"
#include "imap-conn.h"
#include "imap-store-ext.h"
#include "imap-utf7.h"

/* ---- small shared helpers ------------------------------------------- */

int
imap_store_fail(struct imap_store *st, struct mf_err *err)
{
	(void)st;
	if (err != NULL && !mf_err_is_store_level(err->cls))
		err->cls = MF_E_NET;
	return -1;
}

int
imap_need_selected(struct imap_store *st, const char *what, struct mf_err *err)
{
	if (st->sel_name == NULL)
		return mf_err_set(err, MF_E_INTERNAL, "%s: no mailbox selected",
				  what);
	return 0;
}

void
imap_cmd_add_mailbox(struct imap_cmd *cmd, const char *server_name)
{
	imap_cmd_add_astring(cmd, server_name, strlen(server_name));
}

void
imap_parse_flags(const struct imap_arg *list, size_t n, unsigned *flags_r,
		 char **keywords_r)
{
	struct mf_buf kw;
	unsigned flags = 0;
	size_t i;

	mf_buf_init(&kw, 64 * 1024);
	for (i = 0; i < n; i++) {
		const char *s;
		unsigned bit;

		if (!imap_arg_get_atom(&list[i], &s))
			continue;
		bit = mf_flag_from_imap(s, list[i].len);
		if (bit != 0) {
			flags |= bit;
			continue;
		}
		if (s[0] == '\\' || !mf_keyword_valid(s, list[i].len))
			continue; /* \Recent, \*, junk */
		if ((kw.len > 0 && mf_buf_append(&kw, " ", 1, NULL) < 0) ||
		    mf_buf_append(&kw, s, list[i].len, NULL) < 0)
			break; /* absurdly many: keep what fits */
	}
	*flags_r = flags;
	if (keywords_r != NULL)
		*keywords_r = mf_kw_normalize(kw.data ? kw.data : "");
	mf_buf_deinit(&kw);
}

bool
imap_seqset_collect(const char *s, size_t len, uint32_t **v, size_t *n,
		    size_t *cap, size_t max)
{
	const char *p = s, *end = s + len;
	uint32_t lo, hi;
	bool bad = false;

	while (imap_seqset_next(&p, end, &lo, &hi, &bad)) {
		uint64_t u;

		if ((uint64_t)hi - lo + 1 > max - *n)
			return false;
		for (u = lo; u <= hi; u++) {
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 64;
				*v = xreallocarray(*v, *cap, sizeof(**v));
			}
			(*v)[(*n)++] = (uint32_t)u;
		}
	}
	return !bad;
}

/* ---- names ---------------------------------------------------------- */

int
imap_name_to_server(const struct imap_store *st, const char *name,
		    char **server_r, struct mf_err *err)
{
	struct mf_buf b;
	const char *p;
	char *enc = NULL;

	*server_r = NULL;
	if (mf_str_ieq(name, "INBOX")) {
		*server_r = xstrdup("INBOX");
		return 0;
	}
	if (name[0] == '\0' || name[0] == '/' ||
	    name[strlen(name) - 1] == '/' || strstr(name, "//") != NULL)
		return mf_err_set(err, MF_E_BOX,
				  "mailbox name '%s': empty "
				  "level",
				  name);
	if (st->delim == 0 && strchr(name, '/') != NULL)
		return mf_err_set(err, MF_E_BOX,
				  "mailbox name '%s': the "
				  "server has no hierarchy",
				  name);
	if (st->delim != '/' && st->delim != 0 && strchr(name, st->delim))
		return mf_err_set(err, MF_E_BOX,
				  "mailbox name '%s' contains "
				  "the server's hierarchy delimiter '%c'",
				  name, st->delim);
	mf_buf_init(&b, 64 * 1024);
	if (mf_buf_append_str(&b, st->prefix ? st->prefix : "", err) < 0)
		goto fail;
	for (p = name; *p != '\0'; p++) {
		char c = *p == '/' ? st->delim : *p;

		if (mf_buf_append(&b, &c, 1, err) < 0)
			goto fail;
	}
	if (st->utf8) {
		*server_r = mf_buf_take(&b);
		return 0;
	}
	if (imap_utf7_encode(b.data, &enc) < 0) {
		mf_err_set(err, MF_E_BOX,
			   "mailbox name '%s' is not valid "
			   "UTF-8",
			   name);
		goto fail;
	}
	mf_buf_deinit(&b);
	*server_r = enc;
	return 0;
fail:
	mf_buf_deinit(&b);
	return -1;
}

static bool
valid_utf8(const char *s, size_t len)
{
	char *tmp = xstrndup(s, len), *enc = NULL;
	bool ok = strlen(tmp) == len && imap_utf7_encode(tmp, &enc) == 0;

	free(tmp);
	free(enc);
	return ok;
}

/*
 * Why a canonical name from the server must not be used, or NULL: a
 * control character (C0, DEL, C1: terminal escapes in every message that
 * shows the name, and no file name should hold one), or a level that is
 * empty, "." or ".." (a local directory outside its folder).
 */
static const char *
name_unsafe(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	const char *lv = name;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f ||
		    (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return "control character in name";
	}
	for (;;) {
		size_t n = strcspn(lv, "/");

		if (n == 0 || (n == 1 && lv[0] == '.') ||
		    (n == 2 && lv[0] == '.' && lv[1] == '.'))
			return "empty, \".\" or \"..\" level in name";
		if (lv[n] == '\0')
			return NULL;
		lv += n + 1;
	}
}

/* name (valid UTF-8) for a message: controls as \xHH, C1 as \u00HH, and
 * the backslash doubled, so the output shows what the name holds. */
static void
escape_name(char *dst, size_t size, const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t o = 0;

	for (; *p != '\0' && o + 8 < size; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(dst + o, size - o, "\\x%02x", *p);
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			o += (size_t)snprintf(dst + o, size - o, "\\u%04x",
					      p[1]);
			p++;
		} else if (*p == '\\') {
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else {
			dst[o++] = (char)*p;
		}
	}
	dst[o] = '\0';
}

/* A canonical name from the server that name_unsafe() refuses: logged,
 * freed, -1. */
static int
refuse_name(char **name_r, const char *clean, const char *why)
{
	char shown[300];

	escape_name(shown, sizeof(shown), *name_r);
	mf_log(MF_LOG_WARN, MF_LOGC_IMAP,
	       "skipping mailbox \"%s\" (server name '%s'): %s", shown, clean,
	       why);
	free(*name_r);
	*name_r = NULL;
	return -1;
}

int
imap_name_from_server(const struct imap_store *st, const char *raw, size_t len,
		      char delim, char **name_r)
{
	char clean[200], *dec = NULL, *p;
	const char *s, *why;
	size_t plen = st->prefix ? strlen(st->prefix) : 0;

	*name_r = NULL;
	mf_str_sanitize(clean, sizeof(clean), raw, len);
	if (st->utf8) {
		if (!valid_utf8(raw, len))
			goto skip_enc;
		dec = xstrndup(raw, len);
	} else if (imap_utf7_decode(raw, len, &dec) < 0) {
		goto skip_enc;
	}
	if (mf_str_ieq(dec, "INBOX")) {
		free(dec);
		*name_r = xstrdup("INBOX");
		return 0;
	}
	s = dec;
	/* Courier, Cyrus: "INBOX.Sent" is "Sent" (added back on the way
	 * out).  INBOX is case-insensitive (RFC 3501 5.1). */
	if (plen > 0 && strlen(dec) > plen &&
	    strncasecmp(dec, st->prefix, plen) == 0)
		s = dec + plen;
	if (delim != '/' && strchr(s, '/') != NULL) {
		mf_log(MF_LOG_WARN, MF_LOGC_IMAP,
		       "skipping mailbox '%s': "
		       "'/' in a name on a server whose delimiter is '%c' "
		       "cannot be represented",
		       clean, delim ? delim : ' ');
		free(dec);
		return -1;
	}
	*name_r = xstrdup(s);
	free(dec);
	if (delim != 0 && delim != '/')
		for (p = *name_r; *p != '\0'; p++)
			if (*p == delim)
				*p = '/';
	why = name_unsafe(*name_r);
	if (why != NULL)
		return refuse_name(name_r, clean, why);
	return 0;
skip_enc:
	mf_log(MF_LOG_WARN, MF_LOGC_IMAP,
	       "skipping mailbox '%s': name is "
	       "not valid %s",
	       clean, st->utf8 ? "UTF-8" : "modified UTF-7 (RFC 3501 5.1.3)");
	free(dec);
	return -1;
}

/* ---- unsolicited responses ------------------------------------------ */

/*
 * "* VANISHED 3:5,9" without (EARLIER) stands for one EXPUNGE per UID
 * (RFC 7162 3.2.10): the message count drops by as many.  The scan checks
 * its full listings against that count (imap-fetch.c).
 */
static void
vanished_now(struct imap_store *st, const struct imap_arg *set)
{
	const char *s, *end;
	uint32_t lo, hi;
	bool bad;

	if (!imap_arg_get_atom(set, &s))
		return;
	end = s + set->len;
	while (imap_seqset_next(&s, end, &lo, &hi, &bad)) {
		uint64_t k = (uint64_t)hi - lo + 1;

		st->exists = k >= st->exists ? 0 : st->exists - (uint32_t)k;
	}
}

static bool
unsolicited(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct imap_store *st = ctx;
	uint32_t n;

	(void)cmd;
	if (resp->count >= 2 && imap_arg_is_atom(&resp->args[0], "VANISHED") &&
	    resp->args[1].type != IMAP_ARG_LIST) {
		vanished_now(st, &resp->args[1]);
		return true;
	}
	if (resp->count >= 2 && imap_arg_get_u32(&resp->args[0], &n)) {
		if (imap_arg_is_atom(&resp->args[1], "EXISTS"))
			st->exists = n;
		else if (imap_arg_is_atom(&resp->args[1], "EXPUNGE") &&
			 st->exists > 0)
			st->exists--;
	}
	return true;
}

/*
 * Every response, whoever claims it: the UIDs and MODSEQs it names of the
 * selected mailbox (FETCH items, HIGHESTMODSEQ codes, in untagged and in
 * tagged responses such as UID EXPUNGE's OK, RFC 7162 3.2.10).  Each is a
 * value the server had reached when it sent the response.  While a SELECT
 * runs no mailbox is selected and nothing is taken: its own responses are
 * the new mailbox's status (imap_select_box()).
 */
static void
observe(void *ctx, const struct imap_resp *resp)
{
	struct imap_store *st = ctx;
	const struct imap_arg *l, *m;
	size_t i, n, nm;
	uint64_t v;
	uint32_t uid;

	if (st->sel_name == NULL)
		return;
	if (resp->ncode >= 2 &&
	    imap_arg_is_atom(&resp->code[0], "HIGHESTMODSEQ") &&
	    imap_arg_get_u63(&resp->code[1], &v) && v > st->sel_seen_modseq)
		st->sel_seen_modseq = v;
	if (resp->kind != IMAP_RESP_UNTAGGED || resp->count < 3 ||
	    !imap_arg_is_atom(&resp->args[1], "FETCH") ||
	    !imap_arg_get_list(&resp->args[2], &l, &n))
		return;
	for (i = 0; i + 1 < n; i += 2) {
		if (imap_arg_is_atom(&l[i], "UID") &&
		    imap_arg_get_u32(&l[i + 1], &uid) && uid > st->sel_seen_uid)
			st->sel_seen_uid = uid;
		else if (imap_arg_is_atom(&l[i], "MODSEQ") &&
			 imap_arg_get_list(&l[i + 1], &m, &nm) && nm == 1 &&
			 imap_arg_get_u63(&m[0], &v) && v > st->sel_seen_modseq)
			st->sel_seen_modseq = v;
	}
}

/* ---- connecting ----------------------------------------------------- */

static int
run_simple(struct imap_store *st, const char *text, unsigned flags,
	   enum mf_err_class cls, struct mf_err *err)
{
	struct imap_cmd *cmd = imap_cmd_new(st->client);
	int r;

	cmd->flags = flags;
	imap_cmd_printf(cmd, "%s", text);
	r = imap_client_run(st->client, cmd, cls, text, err);
	imap_cmd_free(&cmd);
	return r;
}

static int
refresh_caps(struct imap_store *st, struct mf_err *err)
{
	if (imap_client_caps_known(st->client))
		return 0;
	return run_simple(st, "CAPABILITY", 0, MF_E_NET, err);
}

static int
do_starttls(struct imap_store *st, const struct imap_conn_tls *tls,
	    struct mf_err *err)
{
	struct imap_conn *conn = imap_client_conn(st->client);

	if (refresh_caps(st, err) < 0)
		return -1;
	if (!(imap_client_caps(st->client) & IMAP_CAP_STARTTLS))
		return mf_err_set(err, MF_E_NET,
				  "%s: the server does not "
				  "offer STARTTLS; refusing to continue in "
				  "cleartext (nothing was sent)",
				  imap_conn_label(conn));
	if (run_simple(st, "STARTTLS", IMAP_CMD_BARRIER, MF_E_NET, err) < 0)
		return -1;
	/*
	 * Anything after the OK line arrived in cleartext and would be
	 * read as if it came over TLS: a response injection (the attack
	 * behind CVE-2011-0411 and its IMAP cousins).  It is not dropped
	 * silently but ends the connection.
	 */
	if (imap_client_unparsed(st->client) > 0) {
		mf_err_set(err, MF_E_NET,
			   "%s: protocol error: the server "
			   "sent data after its OK to STARTTLS (response "
			   "injection?); giving up",
			   imap_conn_label(conn));
		return imap_client_fail(st->client, err);
	}
	if (imap_conn_start_tls(conn, tls, err) < 0)
		return imap_client_fail(st->client, err);
	imap_client_forget_caps(st->client);
	return run_simple(st, "CAPABILITY", 0, MF_E_NET, err);
}

static bool
enabled_cb(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct imap_store *st = ctx;
	size_t i;

	(void)cmd;
	if (resp->count < 1 || !imap_arg_is_atom(&resp->args[0], "ENABLED"))
		return false;
	for (i = 1; i < resp->count; i++) {
		if (imap_arg_is_atom(&resp->args[i], "CONDSTORE"))
			st->condstore = true;
		else if (imap_arg_is_atom(&resp->args[i], "QRESYNC"))
			st->qresync = st->condstore = true;
		else if (imap_arg_is_atom(&resp->args[i], "UTF8=ACCEPT"))
			st->utf8 = true;
	}
	return true;
}

static bool
namespace_cb(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct imap_store *st = ctx;
	const struct imap_arg *ns, *first;
	size_t nns, nfirst, plen, dlen;
	const char *prefix, *delim;

	(void)cmd;
	if (resp->count < 2 || !imap_arg_is_atom(&resp->args[0], "NAMESPACE"))
		return false;
	/* (("INBOX." ".") ...) NIL NIL: the first personal namespace */
	if (!imap_arg_get_list(&resp->args[1], &ns, &nns) || nns == 0 ||
	    !imap_arg_get_list(&ns[0], &first, &nfirst) || nfirst < 2 ||
	    !imap_arg_get_astring(&first[0], &prefix, &plen))
		return true;
	free(st->prefix);
	st->prefix = xstrndup(prefix, plen);
	if (imap_arg_get_astring(&first[1], &delim, &dlen) && dlen == 1)
		st->delim = delim[0];
	else
		st->delim = 0;
	return true;
}

static bool
delim_cb(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct imap_store *st = ctx;
	const char *d;
	size_t len;

	(void)cmd;
	if (resp->count < 3 || !imap_arg_is_atom(&resp->args[0], "LIST"))
		return false;
	if (imap_arg_get_astring(&resp->args[2], &d, &len) && len == 1)
		st->delim = d[0];
	return true;
}

/* The server's capabilities minus those the configuration turns off. */
static uint64_t
session_caps(struct imap_store *st)
{
	const struct imap_store_cfg *cfg = &st->cfg;
	uint64_t caps = imap_client_caps(st->client);

	if (cfg->no_condstore)
		caps &= ~IMAP_CAP_CONDSTORE;
	if (cfg->no_qresync || (caps & IMAP_CAP_CONDSTORE) == 0)
		caps &= ~IMAP_CAP_QRESYNC;
	if (cfg->no_uidplus)
		caps &= ~IMAP_CAP_UIDPLUS;
	if (cfg->no_move)
		caps &= ~IMAP_CAP_MOVE;
	if (cfg->no_list_status)
		caps &= ~IMAP_CAP_LIST_STATUS;
	if (cfg->no_objectid)
		caps &= ~IMAP_CAP_OBJECTID;
	if (cfg->no_notify)
		caps &= ~IMAP_CAP_NOTIFY;
	if (cfg->no_multiappend)
		caps &= ~IMAP_CAP_MULTIAPPEND;
	return caps;
}

static int
start_compress(struct imap_store *st, struct mf_err *err)
{
	if (run_simple(st, "COMPRESS DEFLATE", IMAP_CMD_BARRIER, MF_E_NET,
		       err) < 0)
		return -1;
	if (imap_conn_start_compress(imap_client_conn(st->client), err) < 0)
		return imap_client_fail(st->client, err);
	return 0;
}

/* ENABLE for the extensions we use, submitted; NULL when there is none
 * to ask for (or no ENABLE). */
static struct imap_cmd *
submit_enable(struct imap_store *st, uint64_t caps)
{
	static const struct {
		uint64_t cap;
		const char *word;
	} wanted[] = {
		{ IMAP_CAP_CONDSTORE, " CONDSTORE" },
		{ IMAP_CAP_QRESYNC, " QRESYNC" },
		{ IMAP_CAP_UTF8_ACCEPT, " UTF8=ACCEPT" },
	};
	struct imap_cmd *cmd = NULL;
	struct mf_buf list;
	size_t i;

	mf_buf_init(&list, 64);
	for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!(caps & IMAP_CAP_ENABLE) || !(caps & wanted[i].cap))
			continue;
		if (mf_buf_append_str(&list, wanted[i].word, NULL) < 0)
			break; /* cannot happen: the words fit in 64 bytes */
	}
	if (list.len > 0) {
		cmd = imap_cmd_new(st->client);
		cmd->untagged = enabled_cb;
		cmd->ctx = st;
		imap_cmd_printf(cmd, "ENABLE%.*s", (int)list.len, list.data);
		imap_client_submit(st->client, cmd);
	} else if (caps & IMAP_CAP_CONDSTORE) {
		/* no ENABLE: SELECT (CONDSTORE) turns it on (RFC 7162 3.1) */
		st->condstore = true;
	}
	mf_buf_deinit(&list);
	return cmd;
}

/*
 * ID, ENABLE and NAMESPACE go out together: none needs another's
 * answer, and each untagged handler claims only its own response, so
 * the session setup costs one round trip (RFC 3501 5.5 allows it:
 * none of them depends on a state another one changes).  With
 * cfg.list_at_login the folder listing rides along: LIST "" "*" needs
 * neither the prefix nor the delimiter (the names are translated when it
 * is taken), and RFC 5161 3.1 puts no limit on pipelining ENABLE, so
 * the STATUS HIGHESTMODSEQ behind it is asked of a session that has
 * CONDSTORE on (RFC 7162 3.1).  Not waited for here: imap_list_boxes()
 * does.  Clears IMAP_CAP_NAMESPACE in *caps when NAMESPACE was refused.
 */
static int
run_id_enable_namespace(struct imap_store *st, uint64_t *caps,
			struct mf_err *err)
{
	struct imap_cmd *id_cmd = NULL, *en_cmd = NULL, *ns_cmd = NULL;
	int ret;

	if (*caps & IMAP_CAP_ID) {
		/* RFC 2971; the answer is only interesting in the trace */
		id_cmd = imap_cmd_new(st->client);
		imap_cmd_printf(id_cmd,
				"ID (\"name\" \"mailferry\" "
				"\"version\" \"%s\")",
				MF_VERSION);
		imap_client_submit(st->client, id_cmd);
	}
	en_cmd = submit_enable(st, *caps);
	st->delim = '/';
	if (*caps & IMAP_CAP_NAMESPACE) {
		ns_cmd = imap_cmd_new(st->client);
		ns_cmd->ctx = st;
		ns_cmd->untagged = namespace_cb;
		imap_cmd_printf(ns_cmd, "NAMESPACE");
		imap_client_submit(st->client, ns_cmd);
	}
	if (st->cfg.list_at_login) {
		/* once: a reconnect's caller lists when it needs to */
		st->cfg.list_at_login = false;
		/* without NAMESPACE the delimiter is asked with LIST "" ""
		 * first, and two LISTs in flight would take each other's
		 * untagged lines: such a server gets the listing later */
		if (*caps & IMAP_CAP_NAMESPACE)
			imap_prelist_submit(st, *caps);
	}
	ret = 0;
	if (id_cmd != NULL && imap_client_wait(st->client, id_cmd, err) < 0)
		ret = -1;
	if (ret == 0 && en_cmd != NULL &&
	    imap_client_wait(st->client, en_cmd, err) < 0)
		ret = -1;
	/* some servers answer NO where BAD is meant (QUIRKS.md): either
	 * way, go on without the extensions */
	if (ret == 0 && en_cmd != NULL && en_cmd->status != IMAP_CMD_OK)
		mf_debug(MF_LOGC_IMAP, "ENABLE refused: %s", en_cmd->text);
	if (ret == 0 && ns_cmd != NULL &&
	    imap_client_wait(st->client, ns_cmd, err) < 0)
		ret = -1;
	if (ret == 0 && ns_cmd != NULL && ns_cmd->status != IMAP_CMD_OK)
		*caps &= ~IMAP_CAP_NAMESPACE; /* ask LIST */
	imap_cmd_free(&id_cmd);
	imap_cmd_free(&en_cmd);
	imap_cmd_free(&ns_cmd);
	return ret;
}

/* RFC 3501 6.3.8: LIST "" "" tells the delimiter */
static int
ask_delimiter(struct imap_store *st, struct mf_err *err)
{
	struct imap_cmd *cmd = imap_cmd_new(st->client);
	int ret;

	cmd->ctx = st;
	cmd->untagged = delim_cb;
	imap_cmd_printf(cmd, "LIST \"\" \"\"");
	ret = imap_client_run(st->client, cmd, MF_E_NET, "LIST", err);
	imap_cmd_free(&cmd);
	return ret < 0 ? -1 : 0;
}

static int
setup_session(struct imap_store *st, struct mf_err *err)
{
	uint64_t caps = session_caps(st);

	st->caps = caps;
	if (st->cfg.compress && (caps & IMAP_CAP_COMPRESS) &&
	    start_compress(st, err) < 0)
		return -1;
	if (run_id_enable_namespace(st, &caps, err) < 0)
		return -1;
	/* the LIST "" "" must not meet the setup's LIST in flight: each
	 * would take the other's untagged LIST lines */
	if (!(caps & IMAP_CAP_NAMESPACE) &&
	    (imap_prelist_settle(st, err) < 0 || ask_delimiter(st, err) < 0))
		return -1;
	/* only a prefix that is a level of the hierarchy can be stripped */
	if (st->prefix != NULL &&
	    (st->prefix[0] == '\0' || st->delim == 0 ||
	     st->prefix[strlen(st->prefix) - 1] != st->delim)) {
		free(st->prefix);
		st->prefix = NULL;
	}
	mf_debug(MF_LOGC_IMAP, "namespace prefix '%s', delimiter '%c'%s%s%s",
		 st->prefix ? st->prefix : "", st->delim ? st->delim : ' ',
		 st->condstore ? ", CONDSTORE" : "",
		 st->qresync ? ", QRESYNC" : "", st->utf8 ? ", UTF8" : "");
	return 0;
}

static int
connect_and_login(struct imap_store *st, struct mf_err *err)
{
	const struct imap_store_cfg *cfg = &st->cfg;
	struct imap_conn *conn = imap_conn_create(cfg->timeout_ms);
	struct imap_conn_tls tls = { 0 };
	enum imap_greeting greeting;
	unsigned port = cfg->port;
	bool secure;

	imap_conn_set_command_timeout(conn, cfg->command_timeout_ms);

	if (cfg->tunnel == NULL && port == 0)
		port = cfg->tls == IMAP_TLS_IMPLICIT ? 993 : 143;
	tls.host = cfg->host;
	tls.ca_file = cfg->ca_file;
	tls.fingerprint = cfg->fingerprint;
	st->client = imap_client_create(conn, cfg->pipeline_depth);
	imap_client_set_unsolicited(st->client, unsolicited, st);
	imap_client_set_observer(st->client, observe, st);
	if (cfg->tunnel != NULL) {
		if (imap_conn_tunnel(conn, cfg->tunnel, err) < 0)
			return -1;
	} else {
		if (cfg->host == NULL)
			return mf_err_set(err, MF_E_CONFIG, "no host");
		if (imap_conn_connect(conn, cfg->host, port, err) < 0)
			return -1;
		if (cfg->tls == IMAP_TLS_IMPLICIT &&
		    imap_conn_start_tls(conn, &tls, err) < 0)
			return -1;
	}
	/* alerts reach the user only over a channel we trust */
	imap_client_allow_alerts(st->client,
				 cfg->tunnel != NULL ||
					 cfg->tls != IMAP_TLS_STARTTLS);
	if (imap_client_greeting(st->client, &greeting, err) < 0)
		return -1;
	if (cfg->tunnel == NULL && cfg->tls == IMAP_TLS_STARTTLS) {
		if (greeting == IMAP_GREETING_PREAUTH)
			return mf_err_set(err, MF_E_NET,
					  "%s: the server "
					  "greeted with PREAUTH, so STARTTLS "
					  "is impossible; refusing to go on "
					  "in cleartext",
					  imap_conn_label(conn));
		if (do_starttls(st, &tls, err) < 0)
			return -1;
		imap_client_allow_alerts(st->client, true);
	} else if (cfg->tunnel == NULL && cfg->tls == IMAP_TLS_NONE &&
		   !st->warned_cleartext) {
		st->warned_cleartext = true;
		mf_log(MF_LOG_WARN, MF_LOGC_IMAP,
		       "%s: %s: cleartext "
		       "connection, the password travels unencrypted",
		       cfg->name ? cfg->name : "imap", imap_conn_label(conn));
	}
	if (greeting == IMAP_GREETING_OK) {
		secure = imap_conn_is_tls(conn) || imap_conn_is_tunnel(conn) ||
			 (cfg->tls == IMAP_TLS_NONE && cfg->allow_insecure);
		if (refresh_caps(st, err) < 0 ||
		    imap_auth_login(st->client, cfg, secure, err) < 0)
			return -1;
	}
	if (refresh_caps(st, err) < 0)
		return -1;
	return setup_session(st, err);
}

/* ---- SELECT --------------------------------------------------------- */

struct select_ctx {
	struct imap_store *st;
	struct mf_box_status status;
	uint32_t exists;
	bool nomodseq, readonly;
	uint32_t max_uid;
	/* PERMANENTFLAGS: seen at all, "\*" in it, its keywords */
	bool perm_seen, perm_any;
	char *perm_kw;
};

/* RFC 3501 7.1: PERMANENTFLAGS lists the flags a client can change for
 * good; "\*" means new keywords too.  Without it, a keyword not listed
 * is kept for the session only, so it is as good as not stored. */
static void
permanent_flags(struct select_ctx *sc, const struct imap_arg *list)
{
	const struct imap_arg *v;
	size_t n, i;
	char *next;

	if (!imap_arg_get_list(list, &v, &n))
		return;
	sc->perm_seen = true;
	free(sc->perm_kw);
	sc->perm_kw = xstrdup("");
	for (i = 0; i < n; i++) {
		const char *a;

		if (!imap_arg_get_atom(&v[i], &a))
			continue;
		if (strcmp(a, "\\*") == 0)
			sc->perm_any = true;
		else if (mf_keyword_valid(a, strlen(a))) {
			next = mf_kw_union(sc->perm_kw, a);
			free(sc->perm_kw);
			sc->perm_kw = next;
		}
	}
}

static bool
select_untagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct select_ctx *sc = ctx;
	uint32_t n;

	(void)cmd;
	if (resp->status != NULL && resp->ncode > 0) {
		const struct imap_arg *code = resp->code;

		if (imap_arg_is_atom(&code[0], "UIDVALIDITY") &&
		    resp->ncode > 1 &&
		    imap_arg_get_u32(&code[1], &sc->status.uidvalidity))
			return true;
		if (imap_arg_is_atom(&code[0], "UIDNEXT") && resp->ncode > 1 &&
		    imap_arg_get_u32(&code[1], &sc->status.uidnext))
			return true;
		if (imap_arg_is_atom(&code[0], "HIGHESTMODSEQ") &&
		    resp->ncode > 1 &&
		    imap_arg_get_u63(&code[1], &sc->status.highestmodseq))
			return true;
		/* RFC 8474 4.2; a malformed id leaves "" (unknown), and
		 * without OBJECTID (not offered, or disabled) none is
		 * taken: capabilities are stated, never guessed */
		if (imap_arg_is_atom(&code[0], "MAILBOXID")) {
			if (!(sc->st->caps & IMAP_CAP_OBJECTID))
				return true;
			if (resp->ncode < 2 ||
			    !imap_objectid_get(&code[1], sc->status.mailboxid))
				mf_debug(MF_LOGC_IMAP,
					 "SELECT: bad MAILBOXID ignored");
			return true;
		}
		if (imap_arg_is_atom(&code[0], "NOMODSEQ")) {
			sc->nomodseq = true;
			return true;
		}
		if (imap_arg_is_atom(&code[0], "PERMANENTFLAGS")) {
			if (resp->ncode > 1)
				permanent_flags(sc, &code[1]);
			return true;
		}
		return false;
	}
	if (resp->count >= 2 && imap_arg_get_u32(&resp->args[0], &n) &&
	    imap_arg_is_atom(&resp->args[1], "EXISTS")) {
		sc->exists = n;
		return true;
	}
	return false;
}

static void
select_tagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct select_ctx *sc = ctx;

	(void)cmd;
	if (resp->ncode > 0 && imap_arg_is_atom(&resp->code[0], "READ-ONLY"))
		sc->readonly = true;
}

static bool
last_uid_cb(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct select_ctx *sc = ctx;
	const struct imap_arg *l;
	size_t n, i;
	uint32_t uid;

	(void)cmd;
	if (resp->count < 3 || !imap_arg_is_atom(&resp->args[1], "FETCH") ||
	    !imap_arg_get_list(&resp->args[2], &l, &n))
		return false;
	for (i = 0; i + 1 < n; i += 2)
		if (imap_arg_is_atom(&l[i], "UID") &&
		    imap_arg_get_u32(&l[i + 1], &uid) && uid > sc->max_uid)
			sc->max_uid = uid;
	return true;
}

static int
imap_select_box(struct mf_store *mst, const char *box,
		const struct mf_select_req *req, struct mf_box_status *status_r,
		struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	struct select_ctx sc = { 0 };
	struct imap_cmd *cmd;
	char *server = NULL;
	int r;

	if (imap_name_to_server(st, box, &server, err) < 0)
		return -1;
	free(st->sel_name);
	free(st->sel_server);
	st->sel_name = st->sel_server = NULL;
	free(st->sel_kw_permanent);
	st->sel_kw_permanent = NULL;
	/* an APPEND goes into the selected mailbox: begun ones die here */
	imap_deliver_abort_all(&st->base);
	sc.st = st;
	cmd = imap_cmd_new(st->client);
	/* RFC 3501 5.5: the untagged data of two SELECTs would mix */
	cmd->flags = IMAP_CMD_BARRIER;
	cmd->untagged = select_untagged;
	cmd->tagged = select_tagged;
	cmd->ctx = &sc;
	imap_cmd_printf(cmd, "%s ",
			req != NULL && req->readonly ? "EXAMINE" : "SELECT");
	imap_cmd_add_mailbox(cmd, server);
	if (st->condstore)
		imap_cmd_printf(cmd, " (CONDSTORE)");
	imap_client_submit(st->client, cmd);
	r = imap_client_wait(st->client, cmd, err);
	if (r == 0 && cmd->status != IMAP_CMD_OK)
		r = mf_err_set(err, MF_E_BOX, "SELECT %s: %s", box, cmd->text);
	imap_cmd_free(&cmd);
	/* UIDs mean nothing without it (RFC 3501 2.3.1.1): recorded as 0,
	 * the next run could not tell that they were renumbered */
	if (r == 0 && sc.status.uidvalidity == 0)
		r = mf_err_set(err, MF_E_BOX,
			       "SELECT %s: server reported no valid "
			       "UIDVALIDITY",
			       box);
	if (r < 0) {
		free(sc.perm_kw);
		free(server);
		return -1;
	}
	if (sc.perm_seen && !sc.perm_any) {
		st->sel_kw_permanent = sc.perm_kw;
		sc.perm_kw = NULL;
	}
	free(sc.perm_kw);
	sc.perm_kw = NULL;
	if (sc.status.uidnext == 0 && sc.exists > 0) {
		/* Courier sends no UIDNEXT: the last UID + 1 is a floor */
		cmd = imap_cmd_new(st->client);
		cmd->untagged = last_uid_cb;
		cmd->ctx = &sc;
		imap_cmd_printf(cmd, "UID FETCH * (UID)");
		r = imap_client_run(st->client, cmd, MF_E_BOX, "UID FETCH *",
				    err);
		imap_cmd_free(&cmd);
		if (r < 0) {
			free(server);
			return -1;
		}
		if (sc.max_uid > 0 && sc.max_uid < UINT32_MAX)
			sc.status.uidnext = sc.max_uid + 1;
	}
	sc.status.has_status = true;
	sc.status.messages = sc.exists;
	if (sc.nomodseq || !st->condstore)
		sc.status.highestmodseq = 0;
	st->sel_name = xstrdup(box);
	st->sel_server = server;
	st->sel_rw = !sc.readonly;
	st->sel_nomodseq = sc.nomodseq || !st->condstore;
	st->exists = sc.exists;
	st->sel_status = sc.status;
	st->sel_seen_uid = st->sel_seen_modseq = 0;
	if (status_r != NULL)
		*status_r = sc.status;
	return 0;
}

/* store.h selected_status: from what the session saw (observe()) */
static int
imap_selected_status(struct mf_store *mst, const char *box,
		     struct mf_box_status *status_r)
{
	struct imap_store *st = imap_store_of(mst);

	if (st->client == NULL || imap_client_is_broken(st->client) ||
	    st->sel_name == NULL || strcmp(st->sel_name, box) != 0 ||
	    st->sel_nomodseq)
		return 1;
	*status_r = st->sel_status;
	status_r->messages = st->exists;
	if (st->sel_seen_uid >= status_r->uidnext &&
	    st->sel_seen_uid < UINT32_MAX)
		status_r->uidnext = st->sel_seen_uid + 1;
	if (st->sel_seen_modseq > status_r->highestmodseq)
		status_r->highestmodseq = st->sel_seen_modseq;
	return 0;
}

/* ---- CREATE, DELETE, RENAME ----------------------------------------- */

static int
box_cmd(struct imap_store *st, const char *verb, const char *box,
	const char *to, struct mf_err *err)
{
	struct imap_cmd *cmd;
	char *server = NULL, *server_to = NULL;
	int r;

	if (imap_name_to_server(st, box, &server, err) < 0)
		return -1;
	if (to != NULL && imap_name_to_server(st, to, &server_to, err) < 0) {
		free(server);
		return -1;
	}
	cmd = imap_cmd_new(st->client);
	imap_cmd_printf(cmd, "%s ", verb);
	imap_cmd_add_mailbox(cmd, server);
	if (server_to != NULL) {
		imap_cmd_printf(cmd, " ");
		imap_cmd_add_mailbox(cmd, server_to);
	}
	imap_client_submit(st->client, cmd);
	r = imap_client_wait(st->client, cmd, err);
	if (r == 0 && cmd->status != IMAP_CMD_OK)
		r = mf_err_set(err, MF_E_BOX, "%s %s: %s", verb, box,
			       cmd->text);
	imap_cmd_free(&cmd);
	free(server);
	free(server_to);
	return r;
}

static int
imap_create_box(struct mf_store *mst, const char *box, struct mf_err *err)
{
	return box_cmd(imap_store_of(mst), "CREATE", box, NULL, err);
}

static int
imap_delete_box(struct mf_store *mst, const char *box, struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);

	/* deleting the selected mailbox: leave it first (RFC 3501 6.3.4) */
	if (st->sel_name != NULL && strcmp(st->sel_name, box) == 0) {
		if (run_simple(st,
			       (st->caps & IMAP_CAP_UIDPLUS) ?
				       "UNSELECT" :
				       "EXAMINE \"INBOX\"",
			       IMAP_CMD_BARRIER, MF_E_BOX, err) < 0 &&
		    imap_client_is_broken(st->client))
			return -1;
		free(st->sel_name);
		free(st->sel_server);
		st->sel_name = st->sel_server = NULL;
	}
	return box_cmd(st, "DELETE", box, NULL, err);
}

/* Is name box itself or one of its children? */
static bool
is_or_under(const char *name, const char *box)
{
	size_t n = strlen(box);

	return strncmp(name, box, n) == 0 &&
	       (name[n] == '\0' || name[n] == '/');
}

/*
 * RENAME (RFC 3501 section 6.3.5): the server renames the children with
 * the folder and makes the parents the new name needs.  INBOX is refused
 * here, since renaming it moves its messages and leaves it in place,
 * which is not a rename to the engine.  The selection is forgotten when
 * it was the folder or a child: the next select_box() sends a SELECT
 * under the new name, and the UIDVALIDITY it returns is checked then.
 */
int
imap_store_rename_box(struct mf_store *mst, const char *from, const char *to,
		      struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);

	if (mf_str_ieq(from, "INBOX") || mf_str_ieq(to, "INBOX"))
		return mf_err_set(err, MF_E_BOX, "RENAME %s: not for INBOX",
				  from);
	if (box_cmd(st, "RENAME", from, to, err) < 0)
		return -1;
	if (st->sel_name != NULL && is_or_under(st->sel_name, from)) {
		free(st->sel_name);
		free(st->sel_server);
		st->sel_name = st->sel_server = NULL;
	}
	return 0;
}

unsigned long long
imap_store_server_caps(struct mf_store *mst)
{
	return imap_store_of(mst)->caps;
}

/* ---- IDLE ----------------------------------------------------------- */

struct idle_ctx {
	bool idling, changed;
};

static int
idle_cont(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp,
	  struct mf_buf *reply, struct mf_err *err)
{
	struct idle_ctx *ic = ctx;

	(void)cmd;
	(void)resp;
	(void)reply;
	(void)err;
	ic->idling = true;
	return 1;
}

static bool
idle_untagged(void *ctx, struct imap_cmd *cmd, const struct imap_resp *resp)
{
	struct idle_ctx *ic = ctx;

	(void)cmd;
	if (resp->count >= 2 && (imap_arg_is_atom(&resp->args[1], "EXISTS") ||
				 imap_arg_is_atom(&resp->args[1], "EXPUNGE") ||
				 imap_arg_is_atom(&resp->args[1], "FETCH")))
		ic->changed = true;
	if (resp->count >= 1 && imap_arg_is_atom(&resp->args[0], "VANISHED"))
		ic->changed = true;
	/* after NOTIFY: another folder's counts changed, or a folder was
	 * made, deleted or renamed (RFC 5465 sections 5.2 to 5.4) */
	if (resp->count >= 1 && (imap_arg_is_atom(&resp->args[0], "STATUS") ||
				 imap_arg_is_atom(&resp->args[0], "LIST")))
		ic->changed = true;
	return false; /* the store's bookkeeping sees it too */
}

int
imap_store_idle(struct mf_store *mst, int timeout_ms, bool *changed_r,
		struct mf_err *err)
{
	return imap_store_idle_until(mst, timeout_ms, NULL, NULL, changed_r,
				     err);
}

int
imap_store_idle_until(struct mf_store *mst, int timeout_ms,
		      imap_idle_stop_fn *stop, void *stop_ctx, bool *changed_r,
		      struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	struct idle_ctx ic = { 0 };
	struct imap_cmd *cmd;
	int r = 0;
	int64_t end = imap_conn_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	/* with stop to ask, a shorter slice: how late a stop is seen */
	int slice = stop != NULL ? 200 : 1000;

	*changed_r = false;
	if (imap_need_selected(st, "IDLE", err) < 0)
		return -1;
	if (!(st->caps & IMAP_CAP_IDLE))
		return mf_err_set(err, MF_E_BOX, "the server has no IDLE");
	cmd = imap_cmd_new(st->client);
	cmd->flags = IMAP_CMD_BARRIER;
	cmd->cont = idle_cont;
	cmd->untagged = idle_untagged;
	cmd->ctx = &ic;
	imap_cmd_printf(cmd, "IDLE");
	imap_client_submit(st->client, cmd);
	/* wait in slices so a change ends the IDLE at once; the time left
	 * is measured, not counted in quiet slices, or a server sending
	 * "* OK still here" every second would keep the IDLE up for ever */
	for (;;) {
		int64_t left = end - imap_conn_now_ms();

		if (cmd->status != IMAP_CMD_PENDING || ic.changed || left <= 0)
			break;
		if (stop != NULL && ic.idling && stop(stop_ctx))
			break;
		r = imap_client_poll(st->client,
				     left > slice ? slice : (int)left, err);
		if (r < 0)
			goto out;
	}
	if (cmd->status == IMAP_CMD_PENDING) {
		if (!ic.idling && imap_client_wait(st->client, cmd, err) < 0) {
			r = -1;
			goto out;
		}
		if (cmd->status == IMAP_CMD_PENDING &&
		    (imap_client_send_line(st->client, "DONE", err) < 0 ||
		     imap_client_wait(st->client, cmd, err) < 0)) {
			r = -1;
			goto out;
		}
	}
	r = 0;
	if (cmd->status != IMAP_CMD_OK)
		r = mf_err_set(err, MF_E_BOX, "IDLE: %s", cmd->text);
	*changed_r = ic.changed;
out:
	imap_cmd_free(&cmd);
	return r;
}

/* ---- NOTIFY (RFC 5465) ---------------------------------------------- */

int
imap_store_notify_all(struct mf_store *mst, bool *on_r, struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	struct imap_cmd *cmd;
	int r;

	*on_r = false;
	if (!(st->caps & IMAP_CAP_NOTIFY))
		return 0;
	/* the selected folder by EXISTS, EXPUNGE and FETCH as in IDLE, the
	 * others by STATUS, folders made or renamed by LIST (section 6);
	 * FlagChange needs the two message events beside it (section 5) */
	cmd = imap_cmd_new(st->client);
	cmd->flags = IMAP_CMD_BARRIER;
	imap_cmd_printf(cmd, "NOTIFY SET (selected (MessageNew MessageExpunge "
			     "FlagChange)) (personal (MessageNew "
			     "MessageExpunge FlagChange MailboxName))");
	imap_client_submit(st->client, cmd);
	r = imap_client_wait(st->client, cmd, err);
	if (r == 0)
		*on_r = cmd->status == IMAP_CMD_OK;
	/* a NO (or BAD) leaves IDLE on the selected folder, as without */
	imap_cmd_free(&cmd);
	return r;
}

/* ---- create / destroy ----------------------------------------------- */

static void
imap_destroy(struct mf_store *mst)
{
	struct imap_store *st = imap_store_of(mst);

	imap_deliver_discard_all(st);
	if (st->client != NULL && !imap_client_is_broken(st->client)) {
		struct mf_err err = { 0 };
		struct imap_cmd *cmd = imap_cmd_new(st->client);

		/* polite, but do not wait long for a dying server */
		imap_cmd_printf(cmd, "LOGOUT");
		imap_client_submit(st->client, cmd);
		if (imap_client_wait(st->client, cmd, &err) < 0)
			mf_debug(MF_LOGC_IMAP, "LOGOUT: %s", err.msg);
		imap_cmd_free(&cmd);
	}
	imap_prelist_free(st); /* the commands first, then their client */
	imap_client_destroy(&st->client);
	free(st->deliv);
	free(st->prefix);
	free(st->sel_name);
	free(st->sel_server);
	free(st->sel_kw_permanent);
	imap_size_memo_free(&st->sizes);
	free(st->base.name);
	free(st);
}

/* The capabilities the engine sees (store.h) of a logged-in session. */
static unsigned
store_caps(const struct imap_store *st)
{
	unsigned caps = MF_CAP_UIDS | MF_CAP_KEYWORDS | MF_CAP_CHEAP_SIZE;

	if (st->condstore)
		caps |= MF_CAP_CONDSTORE;
	if (st->qresync)
		caps |= MF_CAP_QRESYNC;
	if (st->caps & IMAP_CAP_UIDPLUS)
		caps |= MF_CAP_UIDPLUS;
	if (st->caps & IMAP_CAP_MOVE)
		caps |= MF_CAP_MOVE;
	if (st->caps & IMAP_CAP_LIST_STATUS)
		caps |= MF_CAP_LIST_STATUS;
	return caps;
}

/* The wire bytes of every session of this store so far (store.h). */
static void
imap_wire_bytes(struct mf_store *base, uint64_t *read_r, uint64_t *written_r)
{
	struct imap_store *st = (struct imap_store *)base;
	uint64_t rd = 0, wr = 0;

	if (st->client != NULL && imap_client_conn(st->client) != NULL)
		imap_conn_wire(imap_client_conn(st->client), &rd, &wr);
	*read_r = st->wire_read_gone + rd;
	*written_r = st->wire_written_gone + wr;
}

/* Forget what a session set up, before a new one sets it up again. */
static void
forget_session(struct imap_store *st)
{
	struct mf_err dead = { .cls = MF_E_NET };

	imap_deliver_abort_all(&st->base);
	if (st->client != NULL) {
		uint64_t rd = 0, wr = 0;

		/* the session's bytes stay counted after it is gone */
		if (imap_client_conn(st->client) != NULL)
			imap_conn_wire(imap_client_conn(st->client), &rd, &wr);
		st->wire_read_gone += rd;
		st->wire_written_gone += wr;
		imap_client_fail(st->client, &dead); /* no LOGOUT on it */
	}
	imap_prelist_free(st); /* the commands first, then their client */
	imap_client_destroy(&st->client);
	free(st->prefix);
	free(st->sel_name);
	free(st->sel_server);
	free(st->sel_kw_permanent);
	st->prefix = st->sel_name = st->sel_server = NULL;
	st->sel_kw_permanent = NULL;
	st->delim = 0;
	st->condstore = st->qresync = st->utf8 = false;
	st->exists = 0;
}

/*
 * store.h reconnect: a new connection in place of the failed one, set up
 * as imap_store_create() does.  The new session must map names and offer
 * extensions as the first did: the engine chose its way through the
 * folder by them, and a name read through another prefix or delimiter
 * would be another folder.
 */
static int
imap_reconnect(struct mf_store *mst, struct mf_err *err)
{
	struct imap_store *st = imap_store_of(mst);
	char *prefix = st->prefix != NULL ? xstrdup(st->prefix) : NULL;
	char delim = st->delim;
	bool utf8 = st->utf8;
	int ret = -1;

	forget_session(st);
	if (connect_and_login(st, err) < 0) {
		if (st->client != NULL)
			imap_client_fail(st->client, err);
		imap_store_fail(st, err);
		mf_err_prefix(err, "%s: reconnect", st->base.name);
		goto out;
	}
	if (store_caps(st) != st->base.caps || st->delim != delim ||
	    st->utf8 != utf8 || (prefix == NULL) != (st->prefix == NULL) ||
	    (prefix != NULL && strcmp(prefix, st->prefix) != 0)) {
		mf_err_set(err, MF_E_NET,
			   "%s: reconnect: the new session offers other "
			   "capabilities or names than the first",
			   st->base.name);
		imap_client_fail(st->client, err);
		goto out;
	}
	mf_debug(MF_LOGC_IMAP, "%s: reconnected", st->base.name);
	ret = 0;
out:
	free(prefix);
	return ret;
}

static const struct mf_store_ops imap_ops = {
	.kind = "imap",
	.list_boxes = imap_list_boxes,
	.create_box = imap_create_box,
	.delete_box = imap_delete_box,
	.rename_box = imap_store_rename_box,
	.select_box = imap_select_box,
	.selected_status = imap_selected_status,
	.scan = imap_scan,
	.fetch = imap_fetch,
	.deliver_begin = imap_deliver_begin,
	.deliver_flush = imap_deliver_flush,
	.deliver_abort_all = imap_deliver_abort_all,
	.set_flags = imap_set_flags,
	.remove = imap_remove,
	.change = imap_change,
	.move = imap_move,
	.reconnect = imap_reconnect,
	.wire_bytes = imap_wire_bytes,
	.destroy = imap_destroy,
};

int
imap_store_create(const struct imap_store_cfg *cfg, struct mf_store **st_r,
		  struct mf_err *err)
{
	struct imap_store *st = xcalloc(1, sizeof(*st));

	*st_r = NULL;
	st->base.ops = &imap_ops;
	st->base.name = xstrdup(cfg->name != NULL ? cfg->name : "imap");
	st->cfg = *cfg;
	if (cfg->tls == IMAP_TLS_NONE && !cfg->allow_insecure &&
	    cfg->tunnel == NULL) {
		mf_err_set(err, MF_E_CONFIG, "tls: none needs allow_insecure");
		goto fail;
	}
	if (connect_and_login(st, err) < 0)
		goto fail;
	imap_prelist_mark(st);
	st->base.caps = store_caps(st);
	*st_r = &st->base;
	return 0;
fail:
	mf_err_prefix(err, "%s", st->base.name);
	/* no LOGOUT on a connection that failed to set up */
	if (st->client != NULL) {
		struct mf_err dummy = { .cls = MF_E_NET };

		imap_client_fail(st->client, &dummy);
	}
	imap_destroy(&st->base);
	return -1;
}
