/*
 * A scenario's world: two mem stores and a state database in a directory,
 * built from a table and read back as lines of the same notation, so that
 * what is compared is what a reader of the scenario sees.
 *
 * The only code that knows the fields of struct state_msg is row_write()
 * and row_render() below (other work renames them).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"
#include "flags.h"
#include "scen.h"
#include "store.h"

/* ---- message bodies ------------------------------------------------- */

static void
cat(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char line[512];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	*buf = xrealloc(*buf, *len + (size_t)n + 1);
	memcpy(*buf + *len, line, (size_t)n + 1);
	*len += (size_t)n;
}

/*
 * From, To, Subject (the tag), Message-ID <tag@test> (or mid, or none),
 * maybe X-TUID, a blank line and one line of body naming the tag and the
 * variant, padded with lines of x to size.
 */
char *
scen_body(const struct scen_msg *m, size_t *len_r)
{
	char *b = NULL;
	size_t len = 0;

	cat(&b, &len, "From: %s <%s@example.org>\r\n", m->tag, m->tag);
	cat(&b, &len, "To: me <me@example.org>\r\n");
	cat(&b, &len, "Subject: %s\r\n", m->tag);
	if (!m->nomid)
		cat(&b, &len, "Message-ID: <%s@test>\r\n",
		    m->mid[0] ? m->mid : m->tag);
	if (m->xtuid)
		cat(&b, &len, "X-TUID: %s\r\n", "x7Tq2wPa");
	cat(&b, &len, "\r\n");
	if (m->body[0])
		cat(&b, &len, "Body %s of %s.\r\n", m->body, m->tag);
	else
		cat(&b, &len, "Body of %s.\r\n", m->tag);
	while (m->size > len) {
		size_t want = m->size - len, k;
		char pad[80];

		if (want > 78) {
			want = 78;
			if (m->size - len - want < 3)
				want -= 3; /* leave room for a CRLF */
		}
		if (want < 2) {
			cat(&b, &len, want == 1 ? "x" : "");
			break;
		}
		for (k = 0; k < want - 2; k++)
			pad[k] = 'x';
		pad[want - 2] = '\0';
		cat(&b, &len, "%s\r\n", pad);
	}
	*len_r = len;
	return b;
}

/* Header field value of name in a canonical message, into out. */
static bool
header_get(const char *p, size_t len, const char *name, char *out, size_t size)
{
	size_t i = 0, nl = strlen(name);

	while (i < len) {
		size_t e = i;

		while (e < len && p[e] != '\n')
			e++;
		if (e - i <= 2)
			return false;
		if (e - i > nl + 1 && strncasecmp(p + i, name, nl) == 0 &&
		    p[i + nl] == ':') {
			size_t s = i + nl + 1, t = e;

			while (s < t && p[s] == ' ')
				s++;
			while (t > s && (p[t - 1] == '\r' || p[t - 1] == ' '))
				t--;
			snprintf(out, size, "%.*s", (int)(t - s), p + s);
			return true;
		}
		i = e + 1;
	}
	return false;
}

/* Read a stored message back into a message line (all but id, box). */
static void
msg_unbody(const struct mem_msg *g, struct scen_msg *m)
{
	char v[SCEN_TEXT], *body;
	const char *p;
	size_t len, blen;

	memset(m, 0, sizeof(*m));
	m->flags = g->flags;
	snprintf(m->kw, sizeof(m->kw), "%s", g->keywords);
	m->ph = g->placeholder_of != 0;
	if (!header_get(g->body, g->len, "Subject", m->tag, sizeof(m->tag)))
		snprintf(m->tag, sizeof(m->tag), "?");
	if (!header_get(g->body, g->len, "Message-ID", v, sizeof(v))) {
		m->nomid = true;
	} else {
		size_t vl = strlen(v);
		bool ours = vl > 7 && v[0] == '<' &&
			    strcmp(v + vl - 6, "@test>") == 0;

		if (!ours)
			snprintf(m->mid, sizeof(m->mid), "%.63s", v);
		else if (vl - 7 != strlen(m->tag) ||
			 strncmp(v + 1, m->tag, vl - 7) != 0)
			snprintf(m->mid, sizeof(m->mid), "%.*s", (int)(vl - 7),
				 v + 1);
	}
	m->xtuid = header_get(g->body, g->len, "X-TUID", v, sizeof(v));
	if (m->ph)
		return;
	p = strstr(g->body, "\r\n\r\nBody ");
	if (p != NULL && strncmp(p + 9, "of ", 3) != 0) {
		const char *e = strstr(p + 9, " of ");

		if (e != NULL)
			snprintf(m->body, sizeof(m->body), "%.*s",
				 (int)(e - p - 9), p + 9);
	}
	body = scen_body(m, &blen);
	len = g->len;
	if (len != blen || memcmp(body, g->body, len) != 0)
		m->size = len;
	free(body);
}

