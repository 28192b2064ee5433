/*
 * The glue between the configuration and the stores: open one side of a
 * channel as a struct mf_store, and name the channel's state database.
 */
#ifndef MF_STORES_H
#define MF_STORES_H

#include <stdbool.h>

#include "base/err.h"
#include "config.h"
#include "store.h"

/* What the caller will do first with a store it opens. */
enum stores_flags {
	/* a maildir store removes the dead deliveries of ours from every
	 * folder's tmp/ at its first listing (mdir-store.h); not for what
	 * must change nothing (a dry run) */
	STORES_TIDY = 1 << 0,
	/* the first request is list_boxes: an IMAP store sends the LIST
	 * (with STATUS) with its login's last round trip instead of one of
	 * its own (imap-store.h list_at_login) */
	STORES_LISTS_FIRST = 1 << 1,
};

/*
 * Open side (an IMAP account: connect and log in, asking secret.h for the
 * password only if the server wants one; a maildir store: open the root,
 * creating it if missing).  cfg must outlive the store: the store keeps
 * pointers to its strings and to the account for the secret callback.
 * flags: enum stores_flags.
 */
int stores_open_side(const struct config_side *side, unsigned flags,
		     struct mf_store **st_r, struct mf_err *err);

/*
 * Both sides of a channel, far first (a failed login should not leave a
 * maildir half set up).  On failure neither is left open and the message
 * says which side failed.
 */
int stores_open_channel(const struct config_channel *ch, unsigned flags,
			struct mf_store **far_r, struct mf_store **near_r,
			struct mf_err *err);

/* state_dir/CHANNEL.db; the caller frees it. */
char *stores_state_path(const struct mf_config *cfg,
			const struct config_channel *ch);

/* Create state_dir (mode 0700: the state names every message) if needed. */
int stores_state_dir_create(const struct mf_config *cfg, struct mf_err *err);

#endif
