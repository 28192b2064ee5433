/*
 * The maildir scanner.
 *
 * Design note (compare Dovecot's maildir-sync.c, minus its uidlist):
 *
 * - A scan reads new/ first, then cur/.  A reader that moves a file from
 *   new/ to cur/ while we run makes us see it twice (the duplicate rule
 *   keeps one), never not at all, because nobody moves files the other way.
 * - readdir() may skip an entry that is renamed inside the directory while
 *   it is being read (Dovecot's "Locking" note), and other maildir readers
 *   take no lock we could honour.  So each directory's mtime is taken before
 *   and after its pass; if either changed, the scan starts again (three
 *   tries, then a warning).  A rename in the same clock tick as the previous
 *   change can still slip through; the engine must not read one missing
 *   message as a deletion without care, and dir_token reports 0 ("scan")
 *   while mtimes are that fresh.
 * - Per file the scan costs one readdir entry: the key, flags, keyword
 *   letters, ",W=" size and ",U=" UID all come from the name.  Files are
 *   only stat'ed or opened when the request asks for something the name
 *   does not hold (mdir_scan_result).
 * - Names and keys live in one arena, entries in one array, sorted by one
 *   qsort; a hash table on the key serves the lookups of fetch, set_flags
 *   and remove.
 */
#include "mdir-scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/crlf.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "flags.h"
#include "header.h"
#include "mdir-name.h"

#define KW_FILE "dovecot-keywords"
#define KW_FILE_MAX (64 * 1024)
#define READ_CHUNK (64 * 1024)
#define SCAN_TRIES 3

/* ---- dovecot-keywords ---------------------------------------------- */

void
mdir_kwmap_clear(struct mdir_kwmap *kw)
{
	size_t i;

	for (i = 0; i < 26; i++) {
		free(kw->names[i]);
		kw->names[i] = NULL;
	}
	kw->present = false;
}

void
mdir_kwmap_parse(struct mdir_kwmap *kw, const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	mdir_kwmap_clear(kw);
	kw->present = true;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl != NULL ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(line_end - p));
		uint32_t n;
		size_t wlen;

		if (line_end > p && line_end[-1] == '\r')
			line_end--;
		if (sp != NULL && mf_str_to_u32(p, (size_t)(sp - p), &n) &&
		    n < 26 && kw->names[n] == NULL) {
			wlen = (size_t)(line_end - sp - 1);
			if (mf_keyword_valid(sp + 1, wlen))
				kw->names[n] = xstrndup(sp + 1, wlen);
		}
		p = nl != NULL ? nl + 1 : end;
	}
}

