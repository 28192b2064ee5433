/*
 * IMAP response parser (the contract is in imap-parser.h).
 *
 * Design note
 * -----------
 * One state enum and one switch (step()).  Every state handler looks at the
 * bytes it is given, consumes some of them and may move to another state; the
 * feed loop calls step() until the input is used up or a response is done.
 * Nothing is read ahead and nothing is pushed back, so a response can be cut
 * at any byte and fed in any number of pieces.
 *
 * Tokens (tags, atoms, quoted strings, text) are copied into the response's
 * arena as soon as they end.  A token that ends in the same feed that started
 * it is copied straight from the caller's buffer; one that is cut by the end
 * of a feed is collected in a small pending buffer (p->tok) until it ends.
 *
 * Lists are built on a stack of growable arrays, one per open list: the
 * children of the innermost list are appended to the top array, and when the
 * list closes they are copied into the arena as one array and the list
 * becomes a single arg of its parent.  The response code "[...]" is one more
 * stack level, so its args are parsed like list items.
 *
 * Literals: "{n}", "{n+}" (RFC 7888) and "~{n}" (literal8, RFC 3516) have
 * their size parsed with an overflow check.  After the CRLF the literal
 * handler may return a sink; then the literal's bytes go from the caller's
 * buffer straight to mf_sink_write() and nothing is kept.  Otherwise the
 * literal is kept in the arena, if it fits both max_literal_mem and what is
 * left of max_line.  Either way the limits are checked before a byte of the
 * literal is consumed.
 *
 * Bounds: every byte of a response except the bytes of streamed literals
 * counts against limits.max_line, and the count is checked before the bytes
 * are stored, so the pending buffer and the arena's text never hold more than
 * max_line bytes.  The arg arrays are bounded by limits.max_args (each arg is
 * sizeof(struct imap_arg) bytes, counted by imap_parser_mem_used()).  The
 * feed loop never shows a state more than one byte past max_line, so an
 * error is found at the same byte however the input is cut (the fuzz target
 * checks that whole and cut parses agree).
 *
 * What we tolerate (liberal where servers deviate, strict where it protects
 * us); each has a row in tests/unit/test-imap-parser.c:
 *   - status words, "NIL" and the response code atom in any case; status and
 *     code are reported upper case (a server answers "* ok");
 *   - runs of spaces between args and trailing spaces before CRLF;
 *   - no space after "+", after "]" of a response code, between ")" and "("
 *     (multipart BODYSTRUCTURE needs that anyway), or after a string;
 *   - ']' inside an atom outside a response code;
 *   - a bare LF ends a line: outside a literal an LF can only end a line,
 *     so taking it for CRLF cannot misparse, and LF-only captures and
 *     proxies exist; a CR not followed by LF is an error, as a lone CR
 *     could hide a line end from a log or a terminal;
 *   - empty lines between responses are skipped;
 *   - a line that starts with "[" is an untagged OK with a response code
 *     (Office 365 sends "[COPYUID ...]" alone, see bare_code());
 *   - a backslash before a character other than '"' or '\' in a quoted
 *     string is kept, with the character.
 * Errors: NUL outside a literal (RFC 3501 section 9, note 3), unterminated
 * strings, lists or response codes at the end of the line, ')' without '(',
 * a tagged response without OK/NO/BAD/BYE/PREAUTH after the tag, '+' in a tag.
 *
 * Atoms: a fetch item with a section, "BODY[HEADER.FIELDS (A B)]<0>", is one
 * atom: after "BODY[", "BINARY[", "BINARY.SIZE[" (and the .PEEK spellings)
 * everything up to the matching ']' is kept verbatim, spaces, parens and
 * quoted strings included.  '[' in any other atom is an ordinary character,
 * because mailbox names like "foo[bar" may be sent as atoms.
 *
 * Continuation lines keep everything after "+ " as raw text; no response
 * code is parsed there (the text may be base64).
 */
#include "imap-parser.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "store.h"

#define ARENA_CHUNK 4096
/* Buffers grown past these by a big response are freed when it is done. */
#define KEEP_TOK_CAP (64 * 1024)
#define KEEP_LEVEL_CAP 256

