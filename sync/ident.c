#include "ident.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

static int
ident_write(struct mf_sink *sink, const void *data, size_t len,
	    struct mf_err *err)
{
	struct ident_sink *s = (struct ident_sink *)sink;

	s->size += len;
	if (!s->hdr_done) {
		size_t room = IDENT_HEADER_MAX - s->hdr.len;
		size_t take = len < room ? len : room, i;

		if (mf_buf_append(&s->hdr, data, take, err) < 0)
			return -1;
		/* look for the empty line that ends the header, scanning
		 * each byte once however the message is split into writes */
		for (i = s->scanned; i < s->hdr.len; i++) {
			size_t ll;

			if (s->hdr.data[i] != '\n')
				continue;
			ll = i - s->line_start;
			if (ll == 0 ||
			    (ll == 1 && s->hdr.data[s->line_start] == '\r')) {
				s->hdr.len = i + 1;
				s->hdr.data[s->hdr.len] = '\0';
				s->hdr_done = true;
				break;
			}
			s->line_start = i + 1;
		}
		s->scanned = i;
		if (s->hdr.len == IDENT_HEADER_MAX)
			s->hdr_done = true;
	}
	if (s->next != NULL)
		return mf_sink_write(s->next, data, len, err);
	return 0;
}

static int
ident_finish(struct mf_sink *sink, struct mf_err *err)
{
	struct ident_sink *s = (struct ident_sink *)sink;

	s->finished = true;
	if (s->next != NULL)
		return mf_sink_finish(s->next, err);
	return 0;
}

static const struct mf_sink_ops ident_ops = {
	.write = ident_write,
	.finish = ident_finish,
};

void
ident_sink_init(struct ident_sink *s, struct mf_sink *next)
{
	memset(s, 0, sizeof(*s));
	s->sink.ops = &ident_ops;
	s->next = next;
	mf_buf_init(&s->hdr, IDENT_HEADER_MAX);
}

void
ident_sink_deinit(struct ident_sink *s)
{
	mf_buf_deinit(&s->hdr);
}

/*
 * out = prefix and the first 16 bytes of md in hex: 2 + 32 characters and
 * a NUL, which IDENT_MAX and IDENT_FP_MAX both hold.
 */
