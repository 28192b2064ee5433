/*
 * Planner tests: tables of (state, far, near, policy) -> expected plan, plus
 * an exhaustive check of the flag merge over every combination of flags.
 *
 * Expected plans are written as one string, entries separated by "; ":
 *   pull 3          copy far UID 3 to the near side
 *   push a          copy near key "a" to the far side
 *   far 1 +F-S      change flags of far UID 1 (keywords as +kw:NAME)
 *   near a +T       change flags of near key "a"
 *   expunge 1       remove far UID 1 for good
 *   unlink a        remove near key "a" for good
 *   forget          drop the state row
 *   =FS/FS          write the row: far flags / near flags ("-" = absent)
 *   ... ph          the entry's near copy is (made as) a placeholder
 * With near_uids the near side is an IMAP store: its messages and the
 * rows' near copies are named by UID (.uid, .near_uid), printed as such.
 * Flags are maildir letters (D F P R S T); keywords follow a '|': "S|work".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "flags.h"
#include "plan.h"

struct srow {
	uint32_t far;
	const char *near;
	const char *ff, *nf; /* recorded far / near flags (|keywords) */
	enum state_pending pending;
	uint32_t uidnext; /* PULL, PUSH: the journaled UIDNEXT */
	const char *id;
	uint64_t size;
	bool ph;	   /* the near copy is a placeholder */
	const char *key;   /* FETCH: the full copy's key */
	uint32_t near_uid; /* near_uids cases */
};

struct fmsg {
	uint32_t uid;
	const char *flags;
	const char *id;
	uint64_t size;
	int64_t date;
	const char *fp; /* header fingerprint */
	const char *cd; /* content digest */
	bool held;	/* mf_msg.held: its header could not be read */
};

struct nmsg {
	const char *key;
	const char *flags;
	const char *id;
	uint64_t size;
	uint32_t name_uid;
	uint64_t ph;  /* placeholder_of, from the file name */
	bool checked; /* name_uid_checked */
	const char *fp;
	const char *cd;
	uint32_t uid; /* near_uids cases, instead of key */
	bool held;
};

enum pol_kind {
	POL_BOTH = 0,  /* default: everything both ways, expunge both */
	POL_PULL,      /* pull only */
	POL_PUSH,      /* push only */
	POL_NOEXPUNGE, /* both ways, expunge none */
	POL_GUARD50,   /* both ways, max_delete_percent 50 */
	POL_MAXSIZE,   /* max_size 1000 */
	POL_MAXAGE,    /* max_age 10 days */
	POL_MAXMSG,    /* max_messages 2 */
};

struct pcase {
	const char *name;
	struct srow s[16];
	struct fmsg f[16];
	struct nmsg n[16];
	enum pol_kind pol;
	bool far_reset;
	bool near_reset;
	bool near_uids;	 /* near side by UID (IMAP to IMAP) */
	bool no_near_kw; /* near side cannot store keywords */
	bool ph;	 /* near side can hold placeholders */
	const char *expect;
};

#define NOW 1700000000