enum pstate {
	ST_START,    /* before a response */
	ST_UNTAGGED, /* after "*": a space */
	ST_TAG,	     /* in the tag */
	ST_CONT,     /* after "+": optional space, then text */
	ST_ARGS,     /* between args */
	ST_ATOM,
	ST_TILDE, /* "~" seen: literal8 or an atom */
	ST_QUOTED,
	ST_LIT_SIZE,   /* in "{123}" */
	ST_LIT_CRLF,   /* after "}" */
	ST_LIT_LF,     /* after "}" CR */
	ST_LIT_MEM,    /* literal bytes kept in the arena */
	ST_LIT_SINK,   /* literal bytes streamed to a sink */
	ST_STATUS,     /* after a status word */
	ST_AFTER_CODE, /* after the "]" of a response code */
	ST_TEXT,       /* raw text up to the end of the line */
	ST_EOL,	       /* at CR or LF */
	ST_EOL_LF,     /* CR seen */
	ST_FAILED,
};

/* One open list (or the top level, or the response code). */
struct level {
	struct imap_arg *items;
	size_t count, cap;
};

struct imap_parser {
	struct imap_parser_limits limits;
	struct mf_arena *arena;
	imap_literal_fn *lit_fn;
	void *lit_ctx;

	enum pstate state;
	bool started; /* a response has begun (not a blank line) */
	bool done;    /* resp was returned; reset on the next feed */
	struct imap_resp resp;

	struct mf_buf tok; /* a token cut by the end of a feed */
	size_t line_bytes; /* counted against limits.max_line */
	size_t nargs;	   /* counted against limits.max_args */

	struct level *levels;
	size_t nlevels;	     /* allocated */
	size_t depth;	     /* index of the innermost level */
	unsigned list_depth; /* open lists, against limits.max_depth */
	bool in_code;	     /* inside "[...]" after a status word */
	size_t code_level;

	bool status_sp; /* the space after the status word is gone */

	/* ST_ATOM */
	size_t atom_len;
	char atom_head[12]; /* first bytes, upper case: "BINARY.SIZE" */
	size_t brk_depth;   /* inside a section "[...]" */
	bool brk_quote, brk_escape;

	/* ST_QUOTED */
	bool q_escape;

	/* literals */
	uint64_t lit_size, lit_got;
	bool lit8, lit_plus, lit_digits;
	char *lit_mem;
	struct mf_sink *lit_sink;
};

#ifdef IMAP_PARSER_TRACE
static const char *const state_names[] = {
	"START",  "UNTAGGED", "TAG",	  "CONT",     "ARGS",
	"ATOM",	  "TILDE",    "QUOTED",	  "LIT_SIZE", "LIT_CRLF",
	"LIT_LF", "LIT_MEM",  "LIT_SINK", "STATUS",   "AFTER_CODE",
	"TEXT",	  "EOL",      "EOL_LF",	  "FAILED",
};
#endif

/*
 * Every state change goes through here.  The transitions are far too many
 * for the protocol trace (one per token), so they are logged only in a build
 * with -DIMAP_PARSER_TRACE.
 */
static void
set_state(struct imap_parser *p, enum pstate st)
{
#ifdef IMAP_PARSER_TRACE
	mf_debug(MF_LOGC_IMAP, "parser: %s -> %s", state_names[p->state],
		 state_names[st]);
#endif
	p->state = st;
}

static int perr(struct mf_err *err, const char *fmt, ...) MF_PRINTF(2, 3);

static int
perr(struct mf_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mf_err_setv(err, MF_E_NET, fmt, ap);
	va_end(ap);
	return mf_err_prefix(err, "protocol error");
}

void
imap_parser_limits_default(struct imap_parser_limits *limits)
{
	limits->max_line = 16u * 1024 * 1024;
	limits->max_literal_mem = 1024u * 1024;
	limits->max_depth = 32;
	limits->max_args = 1024u * 1024;
}

/* Forget the last response (or a partial one) and start afresh. */
static void
begin_response(struct imap_parser *p)
{
	size_t i;

	mf_arena_reset(p->arena);
	memset(&p->resp, 0, sizeof(p->resp));
	if (p->tok.cap > KEEP_TOK_CAP) {
		mf_buf_deinit(&p->tok);
		mf_buf_init(&p->tok, p->tok.max);
	}
	mf_buf_reset(&p->tok);
	for (i = 0; i < p->nlevels; i++) {
		if (p->levels[i].cap > KEEP_LEVEL_CAP) {
			free(p->levels[i].items);
			p->levels[i].items = NULL;
			p->levels[i].cap = 0;
		}
		p->levels[i].count = 0;
	}
	p->line_bytes = 0;
	p->nargs = 0;
	p->depth = 0;
	p->list_depth = 0;
	p->in_code = false;
	p->code_level = 0;
	p->started = false;
	p->done = false;
	p->lit_sink = NULL;
	p->lit_mem = NULL;
	set_state(p, ST_START);
}

