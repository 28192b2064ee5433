/* See suggest.h. */
#include "suggest.h"

#include <string.h>

unsigned
mf_edit_distance(const char *a, const char *b, unsigned cap)
{
	/* three rows of the optimal string alignment matrix */
	unsigned rows[3][MF_SUGGEST_MAX_WORD + 1];
	unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *tmp;
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la > MF_SUGGEST_MAX_WORD || lb > MF_SUGGEST_MAX_WORD)
		return cap + 1;
	for (j = 0; j <= lb; j++)
		prev[j] = (unsigned)j;
	for (i = 1; i <= la; i++) {
		cur[0] = (unsigned)i;
		for (j = 1; j <= lb; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			unsigned v = prev[j - 1] + cost;

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		tmp = prev2;
		prev2 = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[lb] > cap ? cap + 1 : prev[lb];
}

const char *
mf_suggest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	unsigned best_d = 3, d;
	size_t i, len = strlen(word);

	if (names == NULL)
		return NULL;
	for (i = 0; i < n && names[i] != NULL; i++) {
		d = mf_edit_distance(word, names[i], 2);
		if (d < best_d && d < len) {
			best = names[i];
			best_d = d;
		}
	}
	return best;
}