/* ---- rendering ------------------------------------------------------ */

static void
add_line(struct scen_lines *l, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(buf);
}

void
scen_lines_free(struct scen_lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static const char *
flags_str(unsigned f, char *buf)
{
	mf_flags_to_maildir(f, buf);
	return buf[0] ? buf : "-";
}

static const char *
kw_str(const char *kw, char *buf, size_t size)
{
	char *c;

	snprintf(buf, size, "%s", kw);
	for (c = buf; *c != '\0'; c++)
		if (*c == ' ')
			*c = ',';
	return buf;
}

/* "far: BOX ID FLAGS TAG opts" */
static void
render_msg(struct scen_lines *l, const struct scen_msg *m)
{
	char f[8], kw[SCEN_TEXT], opts[512] = "";
	size_t o = 0;

	if (m->kw[0])
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, " kw=%s",
				      kw_str(m->kw, kw, sizeof(kw)));
	if (m->mid[0])
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, " mid=%s",
				      m->mid);
	if (m->nomid)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, " nomid");
	if (m->xtuid)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, " xtuid");
	if (m->ph)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, " ph");
	if (m->body[0] && !m->ph)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, " body=%s",
				      m->body);
	if (m->size && !m->ph)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o,
				      " size=%" PRIu64, m->size);
	add_line(l, "%s: %s %s %s %s%s", m->far ? "far" : "near", m->box, m->id,
		 flags_str(m->flags, f), m->tag, opts);
}

static const char *
pending_str(enum state_pending p)
{
	switch (p) {
	case STATE_PENDING_PULL:
		return " pending=pull";
	case STATE_PENDING_PUSH:
		return " pending=push";
	case STATE_PENDING_MOVE:
		return " pending=move";
	case STATE_PENDING_FETCH:
		return " pending=fetch";
	default:
		return "";
	}
}

/* "state: BOX FAR NEAR FLAGS[/NFLAGS] opts" */
static void
render_row(struct scen_lines *l, const struct scen_row *r)
{
	char f[8], nf[8], kw[SCEN_TEXT], nkw[SCEN_TEXT], opts[768] = "";
	size_t o = 0;

	if (r->kw[0])
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, " kw=%s",
				      kw_str(r->kw, kw, sizeof(kw)));
	if (strcmp(r->kw, r->nkw) != 0)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, " nkw=%s",
				      kw_str(r->nkw, nkw, sizeof(nkw)));
	o += (size_t)snprintf(opts + o, sizeof(opts) - o, "%s",
			      pending_str(r->pending));
	if (r->ph)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, " ph");
	add_line(l, "state: %s %s %s %s%s%s%s", r->box, r->far, r->near,
		 flags_str(r->flags, f), r->flags != r->nflags ? "/" : "",
		 r->flags != r->nflags ? flags_str(r->nflags, nf) : "", opts);
}

void
scen_render_table(const struct scen *sc, const struct scen_table *t,
		  struct scen_lines *out)
{
	bool inbox_far = true, inbox_near = true;
	size_t i;

