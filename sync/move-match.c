/*
 * Pairing gone and fresh messages across folders (see move.h).  Pure: no
 * I/O; both passes sort index arrays and walk groups of equal values, so
 * the cost is n log n whatever the sizes.
 */
#include "move.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct ref {
	const struct move_cand *c;
	size_t idx;
};

static int
cmp_key(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	return strcmp(x->c->key, y->c->key);
}

static int
cmp_ident(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int c = strcmp(x->c->ident, y->c->ident);

	if (c != 0)
		return c;
	return x->c->size < y->c->size ? -1 : x->c->size > y->c->size;
}

/* The candidates not yet used that have the field cmp looks at. */
static struct ref *
collect(const struct move_cand *v, size_t n, const bool *used, bool by_key,
	int (*cmp)(const void *, const void *), size_t *n_r)
{
	struct ref *r = xcalloc(n ? n : 1, sizeof(*r));
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (used[i])
			continue;
		if (by_key ? v[i].key == NULL :
			     v[i].ident == NULL || v[i].size == 0)
			continue;
		r[o].c = &v[i];
		r[o++].idx = i;
	}
	mf_qsort(r, o, sizeof(*r), cmp);
	*n_r = o;
	return r;
}

/* Length of the run of equal values starting at i. */
static size_t
run_len(const struct ref *r, size_t n, size_t i,
	int (*cmp)(const void *, const void *))
{
	size_t j = i + 1;

	while (j < n && cmp(&r[i], &r[j]) == 0)
		j++;
	return j - i;
}

static int
cmp_ident_only(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	return strcmp(x->c->ident, y->c->ident);
}

enum pass { BY_KEY, BY_IDENT_SIZE, BY_IDENT_BARE };

/* BY_IDENT_BARE: the one gone and the one fresh copy of an identity agree
 * once the fields a mail reader added are left out of the fresh size */
static bool
bare_agrees(const struct move_cand *g, const struct move_cand *f)
{
	return f->size_bare != 0 && g->size == f->size_bare;
}

static void
match_pass(const struct move_cand *gone, size_t ngone,
	   const struct move_cand *fresh, size_t nfresh, enum pass pass,
	   bool *gone_used, bool *fresh_used, struct move_pair *out,
	   size_t *nout)
{
	bool by_key = pass == BY_KEY;
	int (*cmp)(const void *, const void *) = by_key ? cmp_key :
						 pass == BY_IDENT_SIZE ?
							  cmp_ident :
							  cmp_ident_only;
	size_t ng, nf, i = 0, j = 0;
	struct ref *g = collect(gone, ngone, gone_used, by_key, cmp, &ng);
	struct ref *f = collect(fresh, nfresh, fresh_used, by_key, cmp, &nf);

	while (i < ng && j < nf) {
		int c = cmp(&g[i], &f[j]);
		size_t lg, lf;

		if (c < 0) {
			i += run_len(g, ng, i, cmp);
			continue;
		}
		if (c > 0) {
			j += run_len(f, nf, j, cmp);
			continue;
		}
		lg = run_len(g, ng, i, cmp);
		lf = run_len(f, nf, j, cmp);
		if (lg == 1 && lf == 1 && g[i].c->box != f[j].c->box &&
		    (pass != BY_IDENT_BARE || bare_agrees(g[i].c, f[j].c))) {
			out[*nout].gone = g[i].idx;
			out[*nout].fresh = f[j].idx;
			out[*nout].by_key = by_key;
			(*nout)++;
			gone_used[g[i].idx] = true;
			fresh_used[f[j].idx] = true;
		}
		i += lg;
		j += lf;
	}
	free(g);
	free(f);
}

static int
cmp_pair(const void *a, const void *b)
{
	const struct move_pair *x = a, *y = b;

	return x->gone < y->gone ? -1 : x->gone > y->gone;
}

void
move_match(const struct move_cand *gone, size_t ngone,
	   const struct move_cand *fresh, size_t nfresh,
	   struct move_pair **pairs_r, size_t *npairs_r)
{
	size_t max = ngone < nfresh ? ngone : nfresh, n = 0;
	struct move_pair *out = xcalloc(max ? max : 1, sizeof(*out));
	bool *gone_used = xcalloc(ngone + 1, sizeof(bool));
	bool *fresh_used = xcalloc(nfresh + 1, sizeof(bool));

	match_pass(gone, ngone, fresh, nfresh, BY_KEY, gone_used, fresh_used,
		   out, &n);
	match_pass(gone, ngone, fresh, nfresh, BY_IDENT_SIZE, gone_used,
		   fresh_used, out, &n);
	match_pass(gone, ngone, fresh, nfresh, BY_IDENT_BARE, gone_used,
		   fresh_used, out, &n);
	if (n > 1)
		mf_qsort(out, n, sizeof(*out), cmp_pair);
	free(gone_used);
	free(fresh_used);
	*pairs_r = out;
	*npairs_r = n;
}
