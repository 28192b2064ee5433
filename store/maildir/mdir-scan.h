/*
 * Reading a maildir folder: the message index (key -> current file name),
 * scan results, Dovecot's keyword letters, the change token, and the tmp/
 * cleaner.  Functions take directory file descriptors so that the store can
 * keep a folder open and never build paths for single messages.
 */
#ifndef MF_MDIR_SCAN_H
#define MF_MDIR_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "base/err.h"
#include "store.h"

struct mf_arena;

/* ---- dovecot-keywords ---------------------------------------------- */

/*
 * Dovecot's keyword letters: the folder file "dovecot-keywords" holds lines
 * "<n> <keyword>", n = 0 for letter 'a' up to 25 for 'z'.  Letters that the
 * file does not name (or names with something that is not a valid keyword)
 * are unknown: we never report them and always keep them in file names.
 */
struct mdir_kwmap {
	bool present;		/* the folder has dovecot-keywords */
	char *names[26];	/* letter 'a' + i -> keyword; NULL unmapped */
};

/* Parse the file's contents into kw (cleared first); bad lines skipped. */
void mdir_kwmap_parse(struct mdir_kwmap *kw, const char *data, size_t len);
/* Load dir_fd/dovecot-keywords (first 64 KiB); no file: empty map. */
int mdir_kwmap_load(struct mdir_kwmap *kw, int dir_fd, struct mf_err *err);
void mdir_kwmap_clear(struct mdir_kwmap *kw);
/* Bit mask of the letters the map names. */
uint32_t mdir_kwmap_mask(const struct mdir_kwmap *kw);
/*
 * Letters for a normalized keyword set (case-insensitive match); keywords
 * without a letter are left out and counted in *unmapped_r (may be NULL).
 */
uint32_t mdir_kwmap_letters(const struct mdir_kwmap *kw, const char *keywords,
			    size_t *unmapped_r);
/* Normalized keyword set for letters (unmapped letters ignored); free it. */
char *mdir_kwmap_names(const struct mdir_kwmap *kw, uint32_t letters);

/* ---- change token ---------------------------------------------------- */

/*
 * The dir_token of store.h: a hash of the inode and st_mtim (seconds and
 * nanoseconds) of cur/ and new/.  Renames, deliveries and unlinks all touch
 * one of the two directories' mtime.  But a file system stamps mtimes with a
 * clock tick, so a change in the same tick as the last one leaves the mtime
 * as it was: when either mtime is less than 2 seconds from now (or in the
 * future), the token is 0, "cannot tell, scan".
 */
uint64_t mdir_token_compute(const struct stat *cur, const struct stat *new_,
			    const struct timespec *now);
/* Token of the folder at dir_fd (stats cur/ and new/). */
int mdir_dir_token(int dir_fd, uint64_t *token_r, struct mf_err *err);

/* ---- tmp/ ----------------------------------------------------------- */

/* Files in tmp/ at least this old are dead deliveries (maildir(5)). */
#define MDIR_TMP_STALE_SECS (36 * 3600)

/* Unlink files in dir_fd/tmp/ whose mtime is MDIR_TMP_STALE_SECS older
 * than now; younger files (deliveries in progress) stay. */
int mdir_tmp_clean(int dir_fd, time_t now, unsigned *removed_r,
		   struct mf_err *err);

/* ---- the index ------------------------------------------------------ */

struct mdir_ent {
	const char *name;	/* current file name; NULL: removed */
	const char *key;	/* key bytes (maybe the start of name) */
	uint32_t key_len;
	bool in_new;
	unsigned flags;
	uint32_t kw_letters;
	bool has_w;
	uint64_t size_w;
	uint32_t uid;		/* ,U= */
	uint64_t placeholder_of;	/* ,PH= */
	bool has_fmd5;
	unsigned char fmd5[16];	/* ,FMD5= (mdir-adopt.h) */
};

/*
 * key -> file for one folder.  A scan rebuilds it (one arena for every
 * string, one qsort); renames, deliveries and removals by this store
 * update it in place; a lookup that misses or hits a file that another
 * reader renamed leads the caller to rescan.
 */
struct mdir_index {
	struct mf_arena *arena;
	struct mdir_ent *v;	/* sorted by key after a scan */
	size_t n, cap;
	uint32_t *slots;	/* open addressing, entry index + 1 */
	size_t nslots;
	bool valid;		/* holds a scan of the selected folder */
};

void mdir_index_init(struct mdir_index *idx);
void mdir_index_deinit(struct mdir_index *idx);
void mdir_index_clear(struct mdir_index *idx);

/*
 * Read new/ and cur/ of the folder at dir_fd into idx, replacing it.  Only
 * readdir: no stat or open per file (d_type; an fstatat only where the
 * file system reports DT_UNKNOWN).  Names starting with '.' are skipped.
 * Duplicate keys (a crash or another tool left the same message in new/
 * and cur/, or twice in cur/) are kept once, deterministically: the copy in
 * cur/ over the one in new/, then the smallest file name (strcmp); the
 * others stay on disk untouched and each is logged as a warning.  box
 * names the folder in messages.
 */
int mdir_index_scan(struct mdir_index *idx, int dir_fd, const char *box,
		    struct mf_err *err);

/* The live entry for key, or NULL.  Borrowed until idx changes. */
struct mdir_ent *mdir_index_find(struct mdir_index *idx, const char *key);
/* Add (or update) the entry of a file now called name. */
void mdir_index_put(struct mdir_index *idx, const char *name, bool in_new);
/* The file of e is now called name (in new/ or cur/). */
void mdir_index_rename(struct mdir_index *idx, struct mdir_ent *e,
		       const char *name, bool in_new);
/* The file of e is gone. */
void mdir_index_drop(struct mdir_index *idx, struct mdir_ent *e);

/* ---- scan results --------------------------------------------------- */

/*
 * Turn a fresh index (sorted, straight from mdir_index_scan) into a scan
 * result.  Files are opened only for what req->want asks and the names do
 * not tell: MF_WANT_SIZE without ",W=" reads the file and counts bare LFs,
 * MF_WANT_DATE (and req->since) stat it, MF_WANT_MSGID reads at most the
 * first MDIR_HEADER_MAX bytes and takes the Message-ID as store/header.h
 * reads it (the same reader as the IMAP side, so the two compare equal).
 * A file that vanished meanwhile keeps 0/NULL in those fields.
 */
#define MDIR_HEADER_MAX (256 * 1024)

int mdir_scan_result(const struct mdir_index *idx, int cur_fd, int new_fd,
		     const struct mdir_kwmap *kw, const struct mf_scan_req *req,
		     struct mf_scan_result **res_r, struct mf_err *err);

#endif