	(void)sc;
	for (i = 0; i < t->nboxes; i++) {
		const struct scen_box *b = &t->boxes[i];

		if (strcmp(b->name, "INBOX") == 0) {
			inbox_far = b->far;
			inbox_near = b->near;
			continue;
		}
		if (b->far)
			add_line(out, "box: far %s", b->name);
		if (b->near)
			add_line(out, "box: near %s", b->name);
	}
	if (inbox_far)
		add_line(out, "box: far INBOX");
	if (inbox_near)
		add_line(out, "box: near INBOX");
	for (i = 0; i < t->nmsgs; i++)
		render_msg(out, &t->msgs[i]);
	for (i = 0; i < t->nrows; i++)
		render_row(out, &t->rows[i]);
}

/* ---- state rows: the one place that knows struct state_msg ---------- */

static void
row_write(struct state_msg *m, const struct scen_row *r, bool near_uids,
	  uint64_t size, int64_t date, const char *msgid)
{
	memset(m, 0, sizeof(*m));
	m->far_uid = strcmp(r->far, "-") == 0 ?
			     0 :
			     (uint32_t)strtoul(r->far, NULL, 10);
	if (strcmp(r->near, "-") != 0 && near_uids)
		m->near_uid = (uint32_t)strtoul(r->near, NULL, 10);
	else if (strcmp(r->near, "-") != 0)
		m->near_key = (char *)r->near;
	m->far_flags = r->flags;
	m->far_keywords = (char *)r->kw;
	m->near_flags = r->nflags;
	m->near_keywords = (char *)r->nkw;
	m->size = size;
	m->date = date;
	m->msgid = (char *)msgid;
	m->pending = r->pending;
	/* arg=: the far UIDNEXT of a pull or push, the full copy's key of a
	 * fetch (state.h); a move's journal cannot be written here */
	if (r->arg[0] != '\0' && r->pending == STATE_PENDING_FETCH)
		m->pending_key = (char *)r->arg;
	else if (r->arg[0] != '\0')
		m->pending_uidnext = (uint32_t)strtoul(r->arg, NULL, 10);
	m->placeholder = r->ph;
}

static void
row_render(struct scen_row *r, const struct state_msg *m, bool near_uids)
{
	memset(r, 0, sizeof(*r));
	if (m->far_uid != 0)
		snprintf(r->far, sizeof(r->far), "%u", m->far_uid);
	else
		snprintf(r->far, sizeof(r->far), "-");
	if (near_uids && m->near_uid != 0)
		snprintf(r->near, sizeof(r->near), "%u", m->near_uid);
	else if (!near_uids && m->near_key != NULL)
		snprintf(r->near, sizeof(r->near), "%s", m->near_key);
	else
		snprintf(r->near, sizeof(r->near), "-");
	r->flags = m->far_flags;
	r->nflags = m->near_flags;
	snprintf(r->kw, sizeof(r->kw), "%s",
		 m->far_keywords ? m->far_keywords : "");
	snprintf(r->nkw, sizeof(r->nkw), "%s",
		 m->near_keywords ? m->near_keywords : "");
	r->pending = m->pending;
	r->ph = m->placeholder;
}

/* ---- building ------------------------------------------------------- */

