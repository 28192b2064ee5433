/*
 * IMAP response parser: a push parser over borrowed bytes.
 *
 * The connection reads from the socket into its own buffer and feeds it here;
 * the parser never reads or writes a socket.  It works on whatever has
 * arrived, byte by byte if need be, and keeps its state between calls.
 *
 * A complete response comes back as a tree of struct imap_arg allocated from
 * an arena owned by the parser; the tree stays valid until the next call to
 * imap_parser_feed() or imap_parser_reset().
 *
 * Grammar handled (RFC 3501 section 9, RFC 9051, RFC 7888, RFC 3516):
 *   response  = ("*" / tag / "+") SP ... CRLF
 *   atoms (including flags "\Seen", "\*" and fetch items with a bracketed
 *   section and partial, e.g. BODY[HEADER.FIELDS (MESSAGE-ID)]<0>),
 *   numbers, quoted strings with \" and \\ escapes, NIL, nested lists,
 *   literals {n}, {n+} (LITERAL+ spelling, tolerated), ~{n} (literal8).
 *   After a status word (OK NO BAD BYE PREAUTH, tagged or untagged) an
 *   optional response code "[ATOM args...]" is parsed into code/ncode and
 *   the rest of the line is kept as raw text; "+" lines keep their text.
 *   Tolerated deviations (bare LF, a line "[COPYUID ...]" without "* OK",
 *   ...) are listed at the top of imap-parser.c.
 *
 * Literals: when the handler set with imap_parser_set_literal_handler()
 * returns a sink for a literal, its bytes are streamed to that sink as they
 * arrive and never held in memory (the arg has type IMAP_ARG_LITERAL_SINK and
 * carries only its size).  Otherwise a literal up to limits.max_literal_mem
 * is kept in the arena; a larger one is a protocol error.  Literal sizes are
 * parsed with overflow checks and compared with the limits before a byte of
 * the literal is read.
 *
 * Limits: every response is bounded (line bytes outside streamed literals,
 * nesting depth, number of args); exceeding one fails with a message naming
 * the limit.  After an error the parser must be reset or destroyed; the
 * connection it served is not trustworthy any more.
 *
 * All text is raw server text: sanitize (mf_str_sanitize) before showing it.
 */
#ifndef MF_IMAP_PARSER_H
#define MF_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compat.h"
#include "base/err.h"

struct mf_sink;

enum imap_arg_type {
	IMAP_ARG_NIL = 0,
	IMAP_ARG_ATOM,	       /* includes numbers and flags */
	IMAP_ARG_STRING,       /* quoted, unescaped */
	IMAP_ARG_LITERAL,      /* in memory */
	IMAP_ARG_LITERAL_SINK, /* streamed to a sink; only size is known */
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	/* ATOM, STRING, LITERAL: the bytes, NUL-terminated (a literal may
	 * itself contain NULs; use len) */
	const char *str;
	size_t len;
	/* LIST: the children */
	const struct imap_arg *list;
	size_t count;
	/* LITERAL, LITERAL_SINK: declared size; literal8 says "~{n}" */
	uint64_t literal_size;
	bool literal8;
};

enum imap_resp_kind {
	IMAP_RESP_UNTAGGED, /* "* ..." */
	IMAP_RESP_TAGGED,   /* "tag ..." */
	IMAP_RESP_CONTINUE, /* "+ ..." */
};

struct imap_resp {
	enum imap_resp_kind kind;
	const char *tag; /* TAGGED only */
	/*
	 * Everything after "*" / tag, as args.  For status responses this is
	 * just the status word; for "* 3 EXISTS" it is [3, EXISTS]; for
	 * "* 5 FETCH (...)" it is [5, FETCH, (list)].
	 */
	const struct imap_arg *args;
	size_t count;
	/* Status responses: "OK" "NO" "BAD" "BYE" "PREAUTH" (upper case),
	 * else NULL */
	const char *status;
	/* Response code "[UIDVALIDITY 42]": code[0] is the atom, upper case;
	 * ncode 0 when there was none */
	const struct imap_arg *code;
	size_t ncode;
	/* Status and continuation responses: the text after the code, raw */
	const char *text;
	size_t text_len;
};

