/*
 * Reading scenario files (README.md has the notation).  Every error names
 * file:line; a file with one is not run at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "flags.h"
#include "scen.h"
#include "store.h"

struct parser {
	const char *file;
	int line;
	struct scen *sc;      /* current, NULL before the first === */
	struct scen_table *t; /* current table */
	char box[SCEN_NAME];  /* current folder of the table */
	bool failed;
};

static void
perr(struct parser *p, const char *what, const char *arg)
{
	fprintf(stderr, "%s:%d: %s%s%s\n", p->file, p->line, what,
		arg ? ": " : "", arg ? arg : "");
	p->failed = true;
}

static const struct {
	const char *name;
	unsigned bit;
} cap_names[] = {
	{ "uids", MF_CAP_UIDS },
	{ "condstore", MF_CAP_CONDSTORE },
	{ "qresync", MF_CAP_QRESYNC },
	{ "uidplus", MF_CAP_UIDPLUS },
	{ "move", MF_CAP_MOVE },
	{ "list_status", MF_CAP_LIST_STATUS },
	{ "keywords", MF_CAP_KEYWORDS },
	{ "dir_token", MF_CAP_DIR_TOKEN },
	{ "placeholders", MF_CAP_PLACEHOLDERS },
	{ "cheap_size", MF_CAP_CHEAP_SIZE },
	{ "scan_may_miss", MF_CAP_SCAN_MAY_MISS },
};

#define CAPS_IMAP \
	(MF_CAP_UIDS | MF_CAP_UIDPLUS | MF_CAP_MOVE | MF_CAP_KEYWORDS | \
	 MF_CAP_CHEAP_SIZE | MF_CAP_LIST_STATUS | MF_CAP_CONDSTORE | \
	 MF_CAP_QRESYNC)
#define CAPS_MAILDIR \
	(MF_CAP_KEYWORDS | MF_CAP_DIR_TOKEN | MF_CAP_PLACEHOLDERS | \
	 MF_CAP_SCAN_MAY_MISS)

unsigned
scen_caps(const char *spec, char *errbuf, size_t errsize)
{
	char buf[SCEN_TEXT], *tok, *save = NULL;
	unsigned caps = 0;
	size_t i;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, " \t", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t", &save)) {
		bool off = tok[0] == '-', on = tok[0] == '+';

		if (strcmp(tok, "imap") == 0) {
			caps = CAPS_IMAP;
			continue;
		}
		if (strcmp(tok, "maildir") == 0) {
			caps = CAPS_MAILDIR;
			continue;
		}
		for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
			if (strcmp(tok + (off || on), cap_names[i].name) == 0)
				break;
		if (i == sizeof(cap_names) / sizeof(cap_names[0]) ||
		    !(off || on)) {
			snprintf(errbuf, errsize, "unknown capability %s", tok);
			return 0;
		}
		if (off)
			caps &= ~cap_names[i].bit;
		else
			caps |= cap_names[i].bit;
	}
	if (caps == 0)
		snprintf(errbuf, errsize, "no capabilities");
	return caps;
}

static bool
parse_flags(const char *s, unsigned *flags_r)
{
	unsigned f = 0;

	if (strcmp(s, "-") == 0) {
		*flags_r = 0;
		return true;
	}
	for (; *s != '\0'; s++) {
		unsigned bit = mf_flag_from_maildir(*s);

		if (bit == 0)
			return false;
		f |= bit;
	}
	*flags_r = f;
	return true;
}

/* "a,b" -> normalized "a b" */
static void
parse_kw(const char *s, char *out, size_t size)
{
	char buf[SCEN_TEXT], *n, *c;

	snprintf(buf, sizeof(buf), "%s", s);
	for (c = buf; *c != '\0'; c++)
		if (*c == ',')
			*c = ' ';
	n = mf_kw_normalize(buf);
	snprintf(out, size, "%s", n);
	free(n);
}