static const struct pcase cases[] = {
	/* ---- nothing to do ---- */
	{ "empty", .expect = "" },
	{ "unchanged pair", .s = { { 1, "a", "S", "S" } }, .f = { { 1, "S" } },
	  .n = { { "a", "S" } }, .expect = "" },
	{ "unchanged pair with keywords",
	  .s = { { 1, "a", "S|work", "S|work" } }, .f = { { 1, "S|work" } },
	  .n = { { "a", "S|work" } }, .expect = "" },

	/* ---- flags ---- */
	{ "far added F", .s = { { 1, "a", "S", "S" } }, .f = { { 1, "FS" } },
	  .n = { { "a", "S" } }, .expect = "near a +F =FS/FS" },
	{ "near added R", .s = { { 1, "a", "", "" } }, .f = { { 1, "" } },
	  .n = { { "a", "R" } }, .expect = "far 1 +R =R/R" },
	{ "far removed S", .s = { { 1, "a", "S", "S" } }, .f = { { 1, "" } },
	  .n = { { "a", "S" } }, .expect = "near a -S =/" },
	{ "both added the same", .s = { { 1, "a", "", "" } },
	  .f = { { 1, "S" } }, .n = { { "a", "S" } }, .expect = "=S/S" },
	{ "both changed different flags", .s = { { 1, "a", "S", "S" } },
	  .f = { { 1, "FS" } }, .n = { { "a", "" } },
	  .expect = "far 1 -S near a +F =F/F" },
	{ "keyword added far", .s = { { 1, "a", "S", "S" } },
	  .f = { { 1, "S|$Label1" } }, .n = { { "a", "S" } },
	  .expect = "near a +kw:$Label1 =S|$Label1/S|$Label1" },
	{ "keyword removed near", .s = { { 1, "a", "|x y", "|x y" } },
	  .f = { { 1, "|x y" } }, .n = { { "a", "|y" } },
	  .expect = "far 1 -kw:x =|y/|y" },
	{ "keywords kept in state when near cannot hold them",
	  .s = { { 1, "a", "|x", "|x" } }, .f = { { 1, "|x z" } },
	  .n = { { "a", "" } }, .no_near_kw = true, .expect = "=|x z/|x z" },
	{ "near without keywords does not remove far keywords",
	  .s = { { 1, "a", "|x", "|x" } }, .f = { { 1, "|x" } },
	  .n = { { "a", "S" } }, .no_near_kw = true,
	  .expect = "far 1 +S =S|x/S|x" },
	{ "pull only: near change stays local", .s = { { 1, "a", "", "" } },
	  .f = { { 1, "" } }, .n = { { "a", "F" } }, .pol = POL_PULL,
	  .expect = "=/F" },
	{ "pull only: far change still arrives, local extra kept",
	  .s = { { 1, "a", "", "F" } }, .f = { { 1, "S" } },
	  .n = { { "a", "F" } }, .pol = POL_PULL, .expect = "near a +S =S/FS" },
	{ "push only: far-only flag is not removed",
	  .s = { { 1, "a", "F", "" } }, .f = { { 1, "F" } },
	  .n = { { "a", "S" } }, .pol = POL_PUSH, .expect = "far 1 +S =FS/S" },

	/* ---- new messages ---- */
	{ "new on far", .f = { { 1, "S" }, { 2, "" } },
	  .expect = "pull 1 =S/S; pull 2 =/" },
	{ "new on near", .n = { { "a", "S" }, { "b", "F" } },
	  .expect = "push a =S/S; push b =F/F" },
	{ "new on both, different", .f = { { 5, "", "<x@h>", 100 } },
	  .n = { { "a", "", "<y@h>", 100 } },
	  .expect = "pull 5 =/; push a =/" },
	{ "new on both, same message: paired, flags united",
	  .f = { { 5, "S", "<x@h>", 100 } },
	  .n = { { "a", "F", "<x@h>", 100 } },
	  .expect = "far 5 +F near a +S =FS/FS" },
	{ "same id, other size, other header: left alone, not copied",
	  .f = { { 5, "", "<x@h>", 100 } }, .n = { { "a", "", "<x@h>", 101 } },
	  .expect = "ambiguous 5; ambiguous a" },
	{ "same id, other size, same fingerprint (X-TUID added): paired",
	  .f = { { 5, "S", "<x@h>", 100, 0, "N:1" } },
	  .n = { { "a", "", "<x@h>", 118, .fp = "N:1" } },
	  .expect = "near a +S =S/S" },
	{ "no Message-ID, same fingerprint, other size: paired",
	  .f = { { 5, "", "H:aa", 100, 0, "N:1" } },
	  .n = { { "a", "", "H:bb", 118, .fp = "N:1" } }, .expect = "=/" },
	{ "no Message-ID, other fingerprint: copied both ways",
	  .f = { { 5, "", "H:aa", 100, 0, "N:1" } },
	  .n = { { "a", "", "H:bb", 118, .fp = "N:2" } },
	  .expect = "pull 5 =/; push a =/" },
	{ "repeated Message-ID: exact copies pair, the rest is ambiguous",
	  .f = { { 1, "", "<d@h>", 10 }, { 2, "", "<d@h>", 20 } },
	  .n = { { "a", "", "<d@h>", 10 }, { "b", "", "<d@h>", 21 } },
	  .expect = "=/; ambiguous 2; ambiguous b" },
	{ "repeated Message-ID, one side longer: the extra is copied",
	  .f = { { 1, "", "<d@h>", 10, 0, "N:1" },
		 { 2, "", "<d@h>", 20, 0, "N:2" } },
	  .n = { { "a", "", "<d@h>", 11, .fp = "N:1" } },
	  .expect = "=/; pull 2 =/" },
	{ "checked hint, same Message-ID, other size: paired",
	  .f = { { 9, "S", "<m@h>", 300 } },
	  .n = { { "m1", "S", "<m@h>", 318, 9, .checked = true } },
	  .expect = "=S/S" },
	{ "checked hint, other Message-ID: refuted",
	  .f = { { 9, "", "<m@h>", 300 } },
	  .n = { { "m1", "", "<o@h>", 300, 9, .checked = true } },
	  .expect = "pull 9 =/; push m1 =/" },
	{ "checked hint without Message-ID, same content digest: paired",
	  .f = { { 9, "", "<m@h>", 300, 0, "N:1", "C:1" } },
	  .n = { { "m1", "", "H:x", 302, 9, .checked = true, .fp = "N:2",
		   .cd = "C:1" } },
	  .expect = "=/" },
	{ "checked hint without Message-ID, other digest: copied",
	  .f = { { 9, "", "H:y", 300, 0, "N:1", "C:1" } },
	  .n = { { "m1", "", "H:x", 302, 9, .checked = true, .fp = "N:2",
		   .cd = "C:2" } },
	  .expect = "pull 9 =/; push m1 =/" },
	{ "unchecked hint, same Message-ID, other size: not on the hint",
	  .f = { { 9, "", "<m@h>", 300 } },
	  .n = { { "m1", "", "<m@h>", 318, 9 } },
	  .expect = "ambiguous 9; ambiguous m1" },
	{ "duplicates pair in order, extra copied",
	  .f = { { 1, "", "<d@h>", 10 },
		 { 2, "", "<d@h>", 10 },
		 { 3, "", "<d@h>", 10 } },
	  .n = { { "a", "", "<d@h>", 10 }, { "b", "", "<d@h>", 10 } },
	  .expect = "=/; =/; pull 3 =/" },
	{ "header hash identity pairs messages without Message-ID",
	  .f = { { 7, "S", "H:abc", 50 } }, .n = { { "k", "S", "H:abc", 50 } },
	  .expect = "=S/S" },
	{ "mbsync U= in the name pairs when the size agrees",
	  .f = { { 9, "S", NULL, 300 } }, .n = { { "m1", "S", NULL, 300, 9 } },
	  .expect = "=S/S" },
	{ "U= with a different size is not trusted",
	  .f = { { 9, "", NULL, 300 } }, .n = { { "m1", "", NULL, 301, 9 } },
	  .expect = "pull 9 =/; push m1 =/" },
	{ "pull only: near new stays", .n = { { "a", "" } }, .f = { { 1, "" } },
	  .pol = POL_PULL, .expect = "pull 1 =/" },
	{ "max_size skips large far messages",
	  .f = { { 1, "", NULL, 999 }, { 2, "", NULL, 5000 } },
	  .pol = POL_MAXSIZE, .expect = "pull 1 =/" },
	{ "max_size with placeholders: large ones arrive as placeholders",
	  .f = { { 1, "", NULL, 999 }, { 2, "S", NULL, 5000 } },
	  .pol = POL_MAXSIZE, .ph = true,
	  .expect = "pull 1 =/; pull 2 =S/S ph" },
	{ "placeholder: a local flag change reaches the far side",
	  .s = { { 1, "a", "", "", .size = 5000, .ph = true } },
	  .f = { { 1, "", NULL, 5000 } }, .n = { { "a", "S", NULL, 300 } },
	  .pol = POL_MAXSIZE, .ph = true, .expect = "far 1 +S =S/S ph" },
	{ "placeholder: a far flag change reaches it",
	  .s = { { 1, "a", "", "", .size = 5000, .ph = true } },
	  .f = { { 1, "F", NULL, 5000 } }, .n = { { "a", "", NULL, 300 } },
	  .pol = POL_MAXSIZE, .ph = true, .expect = "near a +F =F/F ph" },
	{ "placeholder deleted locally: the far message goes",
	  .s = { { 1, "a", "S", "S", .size = 5000, .ph = true } },
	  .f = { { 1, "S", NULL, 5000 } }, .pol = POL_MAXSIZE, .ph = true,
	  .expect = "expunge 1 forget" },
	{ "far gone, placeholder flagged locally: not pushed back",
	  .s = { { 1, "a", "S", "S", .size = 5000, .ph = true } },
	  .n = { { "a", "FS", NULL, 300 } }, .pol = POL_MAXSIZE, .ph = true,
	  .expect = "unlink a forget" },
	{ "far gone, placeholder marked by name only: not pushed back",
	  .s = { { 1, "a", "S", "S" } },
	  .n = { { "a", "FS", NULL, 300, 0, 5000 } },
	  .expect = "unlink a forget" },
	{ "far changed, placeholder deleted: back as a placeholder",
	  .s = { { 1, "a", "S", "S", .size = 5000, .ph = true } },
	  .f = { { 1, "FS", NULL, 5000 } }, .pol = POL_MAXSIZE, .ph = true,
	  .expect = "pull 1 =FS/FS ph" },
	{ "interrupted placeholder copy is redone as one",
	  .s = { { 1, "a", "", "", STATE_PENDING_PULL, .ph = true } },
	  .f = { { 1, "", NULL, 5000 } }, .pol = POL_MAXSIZE, .ph = true,
	  .expect = "pull 1 =/ ph" },
	{ "lost state: placeholder pairs by identity and its full size",
	  .f = { { 1, "S", "<x@t>", 5000 } },
	  .n = { { "a", "S", "<x@t>", 300, 0, 5000 } }, .pol = POL_MAXSIZE,
	  .ph = true, .expect = "=S/S ph" },
	{ "lost state: placeholder without its far message is not pushed",
	  .n = { { "a", "", "<y@t>", 300, 0, 5000 } }, .expect = "" },
	{ "near side without placeholders: large ones are skipped",
	  .f = { { 2, "", NULL, 5000 } }, .pol = POL_MAXSIZE, .expect = "" },
	{ "interrupted fetch: nothing planned, the full copy is not new",
	  .s = { { 1, "a", "", "", STATE_PENDING_FETCH, .key = "b",
		   .size = 5000, .ph = true } },
	  .f = { { 1, "", NULL, 5000 } },
	  .n = { { "a", "", NULL, 300 }, { "b", "", NULL, 5000 } },
	  .pol = POL_MAXSIZE, .ph = true, .expect = "" },
	{ "max_age skips old far messages",
	  .f = { { 1, "", NULL, 10, NOW - 20 * 86400 },
		 { 2, "", NULL, 10, NOW - 86400 } },
	  .pol = POL_MAXAGE, .expect = "pull 2 =/" },
	{ "max_messages keeps the newest",
	  .f = { { 1, "" }, { 2, "" }, { 3, "" } }, .pol = POL_MAXMSG,
	  .expect = "pull 2 =/; pull 3 =/" },

	/* ---- deletions ---- */
	{ "expunged on far: unlink near", .s = { { 1, "a", "S", "S" } },
	  .n = { { "a", "S" } }, .expect = "unlink a forget" },
	{ "deleted near: expunge far", .s = { { 1, "a", "S", "S" } },
	  .f = { { 1, "S" } }, .expect = "expunge 1 forget" },
	{ "gone on both: forget", .s = { { 1, "a", "S", "S" } },
	  .expect = "forget" },
	{ "expunge none: near deletion only flags far",
	  .s = { { 1, "a", "S", "S" } }, .f = { { 1, "S" } },
	  .pol = POL_NOEXPUNGE, .expect = "far 1 +T =ST/-" },
	{ "expunge none: far expunge only flags near",
	  .s = { { 1, "a", "S", "S" } }, .n = { { "a", "S" } },
	  .pol = POL_NOEXPUNGE, .expect = "near a +T =-/ST" },
	{ "far-only row stays quiet", .s = { { 1, NULL, "ST", "" } },
	  .f = { { 1, "ST" } }, .expect = "" },
	{ "changes win: deleted near, flagged far -> copied back",
	  .s = { { 1, "a", "", "" } }, .f = { { 1, "F" } },
	  .expect = "pull 1 =F/F" },
	{ "changes win: expunged far, flagged near -> copied back",
	  .s = { { 1, "a", "", "" } }, .n = { { "a", "F" } },
	  .expect = "push a =F/F" },
	{ "deleted near, only \\Deleted added far: deletion goes on",
	  .s = { { 1, "a", "S", "S" } }, .f = { { 1, "ST" } },
	  .expect = "expunge 1 forget" },
	{ "expunged far, only T added near: deletion goes on",
	  .s = { { 1, "a", "S", "S" } }, .n = { { "a", "ST" } },
	  .expect = "unlink a forget" },
	{ "pull only: local delete not carried, not re-pulled",
	  .s = { { 1, "a", "", "" } }, .f = { { 1, "" } }, .pol = POL_PULL,
	  .expect = "=/-" },
	{ "guard: 11 of 12 deleted near is held back",
	  .s = { { 1, "a", "", "" },
		 { 2, "b", "", "" },
		 { 3, "c", "", "" },
		 { 4, "d", "", "" },
		 { 5, "e", "", "" },
		 { 6, "f", "", "" },
		 { 7, "g", "", "" },
		 { 8, "h", "", "" },
		 { 9, "i", "", "" },
		 { 10, "j", "", "" },
		 { 11, "k", "", "" },
		 { 12, "l", "", "" } },
	  .f = { { 1, "" },
		 { 2, "" },
		 { 3, "" },
		 { 4, "" },
		 { 5, "" },
		 { 6, "" },
		 { 7, "" },
		 { 8, "" },
		 { 9, "" },
		 { 10, "" },
		 { 11, "" },
		 { 12, "" } },
	  .n = { { "l", "" } }, .pol = POL_GUARD50, .expect = "" },

	/* ---- interrupted runs ---- */
	{ "pending pull landed: confirm",
	  .s = { { 3, "k", "S", "S", STATE_PENDING_PULL } },
	  .f = { { 3, "S" } }, .n = { { "k", "S" } }, .expect = "=S/S" },
	{ "pending pull lost: copy again",
	  .s = { { 3, "k", "S", "S", STATE_PENDING_PULL } },
	  .f = { { 3, "S" } }, .expect = "pull 3 =S/S" },
	{ "pending push landed: found by identity",
	  .s = { { 0, "k", "", "", STATE_PENDING_PUSH, 10, "<p@h>", 77 } },
	  .f = { { 4, "" }, { 12, "", "<p@h>", 77 } }, .n = { { "k", "" } },
	  .expect = "=/; pull 4 =/" },
	{ "pending push landed below the recorded UIDNEXT is not it",
	  .s = { { 0, "k", "", "", STATE_PENDING_PUSH, 10, "<p@h>", 77 } },
	  .f = { { 4, "", "<p@h>", 77 } }, .n = { { "k", "" } },
	  .expect = "push k =/; pull 4 =/" },
	{ "pending push lost: APPEND again",
	  .s = { { 0, "k", "S", "S", STATE_PENDING_PUSH, 10, "<p@h>", 77 } },
	  .n = { { "k", "S" } }, .expect = "push k =S/S" },

	/* ---- interrupted pulls into an IMAP near side (APPEND) ---- */
	{ "IMAP near: pending pull landed above the journaled UIDNEXT",
	  .s = { { 3, NULL, "S", "S", STATE_PENDING_PULL, 10, "<p@h>", 77 } },
	  .f = { { 3, "S", "<p@h>", 77 } },
	  .n = { { NULL, "S", "<p@h>", 77, .uid = 12 } }, .near_uids = true,
	  .expect = "=S/S" },
	{ "IMAP near: landed at exactly the journaled UIDNEXT",
	  .s = { { 3, NULL, "S", "S", STATE_PENDING_PULL, 10, "<p@h>", 77 } },
	  .f = { { 3, "S", "<p@h>", 77 } },
	  .n = { { NULL, "S", "<p@h>", 77, .uid = 10 } }, .near_uids = true,
	  .expect = "=S/S" },
	{ "IMAP near: the same message below the journaled UIDNEXT is not it",
	  .s = { { 3, NULL, "S", "S", STATE_PENDING_PULL, 10, "<p@h>", 77 } },
	  .f = { { 3, "S", "<p@h>", 77 } },
	  .n = { { NULL, "S", "<p@h>", 77, .uid = 4 } }, .near_uids = true,
	  .expect = "pull 3 =S/S; push 4 =S/S" },
	{ "IMAP near: same Message-ID, other size is not it",
	  .s = { { 3, NULL, "", "", STATE_PENDING_PULL, 10, "<p@h>", 77 } },
	  .f = { { 3, "", "<p@h>", 77 } },
	  .n = { { NULL, "", "<p@h>", 78, .uid = 11 } }, .near_uids = true,
	  .expect = "pull 3 =/; push 11 =/" },
	{ "IMAP near: pending pull lost: APPEND again",
	  .s = { { 3, NULL, "S", "S", STATE_PENDING_PULL, 10, "<p@h>", 77 } },
	  .f = { { 3, "S", "<p@h>", 77 } }, .near_uids = true,
	  .expect = "pull 3 =S/S" },
	{ "IMAP near: two equal copies journaled, one landed",
	  .s = { { 3, NULL, "", "", STATE_PENDING_PULL, 10, "<p@h>", 77 },
		 { 4, NULL, "", "", STATE_PENDING_PULL, 10, "<p@h>", 77 } },
	  .f = { { 3, "", "<p@h>", 77 }, { 4, "", "<p@h>", 77 } },
	  .n = { { NULL, "", "<p@h>", 77, .uid = 10 } }, .near_uids = true,
	  .expect = "=/; pull 4 =/" },
	{ "IMAP near: a synced row's message is not taken for the copy",
	  .s = { { 2, NULL, "", "", .near_uid = 11, .id = "<p@h>", .size = 77 },
		 { 3, NULL, "", "", STATE_PENDING_PULL, 10, "<p@h>", 77 } },
	  .f = { { 2, "", "<p@h>", 77 }, { 3, "", "<p@h>", 77 } },
	  .n = { { NULL, "", "<p@h>", 77, .uid = 11 } }, .near_uids = true,
	  .expect = "pull 3 =/" },
	{ "IMAP near: flags changed on the far side meanwhile are carried",
	  .s = { { 3, NULL, "", "", STATE_PENDING_PULL, 10, "<p@h>", 77 } },
	  .f = { { 3, "F", "<p@h>", 77 } },
	  .n = { { NULL, "", "<p@h>", 77, .uid = 10 } }, .near_uids = true,
	  .expect = "near 10 +F =F/F" },
	{ "IMAP near: far message gone meanwhile: the row goes",
	  .s = { { 3, NULL, "", "", STATE_PENDING_PULL, 10, "<p@h>", 77 } },
	  .near_uids = true, .expect = "forget" },
	{ "IMAP near: after a near UIDVALIDITY change the whole side counts",
	  .s = { { 3, NULL, "", "", STATE_PENDING_PULL, 10, "<p@h>", 77 } },
	  .f = { { 3, "", "<p@h>", 77 } },
	  .n = { { NULL, "", "<p@h>", 77, .uid = 2 } }, .near_uids = true,
	  .near_reset = true, .expect = "=/" },

	/* ---- held: a header that breaks the session (mf_msg.held) ---- */
	{ "held far message is neither copied nor paired, the rest is",
	  .f = { { 1, "", "<a@h>", 10 },
		 { 3, "S", .size = 30, .held = true },
		 { 4, "", "<d@h>", 40 } },
	  .n = { { "a", "", "<a@h>", 10 }, { "x", "", "<x@h>", 50 } },
	  .expect = "=/; pull 4 =/; push x =/" },
	{ "held far message: a new near message of its size waits too",
	  .f = { { 3, "", .size = 30, .held = true } },
	  .n = { { "c", "", "<c@h>", 30 }, { "x", "", "<x@h>", 50 } },
	  .expect = "push x =/" },
	{ "held far message: a near file naming its UID waits too",
	  .f = { { 3, "", .size = 30, .held = true } },
	  .n = { { "c", "", "<c@h>", 33, .name_uid = 3, .checked = true } },
	  .expect = "" },
	{ "held far message named by a row is planned as recorded",
	  .s = { { 3, "c", "", "" } },
	  .f = { { 3, "F", .size = 30, .held = true } }, .n = { { "c", "" } },
	  .expect = "near c +F =F/F" },
	{ "held near message (IMAP near) is not pushed",
	  .f = { { 1, "", "<a@h>", 10 } },
	  .n = { { NULL, "", .size = 20, .uid = 7, .held = true } },
	  .near_uids = true, .expect = "pull 1 =/" },
	{ "held far message: a pending push above its journaled UIDNEXT waits",
	  .s = { { 0, "k", "", "", STATE_PENDING_PUSH, 10, "<p@h>", 77 } },
	  .f = { { 12, "", .size = 77, .held = true } }, .n = { { "k", "" } },
	  .expect = "" },
	{ "held far message below the journaled UIDNEXT: push again",
	  .s = { { 0, "k", "", "", STATE_PENDING_PUSH, 10, "<p@h>", 77 } },
	  .f = { { 4, "", .size = 66, .held = true } }, .n = { { "k", "" } },
	  .expect = "push k =/" },
	{ "held after a far reset: an unmatched row is kept, not forgotten",
	  .s = { { 1, "a", "S", "S", 0, 0, "<a@h>", 10 },
		 { 2, "b", "", "", 0, 0, "<b@h>", 20 } },
	  .f = { { 101, "S", "<a@h>", 10 },
		 { 102, "", .size = 20, .held = true } },
	  .n = { { "a", "S" }, { "b", "" } }, .far_reset = true,
	  .expect = "=S/S" },

	/* ---- UIDVALIDITY change ---- */
	{ "uidvalidity reset: rows found again by identity",
	  .s = { { 1, "a", "S", "S", 0, 0, "<a@h>", 10 },
		 { 2, "b", "", "", 0, 0, "<b@h>", 20 } },
	  .f = { { 101, "S", "<a@h>", 10 },
		 { 102, "F", "<b@h>", 20 },
		 { 103, "", "<c@h>", 30 } },
	  .n = { { "a", "S" }, { "b", "" } }, .far_reset = true,
	  .expect = "=S/S; near b +F =F/F; pull 103 =/" },
	{ "uidvalidity reset: unmatched row is never deleted",
	  .s = { { 1, "a", "S", "S", 0, 0, "<a@h>", 10 } },
	  .f = { { 101, "", "<z@h>", 99 } }, .n = { { "a", "S", "<a@h>", 10 } },
	  .far_reset = true, .expect = "forget; pull 101 =/; push a =S/S" },
};

