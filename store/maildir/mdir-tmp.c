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

int
mdir_tmp_clean(int dir_fd, const char *host, time_t now, unsigned *removed_r,
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
		pid_t pid;
		bool dead;

		if (!mdir_name_tmp_parse(de->d_name, &pid, &fhost))
			continue; /* not ours: never touched */
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		dead = now - st.st_mtime >= MDIR_TMP_STALE_SECS ||
		       (host != NULL && strcmp(fhost, host) == 0 &&
			pid != getpid() && kill(pid, 0) < 0 && errno == ESRCH);
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