static void
put_digest(char *out, const char *prefix, const unsigned char *md,
	   unsigned int mdlen)
{
	unsigned int i;

	out[0] = prefix[0];
	out[1] = prefix[1];
	out[2] = '\0';
	for (i = 0; i < mdlen && i < 16; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", md[i]);
}

void
ident_from_header(const char *hdr, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (mf_header_msgid(hdr, len, out))
		return;
	if (EVP_Digest(hdr, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		mdlen = 0;
	put_digest(out, "H:", md, mdlen);
}

/*
 * Fields that mail tools add to, or rewrite in, a message they store: a
 * copy carrying them is still the same message.  mbsync adds X-TUID;
 * mutt and neomutt write Status, X-Status, Content-Length and Lines into
 * mbox and maildir copies; X-Keywords and X-Mozilla-* carry flags;
 * OfflineIMAP adds X-OfflineIMAP to what it uploads.
 */
static const char *const tool_fields[] = {
	"X-TUID",	    "Content-Length",	 "Status",	   "X-Status",
	"X-Keywords",	    "X-OfflineIMAP",	 "Lines",	   "X-UID",
	"X-Mozilla-Status", "X-Mozilla-Status2", "X-Mozilla-Keys", "X-IMAP",
	"X-IMAPbase",
};

static bool
is_tool_field(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(tool_fields) / sizeof(tool_fields[0]); i++)
		if (strlen(tool_fields[i]) == len &&
		    strncasecmp(tool_fields[i], name, len) == 0)
			return true;
	return false;
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A small buffer in front of the digest. */
struct fp_out {
	EVP_MD_CTX *ctx;
	char buf[256];
	size_t n;
};

static void
fp_put(struct fp_out *o, char c)
{
	if (o->n == sizeof(o->buf)) {
		EVP_DigestUpdate(o->ctx, o->buf, o->n);
		o->n = 0;
	}
	o->buf[o->n++] = c;
}

/*
 * Feed one field (f[0..len), folding included) into the digest: the name
 * in lower case, ':', then the value with every run of white space made
 * one space and none at either end, then '\n'.
 */
static void
digest_field(struct fp_out *o, const char *f, size_t len)
{
	size_t i, colon;
	bool space = false, any = false;

	for (colon = 0; colon < len && f[colon] != ':'; colon++)
		;
	for (i = 0; i < colon; i++) {
		char c = f[i];

		if (is_wsp(c))
			continue;
		fp_put(o, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
	}
	fp_put(o, ':');
	for (i = colon + 1; i < len; i++) {
		if (is_wsp(f[i])) {
			space = true;
			continue;
		}
		if (space && any)
			fp_put(o, ' ');
		space = false;
		any = true;
		fp_put(o, f[i]);
	}
	fp_put(o, '\n');
	EVP_DigestUpdate(o->ctx, o->buf, o->n);
	o->n = 0;
}

/* Length of the name of the field at f (up to ':' or the line end). */
static size_t
field_name_len(const char *f, size_t len)
{
	size_t n = 0;

	while (n < len && f[n] != ':' && f[n] != '\n')
		n++;
	return n;
}

static void
take_field(struct fp_out *o, const char *f, size_t len)
{
	if (!is_tool_field(f, field_name_len(f, len)))
		digest_field(o, f, len);
}

size_t
ident_fingerprint(const char *hdr, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct fp_out o = { .ctx = EVP_MD_CTX_new() };
	size_t p = 0, start = 0, hdr_len = len;
	bool in_field = false;

	out[0] = '\0';
	if (o.ctx == NULL ||
	    EVP_DigestInit_ex(o.ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(o.ctx);
		return len;
	}
	/* an mbox "From " line in front is no field: tools that copy from
	 * mbox drop it (OfflineIMAP does) or add it */
	if (len >= 5 && memcmp(hdr, "From ", 5) == 0) {
		const char *nl = memchr(hdr, '\n', len);

		p = nl != NULL ? (size_t)(nl - hdr) + 1 : len;
	}
	/* a field runs until a line that does not start with white space */
	while (p < len) {
		const char *nl = memchr(hdr + p, '\n', len - p);
		size_t end = nl != NULL ? (size_t)(nl - hdr) : len;
		bool empty = end == p || (end == p + 1 && hdr[p] == '\r');
		bool cont = !empty && (hdr[p] == ' ' || hdr[p] == '\t');

		if (!cont && in_field) {
			take_field(&o, hdr + start, p - start);
			in_field = false;
		}
		if (empty) {
			hdr_len = end < len ? end + 1 : len;
			break;
		}
		if (!cont) {
			start = p;
			in_field = true;
		}
		p = end < len ? end + 1 : len;
	}
	if (in_field)
		take_field(&o, hdr + start, len - start);
	if (EVP_DigestFinal_ex(o.ctx, md, &mdlen) != 1)
		mdlen = 0;
	EVP_MD_CTX_free(o.ctx);
	if (mdlen == 0)
		return hdr_len;
	put_digest(out, "N:", md, mdlen);
	return hdr_len;
}

/* Is hdr[p..len) the start of a line of a field that tools add? */
static bool
tool_line(const char *hdr, size_t len, size_t p)
{
	size_t n = field_name_len(hdr + p, len - p);

	return p + n < len && hdr[p + n] == ':' && is_tool_field(hdr + p, n);
}

uint64_t
ident_tool_bytes(const char *hdr, size_t len)
{
	uint64_t n = 0;
	size_t p = 0;
	bool skipping = false;

	while (p < len) {
		const char *nl = memchr(hdr + p, '\n', len - p);
		size_t end = nl != NULL ? (size_t)(nl - hdr) + 1 : len;
		bool empty = end == p + 1 || (end == p + 2 && hdr[p] == '\r');
		bool cont = hdr[p] == ' ' || hdr[p] == '\t';

		if (empty)
			break;
		if (!cont)
			skipping = tool_line(hdr, len, p);
		if (skipping)
			n += end - p;
		p = end;
	}
	return n;
}

void
ident_content_digest(const char *msg, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct fp_out o = { .ctx = EVP_MD_CTX_new() };
	size_t p = 0;
	bool in_header = true, skipping = false;

	out[0] = '\0';
	if (o.ctx == NULL ||
	    EVP_DigestInit_ex(o.ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(o.ctx);
		return;
	}
	if (len >= 5 && memcmp(msg, "From ", 5) == 0) {
		const char *nl = memchr(msg, '\n', len);

		p = nl != NULL ? (size_t)(nl - msg) + 1 : len;
	}
	while (p < len) {
		const char *nl = memchr(msg + p, '\n', len - p);
		size_t end = nl != NULL ? (size_t)(nl - msg) : len, k;
		bool empty = end == p || (end == p + 1 && msg[p] == '\r');

		if (in_header) {
			bool cont = !empty && (msg[p] == ' ' || msg[p] == '\t');

			if (empty)
				in_header = false;
			else if (!cont)
				skipping = tool_line(msg, len, p);
		}
		if (!(in_header && skipping))
			for (k = p; k < end; k++)
				if (!is_wsp(msg[k]))
					fp_put(&o, msg[k]);
		p = end < len ? end + 1 : len;
	}
	EVP_DigestUpdate(o.ctx, o.buf, o.n);
	if (EVP_DigestFinal_ex(o.ctx, md, &mdlen) != 1)
		mdlen = 0;
	EVP_MD_CTX_free(o.ctx);
	if (mdlen == 0)
		return;
	put_digest(out, "C:", md, mdlen);
}

void
ident_sink_identity(const struct ident_sink *s, char *out)
{
	ident_from_header(s->hdr.data != NULL ? s->hdr.data : "", s->hdr.len,
			  out);
}
