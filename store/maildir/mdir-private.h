/*
 * Inside the Maildir store: the structures mdir-store.c, mdir-box.c and
 * mdir-deliver.c share.  Not for use outside store/maildir.
 */
#ifndef MF_MDIR_PRIVATE_H
#define MF_MDIR_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"
#include "mdir-index.h"
#include "mdir-result.h"
#include "mdir-scan.h"
#include "mdir-tmp.h"
#include "mdir-token.h"
#include "mdir-store.h"
#include "store.h"

/* Bytes moved per read() or write() by fetch and the delivery sink. */
#define MDIR_IO_CHUNK (64 * 1024)

/*
 * An open folder: its directory and cur/ new/ tmp/ as file descriptors, so
 * that message operations are single *at() calls on names.  Reference
 * counted: the selected folder holds one reference, and every delivery
 * holds one until flushed, so select_box() between deliver_begin() and
 * deliver_flush() does not pull a folder away from a delivery.
 */
struct mdir_box {
	unsigned refs;
	char *name; /* canonical */
	int dir_fd, cur_fd, new_fd, tmp_fd;
	dev_t dev;
	struct mdir_kwmap kw; /* dovecot-keywords as of open or scan */
	/* renamed into since the last directory fsync (flush, set_flags) */
	bool dirty_cur, dirty_new;
};

struct mdir_dsink;

struct mdir_store {
	struct mf_store base; /* first: mf_store * <-> mdir_store * */
	char *root;
	enum mdir_layout layout;
	bool no_fsync;
	char *trash; /* canonical name, or NULL: unlink */

	struct mdir_box *box; /* selected folder, or NULL */
	bool readonly;
	struct mdir_index idx; /* of box */

	/* deliveries begun since the last flush, in begin order */
	struct mdir_dsink **pending;
	size_t npending, pending_cap;
	char host[64]; /* escaped host name for unique names */
	/* when the store was opened: tmp/ files of our pid older than this
	 * are of an earlier process (mdir-tmp.h) */
	struct timespec started;
	bool tidy_tmp; /* cfg->tidy_tmp, cleared once done */
	/* keywords reported as left without a letter, per folder, so that
	 * each is reported once (mdir_box_kw_ensure) */
	char *kw_noted_box, *kw_noted;
	char *dbuf;	/* delivery: LF output, MDIR_IO_CHUNK + 1 */
	char *fbuf_in;	/* fetch: file bytes, MDIR_IO_CHUNK */
	char *fbuf_out; /* fetch: CRLF, 2 * MDIR_IO_CHUNK */
};

/* mdir-box.c */

/*
 * Open the folder box (must exist with cur/ new/ tmp/); MF_E_BOX if not,
 * with sys_errno ENOENT only when nothing at all is in its place (not a
 * symlink to nothing, not an empty directory: vanish.c relies on it).
 * The new box has one reference, freed with mdir_box_unref().
 */
int mdir_box_open(struct mdir_store *st, const char *box,
		  struct mdir_box **box_r, struct mf_err *err);
struct mdir_box *mdir_box_ref(struct mdir_box *box);
void mdir_box_unref(struct mdir_box **box);
/* fsync the directories marked dirty (unless no_fsync), clear the marks. */
int mdir_box_sync_dirs(struct mdir_store *st, struct mdir_box *box,
		       struct mf_err *err);

int mdir_list_boxes(struct mf_store *st, bool status,
		    struct mf_box_list **list_r, struct mf_err *err);
int mdir_create_box(struct mf_store *st, const char *box, struct mf_err *err);
int mdir_delete_box(struct mf_store *st, const char *box, struct mf_err *err);
/* mdir-rename.c */
int mdir_rename_box(struct mf_store *st, const char *from, const char *to,
		    struct mf_err *err);

/* mdir-store.c: the selected folder's entry for key, looking on disk
 * again (once per call chain, *rescanned) when the index misses or force
 * is set; *e_r NULL when there is no such message. */
int mdir_find_key(struct mdir_store *st, const char *key, bool force,
		  bool *rescanned, struct mdir_ent **e_r, struct mf_err *err);

/*
 * mdir-store.c: give every keyword of the normalized set a letter in box
 * (writing its dovecot-keywords, mdir-kwmap.h).  Letters in avoid, and
 * those the selected folder's file names use without a name, are not
 * handed out.  Keywords
 * left without a letter (all 26 taken) are logged once per folder as a
 * notice and otherwise ignored: the engine keeps them in its state.
 * Errors: MF_E_MSG (the caller fails only the messages that needed a new
 * letter; the next sync retries them).
 */
int mdir_box_kw_ensure(struct mdir_store *st, struct mdir_box *box,
		       const char *keywords, uint32_t avoid,
		       struct mf_err *err);

/*
 * mdir-store.c: the name the file of e (in the selected folder) takes in
 * folder dst.  Keyword letters mean what the folder's dovecot-keywords
 * says, so they are translated: each named keyword gets dst's letter for
 * the same name (a new one if dst has none, as mdir_box_kw_ensure); a
 * letter without a name is kept unless dst names it.  Everything else in
 * the name stays; a name without info gets ":2," only when it has
 * letters to carry (with_info: always, for the trash).  Errors: MF_E_MSG.
 */
int mdir_name_for_box(struct mdir_store *st, const struct mdir_ent *e,
		      struct mdir_box *dst, bool with_info, char *buf,
		      size_t size, struct mf_err *err);
/* The same with e's letters read by src's map instead of the selected
 * folder's (a file moved here by hand still carries its old folder's
 * letters: mdir-move.c relabel). */
int mdir_name_translate(struct mdir_store *st, const struct mdir_ent *e,
			const struct mdir_kwmap *src, struct mdir_box *dst,
			bool with_info, char *buf, size_t size,
			struct mf_err *err);

/* mdir-move.c */
int mdir_move(struct mf_store *st, struct mf_move_item *items, size_t n,
	      const char *dest, struct mf_err *err);
/* store.h relabel(): the letters of files moved in by hand, read with
 * from's dovecot-keywords (mdir-move.c has the rules) */
int mdir_relabel(struct mf_store *st, struct mf_relabel_item *items, size_t n,
		 const char *from, struct mf_err *err);

/* mdir-deliver.c */

int mdir_deliver_begin(struct mf_store *st, struct mf_delivery *d,
		       struct mf_err *err);
int mdir_deliver_flush(struct mf_store *st, struct mf_err *err);
void mdir_deliver_abort_all(struct mf_store *st);
/* Unlink every pending delivery's tmp file and forget it, without touching
 * the caller's struct mf_delivery (destroy: it may be gone by then). */
void mdir_deliver_discard_all(struct mdir_store *st);

/* Class for a failed write or create: a full or broken disk ends the store,
 * anything else (permissions, a vanished folder) the folder. */
enum mf_err_class mdir_errno_class(int e);

#endif
