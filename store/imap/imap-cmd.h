/*
 * The IMAP client: tags, the command queue, pipelining, response dispatch
 * and the protocol trace, over one struct imap_conn and one parser.
 *
 * Usage: build a command (imap_cmd_new, imap_cmd_printf, imap_cmd_add_*),
 * give it handlers, imap_client_submit() it, then imap_client_wait() for it
 * (or imap_client_wait_all()).  Submitting never blocks; waiting sends
 * queued commands, up to the pipeline depth, and reads responses until the
 * command is done.
 *
 * Dispatch: a tagged response goes to the in-flight command with that tag
 * (an unknown tag is a protocol error that ends the client).  An untagged
 * response is offered to the in-flight commands, oldest first, through
 * their untagged handler; the first that returns true keeps it, else the
 * client's unsolicited handler gets it.  What may be in flight together
 * follows RFC 3501 section 5.5: a command flagged IMAP_CMD_BARRIER
 * (SELECT, STARTTLS, AUTHENTICATE, LOGIN, COMPRESS, ENABLE, IDLE) is sent
 * only when nothing else is in flight, and nothing follows it until it is
 * done; our other commands all use UIDs, never sequence numbers, so an
 * EXPUNGE arriving in between cannot change what they mean.
 *
 * Ownership: the caller owns a command from imap_cmd_new() to
 * imap_cmd_free(); the client only links it while it is queued or in
 * flight, and only then does the command point back at the client, so a
 * command may be freed before or after its client is destroyed.  Literal
 * data given to imap_cmd_add_literal() is borrowed until the command is
 * done.  Responses passed to handlers live until the handler returns.
 *
 * Deadlines: every command in flight must be done by a deadline that
 * starts when it is sent and grows with the bytes moved since (imap-conn.h);
 * each wait is bounded by the earliest one.  On expiry the client breaks
 * with "host:port: A5 UID FETCH: no answer within N s (...)".  The greeting
 * has one too.  imap_client_poll() has none (its caller bounds the wait,
 * as IDLE does); a line sent with imap_client_send_line() (IDLE's DONE)
 * starts the deadlines of the commands in flight again.
 *
 * Trace (debug category MF_LOGC_IMAP): every line as "C: ..." / "S: ...",
 * literals as "{N bytes}", the arguments of IMAP_CMD_REDACT commands, their
 * literals and their continuation replies as "<redacted>" (not even the
 * length of a password is shown), server text sanitized.
 */
#ifndef MF_IMAP_CMD_H
#define MF_IMAP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/compat.h"
#include "base/err.h"
#include "imap-parser.h"

struct imap_conn;
struct imap_client;
struct imap_cmd;

/* ---- capabilities --------------------------------------------------- */

#define IMAP_CAP_IMAP4REV1 (1ull << 0)
#define IMAP_CAP_STARTTLS (1ull << 1)
#define IMAP_CAP_LOGINDISABLED (1ull << 2)
#define IMAP_CAP_SASL_IR (1ull << 3)
#define IMAP_CAP_LITERALPLUS (1ull << 4)
#define IMAP_CAP_LITERALMINUS (1ull << 5)
#define IMAP_CAP_IDLE (1ull << 6)
#define IMAP_CAP_NAMESPACE (1ull << 7)
#define IMAP_CAP_ID (1ull << 8)
#define IMAP_CAP_ENABLE (1ull << 9)
#define IMAP_CAP_CONDSTORE (1ull << 10)
#define IMAP_CAP_QRESYNC (1ull << 11)
#define IMAP_CAP_UIDPLUS (1ull << 12)
#define IMAP_CAP_MOVE (1ull << 13)
#define IMAP_CAP_LIST_STATUS (1ull << 14)
#define IMAP_CAP_LIST_EXTENDED (1ull << 15)
#define IMAP_CAP_SPECIAL_USE (1ull << 16)
#define IMAP_CAP_ESEARCH (1ull << 17)
#define IMAP_CAP_COMPRESS (1ull << 18) /* COMPRESS=DEFLATE */
#define IMAP_CAP_UTF8_ACCEPT (1ull << 19)
#define IMAP_CAP_MULTIAPPEND (1ull << 20)
#define IMAP_CAP_IMAP4REV2 (1ull << 21)
#define IMAP_CAP_OBJECTID (1ull << 22) /* RFC 8474 */
#define IMAP_CAP_AUTH_PLAIN (1ull << 32)
#define IMAP_CAP_AUTH_XOAUTH2 (1ull << 33)
#define IMAP_CAP_AUTH_OAUTHBEARER (1ull << 34)
#define IMAP_CAP_AUTH_SCRAM_SHA_256 (1ull << 35)
#define IMAP_CAP_AUTH_LOGIN (1ull << 36)
#define IMAP_CAP_NOTIFY (1ull << 37) /* RFC 5465 */

