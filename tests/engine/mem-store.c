/*
 * The in-memory store (mem-store.h).  One folder is selected at a time,
 * as in the real stores; every op that changes something bumps the
 * folder's modseq and token, writes the file, then counts a test step.
 */
#include "mem-store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/testhook.h"
#include "base/xalloc.h"
#include "flags.h"

#define MEM_MAX_FAILS 8

struct mem_gone {
	uint32_t uid;
	uint64_t modseq;
};

struct mem_box {
	char *name;
	uint32_t uidvalidity, uidnext;
	uint64_t modseq;   /* highest */
	uint64_t token;	   /* never 0 */
	struct mem_msg *v; /* sorted by uid or key */
	size_t n;
	struct mem_gone *gone; /* expunged UIDs, for VANISHED */
	size_t ngone;
};

struct mem_fail {
	char op[24];
	unsigned nth;
	enum mem_fail_kind kind;
};

struct mem_delivery {
	struct mf_sink sink; /* first: cast back */
	struct mf_delivery *d;
	char *buf;
	size_t len, cap;
	bool finished;
};

struct mem_store {
	struct mf_store base; /* first: cast back */
	unsigned caps;
	char *path;
	unsigned delay_ms;
	struct mem_box *boxes;
	size_t nboxes;
	long sel;	 /* selected folder, -1: none */
	uint64_t keyseq; /* for new keys */
	uint32_t uv_default;
	struct mem_delivery **dv; /* begun since the last flush */
	size_t ndv;
	struct mem_fail fails[MEM_MAX_FAILS];
	size_t nfails;
	struct {
		char op[24];
		unsigned calls;
	} calls[16];
	size_t ncalls;
	unsigned long changes;
};

static struct mem_store *
mem(struct mf_store *st)
{
	return (struct mem_store *)st;
}

static const struct mem_store *
cmem(const struct mf_store *st)
{
	return (const struct mem_store *)st;
}

static bool
uids(const struct mem_store *m)
{
	return (m->caps & MF_CAP_UIDS) != 0;
}

/* ---- persistence ---------------------------------------------------- */

static void
put_str(FILE *f, const char *s, size_t len)
{
	fprintf(f, "%zu:", len);
	if (len > 0)
		fwrite(s, 1, len, f);
	fputc(' ', f);
}

static char *
get_str(FILE *f, size_t *len_r)
{
	size_t len;
	char *s;

	if (fscanf(f, "%zu:", &len) != 1 || len > (64u << 20))
		return NULL;
	s = xmalloc(len + 1);
	if (len > 0 && fread(s, 1, len, f) != len) {
		free(s);
		return NULL;
	}
	s[len] = '\0';
	if (len_r != NULL)
		*len_r = len;
	return s;
}

