/*
 * Comparing one folder pair for "mailferry verify" (see verify-cmp.h).
 */
#include "verify-cmp.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "flags.h"

/* A message of one side as sorted for pairing. */
struct vmsg {
	const struct mf_msg *m;
	const char *id; /* identity; "" when unknown */
	uint64_t size;	/* the size it stands for (placeholder: the full) */
	bool used;
};

static int
vmsg_cmp(const void *a, const void *b)
{
	const struct vmsg *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return (x->size > y->size) - (x->size < y->size);
}

static struct vmsg *
vmsgs_make(const struct mf_msg *v, size_t n)
{
	struct vmsg *s = xcalloc(n + 1, sizeof(*s));
	size_t i;

	for (i = 0; i < n; i++) {
		s[i].m = &v[i];
		s[i].id = v[i].msgid != NULL ? v[i].msgid : "";
		s[i].size = v[i].placeholder_of != 0 ? v[i].placeholder_of :
						       v[i].size;
	}
	mf_qsort(s, n, sizeof(*s), vmsg_cmp);
	return s;
}

/* First unused entry with this identity (and size, when by_size). */
static struct vmsg *
vmsgs_find(struct vmsg *s, size_t n, const char *id, uint64_t size,
	   bool by_size)
{
	size_t lo = 0, hi = n;

	/* lower bound of id, then walk the run of equal ids */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && strcmp(s[lo].id, id) == 0; lo++)
		if (!s[lo].used && (!by_size || s[lo].size == size))
			return &s[lo];
	return NULL;
}

static void
add(struct verify_result *res, size_t *cap, enum verify_kind kind,
    const struct mf_msg *far, const struct mf_msg *near)
{
	if (res->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		res->v = xreallocarray(res->v, *cap, sizeof(*res->v));
	}
	res->v[res->n].kind = kind;
	res->v[res->n].far = far;
	res->v[res->n].near = near;
	res->n++;
	res->count[kind]++;
}

static void
compare_pair(struct verify_result *res, size_t *cap,
	     const struct verify_opts *opts, const struct mf_msg *f,
	     const struct mf_msg *n)
{
	if ((f->flags & MF_FLAG_ALL) != (n->flags & MF_FLAG_ALL))
		add(res, cap, VERIFY_FLAGS, f, n);
	if (opts->keywords && !mf_kw_equal(f->keywords ? f->keywords : "",
					   n->keywords ? n->keywords : ""))
		add(res, cap, VERIFY_KEYWORDS, f, n);
	if (f->date != 0 && n->date != 0 && f->date != n->date)
		add(res, cap, VERIFY_DATE, f, n);
}

void
verify_compare(const struct mf_msg *far, size_t nfar, const struct mf_msg *near,
	       size_t nnear, const struct verify_opts *opts,
	       struct verify_result *res)
{
	struct vmsg *fs = vmsgs_make(far, nfar), *ns = vmsgs_make(near, nnear);
	size_t cap = 0, i;
	int pass;

	memset(res, 0, sizeof(*res));
	/* pass 0: identity and size, as the engine pairs; pass 1: the
	 * same identity left over with another size */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < nfar; i++) {
			struct vmsg *n;

			if (fs[i].used || fs[i].id[0] == '\0')
				continue;
			n = vmsgs_find(ns, nnear, fs[i].id, fs[i].size,
				       pass == 0);
			if (n == NULL)
				continue;
			fs[i].used = n->used = true;
			res->paired++;
			/* equal header fingerprints: the engine's same
			 * message, a tool's header added (sync/ident.h) */
			if (pass == 1 &&
			    (fs[i].m->fp == NULL || n->m->fp == NULL ||
			     strcmp(fs[i].m->fp, n->m->fp) != 0)) {
				add(res, &cap, VERIFY_CONTENT, fs[i].m, n->m);
				continue;
			}
			if (n->m->placeholder_of != 0)
				res->placeholders++;
			compare_pair(res, &cap, opts, fs[i].m, n->m);
		}
	}
	for (i = 0; i < nfar; i++)
		if (!fs[i].used)
			add(res, &cap, VERIFY_MISSING_NEAR, fs[i].m, NULL);
	for (i = 0; i < nnear; i++)
		if (!ns[i].used)
			add(res, &cap, VERIFY_MISSING_FAR, NULL, ns[i].m);
	free(fs);
	free(ns);
}

void
verify_result_free(struct verify_result *res)
{
	free(res->v);
	memset(res, 0, sizeof(*res));
}

const char *
verify_kind_name(enum verify_kind kind)
{
	switch (kind) {
	case VERIFY_MISSING_NEAR:
		return "missing-near";
	case VERIFY_MISSING_FAR:
		return "missing-far";
	case VERIFY_CONTENT:
		return "content";
	case VERIFY_FLAGS:
		return "flags";
	case VERIFY_KEYWORDS:
		return "keywords";
	case VERIFY_DATE:
		return "date";
	case VERIFY_NKINDS:
		break;
	}
	return "?";
}
