/*
 * Change detection on a Maildir tree (watch-local.h): inotify, else a
 * digest of the directories' stat data.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif

#include "base/xalloc.h"
#include "watch-local.h"

/* Deeper than any real folder tree; a loop of bind mounts ends here. */
#define MAX_DEPTH 32

struct watch_local {
	char *root;
	int fd;	     /* inotify, or -1: polling */
	bool rewalk; /* a directory appeared: watch the tree again */
	uint64_t digest;
	long long next_poll_ms;
};

/* FNV-1a over n bytes, folded into h. */
static uint64_t
fold(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0) {
		h ^= *b++;
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * Walk dir, depth first, skipping tmp/ and what is not a directory: with
 * inotify on, add a watch on each one (-1 when the kernel refuses one:
 * the caller falls back to polling); always fold its stat data into
 * *digest.
 */
static int
walk(struct watch_local *w, const char *dir, int depth, uint64_t *digest)
{
	struct stat sb;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (depth > MAX_DEPTH || lstat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return 0; /* gone meanwhile: its parent's event said so */
	*digest = fold(*digest, dir, strlen(dir));
	*digest = fold(*digest, &sb.st_ino, sizeof(sb.st_ino));
	*digest = fold(*digest, &sb.st_mtim, sizeof(sb.st_mtim));
	*digest = fold(*digest, &sb.st_nlink, sizeof(sb.st_nlink));
#ifdef __linux__
	if (w->fd >= 0 &&
	    inotify_add_watch(w->fd, dir,
			      IN_CREATE | IN_DELETE | IN_MOVED_FROM |
				      IN_MOVED_TO | IN_CLOSE_WRITE |
				      IN_DELETE_SELF | IN_MOVE_SELF |
				      IN_ONLYDIR) < 0 &&
	    errno != ENOENT && errno != ENOTDIR)
		ret = -1;
#endif
	d = opendir(dir);
	if (d == NULL)
		return ret;
	while ((de = readdir(d)) != NULL) {
		char *sub;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "tmp") == 0)
			continue;
		/* d_type spares a stat per message file in cur/ and new/ */
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		if (walk(w, sub, depth + 1, digest) < 0)
			ret = -1;
		free(sub);
	}
	closedir(d);
	return ret;
}

static uint64_t
digest_of(struct watch_local *w)
{
	uint64_t h = 1469598103934665603ULL;
	int fd = w->fd;

	w->fd = -1; /* a digest only: no watches */
	walk(w, w->root, 0, &h);
	w->fd = fd;
	return h;
}

/* Watch the tree again; on a refusal, close inotify and poll instead. */
static void
rewatch(struct watch_local *w)
{
	uint64_t h = 0;

	w->rewalk = false;
	if (w->fd >= 0 && walk(w, w->root, 0, &h) < 0) {
		fprintf(stderr,
			"mailferry: watch: %s: inotify refused a watch (%s; "
			"see fs.inotify.max_user_watches): polling every "
			"%d ms instead\n",
			w->root, strerror(errno), WATCH_LOCAL_POLL_MS);
		close(w->fd);
		w->fd = -1;
		w->digest = digest_of(w);
	}
}

int
watch_local_open(const char *root, struct watch_local **w_r, struct mf_err *err)
{
	struct watch_local *w;
	const char *poll_env = getenv("MAILFERRY_WATCH_POLL");
	DIR *d = opendir(root);

	*w_r = NULL;
	if (d == NULL)
		return mf_err_sys(err, MF_E_BOX, "watch: %s", root);
	closedir(d);
	w = xcalloc(1, sizeof(*w));
	w->root = xstrdup(root);
	w->fd = -1;
#ifdef __linux__
	if (poll_env == NULL || strcmp(poll_env, "1") != 0)
		w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
#else
	(void)poll_env;
#endif
	if (w->fd >= 0)
		rewatch(w);
	else
		w->digest = digest_of(w);
	*w_r = w;
	return 0;
}

int
watch_local_fd(const struct watch_local *w)
{
	return w->fd;
}

const char *
watch_local_how(const struct watch_local *w)
{
	return w->fd >= 0 ? "inotify" : "polling";
}

#ifdef __linux__
/* Read every queued event; true when any is a change. */
static bool
drain(struct watch_local *w)
{
	char buf[8192]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + n) {
			const struct inotify_event *ev = (const void *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_IGNORED)
				continue; /* a watch ended: its dir is gone */
			changed = true;
			/* lost events, or a new directory to watch */
			if ((ev->mask & IN_Q_OVERFLOW) ||
			    ((ev->mask & IN_ISDIR) &&
			     (ev->mask & (IN_CREATE | IN_MOVED_TO))))
				w->rewalk = true;
		}
	}
	return changed;
}
#endif

bool
watch_local_changed(struct watch_local *w, long long now_ms)
{
	uint64_t h;

#ifdef __linux__
	if (w->fd >= 0) {
		bool changed = drain(w);

		if (w->rewalk)
			rewatch(w);
		return changed;
	}
#endif
	if (now_ms < w->next_poll_ms)
		return false;
	w->next_poll_ms = now_ms + WATCH_LOCAL_POLL_MS;
	h = digest_of(w);
	if (h == w->digest)
		return false;
	w->digest = h;
	return true;
}

void
watch_local_close(struct watch_local **wp)
{
	struct watch_local *w = *wp;

	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->root);
	free(w);
	*wp = NULL;
}