int
mem_store_save(struct mf_store *st, struct mf_err *err)
{
	struct mem_store *m = mem(st);
	char *tmp;
	FILE *f;
	size_t b, i;

	if (m->path == NULL)
		return 0;
	tmp = xasprintf("%s.tmp", m->path);
	f = fopen(tmp, "w");
	if (f == NULL) {
		free(tmp);
		return mf_err_sys(err, MF_E_STORE, "%s", m->path);
	}
	fprintf(f, "memstore1 %" PRIu64 " %zu\n", m->keyseq, m->nboxes);
	for (b = 0; b < m->nboxes; b++) {
		const struct mem_box *x = &m->boxes[b];

		put_str(f, x->name, strlen(x->name));
		fprintf(f, "%u %u %" PRIu64 " %" PRIu64 " %zu %zu\n",
			x->uidvalidity, x->uidnext, x->modseq, x->token, x->n,
			x->ngone);
		for (i = 0; i < x->n; i++) {
			const struct mem_msg *g = &x->v[i];

			fprintf(f,
				"%u %u %" PRId64 " %" PRIu64 " %" PRIu64 " %d ",
				g->uid, g->flags, g->date, g->modseq,
				g->placeholder_of, g->is_new ? 1 : 0);
			put_str(f, g->key ? g->key : "",
				g->key ? strlen(g->key) : 0);
			put_str(f, g->keywords, strlen(g->keywords));
			put_str(f, g->body, g->len);
			fputc('\n', f);
		}
		for (i = 0; i < x->ngone; i++)
			fprintf(f, "%u %" PRIu64 "\n", x->gone[i].uid,
				x->gone[i].modseq);
	}
	if (fclose(f) != 0 || rename(tmp, m->path) < 0) {
		mf_err_sys(err, MF_E_STORE, "%s", m->path);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static int
load(struct mem_store *m, FILE *f, struct mf_err *err)
{
	size_t nb, b, i;

	if (fscanf(f, "memstore1 %" SCNu64 " %zu ", &m->keyseq, &nb) != 2)
		goto bad;
	m->boxes = xcalloc(nb + 1, sizeof(*m->boxes));
	for (b = 0; b < nb; b++) {
		struct mem_box *x = &m->boxes[b];

		x->name = get_str(f, NULL);
		if (x->name == NULL)
			goto bad;
		m->nboxes++;
		if (fscanf(f, "%u %u %" SCNu64 " %" SCNu64 " %zu %zu ",
			   &x->uidvalidity, &x->uidnext, &x->modseq, &x->token,
			   &x->n, &x->ngone) != 6)
			goto bad;
		x->v = xcalloc(x->n + 1, sizeof(*x->v));
		x->gone = xcalloc(x->ngone + 1, sizeof(*x->gone));
		for (i = 0; i < x->n; i++) {
			struct mem_msg *g = &x->v[i];
			int isnew;

			if (fscanf(f,
				   "%u %u %" SCNd64 " %" SCNu64 " %" SCNu64
				   " %d ",
				   &g->uid, &g->flags, &g->date, &g->modseq,
				   &g->placeholder_of, &isnew) != 6)
				goto bad;
			g->is_new = isnew != 0;
			g->key = get_str(f, NULL);
			g->keywords = get_str(f, NULL);
			g->body = get_str(f, &g->len);
			if (g->key == NULL || g->keywords == NULL ||
			    g->body == NULL)
				goto bad;
			if (g->key[0] == '\0') {
				free(g->key);
				g->key = NULL;
			}
		}
		for (i = 0; i < x->ngone; i++)
			if (fscanf(f, "%u %" SCNu64 " ", &x->gone[i].uid,
				   &x->gone[i].modseq) != 2)
				goto bad;
	}
	return 0;
bad:
	return mf_err_set(err, MF_E_STORE, "%s: not a mem store file", m->path);
}

/* ---- helpers -------------------------------------------------------- */

static void
msg_free(struct mem_msg *g)
{
	free(g->key);
	free(g->keywords);
	free(g->body);
}

static struct mem_box *
find_box(struct mem_store *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nboxes; i++)
		if (strcmp(m->boxes[i].name, name) == 0)
			return &m->boxes[i];
	return NULL;
}

static long
find_msg(const struct mem_store *m, const struct mem_box *x, uint32_t uid,
	 const char *key)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		if (uids(m) ? x->v[i].uid == uid :
			      key != NULL && x->v[i].key != NULL &&
				      strcmp(x->v[i].key, key) == 0)
			return (long)i;
	}
	return -1;
}