struct imap_parser_limits {
	size_t max_line;	/* response bytes outside streamed literals */
	size_t max_literal_mem; /* largest literal held in memory */
	unsigned max_depth;	/* list nesting */
	size_t max_args;	/* args in one response, all lists counted */
};

/* Defaults: 16 MiB response, 1 MiB in-memory literal, depth 32, 1M args. */
void imap_parser_limits_default(struct imap_parser_limits *limits);

/*
 * Called when a literal of size bytes starts.  args/count are the args of the
 * innermost list so far (for a FETCH: "UID 12 BODY[]" before the literal),
 * and resp the response so far (resp->args[0] is the sequence number of a
 * FETCH).  Return a sink to stream the literal into, or NULL to keep it in
 * memory.  The parser calls mf_sink_write() on it and never finish(); the
 * handler's owner finishes it after the response is complete.
 */
typedef struct mf_sink *imap_literal_fn(void *ctx, const struct imap_resp *resp,
					const struct imap_arg *args,
					size_t count, uint64_t size);

struct imap_parser;

struct imap_parser *imap_parser_create(const struct imap_parser_limits *limits);
void imap_parser_destroy(struct imap_parser **p);
void imap_parser_set_literal_handler(struct imap_parser *p, imap_literal_fn *fn,
				     void *ctx);
/* Forget any partial response and free the arena. */
void imap_parser_reset(struct imap_parser *p);
/*
 * Bytes the parser holds for the current response: arena, pending token and
 * arg arrays (not the parser struct itself).  For tests and debug output.
 */
size_t imap_parser_mem_used(const struct imap_parser *p);

#define IMAP_PARSE_MORE 0 /* all input used, response not complete */
#define IMAP_PARSE_DONE 1 /* *resp_r is a complete response */

/*
 * Parse from data[0..len).  *used_r is how many bytes were consumed (the
 * caller drops them from its buffer).  Returns IMAP_PARSE_MORE,
 * IMAP_PARSE_DONE, or -1 with err set (class MF_E_NET, "protocol error: ..."
 * naming what was wrong).  A sink write error is returned as -1 with the
 * sink's error.
 */
int imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
		     size_t *used_r, const struct imap_resp **resp_r,
		     struct mf_err *err) MF_WARN_UNUSED;

/* ---- accessors: false when the arg has another type ----------------- */

bool imap_arg_is_atom(const struct imap_arg *a,
		      const char *word) MF_WARN_UNUSED; /* case-insensitive */
bool imap_arg_get_atom(const struct imap_arg *a,
		       const char **str_r) MF_WARN_UNUSED;
/* atom, quoted string or in-memory literal */
bool imap_arg_get_astring(const struct imap_arg *a, const char **str_r,
			  size_t *len_r) MF_WARN_UNUSED;
/* the same, or NIL (then *str_r = NULL) */
bool imap_arg_get_nstring(const struct imap_arg *a, const char **str_r,
			  size_t *len_r) MF_WARN_UNUSED;
bool imap_arg_get_u32(const struct imap_arg *a, uint32_t *val_r) MF_WARN_UNUSED;
bool imap_arg_get_u64(const struct imap_arg *a, uint64_t *val_r) MF_WARN_UNUSED;
/* number64 and mod-sequence-value: at most 2^63-1 (RFC 9051 9, RFC 7162 7);
 * a larger one is no valid size or modseq, and would not fit the state */
bool imap_arg_get_u63(const struct imap_arg *a, uint64_t *val_r) MF_WARN_UNUSED;
bool imap_arg_get_list(const struct imap_arg *a, const struct imap_arg **list_r,
		       size_t *count_r) MF_WARN_UNUSED;

#endif
