/*
 * libFuzzer target for the IMAP response parser (store/imap/imap-parser.c).
 *
 * Input layout:
 *   byte 0     mode: bits 0-1 when the literal handler gives a sink
 *              (never, always, above 16 bytes, every other literal);
 *              bit 2 small limits instead of the defaults;
 *              bit 3 sinks fail their writes for some literal sizes
 *   bytes 1-4  chunk sizes, 1..256 each, used in turn to cut the stream
 *   the rest   the server's byte stream
 * Seeds (tests/fuzz/corpus-imap-parser/) are transcripts with such a header;
 * make-corpus.py writes them.
 *
 * Each input is parsed twice, all at once and cut into chunks, and the two
 * runs must agree: the same trees, the same literal bytes in the sinks, the
 * same error.  That is the parser's promise that a response may be cut at
 * any byte.  Every tree is walked through the accessors, and memory is
 * checked against a bound derived from the limits after every feed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "imap/imap-parser.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER 5

struct run {
	uint64_t hash; /* FNV-1a over everything observed */
	unsigned mode;
	unsigned literals; /* handler calls */
	struct imap_parser_limits lim;
};

struct fuzz_sink {
	struct mf_sink sink;
	struct run *run;
	bool fail;
};

static void
mix(struct run *r, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		r->hash ^= b[i];
		r->hash *= 1099511628211ull;
	}
}

static void
mix_u64(struct run *r, uint64_t v)
{
	mix(r, &v, sizeof(v));
}

static int
sink_write(struct mf_sink *s, const void *data, size_t len, struct mf_err *err)
{
	struct fuzz_sink *fs = (struct fuzz_sink *)s;

	if (len == 0)
		abort(); /* the parser never writes nothing */
	if (fs->fail)
		return mf_err_set(err, MF_E_MSG, "sink failed");
	/* a discarding sink: only what arrived is remembered */
	mix(fs->run, data, len);
	return 0;
}

static int
sink_finish(struct mf_sink *s, struct mf_err *err)
{
	(void)s;
	(void)err;
	abort(); /* the parser must never finish a sink */
}

static const struct mf_sink_ops sink_ops = {
	.write = sink_write,
	.finish = sink_finish,
};

static void walk_args(struct run *r, const struct imap_arg *args, size_t count,
		      unsigned depth);

static void
walk_arg(struct run *r, const struct imap_arg *a, unsigned depth)
{
	const struct imap_arg *list;
	const char *s;
	size_t len, count;
	uint64_t u64;
	uint32_t u32;

	mix_u64(r, a->type);
	switch (a->type) {
	case IMAP_ARG_NIL:
		if (!imap_arg_get_nstring(a, &s, &len) || s != NULL)
			abort();
		break;
	case IMAP_ARG_ATOM:
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		if (!imap_arg_get_astring(a, &s, &len) || s[len] != '\0')
			abort();
		/* only a literal can hold a NUL */
		if (a->type != IMAP_ARG_LITERAL && strlen(s) != len)
			abort();
		if (a->type == IMAP_ARG_LITERAL && a->literal_size != len)
			abort();
		mix(r, s, len);
		mix_u64(r, len);
		if (imap_arg_get_u32(a, &u32))
			mix_u64(r, u32);
		if (imap_arg_get_u64(a, &u64))
			mix_u64(r, u64);
		(void)imap_arg_is_atom(a, "NIL");
		break;
	case IMAP_ARG_LITERAL_SINK:
		mix_u64(r, a->literal_size);
		break;
	case IMAP_ARG_LIST:
		if (!imap_arg_get_list(a, &list, &count))
			abort();
		if (depth > r->lim.max_depth)
			abort();
		mix_u64(r, count);
		walk_args(r, list, count, depth + 1);
		break;
	default:
		abort();
	}
	mix_u64(r, a->literal8);
}

static void
walk_args(struct run *r, const struct imap_arg *args, size_t count,
	  unsigned depth)
{
	size_t i;

	for (i = 0; i < count; i++)
		walk_arg(r, &args[i], depth);
}

