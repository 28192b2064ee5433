/*
 * Tags, the command queue, pipelining and response dispatch.
 *
 * Sending: queued commands go out in submission order while fewer than
 * depth are in flight.  A command is cut into parts at its literals; a
 * synchronizing literal ("{n}", used when the server has neither LITERAL+
 * nor LITERAL- for this size) stops all sending until the server's "+"
 * arrives, because until then the server reads nothing more from us.  If
 * the server answers the command with a tagged NO instead (APPEND with
 * [TOOBIG]), the rest of that command is dropped and sending resumes with
 * the next one.  That is how pipelined APPENDs interleave with
 * continuations.
 *
 * Reading: bytes from the connection are fed to the parser; each complete
 * response is traced and dispatched (see imap-cmd.h).  The first error of
 * the connection or the parser breaks the client for good: a stream we
 * failed to understand once cannot be trusted again.
 */
#include "imap-cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/backoff.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "imap-conn.h"
#include "imap-format.h"
#include "imap-throttle.h"

/* LITERAL- (RFC 7888 section 4): non-synchronizing up to 4096 bytes */
#define LITERALMINUS_MAX 4096

enum part_type {
	PART_TEXT,
	PART_LITERAL,
};

struct imap_cmd_part {
	enum part_type type;
	struct mf_buf text; /* PART_TEXT */
	const char *mem;    /* PART_LITERAL: from memory, or */
	int fd;		    /* from this fd, read with pread */
	uint64_t len;
};

struct imap_client {
	struct imap_conn *conn;
	struct imap_parser *parser;
	unsigned depth;
	unsigned next_tag;

	/* submitted, not yet completely sent (a list in order) */
	struct imap_cmd *queue_head, *queue_tail;
	/* sent (possibly partly), waiting for the tagged response */
	struct imap_cmd **in_flight;
	size_t nin_flight, in_flight_cap;
	struct imap_cmd *cont_cmd; /* waiting for "+" */

	imap_untagged_fn *unsolicited;
	void *unsolicited_ctx;
	imap_observe_fn *observe;
	void *observe_ctx;
	imap_literal_fn *lit_fn;
	void *lit_ctx;

	uint64_t caps;
	uint64_t append_limit; /* APPENDLIMIT=N (RFC 7889); 0: none said */
	bool caps_known;
	bool alerts;
	char bye[300];

	bool broken;
	struct mf_err broken_err;
	bool no_deadline; /* in imap_client_poll() */
};

/* ---- capabilities --------------------------------------------------- */

static const struct {
	const char *name;
	uint64_t bit;
} cap_names[] = {
	{ "IMAP4REV1", IMAP_CAP_IMAP4REV1 },
	{ "IMAP4REV2", IMAP_CAP_IMAP4REV2 },
	{ "STARTTLS", IMAP_CAP_STARTTLS },
	{ "LOGINDISABLED", IMAP_CAP_LOGINDISABLED },
	{ "SASL-IR", IMAP_CAP_SASL_IR },
	{ "LITERAL+", IMAP_CAP_LITERALPLUS },
	{ "LITERAL-", IMAP_CAP_LITERALMINUS },
	{ "IDLE", IMAP_CAP_IDLE },
	{ "NOTIFY", IMAP_CAP_NOTIFY },
	{ "NAMESPACE", IMAP_CAP_NAMESPACE },
	{ "ID", IMAP_CAP_ID },
	{ "ENABLE", IMAP_CAP_ENABLE },
	{ "CONDSTORE", IMAP_CAP_CONDSTORE },
	{ "QRESYNC", IMAP_CAP_QRESYNC },
	{ "UIDPLUS", IMAP_CAP_UIDPLUS },
	{ "MOVE", IMAP_CAP_MOVE },
	{ "LIST-STATUS", IMAP_CAP_LIST_STATUS },
	{ "LIST-EXTENDED", IMAP_CAP_LIST_EXTENDED },
	{ "SPECIAL-USE", IMAP_CAP_SPECIAL_USE },
	{ "ESEARCH", IMAP_CAP_ESEARCH },
	{ "COMPRESS=DEFLATE", IMAP_CAP_COMPRESS },
	{ "UTF8=ACCEPT", IMAP_CAP_UTF8_ACCEPT },
	{ "MULTIAPPEND", IMAP_CAP_MULTIAPPEND },
	{ "OBJECTID", IMAP_CAP_OBJECTID },
	{ "AUTH=PLAIN", IMAP_CAP_AUTH_PLAIN },
	{ "AUTH=LOGIN", IMAP_CAP_AUTH_LOGIN },
	{ "AUTH=XOAUTH2", IMAP_CAP_AUTH_XOAUTH2 },
	{ "AUTH=OAUTHBEARER", IMAP_CAP_AUTH_OAUTHBEARER },
	{ "AUTH=SCRAM-SHA-256", IMAP_CAP_AUTH_SCRAM_SHA_256 },
};

