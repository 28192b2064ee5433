/*
 * An mbsync configuration (~/.mbsyncrc, isyncrc) read and turned into
 * mailferry's YAML.
 *
 * mbsyncrc_parse() splits the file into sections (IMAPAccount, IMAPStore,
 * MaildirStore, Channel, Group), each a list of keyword lines with their
 * arguments unquoted ("..." with backslash escapes) and their line
 * numbers.  Keywords are compared case-insensitively.  A syntax error (an
 * unterminated quote, a keyword before any section) fails with
 * "NAME:LINE: message".
 *
 * mbsyncrc_write_yaml() writes the equivalent configuration to out and
 * one note per thing it could not map ("line 12: MaxMessages ...") to
 * notes, one line each.  A clear-text Pass is never written anywhere.
 *
 * Ownership: everything hangs off the struct mbsyncrc, freed by
 * mbsyncrc_free().
 */
#ifndef MF_MBSYNCRC_H
#define MF_MBSYNCRC_H

#include <stdio.h>

#include "base/err.h"

struct mbsyncrc_line {
	unsigned line; /* 1-based */
	char *key;     /* as written */
	char **args;   /* unquoted */
	size_t nargs;
};

struct mbsyncrc_section {
	struct mbsyncrc_line head; /* "Channel name" */
	struct mbsyncrc_line *lines;
	size_t nlines;
};

struct mbsyncrc {
	struct mbsyncrc_line *globals; /* lines before the first section */
	size_t nglobals;
	struct mbsyncrc_section *sections;
	size_t nsections;
};

int mbsyncrc_parse(const char *name, const char *text, size_t len,
		   struct mbsyncrc **rc_r, struct mf_err *err);
void mbsyncrc_free(struct mbsyncrc **rc);

/* Returns 0, or -1 with err set when the file references what it does
 * not define (a Channel naming an unknown store). */
int mbsyncrc_write_yaml(const struct mbsyncrc *rc, FILE *out, FILE *notes,
			struct mf_err *err);

#endif