struct imap_parser *
imap_parser_create(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	if (limits != NULL)
		p->limits = *limits;
	else
		imap_parser_limits_default(&p->limits);
	p->arena = mf_arena_create(ARENA_CHUNK);
	/* mf_buf keeps max + 1 bytes (the NUL); do not let that wrap */
	mf_buf_init(&p->tok, p->limits.max_line < SIZE_MAX ?
				     p->limits.max_line :
				     SIZE_MAX - 1);
	p->nlevels = 1;
	p->levels = xcalloc(1, sizeof(*p->levels));
	begin_response(p);
	return p;
}

void
imap_parser_destroy(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nlevels; i++)
		free(p->levels[i].items);
	free(p->levels);
	mf_buf_deinit(&p->tok);
	mf_arena_destroy(&p->arena);
	free(p);
	*pp = NULL;
}

void
imap_parser_set_literal_handler(struct imap_parser *p, imap_literal_fn *fn,
				void *ctx)
{
	p->lit_fn = fn;
	p->lit_ctx = ctx;
}

void
imap_parser_reset(struct imap_parser *p)
{
	begin_response(p);
}

size_t
imap_parser_mem_used(const struct imap_parser *p)
{
	size_t sum = mf_arena_used(p->arena) + p->tok.cap, i;

	sum += p->nlevels * sizeof(*p->levels);
	for (i = 0; i < p->nlevels; i++)
		sum += p->levels[i].cap * sizeof(struct imap_arg);
	return sum;
}

/* ---- helpers -------------------------------------------------------- */

/* Count n more bytes of the response against max_line. */
static int
account(struct imap_parser *p, size_t n, struct mf_err *err)
{
	if (n > p->limits.max_line - p->line_bytes)
		return perr(err, "response longer than the limit of %zu bytes",
			    p->limits.max_line);
	p->line_bytes += n;
	return 0;
}

/* Consume n bytes that count against max_line. */
static int
take(struct imap_parser *p, size_t n, size_t *used_r, struct mf_err *err)
{
	if (account(p, n, err) < 0)
		return -1;
	*used_r = n;
	return 0;
}

/* Keep s[0..n), the start of a token that the end of the feed cut. */
static int
tok_keep(struct imap_parser *p, const char *s, size_t n, struct mf_err *err)
{
	if (mf_buf_append(&p->tok, s, n, err) < 0)
		return perr(err, "token longer than the limit of %zu bytes",
			    p->tok.max);
	return 0;
}

/*
 * The whole token whose last part is s[0..n): straight from the caller's
 * buffer when nothing was kept from earlier feeds.  Call tok_done() after
 * copying it.
 */
static int
tok_take(struct imap_parser *p, const char *s, size_t n, const char **tok_r,
	 size_t *len_r, struct mf_err *err)
{
	if (p->tok.len == 0) {
		*tok_r = s;
		*len_r = n;
		return 0;
	}
	if (tok_keep(p, s, n, err) < 0)
		return -1;
	*tok_r = p->tok.data;
	*len_r = p->tok.len;
	return 0;
}

static void
tok_done(struct imap_parser *p)
{
	mf_buf_reset(&p->tok);
}

static void
ensure_level(struct imap_parser *p, size_t depth)
{
	size_t n;

	if (depth < p->nlevels)
		return;
	n = p->nlevels * 2 > depth + 1 ? p->nlevels * 2 : depth + 1;
	p->levels = xreallocarray(p->levels, n, sizeof(*p->levels));
	memset(p->levels + p->nlevels, 0,
	       (n - p->nlevels) * sizeof(*p->levels));
	p->nlevels = n;
}

static int
push_arg(struct imap_parser *p, const struct imap_arg *a, struct mf_err *err)
{
	struct level *lv = &p->levels[p->depth];

	if (p->depth == 0 && p->resp.kind == IMAP_RESP_TAGGED &&
	    p->resp.status == NULL)
		return perr(err, "no OK, NO or BAD after the tag");
	if (p->nargs >= p->limits.max_args)
		return perr(err, "more than %zu arguments in a response",
			    p->limits.max_args);
	if (lv->count == lv->cap) {
		size_t cap = lv->cap != 0 ? lv->cap * 2 : 8;

		lv->items = xreallocarray(lv->items, cap, sizeof(*lv->items));
		lv->cap = cap;
	}
	lv->items[lv->count++] = *a;
	p->nargs++;
	return 0;
}

/* Copy the items of the innermost level into the arena. */
static const struct imap_arg *
level_freeze(struct imap_parser *p, size_t *count_r)
{
	struct level *lv = &p->levels[p->depth];
	struct imap_arg *arr;

	arr = mf_arena_alloc(p->arena, lv->count * sizeof(*arr));
	if (lv->count != 0)
		memcpy(arr, lv->items, lv->count * sizeof(*arr));
	*count_r = lv->count;
	lv->count = 0;
	return arr;
}