static char *
path_in(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

int
scen_open_stores(const struct scen *sc, const char *dir,
		 struct mf_store **far_r, struct mf_store **near_r,
		 char *errbuf, size_t errsize)
{
	struct mem_store_cfg fc = { "far", sc->far_caps, NULL, sc->delay_ms };
	struct mem_store_cfg nc = { "near", sc->near_caps, NULL, sc->delay_ms };
	struct mf_err err = { 0 };
	char *fp = path_in(dir, "far.mem"), *np = path_in(dir, "near.mem");
	int ret = 0;

	fc.path = fp;
	nc.path = np;
	*far_r = *near_r = NULL;
	if (mem_store_open(&fc, far_r, &err) < 0 ||
	    mem_store_open(&nc, near_r, &err) < 0) {
		snprintf(errbuf, errsize, "%s", err.msg);
		mf_store_destroy(far_r);
		ret = -1;
	}
	free(fp);
	free(np);
	return ret;
}

static const struct scen_msg *
find_msg_line(const struct scen_table *t, bool far, const char *box,
	      const char *id)
{
	size_t i;

	for (i = 0; i < t->nmsgs; i++)
		if (t->msgs[i].far == far &&
		    (box == NULL || strcmp(t->msgs[i].box, box) == 0) &&
		    strcmp(t->msgs[i].id, id) == 0)
			return &t->msgs[i];
	return NULL;
}

static bool
box_on(const struct scen_table *t, const char *name, bool far)
{
	size_t i;

	for (i = 0; i < t->nboxes; i++)
		if (strcmp(t->boxes[i].name, name) == 0)
			return far ? t->boxes[i].far : t->boxes[i].near;
	return strcmp(name, "INBOX") == 0;
}

static int
build_stores(const struct scen *sc, struct mf_store *far, struct mf_store *near,
	     struct mf_err *err)
{
	const struct scen_table *t = &sc->before;
	size_t i;

	if ((box_on(t, "INBOX", true) &&
	     mem_store_add_box(far, "INBOX", 0, err) < 0) ||
	    (box_on(t, "INBOX", false) &&
	     mem_store_add_box(near, "INBOX", 0, err) < 0))
		return -1;
	for (i = 0; i < t->nboxes; i++) {
		if ((t->boxes[i].far &&
		     mem_store_add_box(far, t->boxes[i].name, 0, err) < 0) ||
		    (t->boxes[i].near &&
		     mem_store_add_box(near, t->boxes[i].name, 0, err) < 0))
			return -1;
	}
	for (i = 0; i < t->nmsgs; i++) {
		const struct scen_msg *s = &t->msgs[i];
		struct mf_store *st = s->far ? far : near;
		struct mem_msg g = { 0 };
		bool u = (st->caps & MF_CAP_UIDS) != 0;
		int rc;

		if (strcmp(s->id, "*") != 0 && u)
			g.uid = (uint32_t)strtoul(s->id, NULL, 10);
		else if (strcmp(s->id, "*") != 0)
			g.key = (char *)s->id;
		g.flags = s->flags;
		g.keywords = (char *)s->kw;
		g.date = s->date ? s->date : SCEN_NOW - SCEN_DAY;
		g.is_new = s->is_new;
		g.body = scen_body(s, &g.len);
		if (s->ph) {
			/* ours: the header and a line; it stands for
			 * the message of the same tag (size or plain) */
			size_t hl = (size_t)(strstr(g.body, "\r\n\r\n") -
					     g.body) +
				    4;

			g.placeholder_of = g.len;
			g.body = xrealloc(g.body, hl + 64);
			g.len = hl + (size_t)snprintf(g.body + hl, 64,
						      "[placeholder]\r\n");
		}
		rc = mem_store_add_msg(st, s->box, &g, err);
		free(g.body);
		if (rc < 0)
			return mf_err_prefix(err, "line %d", s->line);
	}
	return 0;
}

static bool
box_synced(const struct scen_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nrows; i++)
		if (strcmp(t->rows[i].box, name) == 0)
			return true;
	for (i = 0; i < t->nboxes; i++)
		if (strcmp(t->boxes[i].name, name) == 0)
			return t->boxes[i].synced;
	return false;
}

static uint32_t
store_uidvalidity(struct mf_store *st, const char *box)
{
	struct mf_select_req req = { .readonly = true };
	struct mf_box_status s;
	struct mf_err err;

	if (st->ops->select_box(st, box, &req, &s, &err) < 0)
		return 0;
	return s.uidvalidity;
}

/* size, date and Message-ID of a row: those of its message */
static void
row_facts(const struct scen *sc, const struct scen_row *r, uint64_t *size,
	  int64_t *date, char *msgid, size_t idsize)
{
	const struct scen_msg *m = find_msg_line(&sc->before, true, r->box,
						 r->far);

	if (m == NULL)
		m = find_msg_line(&sc->before, false, r->box, r->near);
	/* moved since: the near copy keeps its key in another folder */
	if (m == NULL)
		m = find_msg_line(&sc->before, false, NULL, r->near);
	*size = r->size;
	*date = SCEN_NOW - SCEN_DAY;
	msgid[0] = '\0';
	if (m == NULL)
		return;
	if (*size == 0) {
		char *b = scen_body(m, (size_t *)size);

		free(b);
	}
	if (m->date)
		*date = m->date;
	if (!m->nomid)
		snprintf(msgid, idsize, "<%s@test>",
			 m->mid[0] ? m->mid : m->tag);
}