/* "FS|kw1 kw2" -> flags and normalized keywords (malloc'd) */
static unsigned
parse_flags(const char *spec, char **kw_r)
{
	unsigned flags = 0;
	const char *p;

	for (p = spec ? spec : ""; *p != '\0' && *p != '|'; p++)
		flags |= mf_flag_from_maildir(*p);
	*kw_r = mf_kw_normalize(*p == '|' ? p + 1 : "");
	return flags;
}

static void
fmt_flags(struct mf_buf *b, unsigned flags, const char *kw)
{
	char letters[8];
	struct mf_err err;

	mf_flags_to_maildir(flags, letters);
	assert_int_equal(mf_buf_append_str(b, letters, &err), 0);
	if (kw != NULL && kw[0] != '\0')
		assert_int_equal(mf_buf_printf(b, &err, "|%s", kw), 0);
}

static void
fmt_kw(struct mf_buf *b, char sign, const char *set)
{
	struct mf_err err;
	char *copy, *tok, *save = NULL;

	if (set == NULL)
		return;
	copy = strdup(set);
	for (tok = strtok_r(copy, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save))
		assert_int_equal(mf_buf_printf(b, &err, "%ckw:%s", sign, tok),
				 0);
	free(copy);
}

static void
fmt_op(struct mf_buf *b, const char *side, const char *id,
       const struct plan_side_op *op, bool far)
{
	struct mf_err err;
	char letters[8];

	switch (op->op) {
	case PLAN_OP_NONE:
		return;
	case PLAN_OP_COPY:
		assert_int_equal(mf_buf_printf(b, &err, "%s ",
					       far ? "push" : "pull"),
				 0);
		/* a copy names the message on the side it comes from */
		return;
	case PLAN_OP_DELETE:
		assert_int_equal(mf_buf_printf(b, &err, "%s %s ",
					       far ? "expunge" : "unlink", id),
				 0);
		return;
	case PLAN_OP_FLAGS:
		assert_int_equal(mf_buf_printf(b, &err, "%s %s ", side, id), 0);
		if (op->add) {
			mf_flags_to_maildir(op->add, letters);
			assert_int_equal(mf_buf_printf(b, &err, "+%s", letters),
					 0);
		}
		if (op->del) {
			mf_flags_to_maildir(op->del, letters);
			assert_int_equal(mf_buf_printf(b, &err, "-%s", letters),
					 0);
		}
		fmt_kw(b, '+', op->kw_add);
		fmt_kw(b, '-', op->kw_del);
		assert_int_equal(mf_buf_append_str(b, " ", &err), 0);
		return;
	}
}

