/*
 * dovecot-keywords: read, merge and write (see mdir-kwmap.h for the format
 * and the locking protocol).
 *
 * Why Dovecot's lock and not only rename(): rename() makes every reader see
 * an old or a new file, never half of one, but two writers that each read,
 * add and rename would still lose one writer's entry.  Dovecot writes the
 * file while holding dovecot-uidlist.lock and trusts that lock alone (it
 * even unlinks a leftover dovecot-keywords.lock first), so holding the same
 * lock is the only way to be safe against it; re-reading just before the
 * write makes us safe against every writer that renames, locked or not,
 * except within the moment between our read and our rename.
 */
#include "mdir-kwmap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "flags.h"

#define KW_FILE_MAX (64 * 1024)
#define KW_TMP MDIR_KW_FILE ".lock"
#define UIDLIST_LOCK "dovecot-uidlist.lock"
#define LOCK_POLL_MS 50

/* ---- the map in memory ---------------------------------------------- */

void
mdir_kwmap_clear(struct mdir_kwmap *kw)
{
	size_t i;

	for (i = 0; i < MDIR_KW_LETTERS; i++) {
		free(kw->names[i]);
		kw->names[i] = NULL;
	}
	free(kw->extra);
	kw->extra = NULL;
	kw->valid = 0;
	kw->present = false;
	kw->mtime = 0;
}

static void
keep_extra(struct mdir_kwmap *kw, const char *line, size_t len)
{
	char *next;

	if (len == 0)
		return;
	next = xasprintf("%s%.*s\n", kw->extra ? kw->extra : "", (int)len,
			 line);
	free(kw->extra);
	kw->extra = next;
}

void
mdir_kwmap_parse(struct mdir_kwmap *kw, const char *data, size_t len)
{
	const char *p = data, *end = data + len;

	mdir_kwmap_clear(kw);
	kw->present = true;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl != NULL ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(line_end - p));
		uint32_t n;
		size_t wlen;

		if (line_end > p && line_end[-1] == '\r')
			line_end--;
		if (sp != NULL && mf_str_to_u32(p, (size_t)(sp - p), &n) &&
		    n < MDIR_KW_LETTERS && line_end > sp + 1) {
			/* a later line for the same letter wins (Dovecot) */
			wlen = (size_t)(line_end - sp - 1);
			free(kw->names[n]);
			kw->names[n] = xstrndup(sp + 1, wlen);
			if (mf_keyword_valid(sp + 1, wlen) &&
			    memchr(sp + 1, '\0', wlen) == NULL)
				kw->valid |= 1u << n;
			else
				kw->valid &= ~(1u << n);
		} else {
			keep_extra(kw, p, (size_t)(line_end - p));
		}
		p = nl != NULL ? nl + 1 : end;
	}
}