int
mdir_kwmap_load(struct mdir_kwmap *kw, int dir_fd, struct mf_err *err)
{
	char *data;
	size_t len = 0;
	int fd;

	mdir_kwmap_clear(kw);
	fd = openat(dir_fd, KW_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return mf_err_sys(err, MF_E_BOX, "open %s", KW_FILE);
	}
	data = xmalloc(KW_FILE_MAX);
	while (len < KW_FILE_MAX) {
		ssize_t n = read(fd, data + len, KW_FILE_MAX - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mf_err_sys(err, MF_E_BOX, "read %s", KW_FILE);
			free(data);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	mdir_kwmap_parse(kw, data, len);
	free(data);
	return 0;
}

uint32_t
mdir_kwmap_mask(const struct mdir_kwmap *kw)
{
	uint32_t mask = 0;
	size_t i;

	for (i = 0; i < 26; i++)
		if (kw->names[i] != NULL)
			mask |= 1u << i;
	return mask;
}

uint32_t
mdir_kwmap_letters(const struct mdir_kwmap *kw, const char *keywords,
		   size_t *unmapped_r)
{
	const char *p = keywords != NULL ? keywords : "";
	uint32_t letters = 0;
	size_t unmapped = 0;

	while (*p != '\0') {
		const char *start;
		size_t len, i;
		bool found = false;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ')
			p++;
		len = (size_t)(p - start);
		/* every letter for it: a file may name a keyword twice */
		for (i = 0; i < 26; i++) {
			if (kw->names[i] != NULL &&
			    strlen(kw->names[i]) == len &&
			    strncasecmp(kw->names[i], start, len) == 0) {
				letters |= 1u << i;
				found = true;
			}
		}
		if (!found)
			unmapped++;
	}
	if (unmapped_r != NULL)
		*unmapped_r = unmapped;
	return letters;
}

char *
mdir_kwmap_names(const struct mdir_kwmap *kw, uint32_t letters)
{
	char *joined = xstrdup(""), *next, *norm;
	size_t i;

	for (i = 0; i < 26; i++) {
		if (!(letters & (1u << i)) || kw->names[i] == NULL)
			continue;
		next = xasprintf("%s %s", joined, kw->names[i]);
		free(joined);
		joined = next;
	}
	norm = mf_kw_normalize(joined);
	free(joined);
	return norm;
}

/* ---- change token ---------------------------------------------------- */

static uint64_t
fnv_u64(uint64_t h, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++) {
		h ^= (v >> (i * 8)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool
too_fresh(const struct timespec *m, const struct timespec *now)
{
	int64_t ds = (int64_t)now->tv_sec - (int64_t)m->tv_sec;
	int64_t dns = (int64_t)now->tv_nsec - (int64_t)m->tv_nsec;

	/* now - m < 2 s, including an mtime in the future */
	return ds * 1000000000 + dns < 2 * (int64_t)1000000000;
}

uint64_t
mdir_token_compute(const struct stat *cur, const struct stat *new_,
		   const struct timespec *now)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (too_fresh(&cur->st_mtim, now) || too_fresh(&new_->st_mtim, now))
		return 0;
	h = fnv_u64(h, (uint64_t)cur->st_ino);
	h = fnv_u64(h, (uint64_t)cur->st_mtim.tv_sec);
	h = fnv_u64(h, (uint64_t)cur->st_mtim.tv_nsec);
	h = fnv_u64(h, (uint64_t)new_->st_ino);
	h = fnv_u64(h, (uint64_t)new_->st_mtim.tv_sec);
	h = fnv_u64(h, (uint64_t)new_->st_mtim.tv_nsec);
	return h != 0 ? h : 1;
}

int
mdir_dir_token(int dir_fd, uint64_t *token_r, struct mf_err *err)
{
	struct stat cur, new_;
	struct timespec now;

	if (fstatat(dir_fd, "cur", &cur, 0) < 0)
		return mf_err_sys(err, MF_E_BOX, "stat cur");
	if (fstatat(dir_fd, "new", &new_, 0) < 0)
		return mf_err_sys(err, MF_E_BOX, "stat new");
	clock_gettime(CLOCK_REALTIME, &now);
	*token_r = mdir_token_compute(&cur, &new_, &now);
	return 0;
}

/* ---- tmp/ ----------------------------------------------------------- */

int
mdir_tmp_clean(int dir_fd, time_t now, unsigned *removed_r,
	       struct mf_err *err)
{
	struct dirent *de;
	unsigned removed = 0;
	DIR *d;
	int fd;

	*removed_r = 0;
	fd = openat(dir_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mf_err_sys(err, MF_E_BOX, "open tmp");
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return mf_err_sys(err, MF_E_BOX, "open tmp");
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISDIR(st.st_mode))
			continue;
		if (now - st.st_mtime < MDIR_TMP_STALE_SECS)
			continue;	/* maybe a delivery in progress */
		if (unlinkat(fd, de->d_name, 0) == 0) {
			char shown[128];

			removed++;
			mf_str_sanitize(shown, sizeof(shown), de->d_name,
					strlen(de->d_name));
			mf_log(MF_LOG_INFO, MF_LOGC_MAILDIR,
			       "removed stale tmp/%s", shown);
		}
	}
	closedir(d);
	*removed_r = removed;
	return 0;
}

/* ---- the index ------------------------------------------------------ */

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

/* One readdir pass; *changed_r tells whether the directory changed. */
static int
read_sub(struct mdir_index *idx, int dir_fd, const char *sub, bool in_new,
	 bool *changed_r, struct mf_err *err)
{
	struct stat before, after;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(dir_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mf_err_sys(err, MF_E_BOX, "open %s", sub);
	d = fstat(fd, &before) == 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		mf_err_sys(err, MF_E_BOX, "open %s", sub);
		close(fd);
		return -1;
	}
	for (;;) {
		size_t len;

		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type == DT_DIR)
			continue;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(fd, de->d_name, &st, 0) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
		} else if (de->d_type != DT_REG && de->d_type != DT_LNK) {
			continue;
		}
		len = strlen(de->d_name);
		ent_fill(idx, ent_append(idx), de->d_name, len, in_new);
	}
	if (errno != 0) {
		mf_err_sys(err, MF_E_BOX, "read %s", sub);
		closedir(d);
		return -1;
	}
	if (fstat(fd, &after) == 0 &&
	    (after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
	     after.st_mtim.tv_nsec != before.st_mtim.tv_nsec))
		*changed_r = true;
	closedir(d);
	return 0;
}

int
mdir_index_scan(struct mdir_index *idx, int dir_fd, const char *box,
		struct mf_err *err)
{
	size_t i, o;
	int tries;

	for (tries = 1;; tries++) {
		bool changed = false;

		mdir_index_clear(idx);
		if (read_sub(idx, dir_fd, "new", true, &changed, err) < 0 ||
		    read_sub(idx, dir_fd, "cur", false, &changed, err) < 0) {
			mdir_index_clear(idx);
			return -1;
		}
		if (!changed)
			break;
		if (tries == SCAN_TRIES) {
			mf_log(MF_LOG_WARN, MF_LOGC_MAILDIR,
			       "folder kept changing during %d scans; a "
			       "message renamed meanwhile may be missed",
			       SCAN_TRIES);
			break;
		}
	}
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
	return 0;
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
		tmp.key = e->key;	/* the slot points at the old bytes */
		*e = tmp;
		return;
	}
	e = ent_append(idx);
	*e = tmp;
	idx->slots[s] = (uint32_t)idx->n;
}