uint64_t
imap_cap_from_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < MF_N_ELEMENTS(cap_names); i++)
		if (strlen(cap_names[i].name) == len &&
		    strncasecmp(cap_names[i].name, name, len) == 0)
			return cap_names[i].bit;
	return 0;
}

/* The digits of "APPENDLIMIT=N": N, or 0 for anything else (no limit
 * is assumed from a value we cannot read). */
static uint64_t
parse_limit(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > UINT64_MAX / 10 - 1)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v;
}

static void
set_caps(struct imap_client *c, const struct imap_arg *args, size_t n)
{
	size_t i;

	c->caps = 0;
	c->append_limit = 0;
	c->caps_known = true;
	for (i = 0; i < n; i++) {
		const char *s;

		if (!imap_arg_get_atom(&args[i], &s))
			continue;
		c->caps |= imap_cap_from_name(s, args[i].len);
		/* a bare APPENDLIMIT means limits per mailbox, which STATUS
		 * would tell (RFC 7889 section 3): not used here */
		if (args[i].len > 12 && strncasecmp(s, "APPENDLIMIT=", 12) == 0)
			c->append_limit = parse_limit(s + 12, args[i].len - 12);
	}
}

uint64_t
imap_client_append_limit(const struct imap_client *c)
{
	return c->append_limit;
}

uint64_t
imap_client_caps(const struct imap_client *c)
{
	return c->caps;
}

bool
imap_client_caps_known(const struct imap_client *c)
{
	return c->caps_known;
}

void
imap_client_forget_caps(struct imap_client *c)
{
	c->caps = 0;
	c->caps_known = false;
}

void
imap_client_allow_alerts(struct imap_client *c, bool allow)
{
	c->alerts = allow;
}

/* ---- commands ------------------------------------------------------- */

struct imap_cmd *
imap_cmd_new(struct imap_client *client)
{
	/* cmd->client is set on submit, not here: a command points at its
	 * client only while linked, so it may be freed after the client */
	(void)client;
	return xcalloc(1, sizeof(struct imap_cmd));
}

static void
unlink_cmd(struct imap_cmd *cmd)
{
	struct imap_client *c = cmd->client;
	struct imap_cmd **pp;
	size_t i;

	if (c == NULL)
		return;
	if (cmd->queued) {
		for (pp = &c->queue_head; *pp != NULL; pp = &(*pp)->next) {
			if (*pp != cmd)
				continue;
			*pp = cmd->next;
			break;
		}
		c->queue_tail = NULL;
		for (pp = &c->queue_head; *pp != NULL; pp = &(*pp)->next)
			c->queue_tail = *pp;
		cmd->queued = false;
	}
	if (cmd->in_flight) {
		for (i = 0; i < c->nin_flight; i++) {
			if (c->in_flight[i] != cmd)
				continue;
			memmove(&c->in_flight[i], &c->in_flight[i + 1],
				(c->nin_flight - i - 1) *
					sizeof(c->in_flight[0]));
			c->nin_flight--;
			break;
		}
		cmd->in_flight = false;
	}
	if (c->cont_cmd == cmd)
		c->cont_cmd = NULL;
}

void
imap_cmd_free(struct imap_cmd **cmdp)
{
	struct imap_cmd *cmd = *cmdp;
	size_t i;

	if (cmd == NULL)
		return;
	unlink_cmd(cmd);
	for (i = 0; i < cmd->nparts; i++) {
		struct mf_buf *t = &cmd->parts[i].text;

		if (t->data != NULL && (cmd->flags & IMAP_CMD_REDACT))
			explicit_bzero(t->data, t->len);
		mf_buf_deinit(t);
	}
	free(cmd->parts);
	free(cmd);
	*cmdp = NULL;
}

static struct imap_cmd_part *
new_part(struct imap_cmd *cmd, enum part_type type)
{
	struct imap_cmd_part *p;

	cmd->parts = xreallocarray(cmd->parts, cmd->nparts + 1,
				   sizeof(*cmd->parts));
	p = &cmd->parts[cmd->nparts++];
	memset(p, 0, sizeof(*p));
	p->type = type;
	p->fd = -1;
	/* a command line never needs more; literals are separate parts */
	mf_buf_init(&p->text, 1024 * 1024);
	return p;
}

static struct imap_cmd_part *
text_part(struct imap_cmd *cmd)
{
	if (cmd->nparts > 0 && cmd->parts[cmd->nparts - 1].type == PART_TEXT)
		return &cmd->parts[cmd->nparts - 1];
	return new_part(cmd, PART_TEXT);
}