/*
 * Long because it checks every column of a case's plan against the table,
 * side by side, so a failing case names the column that differs.
 */
static void
run_case(const struct pcase *c)
{
	struct state_msg rows[16];
	struct mf_msg far[16], near[16];
	size_t ns = 0, nf = 0, nn = 0, i;
	struct sync_policy pol = {
		.pull = SYNC_ALL,
		.push = SYNC_ALL,
		.expunge = SYNC_SIDE_BOTH,
	};
	struct plan_input in = { 0 };
	struct plan_result *res = NULL;
	struct mf_err err = { 0 };
	struct mf_buf out;
	char **frees = calloc(128, sizeof(char *));
	size_t nfrees = 0;

	switch (c->pol) {
	case POL_BOTH:
		break;
	case POL_PULL:
		pol.push = 0;
		break;
	case POL_PUSH:
		pol.pull = 0;
		break;
	case POL_NOEXPUNGE:
		pol.expunge = 0;
		break;
	case POL_GUARD50:
		pol.max_delete_percent = 50;
		break;
	case POL_MAXSIZE:
		pol.max_size = 1000;
		break;
	case POL_MAXAGE:
		pol.max_age_days = 10;
		break;
	case POL_MAXMSG:
		pol.max_messages = 2;
		break;
	}
	memset(rows, 0, sizeof(rows));
	memset(far, 0, sizeof(far));
	memset(near, 0, sizeof(near));
	for (; ns < 16 && (c->s[ns].far || c->s[ns].near || c->s[ns].near_uid);
	     ns++) {
		const struct srow *r = &c->s[ns];

		rows[ns].far_uid = r->far;
		rows[ns].near_key = (char *)r->near;
		rows[ns].near_uid = r->near_uid;
		rows[ns].far_flags = parse_flags(r->ff, &rows[ns].far_keywords);
		rows[ns].near_flags = parse_flags(r->nf,
						  &rows[ns].near_keywords);
		frees[nfrees++] = rows[ns].far_keywords;
		frees[nfrees++] = rows[ns].near_keywords;
		rows[ns].pending = r->pending;
		rows[ns].pending_uidnext = r->uidnext;
		rows[ns].pending_key = (char *)r->key;
		rows[ns].msgid = (char *)r->id;
		rows[ns].size = r->size;
		rows[ns].placeholder = r->ph;
	}
	for (; nf < 16 && c->f[nf].uid; nf++) {
		char *kw;

		far[nf].uid = c->f[nf].uid;
		far[nf].flags = parse_flags(c->f[nf].flags, &kw);
		far[nf].keywords = kw;
		frees[nfrees++] = kw;
		far[nf].msgid = c->f[nf].id;
		far[nf].size = c->f[nf].size;
		far[nf].date = c->f[nf].date;
		far[nf].fp = c->f[nf].fp;
		far[nf].cd = c->f[nf].cd;
		far[nf].held = c->f[nf].held;
	}
	for (; nn < 16 && (c->n[nn].key || c->n[nn].uid); nn++) {
		char *kw;

		near[nn].key = c->n[nn].key;
		near[nn].uid = c->n[nn].uid;
		near[nn].flags = parse_flags(c->n[nn].flags, &kw);
		near[nn].keywords = kw;
		frees[nfrees++] = kw;
		near[nn].msgid = c->n[nn].id;
		near[nn].size = c->n[nn].size;
		near[nn].name_uid = c->n[nn].name_uid;
		near[nn].placeholder_of = c->n[nn].ph;
		near[nn].name_uid_checked = c->n[nn].checked;
		near[nn].fp = c->n[nn].fp;
		near[nn].cd = c->n[nn].cd;
		near[nn].held = c->n[nn].held;
	}
	in.policy = &pol;
	in.state = rows;
	in.nstate = ns;
	in.far = far;
	in.nfar = nf;
	in.near = near;
	in.nnear = nn;
	in.far_keywords = true;
	in.near_keywords = !c->no_near_kw;
	in.far_reset = c->far_reset;
	in.near_reset = c->near_reset;
	in.near_uids = c->near_uids;
	in.placeholders = c->ph;
	in.now = NOW;
	assert_int_equal(plan_box(&in, &res, &err), 0);

	mf_buf_init(&out, 65536);
	for (i = 0; i < res->n; i++) {
		const struct plan_entry *e = &res->v[i];
		char farid[16] = "?", nearid[64] = "?";

		if (e->far >= 0)
			snprintf(farid, sizeof(farid), "%u", far[e->far].uid);
		if (e->near >= 0 && c->near_uids)
			snprintf(nearid, sizeof(nearid), "%u",
				 near[e->near].uid);
		else if (e->near >= 0)
			snprintf(nearid, sizeof(nearid), "%s",
				 near[e->near].key);
		if (i > 0)
			assert_int_equal(mf_buf_append_str(&out, "; ", &err),
					 0);
		if (e->why == PLAN_WHY_AMBIGUOUS) {
			assert_int_equal(mf_buf_printf(&out, &err,
						       "ambiguous %s",
						       e->far >= 0 ? farid :
								     nearid),
					 0);
			continue;
		}
		fmt_op(&out, "far", farid, &e->far_op, true);
		if (e->far_op.op == PLAN_OP_COPY)
			assert_int_equal(mf_buf_printf(&out, &err, "%s ",
						       nearid),
					 0);
		fmt_op(&out, "near", nearid, &e->near_op, false);
		if (e->near_op.op == PLAN_OP_COPY)
			assert_int_equal(mf_buf_printf(&out, &err, "%s ",
						       farid),
					 0);
		if (e->rec == PLAN_REC_FORGET) {
			assert_int_equal(mf_buf_append_str(&out, "forget",
							   &err),
					 0);
		} else if (e->rec == PLAN_REC_SET) {
			assert_int_equal(mf_buf_append_str(&out, "=", &err), 0);
			if (e->has_far)
				fmt_flags(&out, e->far_flags, e->far_kw);
			else
				assert_int_equal(mf_buf_append_str(&out, "-",
								   &err),
						 0);
			assert_int_equal(mf_buf_append_str(&out, "/", &err), 0);
			if (e->has_near)
				fmt_flags(&out, e->near_flags, e->near_kw);
			else
				assert_int_equal(mf_buf_append_str(&out, "-",
								   &err),
						 0);
		} else if (out.len > 0 && out.data[out.len - 1] == ' ') {
			out.data[--out.len] = '\0';
		}
		if (e->placeholder)
			assert_int_equal(mf_buf_append_str(&out, " ph", &err),
					 0);
	}
	if (strcmp(out.data ? out.data : "", c->expect) != 0)
		fail_msg("case '%s':\n  got:  '%s'\n  want: '%s'", c->name,
			 out.data ? out.data : "", c->expect);
	mf_buf_deinit(&out);
	plan_result_free(&res);
	for (i = 0; i < nfrees; i++)
		free(frees[i]);
	free(frees);
}

