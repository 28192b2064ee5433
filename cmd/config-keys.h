/*
 * Every configuration key, in one table: the parser's unknown-key check
 * (cy_check_map() through config_key_names()), `mailferry help config`
 * and the test that holds mailferry.yaml(5) to it all read this table, so
 * a key the parser accepts cannot be missing from the help or the manual.
 */
#ifndef MF_CONFIG_KEYS_H
#define MF_CONFIG_KEYS_H

#include <stddef.h>
#include <stdio.h>

enum config_section {
	CONFIG_SEC_TOP,	    /* the top level of the file */
	CONFIG_SEC_ACCOUNT, /* accounts: NAME: */
	CONFIG_SEC_STORE,   /* stores: NAME: (a Maildir) */
	CONFIG_SEC_CHANNEL, /* channels: NAME: */
	CONFIG_SEC_COUNT,
};

struct config_key {
	enum config_section section;
	const char *name;
	const char *type; /* what the value is, as the reader writes it */
	const char *def;  /* the default, in words */
	const char *desc; /* one line */
};

extern const struct config_key config_keys[];
extern const size_t config_nkeys;

/* "accounts", "stores", "channels"; "" for the top level. */
const char *config_section_name(enum config_section sec);
/* The keys of a section, NULL-terminated, in table order; static. */
const char *const *config_key_names(enum config_section sec);
/* The summary `mailferry help config` prints. */
void config_keys_print(FILE *f);

#endif