void
imap_cmd_printf(struct imap_cmd *cmd, const char *fmt, ...)
{
	struct imap_cmd_part *p = text_part(cmd);
	char small[512], *big = NULL;
	const char *s = small;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if ((size_t)n >= sizeof(small)) {
		big = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		s = big;
	}
	/* over 1 MiB of command text is our bug, not the server's */
	if (mf_buf_append(&p->text, s, (size_t)n, NULL) < 0)
		abort();
	free(big);
}

void
imap_cmd_add_literal(struct imap_cmd *cmd, const char *mem, int fd,
		     uint64_t len)
{
	struct imap_cmd_part *p = new_part(cmd, PART_LITERAL);

	p->mem = mem;
	p->fd = fd;
	p->len = len;
}

void
imap_cmd_add_astring(struct imap_cmd *cmd, const char *s, size_t len)
{
	struct imap_cmd_part *p;

	if (imap_needs_literal(s, len)) {
		imap_cmd_add_literal(cmd, s, -1, len);
		return;
	}
	p = text_part(cmd);
	if (imap_append_quoted(&p->text, s, len, NULL) < 0)
		abort();
}

bool
imap_cmd_is_ok(const struct imap_cmd *cmd)
{
	return cmd->status == IMAP_CMD_OK;
}

/* ---- the client ----------------------------------------------------- */

static struct mf_sink *
literal_trampoline(void *ctx, const struct imap_resp *resp,
		   const struct imap_arg *args, size_t count, uint64_t size)
{
	struct imap_client *c = ctx;

	if (c->lit_fn == NULL)
		return NULL;
	return c->lit_fn(c->lit_ctx, resp, args, count, size);
}

struct imap_client *
imap_client_create(struct imap_conn *conn, unsigned depth)
{
	struct imap_client *c = xcalloc(1, sizeof(*c));
	struct imap_parser_limits limits;

	c->conn = conn;
	c->depth = depth != 0 ? depth : 64;
	c->next_tag = 1;
	imap_parser_limits_default(&limits);
	c->parser = imap_parser_create(&limits);
	imap_parser_set_literal_handler(c->parser, literal_trampoline, c);
	return c;
}

void
imap_client_destroy(struct imap_client **cp)
{
	struct imap_client *c = *cp;
	struct imap_cmd *cmd;
	size_t i;

	if (c == NULL)
		return;
	/* commands still linked belong to their callers: just unlink */
	for (cmd = c->queue_head; cmd != NULL; cmd = cmd->next) {
		cmd->queued = false;
		cmd->client = NULL;
	}
	for (i = 0; i < c->nin_flight; i++) {
		c->in_flight[i]->in_flight = false;
		c->in_flight[i]->client = NULL;
	}
	free(c->in_flight);
	imap_parser_destroy(&c->parser);
	imap_conn_destroy(&c->conn);
	free(c);
	*cp = NULL;
}

struct imap_conn *
imap_client_conn(struct imap_client *c)
{
	return c->conn;
}

void
imap_client_set_unsolicited(struct imap_client *c, imap_untagged_fn *fn,
			    void *ctx)
{
	c->unsolicited = fn;
	c->unsolicited_ctx = ctx;
}

void
imap_client_set_observer(struct imap_client *c, imap_observe_fn *fn, void *ctx)
{
	c->observe = fn;
	c->observe_ctx = ctx;
}

void
imap_client_set_literal_handler(struct imap_client *c, imap_literal_fn *fn,
				void *ctx)
{
	c->lit_fn = fn;
	c->lit_ctx = ctx;
}

bool
imap_client_is_broken(const struct imap_client *c)
{
	return c->broken;
}

int
imap_client_fail(struct imap_client *c, const struct mf_err *err)
{
	if (!c->broken) {
		c->broken = true;
		c->broken_err = *err;
		if (c->broken_err.cls == MF_OK)
			c->broken_err.cls = MF_E_NET;
	}
	return -1;
}

static int
broken(struct imap_client *c, struct mf_err *err)
{
	mf_err_copy(err, &c->broken_err);
	return -1;
}

size_t
imap_client_unparsed(const struct imap_client *c)
{
	size_t len;

	imap_conn_input(c->conn, &len);
	return len;
}

unsigned
imap_client_tags_used(const struct imap_client *c)
{
	return c->next_tag - 1;
}

void
imap_client_submit(struct imap_client *c, struct imap_cmd *cmd)
{
	cmd->client = c;
	cmd->status = IMAP_CMD_PENDING;
	cmd->next_part = 0;
	cmd->next = NULL;
	cmd->queued = true;
	snprintf(cmd->tag, sizeof(cmd->tag), "A%u", c->next_tag++);
	if (c->queue_tail != NULL)
		c->queue_tail->next = cmd;
	else
		c->queue_head = cmd;
	c->queue_tail = cmd;
}

