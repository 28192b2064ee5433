/*
 * Reading a maildir folder: the listings of new/ and cur/ into the message
 * index (mdir-index.h).  The other parts of reading a folder have their
 * own headers: the change token (mdir-token.h), scan results
 * (mdir-result.h), the tmp/ cleaner (mdir-tmp.h), keyword letters
 * (mdir-kwmap.h).  Functions take directory file descriptors so that the
 * store can keep a folder open and never build paths for single messages.
 */
#ifndef MF_MDIR_SCAN_H
#define MF_MDIR_SCAN_H

#include "base/err.h"

struct mdir_index;

/*
 * Read new/ and cur/ of the folder at dir_fd into idx, replacing it.  Only
 * readdir: no stat or open per file (d_type; an fstatat only where the
 * file system reports DT_UNKNOWN).  Names starting with '.' are skipped.
 * Duplicate keys (a crash or another tool left the same message in new/
 * and cur/, or twice in cur/) are kept once, deterministically: the copy in
 * cur/ over the one in new/, then the smallest file name (strcmp); the
 * others stay on disk untouched and each is logged as a warning.  box
 * names the folder in messages.
 */
int mdir_index_scan(struct mdir_index *idx, int dir_fd, const char *box,
		    struct mf_err *err);

#endif
