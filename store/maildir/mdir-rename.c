/*
 * rename_box: a folder renamed with its children, by rename(2) of its
 * directory, so a folder renamed on the server is not downloaded again
 * (sync/rename.c decides when).
 *
 * fs layout: one rename of the directory carries the children, which
 * are its subdirectories, and the parents the new name needs are made
 * first as plain directories (as mkdir -p; the listing shows them as
 * \Noselect parents).  maildir++: every folder is a directory of the
 * root (".A", ".A.x"), so the folder is renamed first and then its
 * children one by one: a stop part way leaves the rest of the children
 * under the old name, each a folder of its own (under a \Noselect parent)
 * that the engine sees as a rename of its own on its next run.
 *
 * Never over an existing folder: RENAME_NOREPLACE where the kernel has
 * it, else a check just before (another program creating the name in
 * between is the one race left; rename(2) would then fail with ENOTEMPTY
 * on a non-empty maildir, or replace an empty directory).  Both parent
 * directories are fsynced before returning, so a rename the engine
 * records has reached the disk.
 */
#include "mdir-path.h"
#include "mdir-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xalloc.h"

static int
rename_dir_noreplace(const char *from, const char *to)
{
	struct stat sb;

#ifdef RENAME_NOREPLACE
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	if (lstat(to, &sb) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

/* The directory holding path; freed by the caller. */
static char *
parent_of(const char *path)
{
	char *p = xstrdup(path), *slash = strrchr(p, '/');

	if (slash == p)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	return p;
}

static int
fsync_parents(const struct mdir_store *st, const char *a, const char *b,
	      struct mf_err *err)
{
	char *pa = parent_of(a), *pb = parent_of(b);
	int ret = 0;

	if (!st->no_fsync) {
		ret = mf_fsync_dir(pa, err);
		if (ret == 0 && strcmp(pa, pb) != 0)
			ret = mf_fsync_dir(pb, err);
	}
	free(pa);
	free(pb);
	return ret;
}

static int
rename_fs(struct mdir_store *st, const char *from, const char *path_from,
	  const char *path_to, struct mf_err *err)
{
	char *parent = parent_of(path_to);
	struct stat sb;
	int r;

	if (lstat(path_from, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		free(parent);
		return mf_err_sys(err, MF_E_BOX, "%s: no folder to rename",
				  from);
	}
	r = mf_mkdir_p(parent, 0700, err);
	free(parent);
	if (r < 0) {
		if (err != NULL)
			err->cls = MF_E_BOX;
		return -1;
	}
	if (rename_dir_noreplace(path_from, path_to) < 0)
		return mf_err_sys(err, MF_E_BOX, "%s: rename", from);
	return fsync_parents(st, path_from, path_to, err);
}

/* The root's entries that are children of rel (".A." prefix), sorted. */
static int
pp_children(const char *root, const char *rel, char ***names_r, size_t *n_r)
{
	size_t len = strlen(rel), n = 0, cap = 0;
	char **names = NULL;
	struct dirent *de;
	DIR *d = opendir(root);

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, rel, len) != 0 ||
		    de->d_name[len] != '.' || de->d_name[len + 1] == '\0')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	*names_r = names;
	*n_r = n;
	return 0;
}

static void
free_names(char **names, size_t n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}

static int
rename_pp_one(struct mdir_store *st, const char *from, const char *a,
	      const char *b, struct mf_err *err)
{
	char *pa = mf_path_join(st->root, a), *pb = mf_path_join(st->root, b);
	int r = 0;

	if (rename_dir_noreplace(pa, pb) < 0)
		r = mf_err_sys(err, MF_E_BOX, "%s: rename %s to %s", from, a,
			       b);
	free(pa);
	free(pb);
	return r;
}

static int
rename_pp(struct mdir_store *st, const char *from, const char *rel_from,
	  const char *rel_to, struct mf_err *err)
{
	size_t lf = strlen(rel_from), i, n = 0;
	char **kids = NULL;
	int ret = -1;

	if (pp_children(st->root, rel_from, &kids, &n) < 0)
		return mf_err_sys(err, MF_E_BOX, "%s: read %s", from, st->root);
	/* none of the new names may be taken, before anything moves */
	for (i = 0; i <= n; i++) {
		const char *tail = i < n ? kids[i] + lf : "";
		char *to = xasprintf("%s%s", rel_to, tail), *path;
		struct stat sb;

		path = mf_path_join(st->root, to);
		free(to);
		if (lstat(path, &sb) == 0) {
			mf_err_set(err, MF_E_BOX,
				   "%s: cannot rename: %s exists", from, path);
			free(path);
			goto out;
		}
		free(path);
	}
	/* the folder first: children left behind by a stop are folders
	 * of their own under the old parent's name, each a rename the next
	 * run finds; children first would leave the new name a \Noselect
	 * parent of theirs, which the folder could not be renamed onto */
	if (rename_pp_one(st, from, rel_from, rel_to, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		char *to = xasprintf("%s%s", rel_to, kids[i] + lf);

		if (rename_pp_one(st, from, kids[i], to, err) < 0) {
			free(to);
			goto out;
		}
		free(to);
	}
	ret = st->no_fsync ? 0 : mf_fsync_dir(st->root, err);
out:
	free_names(kids, n);
	return ret;
}

int
mdir_rename_box(struct mf_store *mst, const char *from, const char *to,
		struct mf_err *err)
{
	struct mdir_store *st = (struct mdir_store *)mst;
	char *rel_from = NULL, *rel_to = NULL, *path_from, *path_to;
	int ret = -1;

	if (mdir_box_is_inbox(from) || mdir_box_is_inbox(to))
		return mf_err_set(err, MF_E_BOX, "%s: INBOX is not renamed",
				  from);
	if (mdir_path_from_box(st->layout, from, strlen(st->root), &rel_from,
			       err) < 0 ||
	    mdir_path_from_box(st->layout, to, strlen(st->root), &rel_to, err) <
		    0) {
		free(rel_from);
		return -1;
	}
	path_from = mf_path_join(st->root, rel_from);
	path_to = mf_path_join(st->root, rel_to);
	/* the selected folder's fds would follow the directory; a name
	 * that no longer is the folder's is worse than none */
	if (st->box != NULL) {
		mdir_box_unref(&st->box);
		mdir_index_clear(&st->idx);
	}
	if (st->layout == MDIR_LAYOUT_FS)
		ret = rename_fs(st, from, path_from, path_to, err);
	else
		ret = rename_pp(st, from, rel_from, rel_to, err);
	free(path_from);
	free(path_to);
	free(rel_from);
	free(rel_to);
	return ret;
}
