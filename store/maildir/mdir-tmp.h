/*
 * The tmp/ cleaner: removes the dead deliveries of ours that a crash left
 * in a folder's tmp/, and nothing else.
 */
#ifndef MF_MDIR_TMP_H
#define MF_MDIR_TMP_H

#include <time.h>

#include "base/err.h"

/* Files of ours in tmp/ at least this old are dead deliveries, whoever
 * made them (maildir(5) gives 36 hours).  The age is counted from the
 * later of the time in the name (when the delivery began) and the mtime:
 * the mtime alone will not do, a delivery sets it to the message's
 * internal date, often years ago, while it is still in progress. */
#define MDIR_TMP_STALE_SECS (36 * 3600)

/*
 * Unlink the files in dir_fd/tmp/ that are dead deliveries of ours: named
 * as mdir-name.h's "OUR FILES IN tmp/" says, and either made on this host
 * (host: escaped, as in our keys) by a process that no longer exists, or
 * at least MDIR_TMP_STALE_SECS old.  A delivery of a live
 * process stays, and so does every file not named by us, however old:
 * mbsync, OfflineIMAP, a delivery agent or a mail reader may be writing
 * it, and only its owner knows.  The pid test is kill(pid, 0): a pid that
 * was reused keeps the file until the age bound.  A file with our own pid
 * is ours only when it changed after started (when this process opened
 * the store): one older is of an earlier process that had our pid, as in
 * a container where every run gets the same pid, and is dead.  started
 * NULL: every file with our pid is taken as ours.
 */
int mdir_tmp_clean(int dir_fd, const char *host, time_t now,
		   const struct timespec *started, unsigned *removed_r,
		   struct mf_err *err);

#endif
