#include "mdir-adopt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/compat.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mdir-index.h"

/* A state file larger than this is not mbsync's (16 MB: ~700k entries). */
#define STATE_MAX (16u * 1024 * 1024)

static void
md5_of(const char *s, unsigned char out[16])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	memset(out, 0, 16);
	if (EVP_Digest(s, strlen(s), md, &len, EVP_md5(), NULL) == 1 &&
	    len == 16)
		memcpy(out, md, 16);
}

/* Read a whole small file at dir_fd; NULL if absent or unreadable. */
static char *
read_small(int dir_fd, const char *name, size_t *len_r)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	char *buf;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > STATE_MAX) {
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*len_r = got;
	return buf;
}

/* The next line of data[*pos..len) without its '\n'. */
static bool
next_line(const char *data, size_t len, size_t *pos, const char **line_r,
	  size_t *llen_r)
{
	const char *nl;

	if (*pos >= len)
		return false;
	nl = memchr(data + *pos, '\n', len - *pos);
	*line_r = data + *pos;
	*llen_r = nl != NULL ? (size_t)(nl - (data + *pos)) : len - *pos;
	*pos += *llen_r + 1;
	return true;
}

/* A decimal number at s[*i..len), then skip one run of spaces. */
static bool
take_u32(const char *s, size_t len, size_t *i, uint32_t *val_r)
{
	size_t start = *i;

	while (*i < len && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	if (*i == start || !mf_str_to_u32(s + start, *i - start, val_r))
		return false;
	while (*i < len && s[*i] == ' ')
		(*i)++;
	return true;
}

static int
cmp_near(const void *a, const void *b)
{
	const struct mdir_uid_map *x = a, *y = b;

	return x->near < y->near ? -1 : x->near > y->near;
}

bool
mdir_hints_parse_mbsync(struct mdir_hints *h, const char *data, size_t len,
			uint32_t near_uidvalidity)
{
	size_t pos = 0, llen, cap = 0;
	const char *line;
	uint32_t far_uv = 0, near_uv = 0;
	bool header = true;

	h->map = NULL;
	h->nmap = 0;
	while (next_line(data, len, &pos, &line, &llen)) {
		size_t i = 0;
		uint32_t far, near;

		if (header) {
			if (llen == 0) {
				header = false;
				continue;
			}
			if (llen > 15 &&
			    memcmp(line, "FarUidValidity ", 15) == 0) {
				i = 15;
				if (!take_u32(line, llen, &i, &far_uv))
					goto bad;
			} else if (llen > 16 &&
				   memcmp(line, "NearUidValidity ", 16) == 0) {
				i = 16;
				if (!take_u32(line, llen, &i, &near_uv))
					goto bad;
			}
			continue; /* MaxPulledUid and the like */
		}
		if (llen == 0)
			continue;
		/* "<far> <near> <flags>"; 0 for a side that has none */
		if (!take_u32(line, llen, &i, &far) ||
		    !take_u32(line, llen, &i, &near))
			goto bad;
		if (far == 0 || near == 0)
			continue;
		if (h->nmap == cap) {
			cap = cap ? cap * 2 : 256;
			h->map = xreallocarray(h->map, cap, sizeof(*h->map));
		}
		h->map[h->nmap].near = near;
		h->map[h->nmap++].far = far;
	}
	if (far_uv == 0 || near_uv == 0 || near_uv != near_uidvalidity)
		goto bad;
	mf_qsort(h->map, h->nmap, sizeof(*h->map), cmp_near);
	h->far_uidvalidity = far_uv;
	h->mbsync = true;
	return true;
bad:
	free(h->map);
	h->map = NULL;
	h->nmap = 0;
	h->mbsync = false;
	return false;
}

void
mdir_hints_load(struct mdir_hints *h, int dir_fd, const char *box)
{
	char *uv, *state, *dot, *p;
	size_t len = 0;
	uint32_t near_uv = 0;
	struct stat sb;

	memset(h, 0, sizeof(*h));
	md5_of(box, h->md5_slash);
	dot = xstrdup(box);
	for (p = dot; *p != '\0'; p++)
		if (*p == '/')
			*p = '.';
	md5_of(dot, h->md5_dot);
	free(dot);

	if (fstatat(dir_fd, ".mbsyncstate.journal", &sb, AT_SYMLINK_NOFOLLOW) ==
	    0)
		return;
	uv = read_small(dir_fd, ".uidvalidity", &len);
	if (uv == NULL)
		return;
	p = uv;
	while (*p >= '0' && *p <= '9')
		p++;
	if (!mf_str_to_u32(uv, (size_t)(p - uv), &near_uv))
		near_uv = 0;
	free(uv);
	state = read_small(dir_fd, ".mbsyncstate", &len);
	if (state == NULL)
		return;
	if (!mdir_hints_parse_mbsync(h, state, len, near_uv))
		mf_log(MF_LOG_NOTICE, MF_LOGC_MAILDIR,
		       "%s: .mbsyncstate does "
		       "not match .uidvalidity or cannot be read: its UIDs "
		       "are not used",
		       box);
	free(state);
}

void
mdir_hints_free(struct mdir_hints *h)
{
	free(h->map);
	h->map = NULL;
	h->nmap = 0;
}

static uint32_t
map_far(const struct mdir_hints *h, uint32_t near)
{
	size_t lo = 0, hi = h->nmap;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->map[mid].near == near)
			return h->map[mid].far;
		if (h->map[mid].near < near)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void
mdir_hints_apply(const struct mdir_hints *h, struct mdir_index *idx,
		 struct mf_scan_result *res)
{
	size_t i;

	res->hint_uidvalidity = h->mbsync ? h->far_uidvalidity : 0;
	for (i = 0; i < res->n; i++) {
		struct mf_msg *m = &res->msgs[i];
		const struct mdir_ent *e;

		if (m->name_uid == 0)
			continue;
		e = mdir_index_find(idx, m->key);
		if (e != NULL && e->has_fmd5) {
			/* OfflineIMAP: a far UID, if it is this folder's */
			m->name_uid_checked = memcmp(e->fmd5, h->md5_slash,
						     16) == 0 ||
					      memcmp(e->fmd5, h->md5_dot, 16) ==
						      0;
		} else if (h->mbsync) {
			m->name_uid = map_far(h, m->name_uid);
			m->name_uid_checked = m->name_uid != 0;
		}
	}
}