/* ---- sending -------------------------------------------------------- */

static void
trace_client(struct imap_cmd *cmd, const char *line, size_t len, bool first)
{
	char red[300];

	if (!mf_log_enabled(MF_LOG_DEBUG, MF_LOGC_IMAP))
		return;
	/* redact at the point of sending: the secret never reaches mf_log */
	if (cmd->flags & IMAP_CMD_REDACT) {
		if (first)
			imap_trace_redact(line, len, red, sizeof(red));
		else
			snprintf(red, sizeof(red), "<redacted>");
		mf_log(MF_LOG_DEBUG, MF_LOGC_IMAP, "C: %s", red);
		return;
	}
	mf_log(MF_LOG_DEBUG, MF_LOGC_IMAP, "C: %.*s",
	       (int)(len > 2000 ? 2000 : len), line);
}

static bool
literal_nonsync(struct imap_client *c, uint64_t len)
{
	if (c->caps & IMAP_CAP_LITERALPLUS)
		return true;
	return (c->caps & IMAP_CAP_LITERALMINUS) && len <= LITERALMINUS_MAX;
}

static int
write_literal_data(struct imap_client *c, const struct imap_cmd_part *p,
		   struct mf_err *err)
{
	char buf[64 * 1024];
	uint64_t off = 0;

	if (p->mem != NULL || p->len == 0)
		return imap_conn_write(c->conn, p->mem, (size_t)p->len, err);
	while (off < p->len) {
		size_t want = p->len - off < sizeof(buf) ?
				      (size_t)(p->len - off) :
				      sizeof(buf);
		ssize_t r = pread(p->fd, buf, want, (off_t)off);

		if (r <= 0)
			return mf_err_sys(err, MF_E_STORE, "read spool file");
		if (imap_conn_write(c->conn, buf, (size_t)r, err) < 0)
			return -1;
		off += (uint64_t)r;
	}
	return 0;
}

/*
 * Send cmd's parts from next_part on.  Stops after a synchronizing literal
 * header (cmd->waiting_cont) or when everything is out.
 */
static int
send_parts(struct imap_client *c, struct imap_cmd *cmd, struct mf_err *err)
{
	/* the trace shows one line per text part, its literal header with it */
	while (cmd->next_part < cmd->nparts) {
		struct imap_cmd_part *p = &cmd->parts[cmd->next_part];
		bool first = cmd->next_part == 0;

		if (p->type == PART_LITERAL) {
			/* data of a literal whose header already went out */
			if (write_literal_data(c, p, err) < 0)
				return -1;
			/* a password's length is a hint too */
			if (cmd->flags & IMAP_CMD_REDACT)
				mf_debug(MF_LOGC_IMAP, "C: <redacted>");
			else
				mf_debug(MF_LOGC_IMAP, "C: {%llu bytes}",
					 (unsigned long long)p->len);
			cmd->next_part++;
			/* a literal that ends the command needs its CRLF */
			if (cmd->next_part == cmd->nparts &&
			    imap_conn_write(c->conn, "\r\n", 2, err) < 0)
				return -1;
			continue;
		}
		if (first && (imap_conn_write(c->conn, cmd->tag,
					      strlen(cmd->tag), err) < 0 ||
			      imap_conn_write(c->conn, " ", 1, err) < 0))
			return -1;
		if (imap_conn_write(c->conn, p->text.data, p->text.len, err) <
		    0)
			return -1;
		cmd->next_part++;
		if (cmd->next_part < cmd->nparts) {
			const struct imap_cmd_part *lit =
				&cmd->parts[cmd->next_part];
			bool nonsync = literal_nonsync(c, lit->len);
			char hdr[40];
			int n = snprintf(hdr, sizeof(hdr), "{%llu%s}\r\n",
					 (unsigned long long)lit->len,
					 nonsync ? "+" : "");

			if (imap_conn_write(c->conn, hdr, (size_t)n, err) < 0)
				return -1;
			if (mf_log_enabled(MF_LOG_DEBUG, MF_LOGC_IMAP)) {
				struct mf_buf t;

				mf_buf_init(&t, 4096);
				if (first)
					imap_trace_putf(&t, "%s ", cmd->tag);
				imap_trace_put(&t, p->text.data,
					       p->text.len < 2000 ?
						       p->text.len :
						       2000);
				imap_trace_put(&t, hdr, (size_t)n - 2);
				trace_client(cmd, t.data, t.len, first);
				mf_buf_deinit(&t);
			}
			if (!nonsync) {
				cmd->waiting_cont = true;
				c->cont_cmd = cmd;
				return 0;
			}
			continue;
		}
		if (imap_conn_write(c->conn, "\r\n", 2, err) < 0)
			return -1;
		if (mf_log_enabled(MF_LOG_DEBUG, MF_LOGC_IMAP)) {
			struct mf_buf t;

			mf_buf_init(&t, 4096);
			if (first)
				imap_trace_putf(&t, "%s ", cmd->tag);
			imap_trace_put(&t, p->text.data,
				       p->text.len < 2000 ? p->text.len : 2000);
			trace_client(cmd, t.data, t.len, first);
			mf_buf_deinit(&t);
		}
	}
	return 0;
}

