/*
 * The --json variants of status, list and check (mailferry(1) JSON
 * OUTPUT): one object per line on stdout, each with a "type".  sync's are
 * in sync-json.h.
 */
#ifndef MF_CMD_CMD_JSON_H
#define MF_CMD_CMD_JSON_H

#include "base/err.h"

struct mf_config;
struct config_channel;
struct mf_box_list;

/*
 * status: a {"type":"folder"} object per folder pair of ch's state, then
 * {"type":"channel"}.  Returns 0, or -1 with err set when the state
 * cannot be read (nothing is printed for the channel then).
 */
int status_json_channel(const struct mf_config *cfg,
			const struct config_channel *ch, struct mf_err *err);
/* list: a {"type":"folder"} object per folder of the store named store */
void list_json(const char *store, const struct mf_box_list *list);
/* check: {"type":"config"}, then {"type":"channel"} per channel wanted
 * (all when argc is 0) */
void check_json(const struct mf_config *cfg, int argc, char **argv);

#endif
