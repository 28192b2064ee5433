/*
 * An in-memory store implementing store/store.h, for engine tests that need
 * no server and no file system layout: tests/engine/run-scenarios.c puts
 * two of them on either side of sync_run().
 *
 * Kind: the caps given at open say which store it plays.  With MF_CAP_UIDS
 * it is IMAP-like: messages by UID, each folder with a UIDVALIDITY and a
 * UIDNEXT, with MF_CAP_CONDSTORE a modseq per message and a HIGHESTMODSEQ
 * per folder, with MF_CAP_QRESYNC the expunged UIDs reported as VANISHED,
 * UIDs returned by deliveries and moves only with MF_CAP_UIDPLUS, and
 * remove() only setting \Deleted without expunge or without UIDPLUS.
 * Without it it is Maildir-like: messages by key (chosen at
 * deliver_begin, kept by flag changes and moves), remove always
 * unlinks, and with MF_CAP_DIR_TOKEN each folder has a token that every
 * change moves.  MF_CAP_KEYWORDS off:
 * keywords are neither kept nor reported.  MF_CAP_PLACEHOLDERS: a delivery
 * with placeholder_of keeps it, and scans report it.  relabel is NULL
 * (keywords here do not depend on the folder).
 *
 * Persistence: with a path, the whole store is written to it (temporary
 * file, then rename) after every change, before the test hook's step is
 * counted, so a process that _exits at MAILFERRY_TEST_STOP_AFTER leaves
 * the file as a real store would be after kill -9: what was done is there,
 * a delivery not yet flushed is not.  mem_store_open() loads the file when
 * it exists.  No fsync: the tests kill processes, not machines.
 *
 * Failures: mem_store_fail() makes the N-th call of an op fail in one of
 * the ways of enum mem_fail_kind.  Delays: every op sleeps delay_ms.
 *
 * Bodies are kept in canonical form (CRLF) as given.
 */
#ifndef MF_TESTS_MEM_STORE_H
#define MF_TESTS_MEM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store.h"

struct mem_store_cfg {
	const char *name;  /* for messages */
	unsigned caps;	   /* MF_CAP_* */
	const char *path;  /* persistence file; NULL: memory only */
	unsigned delay_ms; /* sleep in every op; 0: none */
};

/* One message as the tests see it; strings owned by the store. */
struct mem_msg {
	uint32_t uid; /* UID stores */
	char *key;    /* key stores */
	unsigned flags;
	char *keywords; /* normalized, never NULL */
	int64_t date;
	uint64_t modseq;
	uint64_t placeholder_of;
	bool is_new;
	char *body; /* canonical bytes */
	size_t len;
};

enum mem_fail_kind {
	MEM_FAIL_BOX = 1, /* does nothing, -1 with MF_E_BOX */
	MEM_FAIL_STORE,	  /* likewise with MF_E_NET: store gone */
	MEM_FAIL_ITEMS,	  /* each item fails (MF_E_MSG), call ok */
	MEM_FAIL_LOST,	  /* does its work, then -1 MF_E_NET (an
				 * answer that never came) */
};

int mem_store_open(const struct mem_store_cfg *cfg, struct mf_store **st_r,
		   struct mf_err *err);

/* Ops by name: "list_boxes", "create_box", "delete_box", "select_box",
 * "scan", "fetch", "deliver_begin", "deliver_flush", "set_flags",
 * "remove", "move".  At most 8 failures per store. */
int mem_store_fail(struct mf_store *st, const char *op, unsigned nth,
		   enum mem_fail_kind kind, struct mf_err *err);
void mem_store_fail_clear(struct mf_store *st);

/* Set-up: create a folder (uidvalidity 0: the store's default). */
int mem_store_add_box(struct mf_store *st, const char *box,
		      uint32_t uidvalidity, struct mf_err *err);
/*
 * Set-up: add a message to box.  m->uid 0 takes UIDNEXT; m->key NULL
 * makes one.  Strings are copied.  UIDNEXT becomes at least uid + 1.
 */
int mem_store_add_msg(struct mf_store *st, const char *box,
		      const struct mem_msg *m, struct mf_err *err);
/* Set-up: the folder's UIDNEXT, when it should be above its messages. */
int mem_store_set_uidnext(struct mf_store *st, const char *box,
			  uint32_t uidnext, struct mf_err *err);

/* Inspection: folders in creation order; messages sorted by uid/key. */
size_t mem_store_nboxes(const struct mf_store *st);
const char *mem_store_box_name(const struct mf_store *st, size_t i);
/* NULL, 0 when there is no such folder */
const struct mem_msg *mem_store_msgs(const struct mf_store *st, const char *box,
				     size_t *n_r);
/* Changes made through the ops (not the set-up calls) since open. */
unsigned long mem_store_changes(const struct mf_store *st);

/* Write the file now (the ops do it themselves). */
int mem_store_save(struct mf_store *st, struct mf_err *err);

#endif
