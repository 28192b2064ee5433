/*
 * Folder pairing: which far folder goes with which near folder, and what to
 * do about the ones without a partner.  A pure function of the two folder
 * lists, the state rows and the policy: no I/O, no clock, so it is tested
 * from tables (tests/unit/test-boxes.c).  The rules are written at the top
 * of boxes.c.
 *
 * Names are canonical (store/store.h): UTF-8, '/' separated, "INBOX" for
 * the inbox.  "INBOX" as the first component of a name is compared without
 * regard to case everywhere here (RFC 3501 section 5.1), so "inbox/x" and
 * "INBOX/x" are one folder.
 */
#ifndef MF_SYNC_BOXES_H
#define MF_SYNC_BOXES_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "policy.h"
#include "state.h"
#include "store.h"

struct mf_arena;

/*
 * Does a name pass the channel's folder patterns?  Patterns are applied in
 * order and the last one that matches decides; a leading "!" negates.  "*"
 * matches any run of characters including '/', "%" any run without '/'
 * (the LIST wildcards of RFC 3501 section 6.3.8); every other character
 * matches itself.  No pattern matches: excluded.  n == 0: as ["*"].  NULL
 * entries are skipped.  Time is O(len(pattern) * len(name)) and memory
 * O(len(name)), whatever the pattern (no backtracking).
 */
bool boxes_match(const char *const *patterns, size_t n, const char *name);

enum box_action {
	BOX_SYNC,	   /* both exist: sync them */
	BOX_CREATE_NEAR,   /* far only, new: create near_name, sync */
	BOX_CREATE_FAR,	   /* near only, new: create far_name, sync */
	BOX_SKIP_NEW_FAR,  /* far only, new, not created: report */
	BOX_SKIP_NEW_NEAR, /* near only, new, not created: report */
	/*
	 * Was synced (state row), far side now missing: remove the near
	 * folder if policy.remove has SYNC_SIDE_NEAR (the engine first checks
	 * that it holds nothing unsynced), else keep it and report.
	 */
	BOX_VANISHED_FAR,
	BOX_VANISHED_NEAR, /* mirror of BOX_VANISHED_FAR */
	BOX_VANISHED_BOTH, /* neither side exists: forget the row */
	/*
	 * Not made by boxes_plan(): the rename pass (sync/rename.h) turns a
	 * BOX_VANISHED_* pair whose folder was renamed into BOX_RENAMED
	 * (report only: renamed_far and renamed_near say what it is
	 * called now), and the pair of a folder it folded into another rename
	 * into BOX_FOLDED (nothing at all, not even reported).
	 */
	BOX_RENAMED,
	BOX_FOLDED,
};

struct box_pair {
	enum box_action action;
	/*
	 * Names on each side.  Both are set for every action except
	 * BOX_SKIP_NEW_FAR (near_name NULL) and BOX_SKIP_NEW_NEAR (far_name
	 * NULL).  For BOX_CREATE_* the name to create is the other side's
	 * canonical name.  They point into the inputs or into plan->arena.
	 */
	const char *far_name, *near_name;
	const struct mf_box_info *far, *near; /* NULL when absent */
	const struct state_box *state;	      /* NULL when never synced */
	bool role_mapped; /* paired by special-use role, not by name */
	bool map_paired;  /* paired or named by policy->folder_map */
	/*
	 * The mapped role (pass 3's: sent, drafts, trash, junk, archive) of
	 * each side's folder, when it is listed; MF_ROLE_NONE otherwise.  The
	 * rename pass reads them: a folder renamed on one side that keeps
	 * its role there leaves the other side's folder of that role as it
	 * is (rename.h).
	 */
	enum mf_role far_role, near_role;
	/*
	 * BOX_SKIP_NEW_*: the name is taken on the other side (by a
	 * \Noselect folder, or by a folder paired with another one), so it
	 * could not be created even if the policy allowed it.
	 */
	bool blocked;
	/* BOX_RENAMED: the new names (the pair that now carries the state
	 * has them), and where the rename was found (the far side, else
	 * the near side) */
	const char *renamed_far, *renamed_near;
	bool renamed_on_far;
	/* messages the rename pass moved into this pair's near folder (the
	 * server renamed INBOX: rename.h), for its report */
	size_t moved_in;
};

struct box_plan {
	struct box_pair *v;
	size_t n;
	struct mf_arena *arena;
};

/*
 * Pair the folders of a channel.
 *
 * far, near: every folder of each side (store list_boxes()); required.
 * state: the channel's state rows, NULL for none.  policy: required (its
 * folders, nfolders, create are read).  only, nonly: restrict to these
 * folder names (a far or a near name, INBOX in any case); NULL or 0 for no
 * restriction.
 *
 * The plan borrows from far, near and state: they must outlive it.  Free it
 * with boxes_plan_free().
 *
 * Errors: MF_E_USAGE "no folder 'X' in channel" for a name in only that
 * names no folder of the plan; MF_E_STORE when one side lists no folder at
 * all while state rows say folders were synced there (a broken listing
 * must not look like every folder deleted); MF_E_INTERNAL for NULL
 * arguments.
 */
int boxes_plan(const struct mf_box_list *far, const struct mf_box_list *near,
	       const struct state_box_list *state,
	       const struct sync_policy *policy, const char *const *only,
	       size_t nonly, struct box_plan **plan_r, struct mf_err *err);

/*
 * Warn (mf_log) about each pattern of policy->folders that matches no
 * folder of far or near: a typo, or a folder gone.  An exclusion ("!Junk")
 * is never warned about: excluding what is not there harms nothing.  And
 * about each folder_map entry whose far folder and near folder are both
 * missing (a typo: the map then does nothing).
 */
void boxes_warn_unmatched(const struct mf_box_list *far,
			  const struct mf_box_list *near,
			  const struct sync_policy *policy,
			  const char *channel);

/* Frees the plan and NULLs *plan (NULL is fine). */
void boxes_plan_free(struct box_plan **plan);

/* "sync", "create-near", ...: for logs and tests. */
const char *boxes_action_name(enum box_action action);

#endif
