/*
 * Scan results: one struct mf_msg per live index entry, from the name
 * alone where it can; size, date and Message-ID come from the file only
 * when the request asks for them and the name does not hold them.
 */
#include "mdir-result.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/crlf.h"
#include "base/xalloc.h"
#include "header.h"

#define READ_CHUNK (64 * 1024)

#define NEED_SIZE 0x1u
#define NEED_DATE 0x2u
#define NEED_MSGID 0x4u

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
	/* not through a symlink (mdir-store.c, fetch_one), nor a FIFO */
	fd = openat(sub_fd, fname,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return; /* renamed or removed meanwhile: unknown */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	if (need & NEED_DATE)
		m->date = (int64_t)st.st_mtime;
	mf_buf_reset(hdr);
	for (;;) {
		ssize_t n = read(fd, buf, READ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			need &= ~NEED_SIZE; /* unknown, not wrong */
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
	char *buf = NULL, *names;

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
	names = mdir_kwmap_all(kw);
	res->kw_visible = mf_arena_strdup(res->arena, names);
	free(names);
	*res_r = res;
	return 0;
}