static const char *
status_word(const char *s, size_t len)
{
	static const char *const words[] = {
		"OK", "NO", "BAD", "BYE", "PREAUTH",
	};
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(words); i++) {
		if (strlen(words[i]) == len &&
		    strncasecmp(s, words[i], len) == 0)
			return words[i];
	}
	return NULL;
}

/* Fetch items whose '[' opens a section kept verbatim up to its ']'. */
static bool
atom_is_section_item(const struct imap_parser *p)
{
	static const char *const items[] = {
		"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
	};
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(items); i++) {
		if (strlen(items[i]) == p->atom_len &&
		    memcmp(p->atom_head, items[i], p->atom_len) == 0)
			return true;
	}
	return false;
}

static int
upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static bool
is_tag_char(unsigned char c)
{
	/* ASTRING-CHAR except "+" (RFC 3501 section 9 "tag") */
	return c > 0x20 && c < 0x7f && strchr("(){\"\\%*+", c) == NULL;
}

/* ---- response start and tag ----------------------------------------- */

/*
 * Office 365 answers UID MOVE with a line "[COPYUID 55 31 6]": no "* OK".
 * A tag can start with '[' (RFC 3501 section 9), but ours never do, so such
 * a line is read as "* OK [COPYUID ...]", the untagged COPYUID that RFC 6851
 * section 4.3 asks for.
 */
static int
bare_code(struct imap_parser *p, struct mf_err *err)
{
	struct imap_arg a = { .type = IMAP_ARG_ATOM, .str = "OK", .len = 2 };

	p->resp.kind = IMAP_RESP_UNTAGGED;
	p->resp.status = a.str;
	p->started = true;
	p->status_sp = true;
	set_state(p, ST_STATUS);
	return push_arg(p, &a, err);
}

static int
st_start(struct imap_parser *p, char c, size_t *used_r, struct mf_err *err)
{
	switch (c) {
	case '\n': /* an empty line: skipped */
		*used_r = 1;
		return 0;
	case '\r':
		*used_r = 1;
		set_state(p, ST_EOL_LF);
		return 0;
	case '*':
		p->resp.kind = IMAP_RESP_UNTAGGED;
		set_state(p, ST_UNTAGGED);
		break;
	case '+':
		p->resp.kind = IMAP_RESP_CONTINUE;
		set_state(p, ST_CONT);
		break;
	case '[':
		return bare_code(p, err);
	default:
		p->resp.kind = IMAP_RESP_TAGGED;
		p->started = true;
		set_state(p, ST_TAG);
		return 0;
	}
	p->started = true;
	return take(p, 1, used_r, err);
}

static int
st_tag(struct imap_parser *p, const char *d, size_t n, size_t *used_r,
       struct mf_err *err)
{
	const char *tag;
	size_t i, len;

	for (i = 0; i < n && is_tag_char((unsigned char)d[i]); i++)
		;
	if (account(p, i, err) < 0)
		return -1;
	if (i == n) {
		*used_r = n;
		return tok_keep(p, d, n, err);
	}
	if (d[i] == '\r' || d[i] == '\n')
		return perr(err, "tag without a status");
	if (d[i] != ' ')
		return perr(err, "invalid character 0x%02x in a tag",
			    (unsigned char)d[i]);
	if (tok_take(p, d, i, &tag, &len, err) < 0)
		return -1;
	if (len == 0)
		return perr(err, "empty tag");
	p->resp.tag = mf_arena_strndup(p->arena, tag, len);
	tok_done(p);
	if (account(p, 1, err) < 0)
		return -1;
	*used_r = i + 1; /* with the space */
	set_state(p, ST_ARGS);
	return 0;
}

static int
st_untagged(struct imap_parser *p, char c, size_t *used_r, struct mf_err *err)
{
	if (c != ' ')
		return perr(err, "no space after '*'");
	set_state(p, ST_ARGS);
	return take(p, 1, used_r, err);
}

static int
st_cont(struct imap_parser *p, char c, size_t *used_r, struct mf_err *err)
{
	set_state(p, ST_TEXT);
	if (c != ' ')
		return 0; /* "+" alone or "+text": tolerated */
	return take(p, 1, used_r, err);
}

/* ---- between args ---------------------------------------------------- */