static int
cmp_msg_uid(const void *a, const void *b)
{
	const struct mem_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int
cmp_msg_key(const void *a, const void *b)
{
	const struct mem_msg *x = a, *y = b;

	return strcmp(x->key, y->key);
}

static void
box_sort(const struct mem_store *m, struct mem_box *x)
{
	qsort(x->v, x->n, sizeof(*x->v), uids(m) ? cmp_msg_uid : cmp_msg_key);
}

static void
box_touch(struct mem_box *x)
{
	x->modseq++;
	x->token++;
}

/* Insert g (taken over) into x; gives it a UID or key. */
static struct mem_msg *
box_insert(struct mem_store *m, struct mem_box *x, struct mem_msg *g)
{
	box_touch(x);
	if (uids(m)) {
		if (g->uid == 0)
			g->uid = x->uidnext;
		if (g->uid >= x->uidnext)
			x->uidnext = g->uid + 1;
		free(g->key);
		g->key = NULL;
	} else if (g->key == NULL) {
		g->key = xasprintf("m%06" PRIu64, ++m->keyseq);
	}
	g->modseq = x->modseq;
	if (!(m->caps & MF_CAP_KEYWORDS)) {
		free(g->keywords);
		g->keywords = xstrdup("");
	}
	if (!(m->caps & MF_CAP_PLACEHOLDERS))
		g->placeholder_of = 0;
	x->v = xreallocarray(x->v, x->n + 1, sizeof(*x->v));
	x->v[x->n++] = *g;
	box_sort(m, x);
	return &x->v[find_msg(m, x, g->uid, g->key)];
}

static void
box_expunge(struct mem_box *x, size_t i)
{
	box_touch(x);
	x->gone = xreallocarray(x->gone, x->ngone + 1, sizeof(*x->gone));
	x->gone[x->ngone].uid = x->v[i].uid;
	x->gone[x->ngone++].modseq = x->modseq;
	msg_free(&x->v[i]);
	memmove(&x->v[i], &x->v[i + 1], (x->n - i - 1) * sizeof(*x->v));
	x->n--;
}

/* A change was made: write the file, then count the step. */
static int
changed(struct mem_store *m, const char *step, struct mf_err *err)
{
	m->changes++;
	if (mem_store_save(&m->base, err) < 0)
		return -1;
	mf_test_step(step);
	return 0;
}

/*
 * Count a call of op; its injected failure kind, 0 for none.  Sleeps the
 * configured delay.
 */
static enum mem_fail_kind
enter(struct mem_store *m, const char *op)
{
	unsigned n = 0;
	size_t i;

	if (m->delay_ms != 0) {
		struct timespec ts = { (time_t)(m->delay_ms / 1000),
				       (long)(m->delay_ms % 1000) * 1000000L };

		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	}
	for (i = 0; i < m->ncalls; i++)
		if (strcmp(m->calls[i].op, op) == 0)
			break;
	if (i == m->ncalls && m->ncalls < 16) {
		snprintf(m->calls[i].op, sizeof(m->calls[i].op), "%s", op);
		m->calls[i].calls = 0;
		m->ncalls++;
	}
	if (i < m->ncalls)
		n = ++m->calls[i].calls;
	for (i = 0; i < m->nfails; i++)
		if (strcmp(m->fails[i].op, op) == 0 && m->fails[i].nth == n)
			return m->fails[i].kind;
	return 0;
}

static int
fail_call(struct mem_store *m, const char *op, enum mem_fail_kind kind,
	  struct mf_err *err)
{
	return mf_err_set(err, kind == MEM_FAIL_BOX ? MF_E_BOX : MF_E_NET,
			  "%s: %s: failure injected", m->base.name, op);
}

static struct mem_box *
selected(struct mem_store *m, const char *op, struct mf_err *err)
{
	if (m->sel < 0) {
		mf_err_set(err, MF_E_INTERNAL, "%s: no mailbox selected", op);
		return NULL;
	}
	return &m->boxes[m->sel];
}

static void
fill_status(const struct mem_store *m, const struct mem_box *x,
	    struct mf_box_status *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	if (m->caps & MF_CAP_DIR_TOKEN)
		s->dir_token = x->token;
	if (!uids(m))
		return;
	s->has_status = true;
	s->uidvalidity = x->uidvalidity;
	s->uidnext = x->uidnext;
	s->messages = (uint32_t)x->n;
	for (i = 0; i < x->n; i++)
		s->unseen += !(x->v[i].flags & MF_FLAG_SEEN);
	if (m->caps & MF_CAP_CONDSTORE)
		s->highestmodseq = x->modseq;
}

/* ---- folders -------------------------------------------------------- */

static int
mem_list_boxes(struct mf_store *st, bool status, struct mf_box_list **list_r,
	       struct mf_err *err)
{
	struct mem_store *m = mem(st);
	struct mf_box_list *l;
	enum mem_fail_kind f = enter(m, "list_boxes");
	size_t i;

	if (f != 0)
		return fail_call(m, "list_boxes", f, err);
	l = xcalloc(1, sizeof(*l));
	l->v = xcalloc(m->nboxes + 1, sizeof(*l->v));
	for (i = 0; i < m->nboxes; i++) {
		struct mf_box_info *bi = &l->v[l->n++];

		bi->name = xstrdup(m->boxes[i].name);
		bi->role = strcmp(bi->name, "INBOX") == 0 ? MF_ROLE_INBOX :
							    MF_ROLE_NONE;
		bi->attrs = MF_BOX_HASNOCHILDREN;
		if (status)
			fill_status(m, &m->boxes[i], &bi->status);
	}
	*list_r = l;
	return 0;
}

static struct mem_box *
add_box(struct mem_store *m, const char *name, uint32_t uidvalidity)
{
	struct mem_box *x;

	m->boxes = xreallocarray(m->boxes, m->nboxes + 1, sizeof(*m->boxes));
	x = &m->boxes[m->nboxes++];
	memset(x, 0, sizeof(*x));
	x->name = xstrdup(name);
	x->uidvalidity = !uids(m)	  ? 0 :
			 uidvalidity != 0 ? uidvalidity :
					    m->uv_default;
	x->uidnext = 1;
	x->modseq = 1;
	x->token = 1;
	return x;
}

static int
mem_create_box(struct mf_store *st, const char *box, struct mf_err *err)
{
	struct mem_store *m = mem(st);
	enum mem_fail_kind f = enter(m, "create_box");

	if (f != 0)
		return fail_call(m, "create_box", f, err);
	if (find_box(m, box) != NULL)
		return mf_err_set(err, MF_E_BOX, "create %s: exists", box);
	add_box(m, box, 0);
	return changed(m, "mem create", err);
}

static int
mem_delete_box(struct mf_store *st, const char *box, struct mf_err *err)
{
	struct mem_store *m = mem(st);
	enum mem_fail_kind f = enter(m, "delete_box");
	struct mem_box *x = find_box(m, box);
	size_t i, k;

	if (f != 0)
		return fail_call(m, "delete_box", f, err);
	if (x == NULL)
		return mf_err_set(err, MF_E_BOX, "delete %s: no such folder",
				  box);
	k = (size_t)(x - m->boxes);
	for (i = 0; i < x->n; i++)
		msg_free(&x->v[i]);
	free(x->v);
	free(x->gone);
	free(x->name);
	memmove(x, x + 1, (m->nboxes - k - 1) * sizeof(*x));
	m->nboxes--;
	if (m->sel == (long)k)
		m->sel = -1;
	else if (m->sel > (long)k)
		m->sel--;
	return changed(m, "mem delete box", err);
}

static int
mem_select_box(struct mf_store *st, const char *box,
	       const struct mf_select_req *req, struct mf_box_status *status_r,
	       struct mf_err *err)
{
	struct mem_store *m = mem(st);
	enum mem_fail_kind f = enter(m, "select_box");
	struct mem_box *x = find_box(m, box);

	(void)req;
	if (f != 0)
		return fail_call(m, "select_box", f, err);
	if (x == NULL) {
		/* as the maildir store says it (mdir-store.h): not there */
		mf_err_set(err, MF_E_BOX, "select %s: no such folder", box);
		if (err != NULL)
			err->sys_errno = ENOENT;
		return -1;
	}
	m->sel = (long)(x - m->boxes);
	if (status_r != NULL)
		fill_status(m, x, status_r);
	return 0;
}

/* ---- scan and fetch ------------------------------------------------- */

/* The Message-ID of a canonical message, or NULL. */
static const char *
find_msgid(struct mf_arena *a, const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t e = i;

		while (e < len && p[e] != '\n')
			e++;
		if (e - i <= 2)
			return NULL; /* the blank line: end of header */
		if (e - i > 11 && strncasecmp(p + i, "message-id:", 11) == 0) {
			size_t s = i + 11, t = e;

			while (s < t && (p[s] == ' ' || p[s] == '\t'))
				s++;
			while (t > s && (p[t - 1] == '\r' || p[t - 1] == ' '))
				t--;
			return mf_arena_strndup(a, p + s, t - s);
		}
		i = e + 1;
	}
	return NULL;
}

