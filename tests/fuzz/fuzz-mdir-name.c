/*
 * libFuzzer target for Maildir file names (store/maildir/mdir-name.c).
 *
 * Input layout:
 *   byte 0     system flags to set (MF_FLAG_ALL bits)
 *   bytes 1-4  keyword letters to set (bit i: 'a' + i), little endian
 *   the rest   a file name (any bytes; at most MDIR_NAME_MAX are used)
 *
 * Checked: parsing never fails and every offset and length stays inside
 * the name; the key is the name's prefix when it says so and never longer
 * than the base.  For a name without NUL and '/' (what a directory can
 * hold), renaming it to new flags and parsing the result gives exactly
 * those flags and keyword letters and the same key: a flag change must
 * never change which message a file is.  mdir_name_escape_host() output
 * has none of the bytes the key rule and the separators give a meaning,
 * and mdir_name_tmp_parse() takes any bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "maildir/mdir-name.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER 5

static void
check_bounds(const struct mdir_name *n, size_t len)
{
	if (n->len != len || n->base_len > len || n->key_len > n->base_len ||
	    n->letters_off > len || n->letters_len > len - n->letters_off ||
	    (n->sep != '\0' && n->sep != ':' && n->sep != '!') ||
	    (n->flags & ~MF_FLAG_ALL) != 0 || n->kw_letters >= (1u << 26))
		abort();
	if (n->sep == '\0' && n->base_len != len)
		abort();
}

static void
check_rename(const struct mdir_name *n, unsigned flags, uint32_t kw,
	     const char *key)
{
	char out[MDIR_NAME_MAX + 1], key2[MDIR_NAME_MAX + 1];
	struct mdir_name m;
	struct mf_err err = { 0 };

	if (mdir_name_with_flags(n, flags, kw, out, sizeof(out), &err) < 0) {
		if (err.cls != MF_E_MSG)
			abort();
		return;
	}
	mdir_name_parse(out, strlen(out), &m);
	check_bounds(&m, strlen(out));
	mdir_name_key(&m, key2);
	if (m.flags != flags || m.kw_letters != kw || strcmp(key, key2) != 0) {
		fprintf(stderr,
			"renamed to '%s': flags %x/%x kw %x/%x key "
			"'%s'/'%s'\n",
			out, m.flags, flags, m.kw_letters, kw, key2, key);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[MDIR_NAME_MAX + 1], key[MDIR_NAME_MAX + 1], host[64];
	struct mdir_name n;
	unsigned flags;
	uint32_t kw;
	size_t len, i;
	const char *h;
	pid_t pid;
	int64_t sec;

	if (size < HEADER)
		return 0;
	flags = data[0] & MF_FLAG_ALL;
	kw = ((uint32_t)data[1] | (uint32_t)data[2] << 8 |
	      (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24) &
	     ((1u << 26) - 1);
	len = size - HEADER;
	if (len > MDIR_NAME_MAX)
		len = MDIR_NAME_MAX;
	memcpy(name, data + HEADER, len);
	name[len] = '\0';

	mdir_name_parse(name, len, &n);
	check_bounds(&n, len);
	mdir_name_key(&n, key);
	if (strlen(key) > n.key_len ||
	    (n.key_is_prefix && memcmp(key, name, n.key_len) != 0))
		abort();
	if (memchr(name, '\0', len) == NULL && memchr(name, '/', len) == NULL)
		check_rename(&n, flags, kw, key);

	mdir_name_escape_host(name, host, sizeof(host));
	if (strlen(host) >= sizeof(host) || host[0] == '\0')
		abort();
	for (i = 0; host[i] != '\0'; i++)
		if (strchr("/:,!", host[i]) != NULL ||
		    (unsigned char)host[i] < 0x20)
			abort();
	if (mdir_name_tmp_parse(name, &pid, &h, &sec) &&
	    (pid <= 0 || h < name || h > name + len || sec < 0))
		abort();
	return 0;
}
