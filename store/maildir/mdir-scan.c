/*
 * The maildir scanner: reads the listings of new/ and cur/ into the
 * index, again while a directory changes under it.
 *
 * Design note (compare Dovecot's maildir-sync.c, minus its uidlist):
 *
 * - A scan reads new/ first, then cur/.  A reader that moves a file from
 *   new/ to cur/ while we run makes us see it twice (the duplicate rule
 *   keeps one), never not at all, because nobody moves files the other way.
 * - readdir() may skip an entry that is renamed inside the directory while
 *   it is being read (Dovecot's "Locking" note), and other maildir readers
 *   take no lock we could honour.  So each directory's mtime is taken before
 *   and after its pass; if either changed, the scan starts again (three
 *   tries, then a warning).  A rename in the same clock tick as the previous
 *   change can still slip through; the engine must not read one missing
 *   message as a deletion without care, and dir_token reports 0 ("scan")
 *   while mtimes are that fresh.
 * - Per file the scan costs one readdir entry: the key, flags, keyword
 *   letters, ",W=" size and ",U=" UID all come from the name.  Files are
 *   only stat'ed or opened when the request asks for something the name
 *   does not hold (mdir_scan_result, mdir-result.c).
 * - Names and keys live in one arena, entries in one array, sorted by one
 *   qsort; a hash table on the key serves the lookups of fetch, set_flags
 *   and remove (mdir-index.c).
 */
#include "mdir-scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "mdir-index.h"

#define SCAN_TRIES 3

/* One readdir pass; *changed_r tells whether the directory changed. */
static int
read_sub(struct mdir_index *idx, int dir_fd, const char *sub, bool in_new,
	 bool *changed_r, struct mf_err *err)
{
	struct stat before, after;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(dir_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mf_err_sys(err, MF_E_BOX, "open %s", sub);
	d = fstat(fd, &before) == 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		mf_err_sys(err, MF_E_BOX, "open %s", sub);
		close(fd);
		return -1;
	}
	for (;;) {
		size_t len;

		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type == DT_DIR)
			continue;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(fd, de->d_name, &st, 0) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
		} else if (de->d_type != DT_REG && de->d_type != DT_LNK) {
			continue;
		}
		len = strlen(de->d_name);
		mdir_index_add(idx, de->d_name, len, in_new);
	}
	if (errno != 0) {
		mf_err_sys(err, MF_E_BOX, "read %s", sub);
		closedir(d);
		return -1;
	}
	if (fstat(fd, &after) == 0 &&
	    (after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
	     after.st_mtim.tv_nsec != before.st_mtim.tv_nsec))
		*changed_r = true;
	closedir(d);
	return 0;
}

int
mdir_index_scan(struct mdir_index *idx, int dir_fd, const char *box,
		struct mf_err *err)
{
	int tries;

	for (tries = 1;; tries++) {
		bool changed = false;

		mdir_index_clear(idx);
		if (read_sub(idx, dir_fd, "new", true, &changed, err) < 0 ||
		    read_sub(idx, dir_fd, "cur", false, &changed, err) < 0) {
			mdir_index_clear(idx);
			return -1;
		}
		if (!changed)
			break;
		if (tries == SCAN_TRIES) {
			mf_log(MF_LOG_WARN, MF_LOGC_MAILDIR,
			       "folder kept changing during %d scans; a "
			       "message renamed meanwhile may be missed",
			       SCAN_TRIES);
			break;
		}
	}
	mdir_index_finish(idx, box);
	return 0;
}
