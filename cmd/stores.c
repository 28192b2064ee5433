#include "stores.h"

#include <stdint.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/xalloc.h"
#include "imap/imap-store.h"
#include "maildir/mdir-store.h"
#include "readonly.h"
#include "secret.h"

int
stores_open_side(const struct config_side *side, unsigned flags,
		 struct mf_store **st_r, struct mf_err *err)
{
	struct imap_store_cfg imap;
	struct mdir_store_cfg mdir;

	*st_r = NULL;
	switch (side->kind) {
	case CONFIG_SIDE_ACCOUNT:
		imap = side->account->imap;
		imap.get_secret = secret_imap_fn;
		/* secret_imap_fn() only reads the account */
		imap.secret_ctx = (void *)(uintptr_t)side->account;
		imap.list_at_login = (flags & STORES_LISTS_FIRST) != 0;
		return imap_store_create(&imap, st_r, err);
	case CONFIG_SIDE_MAILDIR:
		mdir = side->maildir->mdir;
		mdir.create_root = true;
		mdir.tidy_tmp = (flags & STORES_TIDY) != 0;
		return mdir_store_create(&mdir, st_r, err);
	}
	return mf_err_set(err, MF_E_INTERNAL, "unknown channel side kind %d",
			  (int)side->kind);
}

char *
stores_state_path(const struct mf_config *cfg, const struct config_channel *ch)
{
	/* config.c allows only [A-Za-z0-9._@+-] in names: a safe file name */
	return xasprintf("%s/%s.db", cfg->state_dir, ch->name);
}

int
stores_state_dir_create(const struct mf_config *cfg, struct mf_err *err)
{
	return mf_mkdir_p(cfg->state_dir, 0700, err);
}

/*
 * "far: " before a store's error, which names the account or store
 * already; but not for one that is itself named "far" ("far: far:").
 */
static int
side_prefix(const struct config_side *side, const char *which,
	    struct mf_err *err)
{
	const char *name = side->kind == CONFIG_SIDE_ACCOUNT ?
				   side->account->name :
				   side->maildir->name;

	if (strcmp(name, which) == 0)
		return -1;
	return mf_err_prefix(err, "%s", which);
}

int
stores_open_channel(const struct config_channel *ch, unsigned flags,
		    struct mf_store **far_r, struct mf_store **near_r,
		    struct mf_err *err)
{
	*far_r = *near_r = NULL;
	if (stores_open_side(&ch->far, flags, far_r, err) < 0)
		return side_prefix(&ch->far, "far", err);
	if (ch->far_readonly)
		store_readonly_wrap(far_r);
	if (stores_open_side(&ch->near, flags, near_r, err) < 0) {
		mf_store_destroy(far_r);
		return side_prefix(&ch->near, "near", err);
	}
	return 0;
}
