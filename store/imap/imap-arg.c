/*
 * Accessors for the tree that imap-parser.c builds: each returns false when
 * the arg is missing or of another type, so a NIL where a string was
 * expected is a handled error, not a crash.
 */
#include "imap-parser.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "base/str.h"

bool
imap_arg_is_atom(const struct imap_arg *a, const char *word)
{
	return a != NULL && a->type == IMAP_ARG_ATOM &&
	       strlen(word) == a->len && strncasecmp(a->str, word, a->len) == 0;
}

bool
imap_arg_get_atom(const struct imap_arg *a, const char **str_r)
{
	if (a == NULL || a->type != IMAP_ARG_ATOM)
		return false;
	*str_r = a->str;
	return true;
}

bool
imap_arg_get_astring(const struct imap_arg *a, const char **str_r,
		     size_t *len_r)
{
	if (a == NULL ||
	    (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_STRING &&
	     a->type != IMAP_ARG_LITERAL))
		return false;
	*str_r = a->str;
	if (len_r != NULL)
		*len_r = a->len;
	return true;
}

bool
imap_arg_get_nstring(const struct imap_arg *a, const char **str_r,
		     size_t *len_r)
{
	if (a != NULL && a->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		if (len_r != NULL)
			*len_r = 0;
		return true;
	}
	return imap_arg_get_astring(a, str_r, len_r);
}

bool
imap_arg_get_u64(const struct imap_arg *a, uint64_t *val_r)
{
	return a != NULL && a->type == IMAP_ARG_ATOM &&
	       mf_str_to_u64(a->str, a->len, val_r);
}

bool
imap_arg_get_u63(const struct imap_arg *a, uint64_t *val_r)
{
	uint64_t v;

	if (!imap_arg_get_u64(a, &v) || v > INT64_MAX)
		return false;
	*val_r = v;
	return true;
}

bool
imap_arg_get_u32(const struct imap_arg *a, uint32_t *val_r)
{
	return a != NULL && a->type == IMAP_ARG_ATOM &&
	       mf_str_to_u32(a->str, a->len, val_r);
}

bool
imap_arg_get_list(const struct imap_arg *a, const struct imap_arg **list_r,
		  size_t *count_r)
{
	if (a == NULL || a->type != IMAP_ARG_LIST)
		return false;
	*list_r = a->list;
	*count_r = a->count;
	return true;
}
