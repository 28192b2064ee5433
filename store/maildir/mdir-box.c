/*
 * Maildir folders: open, list, create, delete.
 *
 * Listing decisions:
 * - A folder is a directory with cur/, new/ and tmp/.  fs layout: the walk
 *   goes down every directory (a non-maildir "Archive/" may hold maildirs),
 *   skips names starting with '.' and the cur/ new/ tmp/ of each level, and
 *   follows symbolic links to directories, refusing to enter a directory
 *   that is already on the current path (a link loop).  maildir++: the root
 *   is INBOX, every ".Name" directory that is a maildir is a folder.
 * - A directory whose name does not map back to itself (mdir-path.h) is not
 *   offered: a warning if it is a maildir, silence if not.
 * - A parent that is not a maildir itself but has folders below it (fs:
 *   "Archive/" holding "Archive/2023/"; maildir++: ".Archive.2023" without
 *   ".Archive") is reported with MF_BOX_NOSELECT, as an IMAP server reports
 *   such parents.  Directories with no folder anywhere below are not
 *   mailboxes and are left out.
 * - With status=true only dir_token is filled (two stats per folder);
 *   counting messages would cost a readdir per folder, so has_status stays
 *   false.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mdir-path.h"
#include "mdir-private.h"

#define WALK_DEPTH_MAX 64

/* ---- open folders ---------------------------------------------------- */

static char *
box_path(const struct mdir_store *st, const char *rel)
{
	return rel[0] != '\0' ? mf_path_join(st->root, rel) : xstrdup(st->root);
}

/* Is a directory between root and path (both excluded) a symlink to
 * nothing? */
static bool
dangling_above(const char *root, const char *path)
{
	char *p = xstrdup(path), *slash;
	size_t rlen = strlen(root);
	bool found = false;

	while (!found && (slash = strrchr(p, '/')) != NULL &&
	       (size_t)(slash - p) > rlen) {
		struct stat sb;

		*slash = '\0';
		found = stat(p, &sb) < 0 && lstat(p, &sb) == 0;
	}
	free(p);
	return found;
}

/*
 * Why a folder's directory did not open.  Only a name that is not there at
 * all is "does not exist", with sys_errno ENOENT (mdir-private.h): a
 * symlink to nothing (a disk that is not mounted), also one above the
 * folder, or a file in its place is a folder that is there but unreadable,
 * never a deleted one.
 */
static int
open_failed(const char *root, const char *name, const char *path,
	    struct mf_err *err)
{
	struct stat sb;

	if (errno != ENOENT && errno != ENOTDIR)
		return mf_err_sys(err, MF_E_BOX, "open mailbox %s", name);
	if (lstat(path, &sb) == 0)
		return mf_err_set(err, MF_E_BOX, "mailbox %s: %s is %s", name,
				  path,
				  S_ISLNK(sb.st_mode) ?
					  "a symlink to nothing (a disk "
					  "that is not mounted?)" :
					  "not a directory");
	if (errno != ENOENT)
		return mf_err_sys(err, MF_E_BOX, "open mailbox %s", name);
	if (dangling_above(root, path))
		return mf_err_set(err, MF_E_BOX,
				  "mailbox %s: a folder above it is a symlink "
				  "to nothing (a disk that is not mounted?)",
				  name);
	mf_err_set(err, MF_E_BOX, "mailbox %s does not exist", name);
	if (err != NULL)
		err->sys_errno = ENOENT;
	return -1;
}

int
mdir_box_open(struct mdir_store *st, const char *name, struct mdir_box **box_r,
	      struct mf_err *err)
{
	struct mdir_box *box;
	struct stat sb;
	char *rel, *path;
	int fd;

	if (mdir_path_from_box(st->layout, name, strlen(st->root), &rel, err) <
	    0)
		return -1;
	path = box_path(st, rel);
	free(rel);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int ret = open_failed(st->root, name, path, err);