static bool
in_gone_range(const struct mf_scan_req *req, uint32_t uid)
{
	if (req->uid_lo == 0 && req->uid_hi == 0)
		return true;
	return uid >= req->uid_lo && (req->uid_hi == 0 || uid <= req->uid_hi);
}

static int
mem_scan(struct mf_store *st, const struct mf_scan_req *req,
	 struct mf_scan_result **res_r, struct mf_err *err)
{
	struct mem_store *m = mem(st);
	enum mem_fail_kind f = enter(m, "scan");
	struct mem_box *x = selected(m, "scan", err);
	struct mf_scan_result *res;
	size_t i;

	if (x == NULL)
		return -1;
	if (f != 0)
		return fail_call(m, "scan", f, err);
	res = xcalloc(1, sizeof(*res));
	res->arena = mf_arena_create(4096);
	res->msgs = xcalloc(x->n + 1, sizeof(*res->msgs));
	for (i = 0; i < x->n; i++) {
		const struct mem_msg *g = &x->v[i];
		struct mf_msg *o;

		if (uids(m) && !in_gone_range(req, g->uid))
			continue;
		if (req->changedsince != 0 && (m->caps & MF_CAP_CONDSTORE) &&
		    g->modseq <= req->changedsince)
			continue;
		if (req->since != 0 && g->date < req->since)
			continue;
		o = &res->msgs[res->n++];
		o->uid = uids(m) ? g->uid : 0;
		o->key = g->key ? mf_arena_strdup(res->arena, g->key) : NULL;
		o->flags = g->flags;
		o->keywords = mf_arena_strdup(res->arena, g->keywords);
		o->size = g->len;
		o->date = g->date;
		if (m->caps & MF_CAP_CONDSTORE)
			o->modseq = g->modseq;
		if (req->want & MF_WANT_MSGID)
			o->msgid = find_msgid(res->arena, g->body, g->len);
		o->is_new = g->is_new;
		o->placeholder_of = g->placeholder_of;
	}
	if (req->vanished && req->changedsince != 0 &&
	    (m->caps & MF_CAP_QRESYNC)) {
		res->vanished_valid = true;
		res->vanished = xcalloc(x->ngone + 1, sizeof(uint32_t));
		for (i = 0; i < x->ngone; i++)
			if (x->gone[i].modseq > req->changedsince &&
			    in_gone_range(req, x->gone[i].uid))
				res->vanished[res->nvanished++] =
					x->gone[i].uid;
	}
	*res_r = res;
	return 0;
}

/* Length of the header block with its blank line (all if none). */
static size_t
header_len(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i + 3 < len; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	return len;
}

