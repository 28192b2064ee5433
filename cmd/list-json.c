/*
 * mailferry list --json (cmd-json.h).
 */
#include <stdio.h>

#include "cmd-json.h"
#include "json.h"
#include "store.h"

void
list_json(const char *store, const struct mf_box_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++) {
		const struct mf_box_info *b = &list->v[i];
		const char *role = mf_role_name(b->role);
		bool noselect = (b->attrs & MF_BOX_NOSELECT) != 0;
		bool counted = !noselect && b->status.has_status;
		struct json j;

		json_begin(&j, stdout);
		json_obj_open(&j);
		json_kv_str(&j, "type", "folder");
		json_kv_str(&j, "store", store);
		json_kv_str(&j, "name", b->name);
		json_kv_bool(&j, "selectable", !noselect);
		/* null: not known (no STATUS, or no messages in it) */
		json_key(&j, "messages");
		if (counted)
			json_uint(&j, b->status.messages);
		else
			json_null(&j);
		json_key(&j, "unseen");
		if (counted)
			json_uint(&j, b->status.unseen);
		else
			json_null(&j);
		json_kv_str(&j, "role", role[0] != '\0' ? role : NULL);
		json_obj_close(&j);
		json_end(&j);
	}
}