static bool
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	*v = strtoull(s, &end, 10);
	return *s != '\0' && *end == '\0';
}

/* "-40d", "-2h" or a Unix time */
static bool
parse_date(const char *s, int64_t *v)
{
	char *end;
	long long n = strtoll(s, &end, 10);

	if (end == s)
		return false;
	if (strcmp(end, "d") == 0)
		*v = SCEN_NOW + n * SCEN_DAY;
	else if (strcmp(end, "h") == 0)
		*v = SCEN_NOW + n * 3600;
	else if (*end == '\0')
		*v = n;
	else
		return false;
	return true;
}

static int
split(char *s, char **tok, int max)
{
	char *save = NULL, *t;
	int n = 0;

	for (t = strtok_r(s, " \t", &save); t != NULL && n < max;
	     t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	return n;
}

static void
msg_line(struct parser *p, bool far, char *rest)
{
	char *tok[16];
	int n = split(rest, tok, 16), i;
	struct scen_msg *m;
	uint64_t v;

	if (n < 3) {
		perr(p, "a message needs ID FLAGS TAG", NULL);
		return;
	}
	if (p->t->nmsgs == SCEN_MAX_MSGS) {
		perr(p, "too many messages", NULL);
		return;
	}
	m = &p->t->msgs[p->t->nmsgs++];
	memset(m, 0, sizeof(*m));
	m->line = p->line;
	m->far = far;
	snprintf(m->box, sizeof(m->box), "%s", p->box);
	snprintf(m->id, sizeof(m->id), "%s", tok[0]);
	if (!parse_flags(tok[1], &m->flags))
		perr(p, "bad flags", tok[1]);
	snprintf(m->tag, sizeof(m->tag), "%s", tok[2]);
	for (i = 3; i < n; i++) {
		const char *o = tok[i];

		if (strncmp(o, "kw=", 3) == 0)
			parse_kw(o + 3, m->kw, sizeof(m->kw));
		else if (strncmp(o, "mid=", 4) == 0)
			snprintf(m->mid, sizeof(m->mid), "%s", o + 4);
		else if (strcmp(o, "nomid") == 0)
			m->nomid = true;
		else if (strcmp(o, "xtuid") == 0)
			m->xtuid = true;
		else if (strcmp(o, "ph") == 0)
			m->ph = true;
		else if (strcmp(o, "new") == 0)
			m->is_new = true;
		else if (strncmp(o, "body=", 5) == 0)
			snprintf(m->body, sizeof(m->body), "%s", o + 5);
		else if (strncmp(o, "size=", 5) == 0 && parse_u64(o + 5, &v))
			m->size = v;
		else if (strncmp(o, "date=", 5) == 0 &&
			 parse_date(o + 5, &m->date))
			;
		else
			perr(p, "unknown message option", o);
	}
}

static void
row_line(struct parser *p, char *rest)
{
	char *tok[16], *slash;
	int n = split(rest, tok, 16), i;
	struct scen_row *r;

	if (n < 3) {
		perr(p, "a state row needs FAR NEAR FLAGS", NULL);
		return;
	}
	if (p->t->nrows == SCEN_MAX_ROWS) {
		perr(p, "too many state rows", NULL);
		return;
	}
	r = &p->t->rows[p->t->nrows++];
	memset(r, 0, sizeof(*r));
	r->line = p->line;
	snprintf(r->box, sizeof(r->box), "%s", p->box);
	snprintf(r->far, sizeof(r->far), "%s", tok[0]);
	snprintf(r->near, sizeof(r->near), "%s", tok[1]);
	slash = strchr(tok[2], '/');
	if (slash != NULL)
		*slash = '\0';
	if (!parse_flags(tok[2], &r->flags) ||
	    !parse_flags(slash ? slash + 1 : tok[2], &r->nflags))
		perr(p, "bad flags", tok[2]);
	bool nkw_set = false;

	for (i = 3; i < n; i++) {
		const char *o = tok[i];
		uint64_t v;

		if (strncmp(o, "kw=", 3) == 0) {
			parse_kw(o + 3, r->kw, sizeof(r->kw));
		} else if (strncmp(o, "nkw=", 4) == 0) {
			parse_kw(o + 4, r->nkw, sizeof(r->nkw));
			nkw_set = true;
		} else if (strcmp(o, "ph") == 0) {
			r->ph = true;
		} else if (strncmp(o, "arg=", 4) == 0) {
			snprintf(r->arg, sizeof(r->arg), "%s", o + 4);
		} else if (strncmp(o, "size=", 5) == 0 &&
			   parse_u64(o + 5, &v)) {
			r->size = v;
		} else if (strcmp(o, "pending=pull") == 0) {
			r->pending = STATE_PENDING_PULL;
		} else if (strcmp(o, "pending=push") == 0) {
			r->pending = STATE_PENDING_PUSH;
		} else if (strcmp(o, "pending=move") == 0) {
			r->pending = STATE_PENDING_MOVE;
		} else if (strcmp(o, "pending=fetch") == 0) {
			r->pending = STATE_PENDING_FETCH;
		} else {
			perr(p, "unknown state option", o);
		}
	}
	if (!nkw_set)
		memcpy(r->nkw, r->kw, sizeof(r->nkw));
}

static void
box_line(struct parser *p, char *rest)
{
	char *tok[8];
	int n = split(rest, tok, 8), i;
	struct scen_box *b = NULL;
	size_t k;

	if (n < 1) {
		perr(p, "box: needs a name", NULL);
		return;
	}
	snprintf(p->box, sizeof(p->box), "%s", tok[0]);
	for (k = 0; k < p->t->nboxes; k++)
		if (strcmp(p->t->boxes[k].name, tok[0]) == 0)
			b = &p->t->boxes[k];
	if (b == NULL) {
		if (p->t->nboxes == SCEN_MAX_BOXES) {
			perr(p, "too many folders", NULL);
			return;
		}
		b = &p->t->boxes[p->t->nboxes++];
		memset(b, 0, sizeof(*b));
		snprintf(b->name, sizeof(b->name), "%s", tok[0]);
	}
	b->far = b->near = true;
	for (i = 1; i < n; i++) {
		if (strcmp(tok[i], "far") == 0)
			b->near = false;
		else if (strcmp(tok[i], "near") == 0)
			b->far = false;
		else if (strcmp(tok[i], "none") == 0)
			b->far = b->near = false;
		else if (strcmp(tok[i], "synced") == 0)
			b->synced = true;
		else
			perr(p, "unknown box option", tok[i]);
	}
}

static unsigned
dir_bits(struct parser *p, const char *s)
{
	char buf[SCEN_TEXT], *tok, *save = NULL;
	unsigned bits = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "new") == 0)
			bits |= SYNC_NEW;
		else if (strcmp(tok, "flags") == 0)
			bits |= SYNC_FLAGS;
		else if (strcmp(tok, "delete") == 0)
			bits |= SYNC_DELETE;
		else if (strcmp(tok, "all") == 0)
			bits |= SYNC_ALL;
		else if (strcmp(tok, "none") != 0)
			perr(p, "unknown direction", tok);
	}
	return bits;
}