/* Bit for a capability atom ("AUTH=PLAIN"), 0 if we do not use it. */
uint64_t imap_cap_from_name(const char *name, size_t len);

/* ---- commands ------------------------------------------------------- */

#define IMAP_CMD_BARRIER 0x1u /* alone in flight (RFC 3501 5.5) */
#define IMAP_CMD_REDACT 0x2u  /* "A2 LOGIN <redacted>" */

enum imap_cmd_status {
	IMAP_CMD_PENDING = 0,
	IMAP_CMD_OK,
	IMAP_CMD_NO,
	IMAP_CMD_BAD,
};

/* Untagged response offered to an in-flight command; true = mine. */
typedef bool imap_untagged_fn(void *ctx, struct imap_cmd *cmd,
			      const struct imap_resp *resp);
/* The tagged response that completes the command. */
typedef void imap_tagged_fn(void *ctx, struct imap_cmd *cmd,
			    const struct imap_resp *resp);
/* A "+" for a command without a literal waiting (SASL): fill reply
 * (without CRLF) and return 0, or return 1 to send nothing (IDLE).
 * -1 ends the client with err. */
typedef int imap_cont_fn(void *ctx, struct imap_cmd *cmd,
			 const struct imap_resp *resp, struct mf_buf *reply,
			 struct mf_err *err);

struct imap_cmd {
	/* set by the caller before submit */
	unsigned flags; /* IMAP_CMD_* */
	imap_untagged_fn *untagged;
	imap_tagged_fn *tagged;
	imap_cont_fn *cont;
	void *ctx;

	/* results */
	char tag[16];
	enum imap_cmd_status status;
	/* "NO [OVERQUOTA] Quota exceeded", sanitized, for messages */
	char text[400];

	/* private to imap-cmd.c */
	struct imap_client *client;
	struct imap_cmd_part *parts;
	size_t nparts, next_part;
	bool queued, in_flight, waiting_cont;
	struct imap_cmd *next;
	int64_t sent_ms; /* its deadline's start (imap-conn.h) */
	uint64_t sent_moved;
};

/* A command for client; the text starts after the tag. */
struct imap_cmd *imap_cmd_new(struct imap_client *client);
/* Unlinks the command if it is still queued; NULLs *cmd. */
void imap_cmd_free(struct imap_cmd **cmd);

void imap_cmd_printf(struct imap_cmd *cmd, const char *fmt, ...)
	MF_PRINTF(2, 3);
/* Append s as a quoted string, or as a literal when it has 8-bit bytes,
 * CR, LF or NUL (RFC 3501 section 4.3). */
void imap_cmd_add_astring(struct imap_cmd *cmd, const char *s, size_t len);
/* Append a literal: len bytes from mem, or, with mem NULL, from fd at
 * offset 0 (pread).  Borrowed until the command is done. */
void imap_cmd_add_literal(struct imap_cmd *cmd, const char *mem, int fd,
			  uint64_t len);

