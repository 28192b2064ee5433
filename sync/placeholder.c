/* Placeholders for messages over max_size (see placeholder.h). */
#include "placeholder.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

size_t
ph_body(char *buf, size_t size, uint64_t msg_size, const char *channel,
	const char *box)
{
	int n = snprintf(buf, size,
			 "[mailferry: this message is %" PRIu64
			 " bytes; run `mailferry fetch %s:%s` to download "
			 "it]\r\n",
			 msg_size, channel, box);

	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

static int
ph_write(struct mf_sink *sink, const void *data, size_t len, struct mf_err *err)
{
	struct ph_sink *s = (struct ph_sink *)sink;
	const char *p = data;
	size_t keep = len < sizeof(s->tail) ? len : sizeof(s->tail);

	/* remember the last four bytes, however the header is split */
	if (s->ntail + keep > sizeof(s->tail)) {
		size_t drop = s->ntail + keep - sizeof(s->tail);

		memmove(s->tail, s->tail + drop, s->ntail - drop);
		s->ntail -= drop;
	}
	memcpy(s->tail + s->ntail, p + len - keep, keep);
	s->ntail += keep;
	return mf_sink_write(s->next, data, len, err);
}

static bool
tail_is(const struct ph_sink *s, const char *end)
{
	size_t n = strlen(end);

	return s->ntail >= n && memcmp(s->tail + s->ntail - n, end, n) == 0;
}

static int
ph_finish(struct mf_sink *sink, struct mf_err *err)
{
	struct ph_sink *s = (struct ph_sink *)sink;
	char body[1024];
	size_t n;

	/* the server's header block ends with its empty line; a message
	 * that is all header has none, and the body needs one before it */
	if (!tail_is(s, "\r\n\r\n")) {
		const char *end = tail_is(s, "\r\n") || s->ntail == 0 ?
					  "\r\n" :
					  "\r\n\r\n";

		if (mf_sink_write(s->next, end, strlen(end), err) < 0)
			return -1;
	}
	n = ph_body(body, sizeof(body), s->size, s->channel, s->box);
	if (mf_sink_write(s->next, body, n, err) < 0)
		return -1;
	return mf_sink_finish(s->next, err);
}

static const struct mf_sink_ops ph_ops = {
	.write = ph_write,
	.finish = ph_finish,
};

void
ph_sink_init(struct ph_sink *s, struct mf_sink *next, uint64_t size,
	     const char *channel, const char *box)
{
	memset(s, 0, sizeof(*s));
	s->sink.ops = &ph_ops;
	s->next = next;
	s->size = size;
	s->channel = channel;
	s->box = box;
}

/* ---- the check before an upload ----------------------------------------- */

#define NOTE_START "\r\n\r\n[mailferry: this message is "
#define NOTE_END " to download it]\r\n"

bool
ph_is_note(const char *tail, size_t len)
{
	size_t ls = strlen(NOTE_START), le = strlen(NOTE_END), i;

	if (len < ls + le || memcmp(tail + len - le, NOTE_END, le) != 0)
		return false;
	/* the note is the last line, and an empty line comes before it */
	for (i = len - le; i-- > 0;)
		if (tail[i] == '\n')
			break;
	if (i < 3 || i == (size_t)-1)
		return false;
	return memcmp(tail + i - 3, NOTE_START, ls) == 0;
}

static int
check_write(struct mf_sink *sink, const void *data, size_t len,
	    struct mf_err *err)
{
	struct ph_check_sink *s = (struct ph_check_sink *)sink;
	const char *p = data;

	if (len >= sizeof(s->tail)) {
		memcpy(s->tail, p + len - sizeof(s->tail), sizeof(s->tail));
		s->ntail = sizeof(s->tail);
	} else {
		if (s->ntail + len > sizeof(s->tail)) {
			size_t drop = s->ntail + len - sizeof(s->tail);

			memmove(s->tail, s->tail + drop, s->ntail - drop);
			s->ntail -= drop;
		}
		memcpy(s->tail + s->ntail, p, len);
		s->ntail += len;
	}
	return mf_sink_write(s->next, data, len, err);
}

static int
check_finish(struct mf_sink *sink, struct mf_err *err)
{
	struct ph_check_sink *s = (struct ph_check_sink *)sink;

	if (ph_is_note(s->tail, s->ntail))
		return mf_err_set(err, MF_E_MSG,
				  "this is a mailferry "
				  "placeholder, not the message: not uploaded "
				  "(delete it, or keep it out of synced "
				  "folders)");
	return mf_sink_finish(s->next, err);
}

static const struct mf_sink_ops check_ops = {
	.write = check_write,
	.finish = check_finish,
};

void
ph_check_init(struct ph_check_sink *s, struct mf_sink *next)
{
	memset(s, 0, sizeof(*s));
	s->sink.ops = &check_ops;
	s->next = next;
}
