/*
 * Maildir file names: take them apart, put them back together, and make
 * new unique names for deliveries.
 *
 * A file name is  <base>[<sep>2,<letters>[,<rest>]]
 *
 *   sep      ':' (the spec) or '!' (tools on file systems without ':', as
 *            in mu's test data).  The separator is the LAST "<sep>2," in
 *            the name, so a name that already holds ":2," in its unique part
 *            (notmuch's "29:2," is key "29", info "") keeps it in the key.
 *            A name with no "<sep>2," has no info: the whole name is the
 *            base.  Rebuilding a name keeps the file's own separator.
 *   letters  flags in ASCII order: D F P R S T are the system flags,
 *            a..z Dovecot keyword letters (dovecot-keywords), anything else
 *            is kept as it is on every rename.
 *   rest     Dovecot's "<flags>,<non-standard fields>": kept verbatim.
 *
 * The base may carry comma fields after its first comma:
 *   ,S=<n>   physical size (Courier, Dovecot, and our deliveries)
 *   ,W=<n>   canonical CRLF size (Dovecot, and our deliveries)
 *   ,U=<n>   the IMAP UID as mbsync and OfflineIMAP write it
 *   ,PH=<n>  ours: the file is a header-only placeholder for a message of
 *            <n> canonical bytes (max_size); see sync/exec.c
 *   ,FMD5=.. OfflineIMAP's folder hash: MD5 of the folder name in hex,
 *            telling which folder the ,U= belongs to (mdir-adopt.h)
 *
 * THE KEY RULE.  A message's key is its base with every ",S=<digits>",
 * ",W=<digits>" and ",PH=<digits>" field removed; all other bytes are kept
 * in order.  These describe the file's contents, not its identity, and our
 * own deliveries
 * only learn them when the last byte is written, after the key was handed
 * to the engine at deliver_begin().  So a delivery named
 * "<key>,S=<lf>,W=<crlf>:2,<flags>" scans back as exactly <key>, which crash
 * recovery relies on.  Keys we make never contain ',', ':', '!' or '/'
 * (the host part is escaped), so the rule cannot eat a part of them.
 * Should removing the fields leave nothing (a name like ",S=5"), the key is
 * the whole base.
 */
#ifndef MF_MDIR_NAME_H
#define MF_MDIR_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Longest file name we create or accept when renaming (NAME_MAX). */
#define MDIR_NAME_MAX 255

struct mdir_name {
	const char *name; /* borrowed: the name parsed */
	size_t len;
	size_t base_len;     /* bytes before the separator (len if none) */
	char sep;	     /* ':' or '!'; '\0' when there is no info */
	size_t letters_off;  /* first flag letter (after "2,") */
	size_t letters_len;  /* letters up to ',' or the end */
	unsigned flags;	     /* MF_FLAG_* found in the letters */
	uint32_t kw_letters; /* bit i: letter 'a' + i is present */
	bool has_s, has_w;
	uint64_t size_s;	 /* ,S= */
	uint64_t size_w;	 /* ,W= */
	uint32_t uid;		 /* ,U=; 0 if none */
	uint64_t placeholder_of; /* ,PH=; 0 if none */
	bool has_fmd5;
	unsigned char fmd5[16]; /* ,FMD5=<32 hex digits>, decoded */
	size_t key_len;
	bool key_is_prefix; /* the key is name[0..key_len) */
};

/* Parse name[0..len).  Never fails: any byte string is some name. */
void mdir_name_parse(const char *name, size_t len, struct mdir_name *n_r);

/* Copy the key into buf, which needs n->key_len + 1 bytes. */
void mdir_name_key(const struct mdir_name *n, char *buf);

/*
 * The name of the same file with its system flags set to flags and its
 * keyword letters to kw_letters; every other letter, the separator (':'
 * when the name had none) and the rest are kept.  Letters come out in
 * ASCII order, each once; bytes >= 0x80 or <= 0x20 among the letters keep
 * their order after them.  buf gets a NUL-terminated name.  Returns -1
 * (MF_E_MSG) if the result would be longer than MDIR_NAME_MAX or size.
 */
int mdir_name_with_flags(const struct mdir_name *n, unsigned flags,
			 uint32_t kw_letters, char *buf, size_t size,
			 struct mf_err *err);

/*
 * Escape a host name for the right part of a unique name: '/' -> "\057",
 * ':' -> "\072" (the maildir spec), and also ',' -> "\054" and '!' ->
 * "\041" so the key rule above and the '!' separator cannot misread it;
 * control bytes -> "\ooo" too.  The result is cut at an escape boundary to
 * fit size - 1 bytes; "localhost" if host is empty.
 */
void mdir_name_escape_host(const char *host, char *buf, size_t size);

/*
 * A unique name, "<sec>.M<usec>P<pid>Q<counter>R<rand hex>.<host>" (the
 * Courier and DJB modern form, plus 32 random bits so two processes that
 * share a pid across a reboot or a container still differ).  host must be
 * escaped already.  Returns -1 (MF_E_INTERNAL) if it does not fit.
 */
int mdir_name_make_key(char *buf, size_t size, int64_t sec, long usec,
		       pid_t pid, unsigned long counter, uint32_t rnd,
		       const char *host, struct mf_err *err);

/*
 * OUR FILES IN tmp/.  A delivery of ours lives in tmp/ as
 * MDIR_TMP_PREFIX "<key>" until it is renamed to new/ or cur/ under its
 * key.  The prefix says that mailferry made it, and the key says which
 * process on which host, so that after a crash or a kill -9 the next run
 * can remove exactly the files of dead deliveries of ours, and never a file
 * of mbsync, OfflineIMAP, a delivery agent or a mail reader (whose names
 * do not start with the prefix).
 */
#define MDIR_TMP_PREFIX "mailferry."
/* Bytes of a tmp/ name for a key of key_size bytes (with its NUL). */
#define MDIR_TMP_NAME_SIZE(key_size) (sizeof(MDIR_TMP_PREFIX) - 1 + (key_size))

/* MDIR_TMP_PREFIX + key into buf; -1 (MF_E_INTERNAL) if it does not fit. */
int mdir_name_tmp(char *buf, size_t size, const char *key, struct mf_err *err);

/*
 * Is name a tmp/ name of ours, MDIR_TMP_PREFIX followed by a key exactly
 * as mdir_name_make_key() makes it?  Then *pid_r is the delivering
 * process (> 0), *host_r points at the escaped host in name and *sec_r
 * (unless NULL) is the key's time: when the delivery began.
 */
bool mdir_name_tmp_parse(const char *name, pid_t *pid_r, const char **host_r,
			 int64_t *sec_r);

#endif