int
mdir_kwmap_load(struct mdir_kwmap *kw, int dir_fd, struct mf_err *err)
{
	struct stat sb;
	char *data;
	size_t len = 0;
	int fd;

	mdir_kwmap_clear(kw);
	fd = openat(dir_fd, MDIR_KW_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return mf_err_sys(err, MF_E_BOX, "open %s", MDIR_KW_FILE);
	}
	data = xmalloc(KW_FILE_MAX);
	while (len < KW_FILE_MAX) {
		ssize_t n = read(fd, data + len, KW_FILE_MAX - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mf_err_sys(err, MF_E_BOX, "read %s", MDIR_KW_FILE);
			free(data);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	mdir_kwmap_parse(kw, data, len);
	if (fstat(fd, &sb) == 0)
		kw->mtime = sb.st_mtime;
	close(fd);
	free(data);
	return 0;
}

uint32_t
mdir_kwmap_mask(const struct mdir_kwmap *kw)
{
	return kw->valid;
}

uint32_t
mdir_kwmap_taken(const struct mdir_kwmap *kw)
{
	uint32_t mask = 0;
	size_t i;

	for (i = 0; i < MDIR_KW_LETTERS; i++)
		if (kw->names[i] != NULL)
			mask |= 1u << i;
	return mask;
}

/* Letters whose valid name equals word[0..len) ignoring case. */
static uint32_t
letters_of(const struct mdir_kwmap *kw, const char *word, size_t len)
{
	uint32_t letters = 0;
	size_t i;

	/* every letter for it: a file may name a keyword twice */
	for (i = 0; i < MDIR_KW_LETTERS; i++)
		if ((kw->valid & (1u << i)) && strlen(kw->names[i]) == len &&
		    strncasecmp(kw->names[i], word, len) == 0)
			letters |= 1u << i;
	return letters;
}

/* The next word of a keyword set at *p: false at the end. */
static bool
next_word(const char **p, const char **word_r, size_t *len_r)
{
	const char *s = *p != NULL ? *p : "";

	s += strspn(s, " ");
	if (*s == '\0')
		return false;
	*word_r = s;
	*len_r = strcspn(s, " ");
	*p = s + *len_r;
	return true;
}

uint32_t
mdir_kwmap_letters(const struct mdir_kwmap *kw, const char *keywords,
		   size_t *unmapped_r)
{
	const char *p = keywords, *w;
	uint32_t letters = 0, l;
	size_t unmapped = 0, len;

	while (next_word(&p, &w, &len)) {
		l = letters_of(kw, w, len);
		letters |= l;
		unmapped += l == 0;
	}
	if (unmapped_r != NULL)
		*unmapped_r = unmapped;
	return letters;
}

char *
mdir_kwmap_names(const struct mdir_kwmap *kw, uint32_t letters)
{
	char *joined = xstrdup(""), *next, *norm;
	size_t i;

	for (i = 0; i < MDIR_KW_LETTERS; i++) {
		if (!(letters & kw->valid & (1u << i)))
			continue;
		next = xasprintf("%s %s", joined, kw->names[i]);
		free(joined);
		joined = next;
	}
	norm = mf_kw_normalize(joined);
	free(joined);
	return norm;
}

char *
mdir_kwmap_all(const struct mdir_kwmap *kw)
{
	return mdir_kwmap_names(kw, kw->valid);
}

size_t
mdir_kwmap_assign(struct mdir_kwmap *kw, const char *keywords, uint32_t avoid,
		  char **overflow_r)
{
	char *overflow = xstrdup(""), *next;
	const char *p = keywords, *w;
	size_t given = 0, len, i;

	while (next_word(&p, &w, &len)) {
		uint32_t blocked = mdir_kwmap_taken(kw) | avoid;

		if (letters_of(kw, w, len) != 0)
			continue;
		for (i = 0; i < MDIR_KW_LETTERS; i++)
			if (!(blocked & (1u << i)))
				break;
		if (i == MDIR_KW_LETTERS) {
			next = xasprintf("%s %.*s", overflow, (int)len, w);
			free(overflow);
			overflow = next;
			continue;
		}
		kw->names[i] = xstrndup(w, len);
		kw->valid |= 1u << i;
		given++;
	}
	*overflow_r = mf_kw_normalize(overflow);
	free(overflow);
	return given;
}

char *
mdir_kwmap_format(const struct mdir_kwmap *kw)
{
	char *out = xstrdup(""), *next;
	size_t i;

	for (i = 0; i < MDIR_KW_LETTERS; i++) {
		if (kw->names[i] == NULL)
			continue;
		next = xasprintf("%s%zu %s\n", out, i, kw->names[i]);
		free(out);
		out = next;
	}
	if (kw->extra != NULL) {
		next = xasprintf("%s%s", out, kw->extra);
		free(out);
		out = next;
	}
	return out;
}

/* ---- Dovecot's lock ------------------------------------------------- */

/* Is the lock at dir_fd stale: old, or naming a dead process here? */
static bool
lock_is_stale(int dir_fd, const char *host)
{
	char buf[256], *colon;
	struct stat sb;
	ssize_t n;
	long pid;
	int fd;

	if (fstatat(dir_fd, UIDLIST_LOCK, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return false; /* gone: just try again */
	if (time(NULL) - sb.st_mtime > MDIR_KW_LOCK_STALE_SECS)
		return true;
	fd = openat(dir_fd, UIDLIST_LOCK, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	colon = strchr(buf, ':');
	if (colon == NULL || strcmp(colon + 1, host) != 0)
		return false; /* another host's process: cannot tell */
	*colon = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static int
lock_take(int dir_fd, const char *box, struct mf_err *err)
{
	char host[256] = "", content[320];
	int waited = 0, fd, n;

	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	n = snprintf(content, sizeof(content), "%ld:%s", (long)getpid(), host);
	for (;;) {
		fd = openat(dir_fd, UIDLIST_LOCK,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST)
			return mf_err_sys(err, MF_E_BOX, "%s: create %s", box,
					  UIDLIST_LOCK);
		if (lock_is_stale(dir_fd, host)) {
			mf_log(MF_LOG_NOTICE, MF_LOGC_MAILDIR,
			       "%s: removing "
			       "stale %s",
			       box, UIDLIST_LOCK);
			(void)unlinkat(dir_fd, UIDLIST_LOCK, 0);
			continue;
		}
		if (waited >= MDIR_KW_LOCK_WAIT_MS)
			return mf_err_set(err, MF_E_MSG,
					  "%s: %s is held by "
					  "another program; keywords not "
					  "written",
					  box, UIDLIST_LOCK);
		usleep(LOCK_POLL_MS * 1000);
		waited += LOCK_POLL_MS;
	}
	if (n > 0 && mf_write_all(fd, content, (size_t)n) < 0) {
		/* Dovecot leaves it empty then too: only the pid check
		 * is lost */
		(void)ftruncate(fd, 0);
	}
	close(fd);
	return 0;
}

static void
lock_drop(int dir_fd)
{
	(void)unlinkat(dir_fd, UIDLIST_LOCK, 0);
}

/* ---- writing -------------------------------------------------------- */

/* Step 3 of the protocol: kw to dovecot-keywords through its tmp name. */
static int
write_map(const struct mdir_kwmap *kw, int dir_fd, const char *box,
	  time_t old_mtime, bool no_fsync, struct mf_err *err)
{
	char *data = mdir_kwmap_format(kw);
	struct timespec ts[2];
	time_t now = time(NULL);
	int fd;

	/* our lock makes a leftover tmp file a dead writer's */
	(void)unlinkat(dir_fd, KW_TMP, 0);
	fd = openat(dir_fd, KW_TMP, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		free(data);
		return mf_err_sys(err, MF_E_BOX, "%s: create %s", box, KW_TMP);
	}
	if (mf_write_all(fd, data, strlen(data)) < 0) {
		mf_err_sys(err, MF_E_BOX, "%s: write %s", box, KW_TMP);
		goto fail;
	}
	/* Dovecot re-reads the file only when its mtime (seconds) moved */
	ts[0].tv_sec = ts[1].tv_sec = now > old_mtime ? now : old_mtime + 1;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (futimens(fd, ts) < 0) {
		mf_err_sys(err, MF_E_BOX, "%s: set mtime of %s", box, KW_TMP);
		goto fail;
	}
	if (!no_fsync && fsync(fd) < 0) {
		mf_err_sys(err, MF_E_BOX, "%s: fsync %s", box, KW_TMP);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		mf_err_sys(err, MF_E_BOX, "%s: close %s", box, KW_TMP);
		goto fail;
	}
	fd = -1;
	if (renameat(dir_fd, KW_TMP, dir_fd, MDIR_KW_FILE) < 0) {
		mf_err_sys(err, MF_E_BOX, "%s: rename %s", box, KW_TMP);
		goto fail;
	}
	if (!no_fsync && fsync(dir_fd) < 0 && errno != EINVAL) {
		free(data);
		return mf_err_sys(err, MF_E_BOX, "%s: fsync folder", box);
	}
	free(data);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	(void)unlinkat(dir_fd, KW_TMP, 0);
	free(data);
	return -1;
}

int
mdir_kwmap_ensure(struct mdir_kwmap *kw, int dir_fd, const char *box,
		  const char *keywords, uint32_t avoid, bool no_fsync,
		  char **overflow_r, struct mf_err *err)
{
	struct mdir_kwmap disk = { 0 };
	char *overflow = NULL;
	size_t missing = 0;
	int ret = -1;

	*overflow_r = NULL;
	mdir_kwmap_letters(kw, keywords, &missing);
	if (missing == 0) {
		*overflow_r = xstrdup("");
		return 0;
	}
	if (lock_take(dir_fd, box, err) < 0)
		return -1;
	/* step 2: what is on disk now is what we add to */
	if (mdir_kwmap_load(&disk, dir_fd, err) < 0) {
		mf_err_prefix(err, "%s", box);
		goto out;
	}
	if (mdir_kwmap_assign(&disk, keywords, avoid, &overflow) > 0 &&
	    write_map(&disk, dir_fd, box, disk.mtime, no_fsync, err) < 0)
		goto out;
	/* the merged map is the folder's map now */
	mdir_kwmap_clear(kw);
	*kw = disk;
	memset(&disk, 0, sizeof(disk));
	kw->present = true;
	*overflow_r = overflow;
	overflow = NULL;
	ret = 0;
out:
	lock_drop(dir_fd);
	mdir_kwmap_clear(&disk);
	free(overflow);
	return ret;
}