static int
build_state(const struct scen *sc, struct state_db *db, struct mf_store *far,
	    struct mf_store *near, struct mf_err *err)
{
	const struct scen_table *t = &sc->before;
	const char *names[SCEN_MAX_BOXES + 1];
	size_t nn = 0, i, k;
	bool near_uids = (near->caps & MF_CAP_UIDS) != 0;

	names[nn++] = "INBOX";
	for (i = 0; i < t->nboxes; i++)
		if (strcmp(t->boxes[i].name, "INBOX") != 0)
			names[nn++] = t->boxes[i].name;
	if (state_begin(db, err) < 0)
		return -1;
	for (k = 0; k < nn; k++) {
		struct state_box b = { 0 };
		char key[64];

		if (!box_synced(t, names[k]))
			continue;
		b.far_name = b.near_name = (char *)names[k];
		b.far.uidvalidity = store_uidvalidity(far, names[k]);
		b.near.uidvalidity = store_uidvalidity(near, names[k]);
		if (sc->reset_far && b.far.uidvalidity != 0)
			b.far.uidvalidity--;
		if (sc->reset_near && b.near.uidvalidity != 0)
			b.near.uidvalidity--;
		if (state_box_add(db, &b, err) < 0)
			goto fail;
		/* sync/near-kw.c's mark: these rows' near keywords are
		 * really stored near (the engine's own format) */
		snprintf(key, sizeof(key), "near-keywords:%" PRId64, b.id);
		if ((near->caps & MF_CAP_KEYWORDS) && !near_uids &&
		    state_meta_set(db, key, "stored", err) < 0)
			goto fail;
		for (i = 0; i < t->nrows; i++) {
			const struct scen_row *r = &t->rows[i];
			struct state_msg m;
			char msgid[SCEN_TEXT];
			uint64_t size;
			int64_t date;

			if (strcmp(r->box, names[k]) != 0)
				continue;
			row_facts(sc, r, &size, &date, msgid, sizeof(msgid));
			row_write(&m, r, near_uids, size, date,
				  msgid[0] ? msgid : NULL);
			if (state_msg_insert(db, b.id, &m, err) < 0)
				goto fail;
		}
	}
	return state_commit(db, err);
fail:
	state_rollback(db);
	return -1;
}

int
scen_build(const struct scen *sc, const char *dir, char *errbuf, size_t errsize)
{
	struct mf_store *far = NULL, *near = NULL;
	struct state_db *db = NULL;
	struct mf_err err = { 0 };
	char *sp = path_in(dir, "state.db");
	int ret = -1;

	if (scen_open_stores(sc, dir, &far, &near, errbuf, errsize) < 0)
		goto out;
	if (build_stores(sc, far, near, &err) < 0 ||
	    state_open(sp, false, &db, &err) < 0 ||
	    build_state(sc, db, far, near, &err) < 0) {
		snprintf(errbuf, errsize, "%s", err.msg);
		goto out;
	}
	ret = 0;
out:
	state_close(&db);
	mf_store_destroy(&far);
	mf_store_destroy(&near);
	free(sp);
	return ret;
}

/* ---- reading back --------------------------------------------------- */

static void
render_store(struct mf_store *st, bool far, struct scen_lines *out)
{
	bool u = (st->caps & MF_CAP_UIDS) != 0;
	size_t b, i, n;

	for (b = 0; b < mem_store_nboxes(st); b++)
		add_line(out, "box: %s %s", far ? "far" : "near",
			 mem_store_box_name(st, b));
	for (b = 0; b < mem_store_nboxes(st); b++) {
		const char *name = mem_store_box_name(st, b);
		const struct mem_msg *v = mem_store_msgs(st, name, &n);

		for (i = 0; i < n; i++) {
			struct scen_msg m;

			msg_unbody(&v[i], &m);
			m.far = far;
			snprintf(m.box, sizeof(m.box), "%s", name);
			if (u)
				snprintf(m.id, sizeof(m.id), "%u", v[i].uid);
			else
				snprintf(m.id, sizeof(m.id), "%s", v[i].key);
			render_msg(out, &m);
		}
	}
}

