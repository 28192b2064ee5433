/*
 * The change token of a maildir folder (store.h's dir_token): whether
 * cur/ or new/ may have changed since the last scan, from two stat calls.
 */
#ifndef MF_MDIR_TOKEN_H
#define MF_MDIR_TOKEN_H

#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "base/err.h"

/*
 * The dir_token of store.h: a hash of the inode and st_mtim (seconds and
 * nanoseconds) of cur/ and new/.  Renames, deliveries and unlinks all touch
 * one of the two directories' mtime.  But a file system stamps mtimes with a
 * clock tick, so a change in the same tick as the last one leaves the mtime
 * as it was: when either mtime is less than 2 seconds from now (or in the
 * future), the token is 0, "cannot tell, scan".
 */
uint64_t mdir_token_compute(const struct stat *cur, const struct stat *new_,
			    const struct timespec *now);
/* Token of the folder at dir_fd (stats cur/ and new/). */
int mdir_dir_token(int dir_fd, uint64_t *token_r, struct mf_err *err);

#endif