static void
walk_resp(struct run *r, const struct imap_resp *resp)
{
	mix_u64(r, resp->kind);
	if (resp->tag != NULL)
		mix(r, resp->tag, strlen(resp->tag) + 1);
	if (resp->status != NULL)
		mix(r, resp->status, strlen(resp->status) + 1);
	if (resp->text != NULL) {
		if (strlen(resp->text) != resp->text_len)
			abort();
		mix(r, resp->text, resp->text_len + 1);
	}
	mix_u64(r, resp->count);
	walk_args(r, resp->args, resp->count, 1);
	mix_u64(r, resp->ncode);
	walk_args(r, resp->code, resp->ncode, 1);
}

static struct fuzz_sink the_sink;

static struct mf_sink *
handler(void *ctx, const struct imap_resp *resp, const struct imap_arg *args,
	size_t count, uint64_t size)
{
	struct run *r = ctx;
	bool give;

	/* what the handler may look at must be valid */
	walk_args(r, args, count, 1);
	walk_args(r, resp->args, resp->count, 1);
	mix_u64(r, size);
	r->literals++;
	switch (r->mode & 3) {
	case 0:
		give = false;
		break;
	case 1:
		give = true;
		break;
	case 2:
		give = size > 16;
		break;
	default:
		give = r->literals % 2 == 0;
		break;
	}
	if (!give)
		return NULL;
	the_sink.sink.ops = &sink_ops;
	the_sink.run = r;
	the_sink.fail = (r->mode & 8) != 0 && size % 7 == 3;
	return &the_sink.sink;
}

/*
 * A loose bound on what the parser may hold: text is at most max_line
 * bytes, but each token costs an arena alignment slot and each arg an array
 * entry in the stack and in the arena.
 */
static size_t
mem_bound(const struct imap_parser_limits *lim)
{
	return 32 * lim->max_line +
	       4 * lim->max_args * sizeof(struct imap_arg) + 64 * 1024;
}

/* Parse the stream, cut as cuts[] says (NULL: whole); hash what is seen. */
static void
run_parser(struct run *r, const uint8_t *in, size_t len, const uint8_t *cuts)
{
	struct imap_parser *p = imap_parser_create(&r->lim);
	size_t off = 0, piece = 0;

	imap_parser_set_literal_handler(p, handler, r);
	while (off < len) {
		size_t n = len - off, used;
		const struct imap_resp *resp;
		struct mf_err err = { 0 };
		int ret;

		if (cuts != NULL) {
			size_t c = (size_t)cuts[piece++ % 4] + 1;

			n = c < n ? c : n;
		}
		ret = imap_parser_feed(p, (const char *)in + off, n, &used,
				       &resp, &err);
		if (used > n)
			abort();
		if (imap_parser_mem_used(p) > mem_bound(&r->lim))
			abort();
		if (ret < 0) {
			/* the same message in both runs; then a reset must
			 * give a working parser */
			mix(r, err.msg, strlen(err.msg));
			mix_u64(r, err.cls);
			imap_parser_reset(p);
			ret = imap_parser_feed(p, "* OK x\r\n", 8, &used, &resp,
					       &err);
			if (ret != IMAP_PARSE_DONE || used != 8)
				abort();
			break;
		}
		if (ret == IMAP_PARSE_MORE && used != n)
			abort();
		if (ret == IMAP_PARSE_DONE)
			walk_resp(r, resp);
		off += used;
	}
	imap_parser_destroy(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole = { 0 }, cut = { 0 };

	if (size < HEADER)
		return 0;
	whole.mode = data[0];
	imap_parser_limits_default(&whole.lim);
	if (whole.mode & 4) {
		whole.lim.max_line = 4096;
		whole.lim.max_literal_mem = 512;
		whole.lim.max_depth = 8;
		whole.lim.max_args = 256;
	}
	whole.hash = 14695981039346656037ull;
	cut = whole;
	run_parser(&whole, data + HEADER, size - HEADER, NULL);
	run_parser(&cut, data + HEADER, size - HEADER, data + 1);
	if (whole.hash != cut.hash || whole.literals != cut.literals) {
		fprintf(stderr, "whole and cut parses differ\n");
		abort();
	}
	return 0;
}