static int
open_list(struct imap_parser *p, struct mf_err *err)
{
	if (p->depth == 0 && p->resp.kind == IMAP_RESP_TAGGED &&
	    p->resp.status == NULL)
		return perr(err, "no OK, NO or BAD after the tag");
	if (p->list_depth >= p->limits.max_depth)
		return perr(err, "lists nested deeper than the limit of %u",
			    p->limits.max_depth);
	p->list_depth++;
	p->depth++;
	ensure_level(p, p->depth);
	p->levels[p->depth].count = 0;
	return 0;
}

static int
close_list(struct imap_parser *p, struct mf_err *err)
{
	struct imap_arg a = { .type = IMAP_ARG_LIST };

	if (p->depth == 0 || (p->in_code && p->depth == p->code_level))
		return perr(err, "')' without '('");
	a.list = level_freeze(p, &a.count);
	p->depth--;
	p->list_depth--;
	return push_arg(p, &a, err);
}

static int
close_code(struct imap_parser *p, struct mf_err *err)
{
	const struct imap_arg *code;
	size_t ncode;

	if (p->depth != p->code_level)
		return perr(err, "unbalanced list in a response code");
	code = level_freeze(p, &ncode);
	if (ncode == 0)
		return perr(err, "empty response code");
	if (code[0].type != IMAP_ARG_ATOM)
		return perr(err, "response code does not start with an atom");
	p->resp.code = code;
	p->resp.ncode = ncode;
	p->depth--;
	p->in_code = false;
	set_state(p, ST_AFTER_CODE);
	return 0;
}

static int
end_of_args(struct imap_parser *p, struct mf_err *err)
{
	if (p->in_code)
		return perr(err, "unterminated response code");
	if (p->depth > 0)
		return perr(err, "unterminated list");
	if (p->resp.kind == IMAP_RESP_TAGGED && p->resp.status == NULL)
		return perr(err, "tag without a status");
	if (p->levels[0].count == 0)
		return perr(err, "empty untagged response");
	set_state(p, ST_EOL);
	return 0;
}

static void
begin_atom(struct imap_parser *p)
{
	p->atom_len = 0;
	p->brk_depth = 0;
	p->brk_quote = false;
	p->brk_escape = false;
	set_state(p, ST_ATOM);
}

static void
begin_literal(struct imap_parser *p, bool lit8)
{
	p->lit_size = 0;
	p->lit8 = lit8;
	p->lit_plus = false;
	p->lit_digits = false;
	set_state(p, ST_LIT_SIZE);
}

static int
st_args(struct imap_parser *p, char c, size_t *used_r, struct mf_err *err)
{
	if (c == '\r' || c == '\n')
		return end_of_args(p, err);
	if (c == '\0')
		return perr(err, "NUL byte in a response");
	if (strchr(" ()\"{~", c) == NULL && !(c == ']' && p->in_code)) {
		begin_atom(p); /* ']' outside a response code too */
		return 0;
	}
	if (take(p, 1, used_r, err) < 0)
		return -1;
	switch (c) {
	case ' ': /* a run of spaces, or trailing ones: tolerated */
		return 0;
	case '(':
		return open_list(p, err);
	case ')':
		return close_list(p, err);
	case '"':
		p->q_escape = false;
		set_state(p, ST_QUOTED);
		return 0;
	case '{':
		begin_literal(p, false);
		return 0;
	case '~':
		set_state(p, ST_TILDE);
		return 0;
	default: /* ']' */
		return close_code(p, err);
	}
}

/* ---- atoms ------------------------------------------------------------ */

static int
finish_atom(struct imap_parser *p, const char *s, size_t len,
	    struct mf_err *err)
{
	struct imap_arg a = { .type = IMAP_ARG_ATOM };
	const char *status = NULL;
	char *str;

	set_state(p, ST_ARGS);
	if (len == 3 && strncasecmp(s, "NIL", 3) == 0) {
		a.type = IMAP_ARG_NIL;
		return push_arg(p, &a, err);
	}
	if (p->depth == 0 && p->levels[0].count == 0 &&
	    p->resp.kind != IMAP_RESP_CONTINUE)
		status = status_word(s, len);
	if (status != NULL) {
		/* the status word as a constant, upper case */
		p->resp.status = status;
		a.str = status;
		a.len = len;
		p->status_sp = false;
		set_state(p, ST_STATUS);
		return push_arg(p, &a, err);
	}
	str = mf_arena_strndup(p->arena, s, len);
	if (p->in_code && p->depth == p->code_level &&
	    p->levels[p->depth].count == 0) {
		size_t i;

		/* the code atom: case-insensitive, reported upper case */
		for (i = 0; i < len; i++)
			str[i] = (char)upper((unsigned char)str[i]);
	}
	a.str = str;
	a.len = len;
	return push_arg(p, &a, err);
}