static int
mem_fetch(struct mf_store *st, struct mf_fetch_item *items, size_t n,
	  struct mf_err *err)
{
	struct mem_store *m = mem(st);
	enum mem_fail_kind f = enter(m, "fetch");
	struct mem_box *x = selected(m, "fetch", err);
	size_t i;

	if (x == NULL)
		return -1;
	if (f == MEM_FAIL_BOX || f == MEM_FAIL_STORE)
		return fail_call(m, "fetch", f, err);
	for (i = 0; i < n; i++) {
		struct mf_fetch_item *it = &items[i];
		long k = find_msg(m, x, it->uid, it->key);
		const struct mem_msg *g;
		uint64_t lo, hi, end;

		it->status = 0;
		it->bytes = 0;
		it->gone = false;
		mf_err_clear(&it->err);
		if (f == MEM_FAIL_ITEMS) {
			it->status = -1;
			mf_err_set(&it->err, MF_E_MSG,
				   "fetch: failure "
				   "injected");
			continue;
		}
		if (k < 0) {
			it->status = -1;
			it->gone = true;
			mf_err_set(&it->err, MF_E_MSG, "message is gone");
			continue;
		}
		g = &x->v[k];
		end = it->header_only ? header_len(g->body, g->len) : g->len;
		lo = it->offset < end ? it->offset : end;
		hi = it->length != 0 && lo + it->length < end ?
			     lo + it->length :
			     end;
		if ((hi > lo &&
		     mf_sink_write(it->sink, g->body + lo, (size_t)(hi - lo),
				   &it->err) < 0) ||
		    mf_sink_finish(it->sink, &it->err) < 0) {
			it->status = -1;
			continue;
		}
		it->bytes = hi - lo;
	}
	if (f == MEM_FAIL_LOST)
		return fail_call(m, "fetch", f, err);
	return 0;
}

/* ---- deliveries ----------------------------------------------------- */

static int
dv_write(struct mf_sink *sink, const void *data, size_t len, struct mf_err *err)
{
	struct mem_delivery *v = (struct mem_delivery *)sink;

	(void)err;
	if (v->len + len + 1 > v->cap) {
		v->cap = (v->len + len + 1) * 2;
		v->buf = xrealloc(v->buf, v->cap);
	}
	memcpy(v->buf + v->len, data, len);
	v->len += len;
	return 0;
}

static int
dv_finish(struct mf_sink *sink, struct mf_err *err)
{
	(void)err;
	((struct mem_delivery *)sink)->finished = true;
	return 0;
}

static const struct mf_sink_ops dv_ops = { dv_write, dv_finish };

static int
mem_deliver_begin(struct mf_store *st, struct mf_delivery *d,
		  struct mf_err *err)
{
	struct mem_store *m = mem(st);
	enum mem_fail_kind f = enter(m, "deliver_begin");
	struct mem_delivery *v;

	if (selected(m, "deliver", err) == NULL)
		return -1;
	if (f == MEM_FAIL_ITEMS)
		return mf_err_set(err, MF_E_MSG, "deliver: failure injected");
	if (f != 0)
		return fail_call(m, "deliver_begin", f, err);
	v = xcalloc(1, sizeof(*v));
	v->sink.ops = &dv_ops;
	v->d = d;
	d->key[0] = '\0';
	if (!uids(m))
		snprintf(d->key, sizeof(d->key), "m%06" PRIu64, ++m->keyseq);
	d->status = 0;
	d->uid = 0;
	mf_err_clear(&d->err);
	d->sink = &v->sink;
	d->priv = v;
	m->dv = xreallocarray(m->dv, m->ndv + 1, sizeof(*m->dv));
	m->dv[m->ndv++] = v;
	return 0;
}

static void
dv_end(struct mem_delivery *v)
{
	v->d->sink = NULL;
	v->d->priv = NULL;
	free(v->buf);
	free(v);
}

static void
mem_deliver_abort_all(struct mf_store *st)
{
	struct mem_store *m = mem(st);
	size_t i;

	for (i = 0; i < m->ndv; i++) {
		m->dv[i]->d->status = -1;
		mf_err_set(&m->dv[i]->d->err, MF_E_MSG, "aborted");
		dv_end(m->dv[i]);
	}
	m->ndv = 0;
}

