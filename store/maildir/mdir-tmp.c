/*
 * The tmp/ cleaner: one readdir of tmp/, unlinking only files named as
 * ours whose writer is gone or which are past the maildir(5) age bound.
 */
#include "mdir-tmp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/str.h"
#include "mdir-name.h"

/* Did st change before started?  Then no delivery of this process made
 * it. */
static bool
before(const struct stat *st, const struct timespec *started)
{
	if (started == NULL)
		return false;
	return st->st_ctim.tv_sec < started->tv_sec ||
	       (st->st_ctim.tv_sec == started->tv_sec &&
		st->st_ctim.tv_nsec < started->tv_nsec);
}

/* A dead delivery of ours on this host: its process is gone, or it is of
 * an earlier process that had our pid. */
static bool
dead_here(pid_t pid, const struct stat *st, const struct timespec *started)
{
	if (pid == getpid())
		return before(st, started);
	return kill(pid, 0) < 0 && errno == ESRCH;
}

int
mdir_tmp_clean(int dir_fd, const char *host, time_t now,
	       const struct timespec *started, unsigned *removed_r,
	       struct mf_err *err)
{
	struct dirent *de;
	unsigned removed = 0;
	DIR *d;
	int fd;

	*removed_r = 0;
	fd = openat(dir_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mf_err_sys(err, MF_E_BOX, "open tmp");
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return mf_err_sys(err, MF_E_BOX, "open tmp");
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		const char *fhost;
		int64_t born;
		pid_t pid;
		bool dead;

		if (!mdir_name_tmp_parse(de->d_name, &pid, &fhost, &born))
			continue; /* not ours: never touched */
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (born < (int64_t)st.st_mtime)
			born = (int64_t)st.st_mtime;
		dead = (int64_t)now - born >= MDIR_TMP_STALE_SECS ||
		       (host != NULL && strcmp(fhost, host) == 0 &&
			dead_here(pid, &st, started));
		if (!dead)
			continue; /* maybe a delivery in progress */
		if (unlinkat(fd, de->d_name, 0) == 0) {
			char shown[128];

			removed++;
			mf_str_sanitize(shown, sizeof(shown), de->d_name,
					strlen(de->d_name));
			mf_log(MF_LOG_INFO, MF_LOGC_MAILDIR,
			       "removed stale tmp/%s", shown);
		}
	}
	closedir(d);
	*removed_r = removed;
	return 0;
}