static bool
barrier_in_flight(const struct imap_client *c)
{
	size_t i;

	for (i = 0; i < c->nin_flight; i++)
		if (c->in_flight[i]->flags & IMAP_CMD_BARRIER)
			return true;
	return false;
}

/* "A5 UID FETCH": the tag and the command's name, for messages. */
static void
cmd_name(const struct imap_cmd *cmd, char *out, size_t size)
{
	const char *t = "";
	size_t len = 0, n = 0;

	if (cmd->nparts > 0 && cmd->parts[0].type == PART_TEXT &&
	    cmd->parts[0].text.data != NULL) {
		t = cmd->parts[0].text.data;
		len = cmd->parts[0].text.len;
	}
	/* one word, two after UID; never an argument (LOGIN's password) */
	while (n < len && t[n] != ' ')
		n++;
	if (n == 3 && strncasecmp(t, "UID", 3) == 0 && n < len) {
		n++;
		while (n < len && t[n] != ' ')
			n++;
	}
	snprintf(out, size, "%s %.*s", cmd->tag, (int)(n > 40 ? 40 : n), t);
}

/* Bound the next waits by the in-flight command due first. */
static void
arm_deadline(struct imap_client *c)
{
	struct imap_cmd *due = NULL;
	int64_t best = 0;
	char what[80];
	size_t i;

	for (i = 0; i < c->nin_flight && !c->no_deadline; i++) {
		struct imap_cmd *cmd = c->in_flight[i];
		int64_t d = imap_conn_deadline_of(c->conn, cmd->sent_ms,
						  cmd->sent_moved);

		if (due == NULL || d < best) {
			due = cmd;
			best = d;
		}
	}
	if (due == NULL) {
		imap_conn_set_deadline(c->conn, 0, 0, NULL);
		return;
	}
	cmd_name(due, what, sizeof(what));
	imap_conn_set_deadline(c->conn, due->sent_ms, due->sent_moved, what);
}

/* Send what the pipeline allows (RFC 3501 section 5.5, see the header). */
static int
pump(struct imap_client *c, struct mf_err *err)
{
	arm_deadline(c);
	while (c->queue_head != NULL && c->cont_cmd == NULL &&
	       c->nin_flight < c->depth && !barrier_in_flight(c)) {
		struct imap_cmd *cmd = c->queue_head;

		if ((cmd->flags & IMAP_CMD_BARRIER) && c->nin_flight > 0)
			break;
		c->queue_head = cmd->next;
		if (c->queue_head == NULL)
			c->queue_tail = NULL;
		cmd->queued = false;
		cmd->next = NULL;
		if (c->nin_flight == c->in_flight_cap) {
			c->in_flight_cap = c->in_flight_cap ?
						   c->in_flight_cap * 2 :
						   16;
			c->in_flight = xreallocarray(c->in_flight,
						     c->in_flight_cap,
						     sizeof(*c->in_flight));
		}
		c->in_flight[c->nin_flight++] = cmd;
		cmd->in_flight = true;
		cmd->sent_ms = imap_conn_now_ms();
		cmd->sent_moved = imap_conn_moved(c->conn);
		/* a large literal is flushed while it is written */
		arm_deadline(c);
		if (send_parts(c, cmd, err) < 0)
			return imap_client_fail(c, err);
	}
	if (imap_conn_flush(c->conn, err) < 0)
		return imap_client_fail(c, err);
	return 0;
}

int
imap_client_send_line(struct imap_client *c, const char *line,
		      struct mf_err *err)
{
	size_t i;

	if (c->broken)
		return broken(c, err);
	/* the server owes an answer to this line, from now (IDLE's DONE) */
	for (i = 0; i < c->nin_flight; i++) {
		c->in_flight[i]->sent_ms = imap_conn_now_ms();
		c->in_flight[i]->sent_moved = imap_conn_moved(c->conn);
	}
	arm_deadline(c);
	mf_debug(MF_LOGC_IMAP, "C: %s", line);
	if (imap_conn_write(c->conn, line, strlen(line), err) < 0 ||
	    imap_conn_write(c->conn, "\r\n", 2, err) < 0 ||
	    imap_conn_flush(c->conn, err) < 0)
		return imap_client_fail(c, err);
	return 0;
}