/* Inside a section "[...]" of a fetch item: everything up to its ']'. */
static int
atom_section_byte(struct imap_parser *p, char c, struct mf_err *err)
{
	if (c == '\r' || c == '\n')
		return perr(err, "unterminated '[' in a fetch item");
	if (c == '\0')
		return perr(err, "NUL byte in a response");
	if (p->brk_quote) {
		if (p->brk_escape)
			p->brk_escape = false;
		else if (c == '\\')
			p->brk_escape = true;
		else if (c == '"')
			p->brk_quote = false;
	} else if (c == '"') {
		p->brk_quote = true;
	} else if (c == '[') {
		p->brk_depth++;
	} else if (c == ']') {
		p->brk_depth--;
	}
	return 0;
}

static int
st_atom(struct imap_parser *p, const char *d, size_t n, size_t *used_r,
	struct mf_err *err)
{
	const char *s;
	size_t i, len;

	for (i = 0; i < n; i++) {
		char c = d[i];

		if (p->brk_depth > 0) {
			if (atom_section_byte(p, c, err) < 0)
				return -1;
			p->atom_len++;
			continue;
		}
		if (c == ' ' || c == '\r' || c == '\n' || c == '(' ||
		    c == ')' || (c == ']' && p->in_code))
			break;
		if (c == '\0')
			return perr(err, "NUL byte in a response");
		if (c == '[' && atom_is_section_item(p))
			p->brk_depth = 1;
		if (p->atom_len < sizeof(p->atom_head))
			p->atom_head[p->atom_len] = (char)upper(c);
		p->atom_len++;
	}
	if (account(p, i, err) < 0)
		return -1;
	*used_r = i;
	if (i == n)
		return tok_keep(p, d, n, err);
	if (tok_take(p, d, i, &s, &len, err) < 0)
		return -1;
	if (finish_atom(p, s, len, err) < 0)
		return -1;
	tok_done(p);
	return 0;
}

/* "~" then "{" is a literal8; "~" then anything else starts an atom. */
static int
st_tilde(struct imap_parser *p, char c, size_t *used_r, struct mf_err *err)
{
	if (c == '{') {
		begin_literal(p, true);
		return take(p, 1, used_r, err);
	}
	begin_atom(p);
	p->atom_head[0] = '~';
	p->atom_len = 1;
	return tok_keep(p, "~", 1, err);
}

/* ---- quoted strings --------------------------------------------------- */

static int
finish_quoted(struct imap_parser *p, const char *s, size_t len,
	      struct mf_err *err)
{
	struct imap_arg a = { .type = IMAP_ARG_STRING };
	char *out = mf_arena_alloc(p->arena, len + 1);
	size_t i, o = 0;

	/* "\" quoted-specials (RFC 3501 section 9 QUOTED-CHAR); any other
	 * backslash is kept as it is */
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len &&
		    (s[i + 1] == '"' || s[i + 1] == '\\'))
			i++;
		out[o++] = s[i];
	}
	out[o] = '\0';
	a.str = out;
	a.len = o;
	set_state(p, ST_ARGS);
	return push_arg(p, &a, err);
}

static int
st_quoted(struct imap_parser *p, const char *d, size_t n, size_t *used_r,
	  struct mf_err *err)
{
	const char *s;
	size_t i, len;

	for (i = 0; i < n; i++) {
		char c = d[i];

		if (c == '\r' || c == '\n')
			return perr(err, "unterminated quoted string");
		if (c == '\0')
			return perr(err, "NUL byte in a response");
		if (p->q_escape)
			p->q_escape = false;
		else if (c == '\\')
			p->q_escape = true;
		else if (c == '"')
			break;
	}
	if (i == n) {
		if (account(p, n, err) < 0)
			return -1;
		*used_r = n;
		return tok_keep(p, d, n, err);
	}
	if (account(p, i + 1, err) < 0)
		return -1;
	*used_r = i + 1; /* with the closing quote */
	if (tok_take(p, d, i, &s, &len, err) < 0)
		return -1;
	if (finish_quoted(p, s, len, err) < 0)
		return -1;
	tok_done(p);
	return 0;
}

/* ---- literals --------------------------------------------------------- */

static int
st_lit_size(struct imap_parser *p, char c, size_t *used_r, struct mf_err *err)
{
	if (take(p, 1, used_r, err) < 0)
		return -1;
	if (c >= '0' && c <= '9' && !p->lit_plus) {
		unsigned dig = (unsigned)(c - '0');

		if (p->lit_size > (UINT64_MAX - dig) / 10)
			return perr(err, "literal size overflows 64 bits");
		p->lit_size = p->lit_size * 10 + dig;
		p->lit_digits = true;
		return 0;
	}
	if (c == '+' && p->lit_digits && !p->lit_plus) {
		p->lit_plus = true; /* RFC 7888 spelling */
		return 0;
	}
	if (c == '}' && p->lit_digits) {
		set_state(p, ST_LIT_CRLF);
		return 0;
	}
	return perr(err, "invalid literal size");
}

