/*
 * Logging in: LOGIN, AUTHENTICATE PLAIN (with SASL-IR when offered),
 * XOAUTH2, OAUTHBEARER (RFC 7628) and SCRAM-SHA-256 (RFC 7677).
 *
 * The secret is asked from cfg->get_secret only here, only when needed, and
 * wiped and freed as soon as the command that carries it is done.  The
 * trace shows "A2 LOGIN <redacted>" (imap-cmd.c redacts at sending).
 */
#ifndef MF_IMAP_AUTH_H
#define MF_IMAP_AUTH_H

#include <stdbool.h>

#include "base/err.h"
#include "imap-store.h"

struct imap_client;

/*
 * Authenticate with the best mechanism both sides allow.  secure: the
 * channel is TLS, a tunnel, or cleartext the user allowed; without it no
 * secret is ever sent.  A refusal is MF_E_AUTH with the server's sanitized
 * text.
 */
int imap_auth_login(struct imap_client *client,
		    const struct imap_store_cfg *cfg, bool secure,
		    struct mf_err *err);

/* SCRAM pieces, exposed for the unit test (RFC 7677 test vector). */
int imap_scram_client_final(const char *password, const char *client_first_bare,
			    const char *server_first, const char *client_nonce,
			    char **client_final_r, char server_sig_b64[64],
			    struct mf_err *err);

#endif