/* ---- receiving ------------------------------------------------------ */

static void
show_alert(struct imap_client *c, const struct imap_resp *resp)
{
	char text[512];

	if (resp->ncode == 0 || !imap_arg_is_atom(&resp->code[0], "ALERT"))
		return;
	mf_str_sanitize(text, sizeof(text), resp->text, resp->text_len);
	if (c->alerts)
		mf_log(MF_LOG_WARN, MF_LOGC_IMAP, "%s: server alert: %s",
		       imap_conn_label(c->conn), text);
	else
		mf_debug(MF_LOGC_IMAP, "ignored alert before TLS: %s", text);
}

/* "NO [CODE args] text", sanitized, into out. */
static void
status_text(const struct imap_resp *resp, char *out, size_t size)
{
	char raw[1024];
	size_t o = 0, i;
	int n;

	n = snprintf(raw, sizeof(raw), "%s", resp->status ? resp->status : "");
	o = n > 0 ? (size_t)n : 0;
	if (resp->ncode > 0 && o < sizeof(raw)) {
		n = snprintf(raw + o, sizeof(raw) - o, " [");
		o += n > 0 ? (size_t)n : 0;
		for (i = 0; i < resp->ncode && o < sizeof(raw); i++) {
			const struct imap_arg *a = &resp->code[i];

			n = snprintf(raw + o, sizeof(raw) - o, "%s%.*s",
				     i ? " " : "",
				     a->type == IMAP_ARG_LIST ?
					     4 :
					     (int)(a->len > 200 ? 200 : a->len),
				     a->type == IMAP_ARG_LIST ? "(..)" :
				     a->str		      ? a->str :
								"");
			o += n > 0 ? (size_t)n : 0;
		}
		if (o < sizeof(raw)) {
			n = snprintf(raw + o, sizeof(raw) - o, "]");
			o += n > 0 ? (size_t)n : 0;
		}
	}
	if (resp->text_len > 0 && o < sizeof(raw)) {
		n = snprintf(raw + o, sizeof(raw) - o, " %.*s",
			     (int)(resp->text_len > 600 ? 600 : resp->text_len),
			     resp->text);
		o += n > 0 ? (size_t)n : 0;
	}
	if (o > sizeof(raw) - 1)
		o = sizeof(raw) - 1;
	mf_str_sanitize(out, size, raw, o);
}

/* Codes any status response may carry. */
static void
common_codes(struct imap_client *c, const struct imap_resp *resp)
{
	if (resp->ncode == 0)
		return;
	if (imap_arg_is_atom(&resp->code[0], "CAPABILITY"))
		set_caps(c, resp->code + 1, resp->ncode - 1);
	show_alert(c, resp);
}

static int
protocol_error(struct imap_client *c, struct mf_err *err, const char *what,
	       const char *detail)
{
	char clean[100];

	mf_str_sanitize(clean, sizeof(clean), detail, strlen(detail));
	mf_err_set(err, MF_E_NET, "%s: protocol error: %s%s%s",
		   imap_conn_label(c->conn), what, clean[0] ? ": " : "", clean);
	return imap_client_fail(c, err);
}

static int
handle_continue(struct imap_client *c, const struct imap_resp *resp,
		struct mf_err *err)
{
	struct imap_cmd *cmd = c->cont_cmd;
	struct mf_buf reply;
	int r;

	if (cmd == NULL) {
		/* a SASL exchange: the barrier command in flight */
		if (c->nin_flight == 1 && c->in_flight[0]->cont != NULL)
			cmd = c->in_flight[0];
		else
			return protocol_error(c, err,
					      "unexpected \"+\" "
					      "continuation",
					      "");
	}
	if (cmd->waiting_cont) {
		cmd->waiting_cont = false;
		c->cont_cmd = NULL;
		if (send_parts(c, cmd, err) < 0)
			return imap_client_fail(c, err);
		return 0;
	}
	mf_buf_init(&reply, 64 * 1024);
	r = cmd->cont(cmd->ctx, cmd, resp, &reply, err);
	if (r == 1) {
		r = 0; /* nothing to answer (IDLE's "+ idling") */
	} else if (r == 0) {
		trace_client(cmd, reply.data ? reply.data : "", reply.len,
			     false);
		if (imap_conn_write(c->conn, reply.data ? reply.data : "",
				    reply.len, err) < 0 ||
		    imap_conn_write(c->conn, "\r\n", 2, err) < 0)
			r = -1;
	}
	if (reply.data != NULL)
		explicit_bzero(reply.data, reply.len);
	mf_buf_deinit(&reply);
	return r < 0 ? imap_client_fail(c, err) : 0;
}