static int
mem_deliver_flush(struct mf_store *st, struct mf_err *err)
{
	struct mem_store *m = mem(st);
	enum mem_fail_kind f = enter(m, "deliver_flush");
	struct mem_box *x = selected(m, "deliver_flush", err);
	size_t i;
	int ret = 0;

	if (x == NULL) {
		mem_deliver_abort_all(st);
		return -1;
	}
	for (i = 0; i < m->ndv; i++) {
		struct mem_delivery *v = m->dv[i];
		struct mf_delivery *d = v->d;
		struct mem_msg g = { 0 }, *in;

		if (ret < 0 || f == MEM_FAIL_BOX || f == MEM_FAIL_STORE) {
			/* never sent */
			d->status = -1;
			fail_call(m, "deliver_flush",
				  f != 0 ? f : MEM_FAIL_STORE, &d->err);
			if (ret == 0)
				ret = fail_call(m, "deliver_flush", f, err);
			dv_end(v);
			continue;
		}
		if (!v->finished || f == MEM_FAIL_ITEMS) {
			d->status = -1;
			mf_err_set(&d->err, MF_E_MSG, "%s",
				   v->finished ? "deliver: failure injected" :
						 "message not complete");
			dv_end(v);
			continue;
		}
		g.flags = d->flags & MF_FLAG_ALL;
		g.keywords = mf_kw_normalize(d->keywords ? d->keywords : "");
		g.date = d->date != 0 ? d->date : (int64_t)time(NULL);
		g.placeholder_of = d->placeholder_of;
		g.key = d->key[0] != '\0' ? xstrdup(d->key) : NULL;
		g.body = v->buf;
		g.len = v->len;
		v->buf = NULL;
		in = box_insert(m, x, &g);
		if (f == MEM_FAIL_LOST) {
			/* landed, but the answer never came */
			d->status = -1;
			fail_call(m, "deliver_flush", f, &d->err);
			ret = fail_call(m, "deliver_flush", f, err);
		} else if (uids(m) && (m->caps & MF_CAP_UIDPLUS)) {
			d->uid = in->uid;
		}
		dv_end(v);
		if (changed(m, "mem deliver", ret < 0 ? NULL : err) < 0)
			ret = -1;
	}
	m->ndv = 0;
	return ret;
}

/* ---- changes -------------------------------------------------------- */

static int
mem_set_flags(struct mf_store *st, struct mf_flag_item *items, size_t n,
	      struct mf_err *err)
{
	struct mem_store *m = mem(st);
	enum mem_fail_kind f = enter(m, "set_flags");
	struct mem_box *x = selected(m, "set_flags", err);
	size_t i;

	if (x == NULL)
		return -1;
	if (f == MEM_FAIL_BOX || f == MEM_FAIL_STORE)
		return fail_call(m, "set_flags", f, err);
	for (i = 0; i < n; i++) {
		struct mf_flag_item *it = &items[i];
		long k = find_msg(m, x, it->uid, it->key);
		struct mem_msg *g;
		unsigned fl;
		char *kw, *kw2;

		it->status = 0;
		it->gone = it->conflict = false;
		it->new_key[0] = '\0';
		mf_err_clear(&it->err);
		if (f == MEM_FAIL_ITEMS) {
			it->status = -1;
			mf_err_set(&it->err, MF_E_MSG,
				   "flags: failure "
				   "injected");
			continue;
		}
		if (k < 0) {
			it->gone = true;
			continue;
		}
		g = &x->v[k];
		if (g->key != NULL)
			snprintf(it->new_key, sizeof(it->new_key), "%s",
				 g->key);
		if (it->unchangedsince != 0 && (m->caps & MF_CAP_CONDSTORE) &&
		    g->modseq > it->unchangedsince) {
			it->status = -1;
			it->conflict = true;
			mf_err_set(&it->err, MF_E_MSG, "modified since");
			continue;
		}
		fl = ((g->flags | it->add) & ~it->del) & MF_FLAG_ALL;
		kw = mf_kw_minus(g->keywords, it->kw_del ? it->kw_del : "");
		kw2 = mf_kw_union(kw,
				  (m->caps & MF_CAP_KEYWORDS) && it->kw_add ?
					  it->kw_add :
					  "");
		free(kw);
		if (fl == g->flags && strcmp(kw2, g->keywords) == 0) {
			free(kw2);
			continue;
		}
		g->flags = fl;
		free(g->keywords);
		g->keywords = kw2;
		g->is_new = false;
		box_touch(x);
		g->modseq = x->modseq;
		if (changed(m, "mem flags", err) < 0)
			return -1;
	}
	if (f == MEM_FAIL_LOST)
		return fail_call(m, "set_flags", f, err);
	return 0;
}

