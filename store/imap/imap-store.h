/*
 * The IMAP store: struct mf_store over one IMAP connection.
 *
 * imap_store_create() connects, negotiates TLS, authenticates and reads the
 * capabilities, so a store that comes back is logged in and ready.  The
 * configuration is a plain struct filled by cmd/ (nothing here reads YAML).
 */
#ifndef MF_IMAP_STORE_H
#define MF_IMAP_STORE_H

#include <stdbool.h>

#include "base/err.h"
#include "store.h"

enum imap_tls_mode {
	IMAP_TLS_IMPLICIT = 0, /* TLS from the first byte (port 993) */
	IMAP_TLS_STARTTLS,     /* plain, then STARTTLS before anything else */
	IMAP_TLS_NONE,	       /* cleartext: only with allow_insecure */
};

enum imap_secret_kind {
	IMAP_SECRET_PASSWORD,
	IMAP_SECRET_OAUTH_TOKEN,
};

/*
 * Asked for a secret only when the server needs one (a PREAUTH tunnel never
 * asks).  *secret_r is allocated by the callback; the store wipes and frees
 * it as soon as it has been sent.
 */
typedef int imap_secret_fn(void *ctx, enum imap_secret_kind kind,
			   char **secret_r, struct mf_err *err);

struct imap_store_cfg {
	const char *name; /* account name, prefixes messages */
	const char *host; /* NULL with tunnel */
	unsigned port;	  /* 0: 993 implicit, 143 otherwise */
	enum imap_tls_mode tls;
	bool allow_insecure; /* permit IMAP_TLS_NONE */
	const char *user;
	const char *ca_file;	 /* NULL: system store */
	const char *fingerprint; /* "sha256:HEX" pin or NULL */
	const char *tunnel;	 /* shell command speaking IMAP on stdio */
	/* "plain login xoauth2 oauthbearer scram-sha-256" subset, NULL all */
	const char *auth_mechs;
	bool use_oauth; /* authenticate with a token, not a password */
	imap_secret_fn *get_secret;
	void *secret_ctx;
	unsigned pipeline_depth; /* commands in flight; 0 = default (64) */
	int timeout_ms;		 /* connect and read timeout; 0 = 60 s */
	/* base of a command's deadline (imap-conn.h); 0 = 10 x timeout */
	int command_timeout_ms;
	bool compress; /* COMPRESS=DEFLATE when offered */
	/* Disable extensions even if offered (tests, broken servers). */
	bool no_condstore, no_qresync, no_uidplus, no_move, no_list_status;
	bool no_objectid;    /* no MAILBOXID asked: a server whose ids lie */
	bool no_notify;	     /* watch: IDLE on INBOX only, no NOTIFY */
	bool no_multiappend; /* one APPEND per message */
	/* not from the config: the caller's first request will be
	 * list_boxes, so the LIST goes out with the login's last round trip
	 * (imap-private.h imap_prelist_submit()) */
	bool list_at_login;
};

int imap_store_create(const struct imap_store_cfg *cfg, struct mf_store **st_r,
		      struct mf_err *err);

#endif
