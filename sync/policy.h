/*
 * What a channel is allowed to do: plain data filled by cmd/ from the
 * config, read by the planner.  Nothing here knows about YAML.
 */
#ifndef MF_SYNC_POLICY_H
#define MF_SYNC_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What to carry in one direction. */
#define SYNC_NEW 0x1u	 /* new messages */
#define SYNC_FLAGS 0x2u	 /* flag and keyword changes */
#define SYNC_DELETE 0x4u /* deletions */
#define SYNC_ALL 0x7u

/* Sides, as bits: for expunge, create and remove. */
#define SYNC_SIDE_FAR 0x1u
#define SYNC_SIDE_NEAR 0x2u
#define SYNC_SIDE_BOTH 0x3u

struct sync_folder_map {
	const char *far, *near;
};

struct sync_policy {
	unsigned pull; /* SYNC_* carried far -> near */
	unsigned push; /* SYNC_* carried near -> far */
	/*
	 * Sides on which deletions are carried out for good: a message
	 * deleted on the near side is expunged on the far side only with
	 * SYNC_SIDE_FAR set (else it keeps \Deleted there).
	 */
	unsigned expunge;
	unsigned create; /* create missing folders on these sides */
	unsigned remove; /* remove vanished folders on these sides */
	/* Folder patterns, later ones win: "*", "INBOX", "Lists/ *", "!Junk" */
	const char *const *folders;
	size_t nfolders;
	/*
	 * Explicit pairs (folder_map:), canonical names (store/store.h):
	 * far folder folder_map[i].far goes with near folder
	 * folder_map[i].near, before names or roles are compared, and is
	 * created under that name where it is missing (sync/boxes.c, pass
	 * 1b).  No far name and no near name appears twice.
	 */
	const struct sync_folder_map *folder_map;
	size_t nfolder_map;
	uint64_t max_size;     /* bytes; 0 = no limit (larger: placeholder) */
	unsigned max_age_days; /* 0 = no limit */
	unsigned max_messages; /* per folder, newest kept; 0 = no limit */
	/*
	 * Mass deletion guard: refuse to delete more than this percentage
	 * of a folder in one run (and more than 10 messages); 0 = 100.
	 */
	unsigned max_delete_percent;
};

#endif