static unsigned
side_bits(struct parser *p, const char *s)
{
	if (strcmp(s, "far") == 0)
		return SYNC_SIDE_FAR;
	if (strcmp(s, "near") == 0)
		return SYNC_SIDE_NEAR;
	if (strcmp(s, "both") == 0)
		return SYNC_SIDE_BOTH;
	if (strcmp(s, "none") != 0)
		perr(p, "unknown side", s);
	return 0;
}

static void
policy_line(struct parser *p, char *rest)
{
	struct scen *sc = p->sc;
	char *tok[16];
	int n = split(rest, tok, 16), i;

	for (i = 0; i < n; i++) {
		char *eq = strchr(tok[i], '='), *v;
		uint64_t u;

		if (eq == NULL) {
			perr(p, "policy: KEY=VALUE", tok[i]);
			continue;
		}
		*eq = '\0';
		v = eq + 1;
		if (strcmp(tok[i], "pull") == 0)
			sc->pol.pull = dir_bits(p, v);
		else if (strcmp(tok[i], "push") == 0)
			sc->pol.push = dir_bits(p, v);
		else if (strcmp(tok[i], "expunge") == 0)
			sc->pol.expunge = side_bits(p, v);
		else if (strcmp(tok[i], "create") == 0)
			sc->pol.create = side_bits(p, v);
		else if (strcmp(tok[i], "remove") == 0)
			sc->pol.remove = side_bits(p, v);
		else if (strcmp(tok[i], "folders") == 0) {
			char *save = NULL, *f;

			snprintf(sc->folder_buf, sizeof(sc->folder_buf), "%s",
				 v);
			sc->pol.nfolders = 0;
			for (f = strtok_r(sc->folder_buf, ",", &save);
			     f != NULL && sc->pol.nfolders < 16;
			     f = strtok_r(NULL, ",", &save))
				sc->folders[sc->pol.nfolders++] = f;
		} else if (!parse_u64(v, &u))
			perr(p, "not a number", v);
		else if (strcmp(tok[i], "max_size") == 0)
			sc->pol.max_size = u;
		else if (strcmp(tok[i], "max_age") == 0)
			sc->pol.max_age_days = (unsigned)u;
		else if (strcmp(tok[i], "max_messages") == 0)
			sc->pol.max_messages = (unsigned)u;
		else if (strcmp(tok[i], "max_delete") == 0)
			sc->pol.max_delete_percent = (unsigned)u;
		else
			perr(p, "unknown policy key", tok[i]);
	}
}