		free(path);
		return ret;
	}
	free(path);
	box = xcalloc(1, sizeof(*box));
	box->refs = 1;
	box->name = xstrdup(name);
	box->dir_fd = fd;
	box->cur_fd = openat(fd, "cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	box->new_fd = openat(fd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	box->tmp_fd = openat(fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (box->cur_fd < 0 || box->new_fd < 0 || box->tmp_fd < 0) {
		mf_err_set(err, MF_E_BOX,
			   "mailbox %s is not a maildir "
			   "(no cur/, new/ or tmp/)",
			   name);
		mdir_box_unref(&box);
		return -1;
	}
	if (fstat(fd, &sb) == 0)
		box->dev = sb.st_dev;
	if (mdir_kwmap_load(&box->kw, fd, err) < 0) {
		mf_err_prefix(err, "%s", name);
		mdir_box_unref(&box);
		return -1;
	}
	*box_r = box;
	return 0;
}

struct mdir_box *
mdir_box_ref(struct mdir_box *box)
{
	box->refs++;
	return box;
}

void
mdir_box_unref(struct mdir_box **boxp)
{
	struct mdir_box *box = *boxp;

	if (box == NULL)
		return;
	*boxp = NULL;
	if (--box->refs > 0)
		return;
	if (box->cur_fd >= 0)
		close(box->cur_fd);
	if (box->new_fd >= 0)
		close(box->new_fd);
	if (box->tmp_fd >= 0)
		close(box->tmp_fd);
	close(box->dir_fd);
	mdir_kwmap_clear(&box->kw);
	free(box->name);
	free(box);
}

static int
fsync_fd(int fd, const char *box, const char *what, struct mf_err *err)
{
	if (fsync(fd) < 0 && errno != EINVAL)
		return mf_err_sys(err, MF_E_STORE, "%s: fsync %s", box, what);
	return 0;
}

int
mdir_box_sync_dirs(struct mdir_store *st, struct mdir_box *box,
		   struct mf_err *err)
{
	bool cur = box->dirty_cur, new_ = box->dirty_new;

	box->dirty_cur = box->dirty_new = false;
	if (st->no_fsync)
		return 0;
	if (cur && fsync_fd(box->cur_fd, box->name, "cur", err) < 0)
		return -1;
	if (new_ && fsync_fd(box->new_fd, box->name, "new", err) < 0)
		return -1;
	return 0;
}

/* ---- list ----------------------------------------------------------- */

struct found {
	char *name;
	bool selectable;
	uint64_t token;
};

struct list_ctx {
	struct mdir_store *st;
	bool status;
	struct found *v;
	size_t n, cap;
	/* fs walk: the directories on the current path, for loops */
	dev_t devs[WALK_DEPTH_MAX + 2];
	ino_t inos[WALK_DEPTH_MAX + 2];
	size_t depth;
};

static void
found_add(struct list_ctx *lc, char *name, bool selectable, uint64_t token)
{
	if (lc->n == lc->cap) {
		lc->cap = lc->cap ? lc->cap * 2 : 32;
		lc->v = xreallocarray(lc->v, lc->cap, sizeof(*lc->v));
	}
	lc->v[lc->n].name = name;
	lc->v[lc->n].selectable = selectable;
	lc->v[lc->n].token = token;
	lc->n++;
}

static bool
is_subdir(int fd, const char *name)
{
	struct stat sb;

	return fstatat(fd, name, &sb, 0) == 0 && S_ISDIR(sb.st_mode);
}

static bool
is_maildir(int fd)
{
	return is_subdir(fd, "cur") && is_subdir(fd, "new") &&
	       is_subdir(fd, "tmp");
}

static bool
is_reserved(const char *name)
{
	return strcmp(name, "cur") == 0 || strcmp(name, "new") == 0 ||
	       strcmp(name, "tmp") == 0;
}

static uint64_t
token_of(struct list_ctx *lc, int fd)
{
	uint64_t token = 0;

	if (lc->status && mdir_dir_token(fd, &token, NULL) < 0)
		token = 0;
	return token;
}

static void
warn_skipped(const struct mf_err *why)
{
	mf_log(MF_LOG_WARN, MF_LOGC_MAILDIR, "skipping folder: %s", why->msg);
}