static int
finish_literal(struct imap_parser *p, struct mf_err *err)
{
	struct imap_arg a = { 0 };

	a.literal_size = p->lit_size;
	a.literal8 = p->lit8;
	if (p->lit_sink != NULL) {
		a.type = IMAP_ARG_LITERAL_SINK;
	} else {
		a.type = IMAP_ARG_LITERAL;
		a.str = p->lit_mem;
		a.len = (size_t)p->lit_size;
	}
	p->lit_sink = NULL;
	p->lit_mem = NULL;
	set_state(p, ST_ARGS);
	return push_arg(p, &a, err);
}

/* After "{n}" CRLF: decide where the literal goes before reading it. */
static int
start_literal(struct imap_parser *p, struct mf_err *err)
{
	struct mf_sink *sink = NULL;

	if (p->lit_fn != NULL) {
		const struct level *lv = &p->levels[p->depth];

		/* the response so far, borrowed from the stack */
		p->resp.args = p->levels[0].items;
		p->resp.count = p->levels[0].count;
		sink = p->lit_fn(p->lit_ctx, &p->resp, lv->items, lv->count,
				 p->lit_size);
		p->resp.args = NULL;
		p->resp.count = 0;
	}
	if (sink == NULL) {
		if (p->lit_size > p->limits.max_literal_mem)
			return perr(err,
				    "literal of %" PRIu64
				    " bytes exceeds the limit of %zu",
				    p->lit_size, p->limits.max_literal_mem);
		if (p->lit_size > p->limits.max_line - p->line_bytes)
			return perr(err,
				    "response longer than the limit of "
				    "%zu bytes",
				    p->limits.max_line);
		p->lit_mem = mf_arena_alloc(p->arena, (size_t)p->lit_size + 1);
	}
	mf_debug(MF_LOGC_IMAP, "S: literal of %" PRIu64 " bytes%s", p->lit_size,
		 sink != NULL ? " to a sink" : "");
	p->lit_sink = sink;
	p->lit_got = 0;
	if (p->lit_size == 0)
		return finish_literal(p, err);
	set_state(p, sink != NULL ? ST_LIT_SINK : ST_LIT_MEM);
	return 0;
}

static int
st_lit_crlf(struct imap_parser *p, char c, size_t *used_r, struct mf_err *err)
{
	if (c != '\n' && !(c == '\r' && p->state == ST_LIT_CRLF))
		return perr(err, "no CRLF after a literal size");
	if (take(p, 1, used_r, err) < 0)
		return -1;
	if (c == '\r') {
		set_state(p, ST_LIT_LF);
		return 0;
	}
	return start_literal(p, err);
}

static int
st_lit_data(struct imap_parser *p, const char *d, size_t n, size_t *used_r,
	    struct mf_err *err)
{
	uint64_t left = p->lit_size - p->lit_got;
	size_t k = left < n ? (size_t)left : n;

	*used_r = k;
	if (p->state == ST_LIT_SINK) {
		/* zero copy: straight from the caller's buffer */
		if (mf_sink_write(p->lit_sink, d, k, err) < 0)
			return -1;
	} else {
		if (account(p, k, err) < 0)
			return -1;
		memcpy(p->lit_mem + p->lit_got, d, k);
	}
	p->lit_got += k;
	if (p->lit_got == p->lit_size)
		return finish_literal(p, err);
	return 0;
}

/* ---- status, response code, text, end of line ------------------------- */

static int
st_status(struct imap_parser *p, char c, size_t *used_r, struct mf_err *err)
{
	if (c == ' ' && !p->status_sp) {
		p->status_sp = true;
		return take(p, 1, used_r, err);
	}
	if (c == '[') {
		p->depth++;
		ensure_level(p, p->depth);
		p->levels[p->depth].count = 0;
		p->in_code = true;
		p->code_level = p->depth;
		set_state(p, ST_ARGS);
		return take(p, 1, used_r, err);
	}
	set_state(p, ST_TEXT);
	return 0;
}

static int
st_after_code(struct imap_parser *p, char c, size_t *used_r, struct mf_err *err)
{
	set_state(p, ST_TEXT);
	if (c != ' ')
		return 0; /* "[ALERT]text": tolerated */
	return take(p, 1, used_r, err);
}

