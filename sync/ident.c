#include "ident.h"

#include <stdio.h>
#include <string.h>

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
			if (ll == 0 || (ll == 1 &&
					s->hdr.data[s->line_start] == '\r')) {
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

void
ident_from_header(const char *hdr, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (mf_header_msgid(hdr, len, out))
		return;
	if (EVP_Digest(hdr, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		mdlen = 0;
	strcpy(out, "H:");	/* IDENT_MAX > 2 + 32 */
	for (i = 0; i < mdlen && i < 16; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", md[i]);
}

void
ident_sink_identity(const struct ident_sink *s, char *out)
{
	ident_from_header(s->hdr.data != NULL ? s->hdr.data : "", s->hdr.len,
			  out);
}