static int
mem_remove(struct mf_store *st, struct mf_remove_item *items, size_t n,
	   bool expunge, struct mf_err *err)
{
	struct mem_store *m = mem(st);
	enum mem_fail_kind f = enter(m, "remove");
	struct mem_box *x = selected(m, "remove", err);
	size_t i;

	if (x == NULL)
		return -1;
	if (f == MEM_FAIL_BOX || f == MEM_FAIL_STORE)
		return fail_call(m, "remove", f, err);
	for (i = 0; i < n; i++) {
		struct mf_remove_item *it = &items[i];
		long k = find_msg(m, x, it->uid, it->key);

		it->status = 0;
		it->gone = false;
		mf_err_clear(&it->err);
		if (f == MEM_FAIL_ITEMS) {
			it->status = -1;
			mf_err_set(&it->err, MF_E_MSG,
				   "remove: failure "
				   "injected");
			continue;
		}
		if (k < 0) {
			it->gone = true;
			continue;
		}
		/* without UIDPLUS an IMAP store never sends a plain
		 * EXPUNGE (store/imap/imap-flags.c): \Deleted only */
		if (uids(m) && (!expunge || !(m->caps & MF_CAP_UIDPLUS))) {
			if (x->v[k].flags & MF_FLAG_DELETED)
				continue;
			x->v[k].flags |= MF_FLAG_DELETED;
			box_touch(x);
			x->v[k].modseq = x->modseq;
		} else {
			box_expunge(x, (size_t)k);
		}
		if (changed(m, "mem remove", err) < 0)
			return -1;
	}
	if (f == MEM_FAIL_LOST)
		return fail_call(m, "remove", f, err);
	return 0;
}

static int
mem_move(struct mf_store *st, struct mf_move_item *items, size_t n,
	 const char *dest, struct mf_err *err)
{
	struct mem_store *m = mem(st);
	enum mem_fail_kind f = enter(m, "move");
	struct mem_box *x = selected(m, "move", err), *to;
	long sel = m->sel;
	size_t i;

	if (x == NULL)
		return -1;
	if (f == MEM_FAIL_BOX || f == MEM_FAIL_STORE)
		return fail_call(m, "move", f, err);
	if (uids(m) && !(m->caps & (MF_CAP_MOVE | MF_CAP_UIDPLUS)))
		return mf_err_set(err, MF_E_BOX,
				  "move: neither MOVE nor "
				  "UIDPLUS");
	to = find_box(m, dest);
	if (to == NULL || to == x)
		return mf_err_set(err, MF_E_BOX, "move to %s: no such folder",
				  dest);
	for (i = 0; i < n; i++) {
		struct mf_move_item *it = &items[i];
		long k = find_msg(m, x, it->uid, it->key);
		struct mem_msg g, *in;

		it->status = 0;
		it->gone = false;
		it->new_uid = 0;
		it->new_key[0] = '\0';
		mf_err_clear(&it->err);
		if (f == MEM_FAIL_ITEMS) {
			it->status = -1;
			mf_err_set(&it->err, MF_E_MSG,
				   "move: failure "
				   "injected");
			continue;
		}
		if (k < 0) {
			it->gone = true;
			continue;
		}
		if (!uids(m) && find_msg(m, to, 0, x->v[k].key) >= 0) {
			it->status = -1;
			mf_err_set(&it->err, MF_E_MSG, "move: %s exists in %s",
				   x->v[k].key, dest);
			continue;
		}
		g = x->v[k];
		g.uid = 0;
		g.key = g.key ? xstrdup(g.key) : NULL;
		g.keywords = xstrdup(g.keywords);
		g.body = xmalloc(g.len + 1);
		memcpy(g.body, x->v[k].body, g.len);
		in = box_insert(m, to, &g);
		if (uids(m) && (m->caps & MF_CAP_UIDPLUS))
			it->new_uid = in->uid;
		if (in->key != NULL)
			snprintf(it->new_key, sizeof(it->new_key), "%s",
				 in->key);
		/* to may have moved the boxes array: look x up again */
		x = &m->boxes[sel];
		k = find_msg(m, x, it->uid, it->key);
		/* without MOVE: UID COPY, then \Deleted and UID EXPUNGE,
		 * so a run stopped in between leaves both copies */
		if (uids(m) && !(m->caps & MF_CAP_MOVE) &&
		    changed(m, "mem copy", err) < 0)
			return -1;
		box_expunge(x, (size_t)k);
		if (changed(m, "mem move", err) < 0)
			return -1;
	}
	if (f == MEM_FAIL_LOST)
		return fail_call(m, "move", f, err);
	return 0;
}

static void
mem_destroy(struct mf_store *st)
{
	struct mem_store *m = mem(st);
	size_t b, i;

	mem_deliver_abort_all(st);
	for (b = 0; b < m->nboxes; b++) {
		for (i = 0; i < m->boxes[b].n; i++)
			msg_free(&m->boxes[b].v[i]);
		free(m->boxes[b].v);
		free(m->boxes[b].gone);
		free(m->boxes[b].name);
	}
	free(m->boxes);
	free(m->dv);
	free(m->path);
	free(m->base.name);
	free(m);
}

