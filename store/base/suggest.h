/*
 * "Did you mean": the closest of some names to a word that matched none
 * (a mistyped key, channel or folder).  Moved here from cmd/config-yaml.c
 * when the folder planner (sync/boxes.c) came to need it too.
 */
#ifndef MF_SUGGEST_H
#define MF_SUGGEST_H

#include <stddef.h>

/* Optimal string alignment distance, capped at cap + 1; words longer than
 * MF_SUGGEST_MAX_WORD bytes are cap + 1 from everything. */
#define MF_SUGGEST_MAX_WORD 64
unsigned mf_edit_distance(const char *a, const char *b, unsigned cap);
/*
 * Of names[0..n) (n == (size_t)-1: up to a NULL entry), the first closest
 * within edit distance 2 that is no typo of a shorter word ("ab" is 2 from
 * "tls" but no typo of it), or NULL.
 */
const char *mf_suggest(const char *word, const char *const *names, size_t n);

#endif
