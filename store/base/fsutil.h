/*
 * File system helpers for durable changes.
 *
 * The rule everywhere: write to a temporary name, fsync the file, rename it
 * into place, fsync the directory.  Only after the directory fsync is the new
 * name durable (a power loss before it may lose the rename).
 */
#ifndef MF_FSUTIL_H
#define MF_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* fsync the directory at path. */
int mf_fsync_dir(const char *path, struct mf_err *err);

/* mkdir -p with mode for every component created; existing dirs are fine. */
int mf_mkdir_p(const char *path, mode_t mode, struct mf_err *err);

/* Write data to path atomically (tmp file, fsync, rename, dir fsync). */
int mf_write_file_atomic(const char *path, const void *data, size_t len,
			 mode_t mode, struct mf_err *err);

/* Write all of data to fd, retrying short writes and EINTR. */
int mf_write_all(int fd, const void *data, size_t len);

/*
 * Flush the whole file system holding fd to stable storage (Linux syncfs);
 * elsewhere falls back to fsync(fd).  One syncfs costs one journal commit,
 * which is how a bulk download makes thousands of files durable at once
 * instead of paying an fsync per message.
 */
int mf_syncfs(int fd, struct mf_err *err);

/* Join a and b with one '/', result freed by caller. */
char *mf_path_join(const char *a, const char *b);

bool mf_path_is_dir(const char *path);

#endif
