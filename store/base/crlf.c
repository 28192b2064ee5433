#include "crlf.h"

size_t
mf_to_lf(struct mf_nl_state *st, const char *in, size_t len, char *out)
{
	size_t i = 0, o = 0;

	if (len == 0)
		return 0;
	if (st->held_cr) {
		st->held_cr = false;
		if (in[0] != '\n')
			out[o++] = '\r';
	}
	for (; i < len; i++) {
		if (in[i] == '\r') {
			if (i + 1 == len) {
				st->held_cr = true;
				break;
			}
			if (in[i + 1] == '\n')
				continue;
		}
		out[o++] = in[i];
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
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '\n' && !st->last_cr)
			out[o++] = '\r';
		out[o++] = in[i];
		st->last_cr = in[i] == '\r';
	}
	return o;
}

uint64_t
mf_crlf_extra(struct mf_nl_state *st, const char *in, size_t len)
{
	uint64_t extra = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (in[i] == '\n' && !st->last_cr)
			extra++;
		st->last_cr = in[i] == '\r';
	}
	return extra;
}
