/*
 * Messages are mostly long runs without CR or LF, so every loop here jumps
 * from one line end to the next with memchr and copies the run between
 * them with memcpy: a byte-at-a-time loop was a third of an initial pull's
 * CPU time.
 */
#include "crlf.h"

#include <string.h>

size_t
mf_to_lf(struct mf_nl_state *st, const char *in, size_t len, char *out)
{
	const char *p = in, *end = in + len, *cr;
	size_t o = 0;

	if (len == 0)
		return 0;
	if (st->held_cr) {
		st->held_cr = false;
		if (in[0] != '\n')
			out[o++] = '\r';
	}
	while (p < end) {
		cr = memchr(p, '\r', (size_t)(end - p));
		if (cr == NULL) {
			memcpy(out + o, p, (size_t)(end - p));
			o += (size_t)(end - p);
			break;
		}
		memcpy(out + o, p, (size_t)(cr - p));
		o += (size_t)(cr - p);
		if (cr + 1 == end) {
			st->held_cr = true;
			break;
		}
		if (cr[1] != '\n') /* a lone CR stays */
			out[o++] = '\r';
		p = cr + 1;
	}
	return o;
}

size_t
mf_to_lf_end(struct mf_nl_state *st, char *out)
{
	if (!st->held_cr)
		return 0;
	st->held_cr = false;
	out[0] = '\r';
	return 1;
}

size_t
mf_to_crlf(struct mf_nl_state *st, const char *in, size_t len, char *out)
{
	const char *p = in, *end = in + len, *lf;
	size_t o = 0;

	if (len == 0)
		return 0;
	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		memcpy(out + o, p, (size_t)(lf - p));
		o += (size_t)(lf - p);
		if (!(lf > in ? lf[-1] == '\r' : st->last_cr))
			out[o++] = '\r';
		out[o++] = '\n';
		p = lf + 1;
	}
	memcpy(out + o, p, (size_t)(end - p));
	o += (size_t)(end - p);
	st->last_cr = end[-1] == '\r';
	return o;
}

uint64_t
mf_crlf_extra(struct mf_nl_state *st, const char *in, size_t len)
{
	const char *p = in, *end = in + len, *lf;
	uint64_t extra = 0;

	if (len == 0)
		return 0;
	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (!(lf > in ? lf[-1] == '\r' : st->last_cr))
			extra++;
		p = lf + 1;
	}
	st->last_cr = end[-1] == '\r';
	return extra;
}
