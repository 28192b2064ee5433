/*
 * The Maildir store: struct mf_store over a directory tree.
 */
#ifndef MF_MDIR_STORE_H
#define MF_MDIR_STORE_H

#include <stdbool.h>

#include "base/err.h"
#include "store.h"

enum mdir_layout {
	MDIR_LAYOUT_FS = 0,	/* INBOX/, Folder/Sub/ each with cur new tmp */
	MDIR_LAYOUT_MAILDIRPP,	/* root is INBOX, subfolders .Folder.Sub */
};

struct mdir_store_cfg {
	const char *name;	/* store name, prefixes messages */
	const char *path;	/* root, already expanded (no ~ or $VAR) */
	enum mdir_layout layout;
	bool create_root;	/* create path if missing */
	/*
	 * Durability: deliveries are made durable in batches (see
	 * mdir-deliver.c).  fsync=false skips the flush entirely (tests on
	 * tmpfs, users who accept the risk).
	 */
	bool no_fsync;
	/* remove(): move to this folder instead of unlinking; NULL unlink */
	const char *trash;
};

int mdir_store_create(const struct mdir_store_cfg *cfg,
		      struct mf_store **st_r, struct mf_err *err);

#endif