void
mdir_index_rename(struct mdir_index *idx, struct mdir_ent *e,
		  const char *name, bool in_new)
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

/* ---- scan results --------------------------------------------------- */

#define NEED_SIZE	0x1u
#define NEED_DATE	0x2u
#define NEED_MSGID	0x4u

/* Open the file only for what the name did not tell. */
static void
file_extras(int sub_fd, const char *fname, unsigned need, char *buf,
	    struct mf_buf *hdr, struct mf_arena *a, struct mf_msg *m)
{
	struct mf_nl_state nl = { 0 };
	char msgid[MF_MSGID_MAX + 1];
	uint64_t size = 0;
	bool hdr_done = !(need & NEED_MSGID);
	struct stat st;
	int fd;

	if (need == NEED_DATE) {
		if (fstatat(sub_fd, fname, &st, 0) == 0)
			m->date = (int64_t)st.st_mtime;
		return;
	}
	fd = openat(sub_fd, fname, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;	/* renamed or removed meanwhile: unknown */
	if ((need & NEED_DATE) && fstat(fd, &st) == 0)
		m->date = (int64_t)st.st_mtime;
	mf_buf_reset(hdr);
	for (;;) {
		ssize_t n = read(fd, buf, READ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			need &= ~NEED_SIZE;	/* unknown, not wrong */
			break;
		}
		if (n == 0)
			break;
		if (need & NEED_SIZE)
			size += (uint64_t)n +
				mf_crlf_extra(&nl, buf, (size_t)n);
		if (!hdr_done) {
			size_t room = hdr->max - hdr->len;
			size_t take = (size_t)n < room ? (size_t)n : room;

			if (mf_buf_append(hdr, buf, take, NULL) < 0 ||
			    mf_header_block_len(hdr->data, hdr->len) != 0 ||
			    hdr->len == hdr->max)
				hdr_done = true;
		}
		if (hdr_done && !(need & NEED_SIZE))
			break;
	}
	close(fd);
	if (need & NEED_SIZE)
		m->size = size;
	if ((need & NEED_MSGID) && hdr->len > 0 &&
	    mf_header_msgid(hdr->data, hdr->len, msgid))
		m->msgid = mf_arena_strdup(a, msgid);
}

struct kw_cache {
	uint32_t letters;
	const char *str;
};

static const char *
keywords_for(const struct mdir_kwmap *kw, uint32_t letters,
	     struct kw_cache *cache, size_t *ncache, struct mf_arena *a)
{
	const char *str;
	char *names;
	size_t i;

	if (letters == 0)
		return "";
	for (i = 0; i < *ncache; i++)
		if (cache[i].letters == letters)
			return cache[i].str;
	names = mdir_kwmap_names(kw, letters);
	str = mf_arena_strdup(a, names);
	free(names);
	if (*ncache < 32) {
		cache[*ncache].letters = letters;
		cache[(*ncache)++].str = str;
	}
	return str;
}

int
mdir_scan_result(const struct mdir_index *idx, int cur_fd, int new_fd,
		 const struct mdir_kwmap *kw, const struct mf_scan_req *req,
		 struct mf_scan_result **res_r, struct mf_err *err)
{
	struct mf_scan_result *res = xcalloc(1, sizeof(*res));
	struct kw_cache cache[32];
	size_t ncache = 0, i;
	uint32_t mapped = mdir_kwmap_mask(kw);
	struct mf_buf hdr;
	char *buf = NULL;

	(void)err;
	mf_buf_init(&hdr, MDIR_HEADER_MAX);
	res->arena = mf_arena_create(64 * 1024);
	res->msgs = xcalloc(idx->n > 0 ? idx->n : 1, sizeof(*res->msgs));
	for (i = 0; i < idx->n; i++) {
		const struct mdir_ent *e = &idx->v[i];
		struct mf_msg *m = &res->msgs[res->n];
		unsigned need = 0;

		if (e->name == NULL)
			continue;
		m->key = mf_arena_strndup(res->arena, e->key, e->key_len);
		m->flags = e->flags;
		m->keywords = keywords_for(kw, e->kw_letters & mapped, cache,
					   &ncache, res->arena);
		m->is_new = e->in_new;
		m->name_uid = e->uid;
		m->placeholder_of = e->placeholder_of;
		if (e->has_w)
			m->size = e->size_w;
		else if (req->want & MF_WANT_SIZE)
			need |= NEED_SIZE;
		if ((req->want & MF_WANT_DATE) || req->since != 0)
			need |= NEED_DATE;
		if (req->want & MF_WANT_MSGID)
			need |= NEED_MSGID;
		if (need != 0) {
			if (buf == NULL)
				buf = xmalloc(READ_CHUNK);
			file_extras(e->in_new ? new_fd : cur_fd, e->name, need,
				    buf, &hdr, res->arena, m);
		}
		/* since: a date we could not read is kept, not dropped */
		if (req->since != 0 && m->date != 0 && m->date < req->since) {
			memset(m, 0, sizeof(*m));
			continue;
		}
		res->n++;
	}
	free(buf);
	mf_buf_deinit(&hdr);
	*res_r = res;
	return 0;
}