static void
fail_line(struct parser *p, char *rest)
{
	char *tok[8];
	int n = split(rest, tok, 8);
	struct scen_fail *f;

	if (n != 4 ||
	    (strcmp(tok[0], "far") != 0 && strcmp(tok[0], "near") != 0) ||
	    p->sc->nfails == SCEN_MAX_FAILS) {
		perr(p, "fail: far|near OP N box|store|items|lost", NULL);
		return;
	}
	f = &p->sc->fails[p->sc->nfails++];
	f->far = strcmp(tok[0], "far") == 0;
	snprintf(f->op, sizeof(f->op), "%s", tok[1]);
	f->nth = (unsigned)atoi(tok[2]);
	if (strcmp(tok[3], "box") == 0)
		f->kind = MEM_FAIL_BOX;
	else if (strcmp(tok[3], "store") == 0)
		f->kind = MEM_FAIL_STORE;
	else if (strcmp(tok[3], "items") == 0)
		f->kind = MEM_FAIL_ITEMS;
	else if (strcmp(tok[3], "lost") == 0)
		f->kind = MEM_FAIL_LOST;
	else
		perr(p, "unknown failure kind", tok[3]);
}

static void
start_table(struct parser *p, struct scen_table *t)
{
	p->t = t;
	t->present = true;
	snprintf(p->box, sizeof(p->box), "INBOX");
}

