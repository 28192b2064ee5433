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

/*
 * Open side (an IMAP account: connect and log in, asking secret.h for the
 * password only if the server wants one; a maildir store: open the root,
 * creating it if missing).  cfg must outlive the store: the store keeps
 * pointers to its strings and to the account for the secret callback.
 * tidy: a maildir store removes the dead deliveries of ours from every
 * folder's tmp/ at its first listing (mdir-store.h); false for what must
 * change nothing (a dry run).
 */
int stores_open_side(const struct config_side *side, bool tidy,
		     struct mf_store **st_r, struct mf_err *err);

/*
 * Both sides of a channel, far first (a failed login should not leave a
 * maildir half set up).  On failure neither is left open and the message
 * says which side failed.
 */
int stores_open_channel(const struct config_channel *ch, bool tidy,
			struct mf_store **far_r, struct mf_store **near_r,
			struct mf_err *err);

/* state_dir/CHANNEL.db; the caller frees it. */
char *stores_state_path(const struct mf_config *cfg,
			const struct config_channel *ch);

/* Create state_dir (mode 0700: the state names every message) if needed. */
int stores_state_dir_create(const struct mf_config *cfg, struct mf_err *err);

#endif