/*
 * A NO, BAD or BYE that means "not now" (imap-throttle.h) breaks the
 * session: every command after it would be refused too, and the channel
 * is tried again after the wait (cmd/cmd-sync.c), which base/backoff.h
 * carries there.  text: the response as the error shows it.
 */
static int
check_throttle(struct imap_client *c, const struct imap_resp *resp,
	       const char *text, struct mf_err *err)
{
	char wait[48] = "";
	long ms;

	if (!imap_throttle_check(resp, &ms))
		return 0;
	mf_backoff_ask(ms);
	if (ms > 0)
		snprintf(wait, sizeof(wait), " (it asks for %ld.%03ld s)",
			 ms / 1000, ms % 1000);
	mf_err_set(err, MF_E_NET, "%s: the server is throttling us%s: %s",
		   imap_conn_label(c->conn), wait, text);
	return imap_client_fail(c, err);
}

static int
handle_tagged(struct imap_client *c, const struct imap_resp *resp,
	      struct mf_err *err)
{
	struct imap_cmd *cmd = NULL;
	size_t i;

	for (i = 0; i < c->nin_flight; i++)
		if (strcmp(c->in_flight[i]->tag, resp->tag) == 0)
			cmd = c->in_flight[i];
	if (cmd == NULL)
		return protocol_error(c, err,
				      "the server answered a tag "
				      "that was never sent",
				      resp->tag);
	if (resp->status == NULL)
		return protocol_error(c, err,
				      "tagged response without "
				      "status",
				      resp->tag);
	if (strcmp(resp->status, "OK") == 0)
		cmd->status = IMAP_CMD_OK;
	else if (strcmp(resp->status, "NO") == 0)
		cmd->status = IMAP_CMD_NO;
	else if (strcmp(resp->status, "BAD") == 0)
		cmd->status = IMAP_CMD_BAD;
	else
		return protocol_error(c, err, "bad tagged status",
				      resp->status);
	common_codes(c, resp);
	status_text(resp, cmd->text, sizeof(cmd->text));
	cmd->waiting_cont = false;
	unlink_cmd(cmd);
	/* a finished command may outlive its client: free it after
	 * imap_client_destroy and it must not reach back */
	cmd->client = NULL;
	cmd->next_part = cmd->nparts;
	if (cmd->tagged != NULL)
		cmd->tagged(cmd->ctx, cmd, resp);
	if (cmd->status != IMAP_CMD_OK)
		return check_throttle(c, resp, cmd->text, err);
	return 0;
}

static int
handle_untagged(struct imap_client *c, const struct imap_resp *resp,
		struct mf_err *err)
{
	size_t i;

	if (resp->status != NULL) {
		common_codes(c, resp);
		if (strcmp(resp->status, "BYE") == 0) {
			long ms;

			mf_str_sanitize(c->bye, sizeof(c->bye), resp->text,
					resp->text_len);
			/* the error comes when the connection ends */
			if (imap_throttle_check(resp, &ms))
				mf_backoff_ask(ms);
		}
	} else if (resp->count > 0 &&
		   imap_arg_is_atom(&resp->args[0], "CAPABILITY")) {
		set_caps(c, resp->args + 1, resp->count - 1);
	}
	for (i = 0; i < c->nin_flight; i++) {
		struct imap_cmd *cmd = c->in_flight[i];

		if (cmd->untagged != NULL && cmd->untagged(cmd->ctx, cmd, resp))
			return c->broken ? broken(c, err) : 0;
		if (c->broken)
			return broken(c, err);
	}
	if (c->unsolicited != NULL)
		c->unsolicited(c->unsolicited_ctx, NULL, resp);
	return c->broken ? broken(c, err) : 0;
}

static void
trace_server(const struct imap_resp *resp)
{
	char line[1500];

	if (!mf_log_enabled(MF_LOG_DEBUG, MF_LOGC_IMAP))
		return;
	imap_resp_format(resp, line, sizeof(line));
	mf_log(MF_LOG_DEBUG, MF_LOGC_IMAP, "S: %s", line);
}

/* Read and parse until one response is complete; return it. */
static int
read_response(struct imap_client *c, int timeout_ms,
	      const struct imap_resp **resp_r, struct mf_err *err)
{
	for (;;) {
		size_t len, used = 0;
		const char *in = imap_conn_input(c->conn, &len);
		int r;

		if (len > 0) {
			r = imap_parser_feed(c->parser, in, len, &used, resp_r,
					     err);
			imap_conn_consume(c->conn, used);
			if (r < 0) {
				mf_err_prefix(err, "%s",
					      imap_conn_label(c->conn));
				return imap_client_fail(c, err);
			}
			if (r == IMAP_PARSE_DONE)
				return 1;
			continue;
		}
		if (imap_conn_flush(c->conn, err) < 0)
			return imap_client_fail(c, err);
		r = imap_conn_read(c->conn, timeout_ms, err);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (c->bye[0] != '\0')
				mf_err_set(err, MF_E_NET,
					   "%s: the server "
					   "closed the connection: BYE %s",
					   imap_conn_label(c->conn), c->bye);
			return imap_client_fail(c, err);
		}
	}
}