static int
st_text(struct imap_parser *p, const char *d, size_t n, size_t *used_r,
	struct mf_err *err)
{
	const char *s;
	size_t i, len;

	for (i = 0; i < n; i++) {
		if (d[i] == '\r' || d[i] == '\n')
			break;
		if (d[i] == '\0')
			return perr(err, "NUL byte in a response");
	}
	if (account(p, i, err) < 0)
		return -1;
	*used_r = i;
	if (i == n)
		return tok_keep(p, d, n, err);
	if (tok_take(p, d, i, &s, &len, err) < 0)
		return -1;
	p->resp.text = mf_arena_strndup(p->arena, s, len);
	p->resp.text_len = len;
	tok_done(p);
	set_state(p, ST_EOL);
	return 0;
}

static int
finish_response(struct imap_parser *p)
{
	p->resp.args = level_freeze(p, &p->resp.count);
	p->done = true;
	set_state(p, ST_START);
	return IMAP_PARSE_DONE;
}

static int
st_eol(struct imap_parser *p, char c, size_t *used_r, struct mf_err *err)
{
	if (p->state == ST_EOL_LF && c != '\n')
		return perr(err, "CR not followed by LF");
	if (!p->started) {
		*used_r = 1;
		set_state(p, ST_START); /* the end of an empty line */
		return 0;
	}
	if (take(p, 1, used_r, err) < 0)
		return -1;
	if (c == '\r') {
		set_state(p, ST_EOL_LF);
		return 0;
	}
	return finish_response(p);
}

/* ---- the switch ------------------------------------------------------- */

/*
 * One step: consume *used_r bytes of d[0..n) (n > 0), possibly none when
 * only the state changes.  Returns 0, IMAP_PARSE_DONE or -1.
 */
static int
step(struct imap_parser *p, const char *d, size_t n, size_t *used_r,
     struct mf_err *err)
{
	*used_r = 0;
	switch (p->state) {
	case ST_START:
		return st_start(p, d[0], used_r, err);
	case ST_UNTAGGED:
		return st_untagged(p, d[0], used_r, err);
	case ST_TAG:
		return st_tag(p, d, n, used_r, err);
	case ST_CONT:
		return st_cont(p, d[0], used_r, err);
	case ST_ARGS:
		return st_args(p, d[0], used_r, err);
	case ST_ATOM:
		return st_atom(p, d, n, used_r, err);
	case ST_TILDE:
		return st_tilde(p, d[0], used_r, err);
	case ST_QUOTED:
		return st_quoted(p, d, n, used_r, err);
	case ST_LIT_SIZE:
		return st_lit_size(p, d[0], used_r, err);
	case ST_LIT_CRLF:
	case ST_LIT_LF:
		return st_lit_crlf(p, d[0], used_r, err);
	case ST_LIT_MEM:
	case ST_LIT_SINK:
		return st_lit_data(p, d, n, used_r, err);
	case ST_STATUS:
		return st_status(p, d[0], used_r, err);
	case ST_AFTER_CODE:
		return st_after_code(p, d[0], used_r, err);
	case ST_TEXT:
		return st_text(p, d, n, used_r, err);
	case ST_EOL:
	case ST_EOL_LF:
		return st_eol(p, d[0], used_r, err);
	case ST_FAILED:
		break;
	}
	return mf_err_set(err, MF_E_INTERNAL,
			  "IMAP parser used after an error without a reset");
}

int
imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
		 size_t *used_r, const struct imap_resp **resp_r,
		 struct mf_err *err)
{
	size_t i = 0, n;
	int ret;

	*used_r = 0;
	*resp_r = NULL;
	if (p->done)
		begin_response(p);
	if (p->state == ST_FAILED)
		return step(p, data, len, &n, err);
	while (i < len) {
		size_t avail = len - i;
		size_t budget = p->limits.max_line - p->line_bytes;

		/*
		 * Look no further than one byte past max_line: the error is
		 * then found at the same byte however the input is cut (a
		 * NUL beyond the limit must not win over the limit in one
		 * feed and lose in another).
		 */
		if (p->state != ST_LIT_SINK && avail - 1 > budget)
			avail = budget + 1;
		ret = step(p, data + i, avail, &n, err);
		i += n;
		if (ret < 0) {
			set_state(p, ST_FAILED);
			*used_r = i;
			return -1;
		}
		if (ret == IMAP_PARSE_DONE) {
			*used_r = i;
			*resp_r = &p->resp;
			return IMAP_PARSE_DONE;
		}
	}
	*used_r = i;
	return IMAP_PARSE_MORE;
}
