#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

int
mf_fsync_dir(const char *path, struct mf_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return mf_err_sys(err, MF_E_STORE, "open %s", path);
	if (fsync(fd) < 0 && errno != EINVAL) {
		mf_err_sys(err, MF_E_STORE, "fsync %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
mf_mkdir_p(const char *path, mode_t mode, struct mf_err *err)
{
	char *p = xstrdup(path), *s;
	int ret = 0;

	for (s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			ret = mf_err_sys(err, MF_E_STORE, "mkdir %s", p);
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	if (ret == 0 && !mf_path_is_dir(path))
		ret = mf_err_set(err, MF_E_STORE, "%s: not a directory", path);
	free(p);
	return ret;
}

int
mf_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
mf_write_file_atomic(const char *path, const void *data, size_t len,
		     mode_t mode, struct mf_err *err)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	char *dir = xstrdup(path), *slash;
	int fd, ret = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		mf_err_sys(err, MF_E_STORE, "create %s", tmp);
		goto out;
	}
	if (mf_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		mf_err_sys(err, MF_E_STORE, "write %s", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0) {
		mf_err_sys(err, MF_E_STORE, "close %s", tmp);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		mf_err_sys(err, MF_E_STORE, "rename %s to %s", tmp, path);
		unlink(tmp);
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	/* a bare file name: its directory is the current one */
	ret = mf_fsync_dir(slash != NULL ? dir : ".", err);
out:
	free(tmp);
	free(dir);
	return ret;
}

int
mf_syncfs(int fd, struct mf_err *err)
{
#ifdef __linux__
	if (syncfs(fd) == 0)
		return 0;
#else
	if (fsync(fd) == 0)
		return 0;
#endif
	return mf_err_sys(err, MF_E_STORE, "syncfs");
}

char *
mf_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	if (la > 0 && a[la - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

bool
mf_path_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
