/*
 * Logging without printing.
 *
 * Layers below cmd/ never write to stdout or stderr.  They call mf_log(),
 * which formats the message and hands it to the handler that cmd/ installed
 * (none installed: messages are dropped).  Levels filter everything; debug
 * messages are further filtered by category, so "-D" can show the IMAP
 * conversation without the maildir chatter.
 *
 * A message is one line, and it reaches the handler sanitized: mf_log()
 * passes the formatted text through mf_str_sanitize() (str.h), so a control
 * character a server or a file name slipped into it, newline included, is
 * shown escaped ("\x1b") and cannot act on the terminal or forge a line.
 * Our own multi-line output is therefore one mf_log() call per line; the
 * handler adds the line end.  Text sanitized before (the IMAP store does)
 * passes unchanged: a sanitize is its own sanitize.
 *
 * Nothing secret may be passed to mf_log(): callers redact at the point of
 * formatting (the IMAP store prints "LOGIN <redacted>").
 */
#ifndef MF_LOG_H
#define MF_LOG_H

#include <stdbool.h>

#include "compat.h"

enum mf_log_level {
	MF_LOG_ERROR = 0,
	MF_LOG_WARN,
	MF_LOG_NOTICE,
	MF_LOG_INFO,
	MF_LOG_DEBUG,
};

/* Debug categories (bit mask). */
#define MF_LOGC_GENERAL 0x01u
#define MF_LOGC_IMAP 0x02u /* the protocol trace, C: and S: lines */
#define MF_LOGC_MAILDIR 0x04u
#define MF_LOGC_SYNC 0x08u
#define MF_LOGC_STATE 0x10u
#define MF_LOGC_ALL 0xffu

typedef void mf_log_fn(enum mf_log_level level, unsigned cat, const char *msg,
		       void *ctx);

/* Install the handler (NULL drops everything). */
void mf_log_set_handler(mf_log_fn *fn, void *ctx);
/* Messages above this level are dropped; default MF_LOG_NOTICE. */
void mf_log_set_level(enum mf_log_level level);
/* Debug categories shown when level is MF_LOG_DEBUG; default none. */
void mf_log_set_debug(unsigned cats);

/* Cheap test, so callers can skip formatting a trace nobody reads. */
bool mf_log_enabled(enum mf_log_level level, unsigned cat);

void mf_log(enum mf_log_level level, unsigned cat, const char *fmt, ...)
	MF_PRINTF(3, 4);

#define mf_debug(cat, ...) \
	do { \
		if (mf_log_enabled(MF_LOG_DEBUG, (cat))) \
			mf_log(MF_LOG_DEBUG, (cat), __VA_ARGS__); \
	} while (0)

#endif
