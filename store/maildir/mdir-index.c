/*
 * The message index: entries in one array, names and keys in one arena,
 * sorted by one qsort after a scan; an open-addressing hash table on the
 * key serves the lookups of fetch, set_flags and remove.
 */
#include "mdir-index.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/compat.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mdir-name.h"

void
mdir_index_init(struct mdir_index *idx)
{
	memset(idx, 0, sizeof(*idx));
	idx->arena = mf_arena_create(64 * 1024);
}

void
mdir_index_deinit(struct mdir_index *idx)
{
	mf_arena_destroy(&idx->arena);
	free(idx->v);
	free(idx->slots);
	memset(idx, 0, sizeof(*idx));
}

void
mdir_index_clear(struct mdir_index *idx)
{
	mf_arena_reset(idx->arena);
	idx->n = 0;
	free(idx->slots);
	idx->slots = NULL;
	idx->nslots = 0;
	idx->valid = false;
}

static int
key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* By key (strcmp order), then the copy in cur/ first, then by name. */
static int
ent_cmp(const void *pa, const void *pb)
{
	const struct mdir_ent *a = pa, *b = pb;
	int c = key_cmp(a->key, a->key_len, b->key, b->key_len);

	if (c != 0)
		return c;
	if (a->in_new != b->in_new)
		return a->in_new ? 1 : -1;
	return strcmp(a->name, b->name);
}

static void
ent_fill(struct mdir_index *idx, struct mdir_ent *e, const char *name,
	 size_t len, bool in_new)
{
	struct mdir_name pn;
	char *copy = mf_arena_strndup(idx->arena, name, len);

	mdir_name_parse(copy, len, &pn);
	e->name = copy;
	if (pn.key_is_prefix) {
		e->key = copy;
	} else {
		char *k = mf_arena_alloc(idx->arena, pn.key_len + 1);

		mdir_name_key(&pn, k);
		e->key = k;
	}
	e->key_len = (uint32_t)pn.key_len;
	e->in_new = in_new;
	e->flags = pn.flags;
	e->kw_letters = pn.kw_letters;
	e->has_w = pn.has_w;
	e->size_w = pn.size_w;
	e->uid = pn.uid;
	e->placeholder_of = pn.placeholder_of;
	e->has_fmd5 = pn.has_fmd5;
	memcpy(e->fmd5, pn.fmd5, sizeof(e->fmd5));
}

static struct mdir_ent *
ent_append(struct mdir_index *idx)
{
	if (idx->n == idx->cap) {
		idx->cap = idx->cap ? idx->cap * 2 : 256;
		idx->v = xreallocarray(idx->v, idx->cap, sizeof(*idx->v));
	}
	return &idx->v[idx->n++];
}

static uint64_t
hash_key(const char *k, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)k[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t
slot_of(const struct mdir_index *idx, const char *key, size_t len)
{
	size_t mask = idx->nslots - 1;
	size_t s = (size_t)hash_key(key, len) & mask;

	while (idx->slots[s] != 0) {
		const struct mdir_ent *e = &idx->v[idx->slots[s] - 1];

		if (e->key_len == len && memcmp(e->key, key, len) == 0)
			break;
		s = (s + 1) & mask;
	}
	return s;
}

static void
rehash(struct mdir_index *idx, size_t want)
{
	size_t n = 64, i;

	while (n < want * 2)
		n *= 2;
	free(idx->slots);
	idx->slots = xcalloc(n, sizeof(*idx->slots));
	idx->nslots = n;
	for (i = 0; i < idx->n; i++) {
		const struct mdir_ent *e = &idx->v[i];

		idx->slots[slot_of(idx, e->key, e->key_len)] = (uint32_t)i + 1;
	}
}

static void
log_duplicate(const char *box, const struct mdir_ent *kept,
	      const struct mdir_ent *dup)
{
	char a[128], b[128], bx[128];

	mf_str_sanitize(bx, sizeof(bx), box, strlen(box));
	mf_str_sanitize(a, sizeof(a), kept->name, strlen(kept->name));
	mf_str_sanitize(b, sizeof(b), dup->name, strlen(dup->name));
	mf_log(MF_LOG_WARN, MF_LOGC_MAILDIR,
	       "%s: duplicate message files %s/%s and %s/%s; using the first",
	       bx, kept->in_new ? "new" : "cur", a, dup->in_new ? "new" : "cur",
	       b);
}

struct mdir_ent *
mdir_index_find(struct mdir_index *idx, const char *key)
{
	size_t s;

	if (idx->nslots == 0)
		return NULL;
	s = slot_of(idx, key, strlen(key));
	if (idx->slots[s] == 0 || idx->v[idx->slots[s] - 1].name == NULL)
		return NULL;
	return &idx->v[idx->slots[s] - 1];
}

void
mdir_index_put(struct mdir_index *idx, const char *name, bool in_new)
{
	struct mdir_ent tmp, *e;
	size_t s;

	ent_fill(idx, &tmp, name, strlen(name), in_new);
	if ((idx->n + 1) * 2 > idx->nslots)
		rehash(idx, idx->n + 1);
	s = slot_of(idx, tmp.key, tmp.key_len);
	if (idx->slots[s] != 0) {
		e = &idx->v[idx->slots[s] - 1];
		tmp.key = e->key; /* the slot points at the old bytes */
		*e = tmp;
		return;
	}
	e = ent_append(idx);
	*e = tmp;
	idx->slots[s] = (uint32_t)idx->n;
}

void
mdir_index_rename(struct mdir_index *idx, struct mdir_ent *e, const char *name,
		  bool in_new)
{
	struct mdir_ent tmp;

	ent_fill(idx, &tmp, name, strlen(name), in_new);
	tmp.key = e->key;
	tmp.key_len = e->key_len;
	*e = tmp;
}

void
mdir_index_drop(struct mdir_index *idx, struct mdir_ent *e)
{
	(void)idx;
	e->name = NULL;
}

void
mdir_index_add(struct mdir_index *idx, const char *name, size_t len,
	       bool in_new)
{
	ent_fill(idx, ent_append(idx), name, len, in_new);
}

void
mdir_index_finish(struct mdir_index *idx, const char *box)
{
	size_t i, o;

	if (idx->n > 1)
		mf_qsort(idx->v, idx->n, sizeof(*idx->v), ent_cmp);
	for (i = 0, o = 0; i < idx->n; i++) {
		if (o > 0 && key_cmp(idx->v[o - 1].key, idx->v[o - 1].key_len,
				     idx->v[i].key, idx->v[i].key_len) == 0) {
			log_duplicate(box, &idx->v[o - 1], &idx->v[i]);
			continue;
		}
		idx->v[o++] = idx->v[i];
	}
	idx->n = o;
	rehash(idx, idx->n);
	idx->valid = true;
}