static void
test_plan_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < MF_N_ELEMENTS(cases); i++)
		run_case(&cases[i]);
}

/*
 * Every combination of recorded, far and near flags (64^3 cases): with a
 * two-way policy both sides end equal, every flag added on a side since the
 * last sync is set, every flag removed on a side is clear, and an unchanged
 * flag keeps its value.
 */
static void
test_merge_exhaustive(void **state)
{
	unsigned last, f, n, fnew, nnew, bit;

	(void)state;
	for (last = 0; last <= MF_FLAG_ALL; last++)
		for (f = 0; f <= MF_FLAG_ALL; f++)
			for (n = 0; n <= MF_FLAG_ALL; n++) {
				plan_merge_flags(last, last, f, n, true, true,
						 &fnew, &nnew);
				if (fnew != nnew)
					fail_msg("last %x far %x near %x: %x "
						 "!= %x",
						 last, f, n, fnew, nnew);
				for (bit = 1; bit <= MF_FLAG_ALL; bit <<= 1) {
					bool added = (!(last & bit)) &&
						     ((f | n) & bit);
					bool removed = (last & bit) &&
						       !((f & n) & bit);

					if (added && !(fnew & bit))
						fail_msg("lost add %x", bit);
					if (removed && (fnew & bit))
						fail_msg("lost del %x", bit);
					if (!added && !removed &&
					    (fnew & bit) != (last & bit))
						fail_msg("drift %x", bit);
				}
				/* one-way: the source side never changes */
				plan_merge_flags(last, last, f, n, true, false,
						 &fnew, &nnew);
				if (fnew != f)
					fail_msg("pull-only changed far");
				plan_merge_flags(last, last, f, n, false, true,
						 &fnew, &nnew);
				if (nnew != n)
					fail_msg("push-only changed near");
			}
}

