/*
 * The message index of the selected maildir folder: key -> current file
 * name and what that name tells (flags, keyword letters, ",W=", ",U=",
 * ",PH=", ",FMD5=").  A scan (mdir-scan.h) fills it; the store's renames,
 * deliveries and removals keep it current without reading the directory.
 */
#ifndef MF_MDIR_INDEX_H
#define MF_MDIR_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mf_arena;

struct mdir_ent {
	const char *name; /* current file name; NULL: removed */
	const char *key;  /* key bytes (maybe the start of name) */
	uint32_t key_len;
	bool in_new;
	unsigned flags;
	uint32_t kw_letters;
	bool has_w;
	uint64_t size_w;
	uint32_t uid;		 /* ,U= */
	uint64_t placeholder_of; /* ,PH= */
	bool has_fmd5;
	unsigned char fmd5[16]; /* ,FMD5= (mdir-adopt.h) */
};

/*
 * key -> file for one folder.  A scan rebuilds it (one arena for every
 * string, one qsort); renames, deliveries and removals by this store
 * update it in place; a lookup that misses or hits a file that another
 * reader renamed leads the caller to rescan.
 */
struct mdir_index {
	struct mf_arena *arena;
	struct mdir_ent *v; /* sorted by key after a scan */
	size_t n, cap;
	uint32_t *slots; /* open addressing, entry index + 1 */
	size_t nslots;
	bool valid; /* holds a scan of the selected folder */
};

void mdir_index_init(struct mdir_index *idx);
void mdir_index_deinit(struct mdir_index *idx);
void mdir_index_clear(struct mdir_index *idx);

/* The live entry for key, or NULL.  Borrowed until idx changes. */
struct mdir_ent *mdir_index_find(struct mdir_index *idx, const char *key);
/* Add (or update) the entry of a file now called name. */
void mdir_index_put(struct mdir_index *idx, const char *name, bool in_new);
/* The file of e is now called name (in new/ or cur/). */
void mdir_index_rename(struct mdir_index *idx, struct mdir_ent *e,
		       const char *name, bool in_new);
/* The file of e is gone. */
void mdir_index_drop(struct mdir_index *idx, struct mdir_ent *e);

/* ---- for the scan (mdir-scan.c) ------------------------------------- */

/*
 * Append the entry of the file name (len bytes, in new/ or cur/) as a
 * directory pass found it: no lookup, no hash update, duplicates allowed
 * until mdir_index_finish().
 */
void mdir_index_add(struct mdir_index *idx, const char *name, size_t len,
		    bool in_new);
/*
 * After a scan's mdir_index_add() calls: sort by key, keep one entry per
 * key as mdir_index_scan() (mdir-scan.h) says, logging each one dropped
 * with box naming the folder, build the hash table and mark idx valid.
 */
void mdir_index_finish(struct mdir_index *idx, const char *box);

#endif