bool imap_cmd_is_ok(const struct imap_cmd *cmd);

/* ---- the client ----------------------------------------------------- */

/* Takes conn.  depth: commands in flight at most (0: 64). */
struct imap_client *imap_client_create(struct imap_conn *conn, unsigned depth);
void imap_client_destroy(struct imap_client **client);
struct imap_conn *imap_client_conn(struct imap_client *client);

void imap_client_set_unsolicited(struct imap_client *client,
				 imap_untagged_fn *fn, void *ctx);
/* A function shown every tagged and untagged response before it is
 * handed on (whoever claims it): for what the session must learn from
 * all of them, as the selected mailbox's MODSEQs (imap-store.c). */
typedef void imap_observe_fn(void *ctx, const struct imap_resp *resp);
void imap_client_set_observer(struct imap_client *client, imap_observe_fn *fn,
			      void *ctx);
/* The handler the parser asks when a literal starts (NULL: in memory). */
void imap_client_set_literal_handler(struct imap_client *client,
				     imap_literal_fn *fn, void *ctx);

/* Capabilities seen so far (greeting, CAPABILITY, OK [CAPABILITY]). */
uint64_t imap_client_caps(const struct imap_client *client);
bool imap_client_caps_known(const struct imap_client *client);
/* The largest message the server takes by APPEND, from APPENDLIMIT=N
 * (RFC 7889); 0 when it named none. */
uint64_t imap_client_append_limit(const struct imap_client *client);
/* Forget them: after STARTTLS nothing said in cleartext counts. */
void imap_client_forget_caps(struct imap_client *client);
/* Show [ALERT] texts to the user (off until the channel is trusted). */
void imap_client_allow_alerts(struct imap_client *client, bool allow);

enum imap_greeting {
	IMAP_GREETING_OK,
	IMAP_GREETING_PREAUTH,
};
/* Read the greeting.  BYE or anything else is an error (MF_E_NET). */
int imap_client_greeting(struct imap_client *client, enum imap_greeting *kind_r,
			 struct mf_err *err) MF_WARN_UNUSED;

void imap_client_submit(struct imap_client *client, struct imap_cmd *cmd);
/* How many tags were handed out so far: unchanged means no command was
 * submitted in between. */
unsigned imap_client_tags_used(const struct imap_client *client);
/* Run until cmd is done.  0: done (see cmd->status), -1: client broken. */
int imap_client_wait(struct imap_client *client, struct imap_cmd *cmd,
		     struct mf_err *err) MF_WARN_UNUSED;
/* Run until nothing is queued or in flight. */
int imap_client_wait_all(struct imap_client *client,
			 struct mf_err *err) MF_WARN_UNUSED;
/* Submit, wait, and turn NO/BAD into err with class cls ("WHAT: NO ..."). */
int imap_client_run(struct imap_client *client, struct imap_cmd *cmd,
		    enum mf_err_class cls, const char *what,
		    struct mf_err *err) MF_WARN_UNUSED;
/*
 * Read one response while no command is waiting (IDLE).  Returns 1 when a
 * response was handled, 0 on timeout, -1 when the client broke.
 */
int imap_client_poll(struct imap_client *client, int timeout_ms,
		     struct mf_err *err) MF_WARN_UNUSED;
/* Write raw text + CRLF outside any command (IDLE's "DONE"). */
int imap_client_send_line(struct imap_client *client, const char *line,
			  struct mf_err *err) MF_WARN_UNUSED;
/* Bytes read but not parsed yet (STARTTLS response injection check). */
size_t imap_client_unparsed(const struct imap_client *client);
/* Once broken, every call fails with the same error. */
bool imap_client_is_broken(const struct imap_client *client);
/* Mark broken with err (e.g. a handler found a protocol violation). */
int imap_client_fail(struct imap_client *client, const struct mf_err *err);

#endif