int
scen_render_dir(const struct scen *sc, const char *dir, struct scen_lines *out,
		char *errbuf, size_t errsize)
{
	struct mf_store *far = NULL, *near = NULL;
	struct state_db *db = NULL;
	struct state_box_list *boxes = NULL;
	struct mf_err err = { 0 };
	char *sp = path_in(dir, "state.db");
	size_t b, i;
	int ret = -1;

	if (scen_open_stores(sc, dir, &far, &near, errbuf, errsize) < 0)
		goto out;
	render_store(far, true, out);
	render_store(near, false, out);
	if (state_open(sp, true, &db, &err) < 0 ||
	    state_box_list(db, &boxes, &err) < 0) {
		snprintf(errbuf, errsize, "%s", err.msg);
		goto out;
	}
	for (b = 0; b < boxes->n; b++) {
		struct state_msg_list *rows = NULL;

		if (state_msgs_load(db, boxes->v[b].id, &rows, &err) < 0) {
			snprintf(errbuf, errsize, "%s", err.msg);
			goto out;
		}
		for (i = 0; i < rows->n; i++) {
			struct scen_row r;

			row_render(&r, &rows->v[i],
				   (near->caps & MF_CAP_UIDS) != 0);
			snprintf(r.box, sizeof(r.box), "%s",
				 boxes->v[b].far_name);
			render_row(out, &r);
		}
		state_msg_list_free(&rows);
	}
	ret = 0;
out:
	state_box_list_free(&boxes);
	state_close(&db);
	mf_store_destroy(&far);
	mf_store_destroy(&near);
	free(sp);
	return ret;
}

/* ---- comparing ------------------------------------------------------ */

/* "KIND: BOX ID rest": the id is the third word (none for box lines) */
static bool
line_match(const char *exp, const char *act)
{
	const char *e = exp, *a = act;
	int w;

	if (strncmp(exp, "box:", 4) == 0)
		return strcmp(exp, act) == 0;
	for (w = 0; w < 2; w++) {
		const char *es = strchr(e, ' '), *as = strchr(a, ' ');

		if (es == NULL || as == NULL || es - e != as - a ||
		    strncmp(e, a, (size_t)(es - e)) != 0)
			return false;
		e = es + 1;
		a = as + 1;
	}
	/* the far id, then for state the near id */
	for (w = 0; w < (strncmp(exp, "state:", 6) == 0 ? 2 : 1); w++) {
		const char *es = strchr(e, ' '), *as = strchr(a, ' ');

		if (es == NULL || as == NULL)
			return false;
		bool any = es - e == 1 && *e == '*' &&
			   !(as - a == 1 && *a == '-');

		if (!any &&
		    (es - e != as - a || strncmp(e, a, (size_t)(es - e)) != 0))
			return false;
		e = es + 1;
		a = as + 1;
	}
	return strcmp(e, a) == 0;
}

static bool
has_wild(const char *l)
{
	return strstr(l, " * ") != NULL;
}

bool
scen_lines_match(const struct scen_lines *expect,
		 const struct scen_lines *actual)
{
	bool *used = xcalloc(actual->n + 1, sizeof(bool));
	bool ok = true;
	size_t pass, i, k;

	/* explicit ids first, so that a wildcard takes what is left */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < expect->n; i++) {
			if (has_wild(expect->v[i]) != (pass == 1))
				continue;
			for (k = 0; k < actual->n; k++)
				if (!used[k] &&
				    line_match(expect->v[i], actual->v[k]))
					break;
			if (k == actual->n)
				ok = false;
			else
				used[k] = true;
		}
	}
	for (k = 0; k < actual->n; k++)
		if (!used[k])
			ok = false;
	free(used);
	return ok;
}