static const struct mf_store_ops mem_ops = {
	.kind = "mem",
	.list_boxes = mem_list_boxes,
	.create_box = mem_create_box,
	.delete_box = mem_delete_box,
	.select_box = mem_select_box,
	.scan = mem_scan,
	.fetch = mem_fetch,
	.deliver_begin = mem_deliver_begin,
	.deliver_flush = mem_deliver_flush,
	.deliver_abort_all = mem_deliver_abort_all,
	.set_flags = mem_set_flags,
	.remove = mem_remove,
	.move = mem_move,
	.relabel = NULL,
	.destroy = mem_destroy,
};

/* ---- the test interface --------------------------------------------- */

int
mem_store_open(const struct mem_store_cfg *cfg, struct mf_store **st_r,
	       struct mf_err *err)
{
	struct mem_store *m = xcalloc(1, sizeof(*m));
	FILE *f;

	m->base.ops = &mem_ops;
	m->base.caps = m->caps = cfg->caps;
	m->base.name = xstrdup(cfg->name ? cfg->name : "mem");
	m->path = cfg->path ? xstrdup(cfg->path) : NULL;
	m->delay_ms = cfg->delay_ms;
	m->sel = -1;
	m->uv_default = 1000;
	if (m->path != NULL && (f = fopen(m->path, "r")) != NULL) {
		int rc = load(m, f, err);

		fclose(f);
		if (rc < 0) {
			mem_destroy(&m->base);
			return -1;
		}
	} else if (m->path != NULL && errno != ENOENT) {
		mf_err_sys(err, MF_E_STORE, "%s", m->path);
		mem_destroy(&m->base);
		return -1;
	}
	*st_r = &m->base;
	return 0;
}

int
mem_store_fail(struct mf_store *st, const char *op, unsigned nth,
	       enum mem_fail_kind kind, struct mf_err *err)
{
	struct mem_store *m = mem(st);
	struct mem_fail *f;

	if (m->nfails == MEM_MAX_FAILS)
		return mf_err_set(err, MF_E_USAGE, "too many failures");
	f = &m->fails[m->nfails++];
	snprintf(f->op, sizeof(f->op), "%s", op);
	f->nth = nth;
	f->kind = kind;
	return 0;
}

void
mem_store_fail_clear(struct mf_store *st)
{
	mem(st)->nfails = 0;
}

int
mem_store_add_box(struct mf_store *st, const char *box, uint32_t uidvalidity,
		  struct mf_err *err)
{
	struct mem_store *m = mem(st);
	struct mem_box *x = find_box(m, box);

	if (x == NULL)
		x = add_box(m, box, uidvalidity);
	else if (uidvalidity != 0 && uids(m))
		x->uidvalidity = uidvalidity;
	return mem_store_save(st, err);
}

int
mem_store_add_msg(struct mf_store *st, const char *box,
		  const struct mem_msg *in, struct mf_err *err)
{
	struct mem_store *m = mem(st);
	struct mem_box *x = find_box(m, box);
	struct mem_msg g = *in;

	if (x == NULL)
		x = add_box(m, box, 0);
	if ((uids(m) && in->uid != 0 && find_msg(m, x, in->uid, NULL) >= 0) ||
	    (!uids(m) && in->key != NULL && find_msg(m, x, 0, in->key) >= 0))
		return mf_err_set(err, MF_E_USAGE, "%s: message %u%s twice",
				  box, in->uid, in->key ? in->key : "");
	g.key = in->key ? xstrdup(in->key) : NULL;
	g.keywords = mf_kw_normalize(in->keywords ? in->keywords : "");
	g.body = xmalloc(in->len + 1);
	memcpy(g.body, in->body, in->len);
	box_insert(m, x, &g);
	return mem_store_save(st, err);
}

int
mem_store_set_uidnext(struct mf_store *st, const char *box, uint32_t uidnext,
		      struct mf_err *err)
{
	struct mem_box *x = find_box(mem(st), box);

	if (x == NULL)
		return mf_err_set(err, MF_E_USAGE, "%s: no such folder", box);
	if (uidnext > x->uidnext)
		x->uidnext = uidnext;
	return mem_store_save(st, err);
}

size_t
mem_store_nboxes(const struct mf_store *st)
{
	return cmem(st)->nboxes;
}

const char *
mem_store_box_name(const struct mf_store *st, size_t i)
{
	return i < cmem(st)->nboxes ? cmem(st)->boxes[i].name : NULL;
}

const struct mem_msg *
mem_store_msgs(const struct mf_store *st, const char *box, size_t *n_r)
{
	const struct mem_store *m = cmem(st);
	size_t i;

	for (i = 0; i < m->nboxes; i++)
		if (strcmp(m->boxes[i].name, box) == 0) {
			*n_r = m->boxes[i].n;
			return m->boxes[i].v;
		}
	*n_r = 0;
	return NULL;
}

unsigned long
mem_store_changes(const struct mf_store *st)
{
	return cmem(st)->changes;
}
