/*
 * dovecot-keywords: the per-folder file that gives keyword names to the
 * letters a..z after ":2," in Maildir file names (Dovecot's format; see
 * /work/shared/rfc/maildir-dovecot.md).
 *
 * The file holds lines "<n> <name>", n = 0 for letter 'a' up to 25 for 'z'.
 * Like Dovecot's reader, a later line for the same n wins.  A name that is
 * not a valid IMAP keyword (a space, '(' ...) still owns its letter: we
 * never report it, never hand its letter out, and write it back as it was.
 * Lines we cannot parse at all (no number, n > 25) are kept verbatim at the
 * end of the file when we rewrite it; Dovecot ignores them.
 *
 * Writing is Dovecot's protocol, because Dovecot is the other program most
 * likely to write the same file:
 *   1. take dovecot-uidlist.lock (Dovecot's maildir lock, which it holds
 *      whenever it writes dovecot-keywords): created O_EXCL, holding
 *      "pid:host" so that Dovecot can tell a stale one from a live one;
 *   2. read dovecot-keywords again and merge: every entry found there keeps
 *      its letter, our new keywords take free letters;
 *   3. write the result to dovecot-keywords.lock (Dovecot's temporary
 *      name), give it an mtime later than the old file's (Dovecot only
 *      re-reads the file when its mtime changed, in whole seconds), fsync,
 *      rename() it over dovecot-keywords, fsync the folder;
 *   4. remove the lock.
 * A lock held by a live process for longer than MDIR_KW_LOCK_WAIT_MS fails
 * the write with MF_E_MSG (the change is retried by the next sync); a lock
 * older than MDIR_KW_LOCK_STALE_SECS, or naming a dead process on this
 * host, is stale and removed, as Dovecot does.
 *
 * Ownership: a struct mdir_kwmap owns its strings; mdir_kwmap_clear()
 * frees them.  Returned strings are the caller's.
 */
#ifndef MF_MDIR_KWMAP_H
#define MF_MDIR_KWMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

#define MDIR_KW_FILE "dovecot-keywords"
#define MDIR_KW_LETTERS 26
/* How long we wait for Dovecot's lock, and when a lock is stale. */
#define MDIR_KW_LOCK_WAIT_MS 5000
#define MDIR_KW_LOCK_STALE_SECS 120

struct mdir_kwmap {
	bool present; /* the folder has dovecot-keywords */
	/* letter 'a' + i -> its name as written in the file; NULL: free */
	char *names[MDIR_KW_LETTERS];
	uint32_t valid; /* bit i: names[i] is a valid keyword */
	char *extra;	/* unparsable lines, verbatim; NULL if none */
	time_t mtime;	/* of the file as loaded; 0 if none */
};

/* Parse the file's contents into kw (cleared first). */
void mdir_kwmap_parse(struct mdir_kwmap *kw, const char *data, size_t len);
/* Load dir_fd/dovecot-keywords (first 64 KiB); no file: empty map. */
int mdir_kwmap_load(struct mdir_kwmap *kw, int dir_fd, struct mf_err *err);
void mdir_kwmap_clear(struct mdir_kwmap *kw);
/* Bit mask of the letters the map names with a valid keyword. */
uint32_t mdir_kwmap_mask(const struct mdir_kwmap *kw);
/* Bit mask of the letters the map gives to anything (taken letters). */
uint32_t mdir_kwmap_taken(const struct mdir_kwmap *kw);
/*
 * Letters for a normalized keyword set (case-insensitive match, as Dovecot
 * matches); keywords without a letter are left out and counted in
 * *unmapped_r (may be NULL).
 */
uint32_t mdir_kwmap_letters(const struct mdir_kwmap *kw, const char *keywords,
			    size_t *unmapped_r);
/* Normalized keyword set for letters (unmapped letters ignored); free it. */
char *mdir_kwmap_names(const struct mdir_kwmap *kw, uint32_t letters);
/* Normalized set of every valid keyword the map names; free it. */
char *mdir_kwmap_all(const struct mdir_kwmap *kw);

/*
 * Give every keyword of the normalized set a letter that does not have
 * one yet: the lowest letter that is neither taken in kw nor in avoid
 * (letters that file names use although the map does not name them: they
 * mean something to whoever wrote them).  Keywords that find no letter are
 * returned in *overflow_r (normalized, "" for none; caller frees).
 * Returns the number of letters given.  Pure: no I/O.
 */
size_t mdir_kwmap_assign(struct mdir_kwmap *kw, const char *keywords,
			 uint32_t avoid, char **overflow_r);

/* The file's contents for kw, as Dovecot writes it ("%u %s\n" by letter,
 * then the kept unparsable lines).  Caller frees. */
char *mdir_kwmap_format(const struct mdir_kwmap *kw);

/*
 * Make sure every keyword in the set has a letter in the folder at dir_fd,
 * writing dovecot-keywords (the protocol at the top) when one does not.
 * kw is the caller's copy of the map: replaced by the merged file on a
 * write.  *overflow_r gets the keywords left without a letter (all 26 are
 * taken); caller frees.  Nothing to add: no I/O at all.  Errors: MF_E_MSG
 * for a busy lock, MF_E_BOX for a folder we cannot write.  box names the
 * folder in messages; no_fsync skips the two fsyncs.
 */
int mdir_kwmap_ensure(struct mdir_kwmap *kw, int dir_fd, const char *box,
		      const char *keywords, uint32_t avoid, bool no_fsync,
		      char **overflow_r, struct mf_err *err);

#endif