/* The plan of a converged pair is empty, whatever the flags. */
static void
test_idempotent(void **state)
{
	unsigned flags;

	(void)state;
	for (flags = 0; flags <= MF_FLAG_ALL; flags++) {
		struct state_msg row = { .far_uid = 1,
					 .near_key = "a",
					 .far_flags = flags,
					 .near_flags = flags,
					 .far_keywords = "k",
					 .near_keywords = "k" };
		struct mf_msg f = { .uid = 1, .flags = flags, .keywords = "k" };
		struct mf_msg n = { .key = "a",
				    .flags = flags,
				    .keywords = "k" };
		struct sync_policy pol = { .pull = SYNC_ALL,
					   .push = SYNC_ALL,
					   .expunge = SYNC_SIDE_BOTH };
		struct plan_input in = {
			.policy = &pol,
			.state = &row,
			.nstate = 1,
			.far = &f,
			.nfar = 1,
			.near = &n,
			.nnear = 1,
			.far_keywords = true,
			.near_keywords = true,
		};
		struct plan_result *res = NULL;

		assert_int_equal(plan_box(&in, &res, NULL), 0);
		assert_int_equal(res->n, 0);
		plan_result_free(&res);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_table),
		cmocka_unit_test(test_merge_exhaustive),
		cmocka_unit_test(test_idempotent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
