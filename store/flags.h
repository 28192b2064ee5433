/*
 * Flags and keyword sets, shared by both stores and the planner.
 *
 * A keyword set is a normalized string: unique keywords sorted by strcmp and
 * separated by one space ("" is the empty set).  Normalized strings compare
 * with strcmp, store as one SQL column and print as they are.
 */
#ifndef MF_FLAGS_H
#define MF_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/compat.h"

/* Maildir letters in ASCII order for flags (buf >= 7). Returns buf. */
char *mf_flags_to_maildir(unsigned flags, char *buf);
/* Bit for a maildir info letter, 0 if it is not a system flag letter. */
unsigned mf_flag_from_maildir(char c);

/* IMAP name ("\\Seen", "$Forwarded") of one flag bit, or NULL. */
const char *mf_flag_imap_name(unsigned bit);
/* Bit for an IMAP flag name (case-insensitive), 0 if not a system flag. */
unsigned mf_flag_from_imap(const char *name, size_t len);

/*
 * "(\\Seen \\Flagged kw1 kw2)" without the parentheses into buf; returns
 * the length written or -1 if it did not fit.
 */
int mf_flags_to_imap_list(unsigned flags, const char *keywords, char *buf,
			  size_t size);

/* Is s[0..len) a valid IMAP keyword atom (no specials, not a \flag)? */
bool mf_keyword_valid(const char *s, size_t len);

/*
 * Keyword set operations.  All results are newly allocated normalized
 * strings, freed by the caller.  Inputs may be NULL (empty set).
 */
char *mf_kw_normalize(const char *words); /* any order, duplicates */
char *mf_kw_union(const char *a, const char *b);
char *mf_kw_minus(const char *a, const char *b); /* a \ b */
bool mf_kw_contains(const char *set, const char *word);
bool mf_kw_equal(const char *a, const char *b);

#endif
