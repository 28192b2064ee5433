/*
 * Errors carried up with context.
 *
 * A function that can fail returns int (0 ok, -1 failed) and fills the
 * struct mf_err passed as its last parameter.  The setters return -1 so a
 * failure reads in one line:
 *
 *	return mf_err_set(err, MF_E_BOX, "SELECT %s: %s", box, text);
 *
 * Context is added on the way up with mf_err_prefix(), giving messages like
 * "work: INBOX: UID 4711: APPEND: NO [OVERQUOTA] Quota exceeded".
 *
 * The class says how far the failure reaches; the engine triages on it
 * (message -> skip, box -> next box, store -> stop the channel) and cmd/
 * maps it to an exit code.  err may be NULL where the caller does not care.
 */
#ifndef MF_ERR_H
#define MF_ERR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "compat.h"

enum mf_err_class {
	MF_OK = 0,
	MF_E_MSG,   /* this message failed; skip it, go on */
	MF_E_BOX,   /* this mailbox failed; go on with the next */
	MF_E_STORE, /* the store (connection, account, maildir root) is gone */
	MF_E_AUTH,  /* store-level: login refused */
	MF_E_NET,   /* store-level: network, TLS, protocol violation */
	MF_E_CANCELED, /* interrupted by signal or test hook */
	MF_E_CONFIG,   /* bad configuration */
	MF_E_STATE,    /* state database unusable */
	MF_E_LOCKED,   /* another process holds the lock (of a channel) */
	MF_E_USAGE,    /* bad command line */
	MF_E_INTERNAL, /* our own bug; stop everything */
};

#define MF_ERR_MSG_MAX 1024

struct mf_err {
	enum mf_err_class cls;
	int sys_errno; /* errno of the failed syscall, or 0 */
	/*
	 * MF_E_NET only: the server was never reached (its name did not
	 * resolve, or no address took the connection).  A machine that is
	 * offline or a server that is down answers the same a second later,
	 * so cmd/cmd-sync.c does not try such an attempt again at once.
	 * Every mf_err_set*() clears it; the place that knows sets it after.
	 */
	bool unreached;
	char msg[MF_ERR_MSG_MAX];
};

/* Reset to "no error". */
void mf_err_clear(struct mf_err *err);

/* Set class and message; always returns -1. */
int mf_err_set(struct mf_err *err, enum mf_err_class cls, const char *fmt, ...)
	MF_PRINTF(3, 4);
int mf_err_setv(struct mf_err *err, enum mf_err_class cls, const char *fmt,
		va_list ap) MF_PRINTF(3, 0);

/* Like mf_err_set, appending ": strerror(errno)" and keeping errno. */
int mf_err_sys(struct mf_err *err, enum mf_err_class cls, const char *fmt, ...)
	MF_PRINTF(3, 4);

/* Prepend "<context>: " to the message; class unchanged. Returns -1. */
int mf_err_prefix(struct mf_err *err, const char *fmt, ...) MF_PRINTF(2, 3);

/* Copy src into dst (dst may be NULL). Returns -1. */
int mf_err_copy(struct mf_err *dst, const struct mf_err *src);

/* A short name for a class: "message", "mailbox", "store", ... */
const char *mf_err_class_name(enum mf_err_class cls);

/* True for the classes that end the whole store (connection) */
int mf_err_is_store_level(enum mf_err_class cls);

#endif
