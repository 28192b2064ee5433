#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"

static const char *const role_names[] = {
	[MF_ROLE_NONE] = "",	       [MF_ROLE_INBOX] = "inbox",
	[MF_ROLE_SENT] = "sent",       [MF_ROLE_DRAFTS] = "drafts",
	[MF_ROLE_TRASH] = "trash",     [MF_ROLE_JUNK] = "junk",
	[MF_ROLE_ARCHIVE] = "archive", [MF_ROLE_ALL] = "all",
	[MF_ROLE_FLAGGED] = "flagged", [MF_ROLE_IMPORTANT] = "important",
};

const char *
mf_role_name(enum mf_role role)
{
	if ((size_t)role >= MF_N_ELEMENTS(role_names))
		return "";
	return role_names[role];
}

enum mf_role
mf_role_from_name(const char *name)
{
	size_t i;

	if (name[0] == '\\') /* accept the IMAP attribute spelling */
		name++;
	for (i = 1; i < MF_N_ELEMENTS(role_names); i++)
		if (strcasecmp(role_names[i], name) == 0)
			return (enum mf_role)i;
	return MF_ROLE_NONE;
}

void
mf_box_list_free(struct mf_box_list **listp)
{
	struct mf_box_list *list = *listp;
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->n; i++)
		free(list->v[i].name);
	free(list->v);
	free(list);
	*listp = NULL;
}

void
mf_scan_result_free(struct mf_scan_result **resp)
{
	struct mf_scan_result *res = *resp;

	if (res == NULL)
		return;
	free(res->msgs);
	free(res->vanished);
	mf_arena_destroy(&res->arena);
	free(res);
	*resp = NULL;
}

void
mf_store_destroy(struct mf_store **stp)
{
	struct mf_store *st = *stp;

	if (st == NULL)
		return;
	st->ops->destroy(st);
	*stp = NULL;
}

bool
mf_store_wire_bytes(struct mf_store *st, uint64_t *read_r, uint64_t *written_r)
{
	*read_r = *written_r = 0;
	if (st == NULL || st->ops->wire_bytes == NULL)
		return false;
	st->ops->wire_bytes(st, read_r, written_r);
	return true;
}

long
mf_msgs_find_uid(const struct mf_msg *v, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].uid == uid)
			return (long)mid;
		if (v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

long
mf_msgs_find_key(const struct mf_msg *v, size_t n, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid].key, key);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