/* A child directory of dir_fd as an open fd, or -1 if not a directory. */
static int
open_child(int dir_fd, const struct dirent *de)
{
	if (de->d_type != DT_DIR && de->d_type != DT_LNK &&
	    de->d_type != DT_UNKNOWN)
		return -1;
	return openat(dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static bool
on_path(const struct list_ctx *lc, const struct stat *sb)
{
	size_t i;

	for (i = 0; i < lc->depth; i++)
		if (lc->devs[i] == sb->st_dev && lc->inos[i] == sb->st_ino)
			return true;
	return false;
}

static void
walk_fs(struct list_ctx *lc, int dir_fd, const char *rel)
{
	struct dirent *de;
	int fd = dup(dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct mf_err err = { 0 };
		struct stat sb;
		char *child, *box;
		bool maildir;
		int cfd;

		if (de->d_name[0] == '.' || is_reserved(de->d_name))
			continue;
		cfd = open_child(dir_fd, de);
		if (cfd < 0)
			continue;
		if (fstat(cfd, &sb) < 0 || on_path(lc, &sb)) {
			close(cfd);
			continue;
		}
		child = rel[0] != '\0' ? xasprintf("%s/%s", rel, de->d_name) :
					 xstrdup(de->d_name);
		maildir = is_maildir(cfd);
		if (mdir_path_to_box(MDIR_LAYOUT_FS, child, &box, &err) < 0) {
			if (maildir)
				warn_skipped(&err);
		} else {
			if (maildir)
				found_add(lc, xstrdup(box), true,
					  token_of(lc, cfd));
			free(box);
			if (lc->depth < WALK_DEPTH_MAX) {
				lc->devs[lc->depth] = sb.st_dev;
				lc->inos[lc->depth] = sb.st_ino;
				lc->depth++;
				walk_fs(lc, cfd, child);
				lc->depth--;
			}
		}
		free(child);
		close(cfd);
	}
	closedir(d);
}

static void
list_maildirpp(struct list_ctx *lc, int root_fd)
{
	struct dirent *de;
	int fd = dup(root_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (is_maildir(root_fd))
		found_add(lc, xstrdup("INBOX"), true, token_of(lc, root_fd));
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct mf_err err = { 0 };
		char *box;
		int cfd;

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		cfd = open_child(root_fd, de);
		if (cfd < 0)
			continue;
		if (!is_maildir(cfd)) {
			close(cfd);
			continue;
		}
		if (mdir_path_to_box(MDIR_LAYOUT_MAILDIRPP, de->d_name, &box,
				     &err) < 0)
			warn_skipped(&err);
		else
			found_add(lc, box, true, token_of(lc, cfd));
		close(cfd);
	}
	closedir(d);
}

static int
found_cmp(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->name,
		      ((const struct found *)b)->name);
}

static struct found *
found_find(struct list_ctx *lc, const char *name)
{
	struct found key = { .name = (char *)name };

	return mf_bsearch(&key, lc->v, lc->n, sizeof(*lc->v), found_cmp);
}

/* Add every missing ancestor of a folder as a non-selectable parent. */
static void
add_parents(struct list_ctx *lc)
{
	size_t n = lc->n, i, o;

	mf_qsort(lc->v, lc->n, sizeof(*lc->v), found_cmp);
	for (i = 0; i < n; i++) {
		char *name = lc->v[i].name, *slash;

		for (slash = strchr(name, '/'); slash != NULL;
		     slash = strchr(slash + 1, '/'))
			found_add(lc, xstrndup(name, (size_t)(slash - name)),
				  false, 0);
	}
	mf_qsort(lc->v, lc->n, sizeof(*lc->v), found_cmp);
	/* keep one of each name, the selectable one if there is one */
	for (i = 0, o = 0; i < lc->n; i++) {
		if (o > 0 && strcmp(lc->v[o - 1].name, lc->v[i].name) == 0) {
			if (lc->v[i].selectable) {
				free(lc->v[o - 1].name);
				lc->v[o - 1] = lc->v[i];
			} else {
				free(lc->v[i].name);
			}
			continue;
		}
		lc->v[o++] = lc->v[i];
	}
	lc->n = o;
}

/* Once per store: clean the tmp/ of every listed folder (mdir-store.h). */
static void
tidy_tmp(struct mdir_store *st, const struct mf_box_list *list)
{
	size_t i;

	st->tidy_tmp = false;
	for (i = 0; i < list->n; i++) {
		struct mdir_box *box = NULL;
		struct mf_err e = { 0 };
		unsigned n = 0;

		if (list->v[i].attrs & MF_BOX_NOSELECT)
			continue;
		if (mdir_box_open(st, list->v[i].name, &box, &e) < 0 ||
		    mdir_tmp_clean(box->dir_fd, st->host, time(NULL),
				   &st->started, &n, &e) < 0)
			mf_log(MF_LOG_WARN, MF_LOGC_MAILDIR, "%s: %s",
			       list->v[i].name, e.msg);
		mdir_box_unref(&box);
	}
}

int
mdir_list_boxes(struct mf_store *mst, bool status, struct mf_box_list **list_r,
		struct mf_err *err)
{
	struct mdir_store *st = (struct mdir_store *)mst;
	struct list_ctx lc = { .st = st, .status = status };
	struct mf_box_list *list;
	struct stat sb;
	size_t i;
	int root_fd;

	root_fd = open(st->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return mf_err_sys(err, MF_E_STORE, "open %s", st->root);
	if (st->layout == MDIR_LAYOUT_FS) {
		if (fstat(root_fd, &sb) == 0) {
			lc.devs[0] = sb.st_dev;
			lc.inos[0] = sb.st_ino;
			lc.depth = 1;
		}
		walk_fs(&lc, root_fd, "");
	} else {
		list_maildirpp(&lc, root_fd);
	}
	close(root_fd);
	add_parents(&lc);

	list = xcalloc(1, sizeof(*list));
	list->v = xcalloc(lc.n > 0 ? lc.n : 1, sizeof(*list->v));
	list->n = lc.n;
	for (i = 0; i < lc.n; i++) {
		struct mf_box_info *bi = &list->v[i];
		char *parent = xstrdup(lc.v[i].name), *slash;
		struct found *p;

		bi->name = lc.v[i].name;
		bi->attrs = lc.v[i].selectable ? 0 : MF_BOX_NOSELECT;
		bi->status.dir_token = lc.v[i].token;
		if (strcmp(bi->name, "INBOX") == 0)
			bi->role = MF_ROLE_INBOX;
		else if (st->trash != NULL && strcmp(bi->name, st->trash) == 0)
			bi->role = MF_ROLE_TRASH;
		slash = strrchr(parent, '/');
		if (slash != NULL) {
			*slash = '\0';
			p = found_find(&lc, parent);
			if (p != NULL) /* always, after add_parents */
				list->v[p - lc.v].attrs |= MF_BOX_HASCHILDREN;
		}
		free(parent);
	}
	for (i = 0; i < list->n; i++)
		if (!(list->v[i].attrs & MF_BOX_HASCHILDREN))
			list->v[i].attrs |= MF_BOX_HASNOCHILDREN;
	free(lc.v);
	if (st->tidy_tmp)
		tidy_tmp(st, list);
	*list_r = list;
	return 0;
}

/* ---- create and delete ---------------------------------------------- */

static int
mkdir_at(int fd, const char *name, const char *box, struct mf_err *err)
{
	if (mkdirat(fd, name, 0700) < 0 && errno != EEXIST)
		return mf_err_sys(err, MF_E_BOX, "%s: mkdir %s", box, name);
	return 0;
}

/* fsync the directory holding path (the parent of a new folder). */
static int
sync_parent(const char *path, struct mf_err *err)
{
	char *parent = xstrdup(path), *slash = strrchr(parent, '/');
	int ret = 0;

	if (slash == parent)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	if (slash != NULL)
		ret = mf_fsync_dir(parent, err);
	free(parent);
	return ret;
}

int
mdir_create_box(struct mf_store *mst, const char *name, struct mf_err *err)
{
	struct mdir_store *st = (struct mdir_store *)mst;
	char *rel, *path;
	int fd = -1, ret = -1;

	if (mdir_path_from_box(st->layout, name, strlen(st->root), &rel, err) <
	    0)
		return -1;
	path = box_path(st, rel);
	if (st->layout == MDIR_LAYOUT_FS) {
		/* parents too, each 0700; existing ones are fine */
		if (mf_mkdir_p(path, 0700, err) < 0) {
			if (err != NULL)
				err->cls = MF_E_BOX;
			goto out;
		}
	} else if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		mf_err_sys(err, MF_E_BOX, "%s: mkdir %s", name, path);
		goto out;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		mf_err_sys(err, MF_E_BOX, "%s: open %s", name, path);
		goto out;
	}
	/* tmp/ first, cur/ last: a half-made folder is not a maildir yet */
	if (mkdir_at(fd, "tmp", name, err) < 0 ||
	    mkdir_at(fd, "new", name, err) < 0 ||
	    mkdir_at(fd, "cur", name, err) < 0)
		goto out;
	if (st->layout == MDIR_LAYOUT_MAILDIRPP && rel[0] != '\0') {
		/* Courier's marker: deliver here as into a folder */
		int mf = openat(fd, "maildirfolder",
				O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (mf < 0) {
			mf_err_sys(err, MF_E_BOX, "%s: create maildirfolder",
				   name);
			goto out;
		}
		close(mf);
	}
	if (!st->no_fsync && (fsync_fd(fd, name, "folder", err) < 0 ||
			      sync_parent(path, err) < 0))
		goto out;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(rel);
	free(path);
	return ret;
}

/* Count directory entries not starting with '.' (-1: cannot read). */
static long
count_entries(int dir_fd, const char *sub)
{
	int fd = openat(dir_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	long n = 0;
	DIR *d;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Files other programs keep in a folder, removed with it. */
static bool
is_control_file(const char *name)
{
	return strcmp(name, "maildirfolder") == 0 ||
	       mf_str_has_prefix(name, "dovecot") ||
	       mf_str_has_prefix(name, "courierimap");
}

static void
remove_control_files(int dir_fd)
{
	int fd = dup(dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat sb;

		if (!is_control_file(de->d_name) ||
		    fstatat(dir_fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		unlinkat(dir_fd, de->d_name, 0);
	}
	closedir(d);
}

int
mdir_delete_box(struct mf_store *mst, const char *name, struct mf_err *err)
{
	struct mdir_store *st = (struct mdir_store *)mst;
	struct mdir_box *box = NULL;
	unsigned stale;
	long cur, new_, tmp;
	char *rel = NULL, *path = NULL;
	int ret = -1;

	if (mdir_box_is_inbox(name))
		return mf_err_set(err, MF_E_BOX, "cannot delete INBOX");
	if (mdir_box_open(st, name, &box, err) < 0)
		return -1;
	cur = count_entries(box->dir_fd, "cur");
	new_ = count_entries(box->dir_fd, "new");
	if (cur < 0 || new_ < 0) {
		mf_err_sys(err, MF_E_BOX, "%s: read cur/ or new/", name);
		goto out;
	}
	if (cur + new_ > 0) {
		mf_err_set(err, MF_E_BOX,
			   "cannot delete mailbox %s: it holds "
			   "%ld messages",
			   name, cur + new_);
		goto out;
	}
	if (mdir_tmp_clean(box->dir_fd, st->host, time(NULL), &st->started,
			   &stale, err) < 0)
		goto out;
	tmp = count_entries(box->dir_fd, "tmp");
	if (tmp != 0) {
		mf_err_set(err, MF_E_BOX,
			   "cannot delete mailbox %s: a "
			   "delivery is in progress in tmp/",
			   name);
		goto out;
	}
	if (st->box != NULL && strcmp(st->box->name, box->name) == 0) {
		mdir_box_unref(&st->box);
		mdir_index_clear(&st->idx);
	}
	remove_control_files(box->dir_fd);
	/* new/ first: a delivery racing with us fails instead of landing in
	 * a folder that is half gone */
	if (unlinkat(box->dir_fd, "new", AT_REMOVEDIR) < 0 ||
	    unlinkat(box->dir_fd, "cur", AT_REMOVEDIR) < 0 ||
	    unlinkat(box->dir_fd, "tmp", AT_REMOVEDIR) < 0) {
		mf_err_sys(err, MF_E_BOX, "cannot delete mailbox %s", name);
		goto out;
	}
	if (mdir_path_from_box(st->layout, name, strlen(st->root), &rel, err) <
	    0)
		goto out;
	path = box_path(st, rel);
	/* fs: a folder with subfolders stays as their (NOSELECT) parent */
	if (rmdir(path) < 0 && !(st->layout == MDIR_LAYOUT_FS &&
				 (errno == ENOTEMPTY || errno == EEXIST))) {
		mf_err_sys(err, MF_E_BOX, "cannot delete mailbox %s", name);
		goto out;
	}
	if (!st->no_fsync && sync_parent(path, err) < 0)
		goto out;
	ret = 0;
out:
	mdir_box_unref(&box);
	free(rel);
	free(path);
	return ret;
}
