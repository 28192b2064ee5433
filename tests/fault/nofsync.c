/*
 * nofsync.so: an LD_PRELOAD library that plays a power loss, for
 * tests/integ/fault-local.sh.
 *
 * It follows every regular file the process writes (write, pwrite,
 * pwrite64, ftruncate) and what of it is durable: the size at the last
 * fsync, fdatasync, syncfs or sync, or the size before the first write.
 * Renames carry the record along.  Each fsync, fdatasync, syncfs, sync
 * and rename (rename, renameat, renameat2) is a "point".
 *
 *   MF_POWER_AFTER=N   after the N-th point has returned, cut every file
 *                      written since it was last durable back to its
 *                      durable size (0 for a new file never synced) and
 *                      _exit(97): the power went out
 *   MF_POWER_COUNT=F   at exit, write the number of points to F (to pick N)
 *
 * What it does not play: overwrites inside the durable size stay (no torn
 * pages), and renames stay whether or not their directory was synced.  So
 * it finds a state that calls a message synced whose file is not durable
 * yet, not a lost rename.
 */
/* off_t as the ABI has it, so pwrite and pwrite64 can both be defined */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FILES 4096

struct file {
	char path[PATH_MAX];
	off_t durable; /* what survives the power loss */
	bool dirty;    /* written since */
};

static struct file files[MAX_FILES];
static int nfiles;
static long points, after = -1;

/* the libc function behind ours; dlsym's void * stored as ISO C allows */
#define LOOKUP(name) \
	do { \
		if (!real) \
			*(void **)&real = next(#name); \
	} while (0)

static void *
next(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (f == NULL) {
		fprintf(stderr, "nofsync: no %s\n", name);
		_exit(96);
	}
	return f;
}

static bool
fd_path(int fd, char *out)
{
	char link[64];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, PATH_MAX - 1);
	if (n <= 0)
		return false;
	out[n] = 0;
	return true;
}

static struct file *
find(const char *path)
{
	for (int i = 0; i < nfiles; i++)
		if (strcmp(files[i].path, path) == 0)
			return &files[i];
	return NULL;
}

/* before a write to fd: make sure it is followed, and mark it dirty */
static void
note_write(int fd)
{
	char path[PATH_MAX];
	struct file *f;
	struct stat st;

	if (!fd_path(fd, path))
		return;
	f = find(path);
	if (f == NULL && nfiles < MAX_FILES && fstat(fd, &st) == 0) {
		f = &files[nfiles++];
		snprintf(f->path, sizeof(f->path), "%s", path);
		f->durable = st.st_size;
	}
	if (f != NULL)
		f->dirty = true;
}

static void
make_durable(struct file *f)
{
	struct stat st;

	if (stat(f->path, &st) == 0)
		f->durable = st.st_size;
	f->dirty = false;
}

static void
power_loss(void)
{
	for (int i = 0; i < nfiles; i++) {
		struct stat st;
		if (files[i].dirty && stat(files[i].path, &st) == 0 &&
		    st.st_size > files[i].durable &&
		    truncate(files[i].path, files[i].durable) < 0)
			perror(files[i].path);
	}
	_exit(97);
}

static void
point(void)
{
	points++;
	if (after < 0) {
		const char *e = getenv("MF_POWER_AFTER");
		after = e != NULL ? atol(e) : 0;
	}
	if (after > 0 && points >= after)
		power_loss();
}

__attribute__((destructor)) static void
report(void)
{
	const char *f = getenv("MF_POWER_COUNT");
	FILE *out;

	if (f != NULL && (out = fopen(f, "w")) != NULL) {
		fprintf(out, "%ld\n", points);
		fclose(out);
	}
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	LOOKUP(write);
	if (fd > 2)
		note_write(fd);
	return real(fd, buf, n);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	LOOKUP(pwrite);
	note_write(fd);
	return real(fd, buf, n, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off64_t);
	LOOKUP(pwrite64);
	note_write(fd);
	return real(fd, buf, n, off);
}

int
ftruncate64(int fd, off64_t len)
{
	static int (*real)(int, off64_t);
	LOOKUP(ftruncate64);
	note_write(fd);
	return real(fd, len);
}

int
ftruncate(int fd, off_t len)
{
	static int (*real)(int, off_t);
	LOOKUP(ftruncate);
	note_write(fd);
	return real(fd, len);
}

static int
synced_fd(int fd, int ret)
{
	char path[PATH_MAX];
	struct file *f;

	if (ret == 0 && fd_path(fd, path) && (f = find(path)) != NULL)
		make_durable(f);
	point();
	return ret;
}

int
fsync(int fd)
{
	static int (*real)(int);
	LOOKUP(fsync);
	return synced_fd(fd, real(fd));
}

int
fdatasync(int fd)
{
	static int (*real)(int);
	LOOKUP(fdatasync);
	return synced_fd(fd, real(fd));
}

/* one file system only in the tests: syncfs makes every file durable */
int
syncfs(int fd)
{
	static int (*real)(int);
	int ret;
	LOOKUP(syncfs);
	ret = real(fd);
	for (int i = 0; ret == 0 && i < nfiles; i++)
		make_durable(&files[i]);
	point();
	return ret;
}

void
sync(void)
{
	static void (*real)(void);
	LOOKUP(sync);
	real();
	for (int i = 0; i < nfiles; i++)
		make_durable(&files[i]);
	point();
}

/* the absolute path of name relative to dirfd */
static void
at_path(int dirfd, const char *name, char *out)
{
	char link[64];
	ssize_t n;

	if (name[0] == '/' || dirfd == AT_FDCWD) {
		if (name[0] == '/' || getcwd(out, PATH_MAX) == NULL)
			snprintf(out, PATH_MAX, "%s", name);
		else
			snprintf(out + strlen(out), PATH_MAX - strlen(out),
				 "/%s", name);
		return;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, out, PATH_MAX - 1);
	out[n > 0 ? n : 0] = 0;
	snprintf(out + strlen(out), PATH_MAX - strlen(out), "/%s", name);
}

static int
renamed(int ofd, const char *old, int nfd, const char *new_, int ret)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct file *f, *gone;

	if (ret == 0) {
		at_path(ofd, old, a);
		at_path(nfd, new_, b);
		if ((gone = find(b)) != NULL)
			gone->path[0] = 0;
		if ((f = find(a)) != NULL)
			snprintf(f->path, sizeof(f->path), "%s", b);
	}
	point();
	return ret;
}

int
rename(const char *old, const char *new_)
{
	static int (*real)(const char *, const char *);
	LOOKUP(rename);
	return renamed(AT_FDCWD, old, AT_FDCWD, new_, real(old, new_));
}

int
renameat(int ofd, const char *old, int nfd, const char *new_)
{
	static int (*real)(int, const char *, int, const char *);
	LOOKUP(renameat);
	return renamed(ofd, old, nfd, new_, real(ofd, old, nfd, new_));
}

int
renameat2(int ofd, const char *old, int nfd, const char *new_, unsigned fl)
{
	static int (*real)(int, const char *, int, const char *, unsigned);
	LOOKUP(renameat2);
	return renamed(ofd, old, nfd, new_, real(ofd, old, nfd, new_, fl));
}