static int
dispatch(struct imap_client *c, const struct imap_resp *resp,
	 struct mf_err *err)
{
	trace_server(resp);
	if (c->observe != NULL && resp->kind != IMAP_RESP_CONTINUE)
		c->observe(c->observe_ctx, resp);
	switch (resp->kind) {
	case IMAP_RESP_CONTINUE:
		return handle_continue(c, resp, err);
	case IMAP_RESP_TAGGED:
		return handle_tagged(c, resp, err);
	case IMAP_RESP_UNTAGGED:
		return handle_untagged(c, resp, err);
	}
	return protocol_error(c, err, "unknown response kind", "");
}

static int
step(struct imap_client *c, struct mf_err *err)
{
	const struct imap_resp *resp = NULL;
	int r;

	if (pump(c, err) < 0)
		return -1;
	r = read_response(c, -1, &resp, err);
	if (r <= 0)
		return -1;
	return dispatch(c, resp, err);
}

int
imap_client_greeting(struct imap_client *c, enum imap_greeting *kind_r,
		     struct mf_err *err)
{
	const struct imap_resp *resp = NULL;
	char text[300];
	int r;

	if (c->broken)
		return broken(c, err);
	/* a greeting that never ends is no better than none */
	imap_conn_set_deadline(c->conn, imap_conn_now_ms(),
			       imap_conn_moved(c->conn), "greeting");
	r = read_response(c, -1, &resp, err);
	imap_conn_set_deadline(c->conn, 0, 0, NULL);
	if (r <= 0)
		return -1;
	trace_server(resp);
	if (resp->kind != IMAP_RESP_UNTAGGED || resp->status == NULL)
		return protocol_error(c, err, "bad greeting", "");
	common_codes(c, resp);
	mf_str_sanitize(text, sizeof(text), resp->text, resp->text_len);
	if (strcmp(resp->status, "OK") == 0) {
		*kind_r = IMAP_GREETING_OK;
		return 0;
	}
	if (strcmp(resp->status, "PREAUTH") == 0) {
		*kind_r = IMAP_GREETING_PREAUTH;
		return 0;
	}
	if (strcmp(resp->status, "BYE") == 0) {
		long ms;

		/* Gmail: "* BYE [UNAVAILABLE] Temporary System Error" */
		if (imap_throttle_check(resp, &ms))
			mf_backoff_ask(ms);
		mf_err_set(err, MF_E_NET,
			   "%s: the server refused the "
			   "connection: BYE %s",
			   imap_conn_label(c->conn), text);
		return imap_client_fail(c, err);
	}
	return protocol_error(c, err, "bad greeting", resp->status);
}

int
imap_client_wait(struct imap_client *c, struct imap_cmd *cmd,
		 struct mf_err *err)
{
	if (c->broken)
		return broken(c, err);
	while (cmd->status == IMAP_CMD_PENDING)
		if (step(c, err) < 0)
			return -1;
	return 0;
}

int
imap_client_wait_all(struct imap_client *c, struct mf_err *err)
{
	if (c->broken)
		return broken(c, err);
	while (c->queue_head != NULL || c->nin_flight > 0)
		if (step(c, err) < 0)
			return -1;
	return 0;
}

int
imap_client_run(struct imap_client *c, struct imap_cmd *cmd,
		enum mf_err_class cls, const char *what, struct mf_err *err)
{
	imap_client_submit(c, cmd);
	if (imap_client_wait(c, cmd, err) < 0)
		return -1;
	if (cmd->status != IMAP_CMD_OK)
		return mf_err_set(err, cls, "%s: %s", what, cmd->text);
	return 0;
}

int
imap_client_poll(struct imap_client *c, int timeout_ms, struct mf_err *err)
{
	const struct imap_resp *resp = NULL;
	int r;

	if (c->broken)
		return broken(c, err);
	/* the caller bounds this wait; IDLE may last for half an hour */
	c->no_deadline = true;
	r = pump(c, err);
	if (r == 0)
		r = read_response(c, timeout_ms, &resp, err);
	c->no_deadline = false;
	if (r <= 0)
		return r;
	if (dispatch(c, resp, err) < 0)
		return -1;
	return 1;
}