static struct scen *
new_scen(struct parser *p, struct scen **v, size_t *n, const char *name)
{
	struct scen *sc;

	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	sc = &(*v)[(*n)++];
	memset(sc, 0, sizeof(*sc));
	sc->file = p->file;
	sc->line = p->line;
	snprintf(sc->name, sizeof(sc->name), "%s", name);
	sc->far_caps = CAPS_IMAP;
	sc->near_caps = CAPS_MAILDIR;
	sc->pol.pull = sc->pol.push = SYNC_ALL;
	sc->pol.expunge = sc->pol.create = SYNC_SIDE_BOTH;
	sc->pol.remove = 0;
	sc->pol.folders = sc->folders;
	start_table(p, &sc->before);
	return sc;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void
scen_line(struct parser *p, char *key, char *rest, struct scen **v, size_t *n)
{
	struct scen *sc = p->sc;
	char eb[SCEN_TEXT] = "";

	if (strcmp(key, "far") == 0)
		msg_line(p, true, rest);
	else if (strcmp(key, "near") == 0)
		msg_line(p, false, rest);
	else if (strcmp(key, "state") == 0)
		row_line(p, rest);
	else if (strcmp(key, "box") == 0)
		box_line(p, rest);
	else if (strcmp(key, "expect") == 0) {
		start_table(p, &sc->expect);
		sc->expect_failed = strcmp(rest, "failed") == 0;
	} else if (strcmp(key, "then") == 0)
		start_table(p, &sc->then);
	else if (strcmp(key, "policy") == 0)
		policy_line(p, rest);
	else if (strcmp(key, "far-caps") == 0 &&
		 (sc->far_caps = scen_caps(rest, eb, sizeof(eb))) == 0)
		perr(p, eb, NULL);
	else if (strcmp(key, "far-caps") == 0)
		;
	else if (strcmp(key, "near-caps") == 0 &&
		 (sc->near_caps = scen_caps(rest, eb, sizeof(eb))) == 0)
		perr(p, eb, NULL);
	else if (strcmp(key, "near-caps") == 0)
		;
	else if (strcmp(key, "reset") == 0) {
		sc->reset_far = strstr(rest, "far") != NULL;
		sc->reset_near = strstr(rest, "near") != NULL;
	} else if (strcmp(key, "fail") == 0)
		fail_line(p, rest);
	else if (strcmp(key, "delay") == 0)
		sc->delay_ms = (unsigned)atoi(rest);
	else if (strcmp(key, "batch") == 0)
		sc->batch = (size_t)atoi(rest);
	else if (strcmp(key, "xfail") == 0)
		snprintf(sc->xfail, sizeof(sc->xfail), "%s",
			 rest[0] ? rest : "known failure");
	else
		perr(p, "unknown line", key);
	(void)v;
	(void)n;
}

/* The array of scenarios moved as it grew: point the folder patterns
 * into each one's own buffer again (NUL-separated by strtok_r). */
static void
fix_folders(struct scen *sc)
{
	const char *f = sc->folder_buf;
	size_t i;

	sc->pol.folders = sc->folders;
	for (i = 0; i < sc->pol.nfolders; i++) {
		while (*f == ',')
			f++;
		sc->folders[i] = f;
		f += strlen(f) + 1;
	}
}

int
scen_parse_file(const char *path, struct scen **v_r, size_t *n_r)
{
	struct parser p = { .file = path };
	FILE *f = fopen(path, "r");
	char buf[1024];
	struct scen *v = NULL;
	size_t n = 0;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *s = trim(buf), *colon, *hash;

		p.line++;
		hash = strstr(s, " #");
		if (hash != NULL)
			*hash = '\0';
		if (s[0] == '#' || s[0] == '\0')
			continue;
		if (strncmp(s, "===", 3) == 0) {
			p.sc = new_scen(&p, &v, &n, trim(s + 3));
			continue;
		}
		if (p.sc == NULL) {
			perr(&p, "text before the first ===", NULL);
			continue;
		}
		colon = strchr(s, ':');
		if (colon == NULL) {
			perr(&p, "KEY: VALUE expected", s);
			continue;
		}
		*colon = '\0';
		scen_line(&p, trim(s), trim(colon + 1), &v, &n);
	}
	fclose(f);
	for (size_t i = 0; i < n; i++)
		fix_folders(&v[i]);
	if (p.failed) {
		free(v);
		return -1;
	}
	*v_r = v;
	*n_r = n;
	return 0;
}
