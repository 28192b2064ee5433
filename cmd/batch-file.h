/*
 * The pairs file of `mailferry migrate --batch FILE` (cmd/batch-file.c).
 *
 * One account pair a line; '#' comments and blank lines are ignored.  A
 * line is whitespace-separated key=value fields, a value in double quotes
 * when it holds spaces ("\"" and "\\" inside):
 *
 *   src=imaps://alice@old.example:993 src_password_env=ALICE_OLD
 *   dst=imap://alice@new.example dst_password_command="pass show alice"
 *   [src_ca_file=PATH] [dst_ca_file=PATH] [name=alice]
 *
 * imaps:// is implicit TLS (port 993 by default), imap:// STARTTLS (143).
 * Each side needs exactly one of *_password_command, *_password_env and
 * *_oauth_token_command: a clear-text password field is refused, since
 * such files get copied around, mailed and committed.  Every error names
 * FILE:LINE, and parsing stops at the first one, before anything runs.
 */
#ifndef MF_BATCH_FILE_H
#define MF_BATCH_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

enum batch_cred {
	BATCH_CRED_NONE = 0,
	BATCH_CRED_COMMAND, /* password_command */
	BATCH_CRED_ENV,	    /* password_env */
	BATCH_CRED_OAUTH,   /* oauth_token_command */
};

/* One side of a pair; every string owned (malloc). */
struct batch_side {
	char *host;
	unsigned port;
	bool starttls; /* imap:// */
	char *user;
	enum batch_cred cred;
	char *secret;  /* the command or the variable's name */
	char *ca_file; /* absolute, or NULL */
};

struct batch_pair {
	unsigned line;
	/* [A-Za-z0-9._@+-], not starting with '.': the pair's directory */
	char *name;
	struct batch_side src, dst;
};

struct batch_file {
	struct batch_pair *pairs; /* owned */
	size_t npairs;
};

/*
 * Parse text (len bytes, from the file path, used only in messages) into
 * *bf.  A relative ca_file is taken from the working directory (the
 * children run elsewhere).  Returns 0, or -1 with err set (MF_E_USAGE,
 * "PATH:LINE: ...") and *bf empty.
 */
int batch_file_parse(const char *path, const char *text, size_t len,
		     struct batch_file *bf, struct mf_err *err);
/* Read and parse the file at path. */
int batch_file_load(const char *path, struct batch_file *bf,
		    struct mf_err *err);
void batch_file_free(struct batch_file *bf);

#endif
