/*
 * The Maildir store: struct mf_store over a directory tree.
 *
 * What it does with the store.h contract (details in the .c files):
 *
 * - Folders: fs or maildir++ layout; canonical names map to directories
 *   as mdir-path.h describes (a reversible %XX escape; names that could
 *   leave the root are refused with MF_E_BOX).  list_boxes reports parents
 *   that are not maildirs themselves as MF_BOX_NOSELECT; with status=true
 *   it fills only dir_token (has_status stays false).  create_box makes
 *   parents as needed, every directory 0700, and succeeds if the folder
 *   exists; delete_box refuses INBOX and a folder holding messages.
 * - Keys: a message's key is its file name before the info separator,
 *   minus ",S=" and ",W=" fields (mdir-name.h); deliver_begin() hands out
 *   exactly the key a later scan reports for that file.  new_key in a
 *   flag item is always the key (it never changes).
 * - Scan: sorted by key; size from ",W=" (else read only with
 *   MF_WANT_SIZE), date is the file mtime (MF_WANT_DATE), name_uid from
 *   ",U=".  Duplicate keys: one is reported, the others logged (see
 *   mdir-scan.h).
 * - Keywords: Dovecot's letters a..z after ":2,", named per folder by
 *   dovecot-keywords (mdir-kwmap.h).  set_flags and deliver_begin give a
 *   new keyword a free letter, writing that file under Dovecot's lock;
 *   letters without a name are kept untouched and never handed out.  With
 *   all 26 letters taken, further keywords are not stored: a notice names
 *   them once per folder, and scan's kw_visible (the names the folder's
 *   file holds) tells the engine that they were never there.
 * - Caps: MF_CAP_DIR_TOKEN and MF_CAP_KEYWORDS.  dir_token is 0 while cur/
 *   or new/ changed less than 2 seconds ago.
 * - Gone messages (not there even after a rescan): fetch reports status
 *   -1 with gone=true (the sink got nothing and was not finished);
 *   set_flags and remove report status 0 with gone=true.
 * - Deliveries: files go to new/ when they have no flags and no keyword
 *   letters, else to cur/ with info; d->date becomes the mtime.  A
 *   delivery aborted (deliver_abort_all), or still pending when the store
 *   is destroyed, is unlinked from tmp/.
 */
#ifndef MF_MDIR_STORE_H
#define MF_MDIR_STORE_H

#include <stdbool.h>

#include "base/err.h"
#include "store.h"

enum mdir_layout {
	MDIR_LAYOUT_FS = 0,    /* INBOX/, Folder/Sub/ each with cur new tmp */
	MDIR_LAYOUT_MAILDIRPP, /* root is INBOX, subfolders .Folder.Sub */
};

struct mdir_store_cfg {
	const char *name; /* store name, prefixes messages */
	const char *path; /* root, already expanded (no ~ or $VAR) */
	enum mdir_layout layout;
	bool create_root; /* create path if missing */
	/*
	 * Durability: deliveries are made durable in batches (see
	 * mdir-deliver.c).  fsync=false skips the flush entirely (tests on
	 * tmpfs, users who accept the risk).
	 */
	bool no_fsync;
	/* remove(): move to this folder instead of unlinking; NULL unlink */
	const char *trash;
	/*
	 * The first list_boxes() also removes the dead deliveries of ours
	 * from every folder's tmp/ (mdir-tmp.h), not only from the folders a
	 * run selects: a folder with nothing to sync is not selected, and
	 * what a crash left there would otherwise stay until it changes.
	 * Off for a dry run, which changes nothing.
	 */
	bool tidy_tmp;
};

/*
 * select_box() of a folder fails with sys_errno ENOENT only when nothing is
 * in its place: a folder on a disk that is not mounted (a symlink to
 * nothing, an empty mount point) fails with another message and sys_errno
 * 0, so that the engine never takes it for one the user deleted.
 */
int mdir_store_create(const struct mdir_store_cfg *cfg, struct mf_store **st_r,
		      struct mf_err *err);

#endif
