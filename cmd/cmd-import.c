/*
 * mailferry import-mbsyncrc [-o FILE [--force]] [FILE]: an mbsync
 * configuration as mailferry YAML on stdout (or in FILE, never over an
 * existing one without --force); what could not be mapped on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "cmd.h"
#include "mbsyncrc.h"

/* ~/.mbsyncrc, else $XDG_CONFIG_HOME/isyncrc as mbsync 1.4 looks. */
static char *
default_rc(void)
{
	const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	char *p = xasprintf("%s/.mbsyncrc", home ? home : "");

	if (access(p, F_OK) == 0)
		return p;
	free(p);
	if (xdg != NULL && xdg[0] != '\0')
		return xasprintf("%s/isyncrc", xdg);
	return xasprintf("%s/.config/isyncrc", home ? home : "");
}

static int
read_all(const char *path, char **text_r, size_t *len_r, struct mf_err *err)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return mf_err_set(err, MF_E_USAGE, "%s: %s", path,
				  strerror(errno));
	do {
		if (cap - len < 4096)
			text = xrealloc(text, cap += 65536);
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fclose(f);
		free(text);
		return mf_err_set(err, MF_E_USAGE, "%s: read error", path);
	}
	fclose(f);
	*text_r = text;
	*len_r = len;
	return 0;
}

/* The notes quote the rc file: shown sanitized, one line each. */
static void
show_notes(char *text)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char shown[4 * 1024];

		fprintf(stderr, "%s\n", cmd_shown(shown, sizeof(shown), line));
	}
}

/* Long because it is options, input, output and cleanup in one line of
 * steps, each with its own failure. */
int
cmd_import_mbsyncrc(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *outpath = NULL;
	bool force = false;
	struct mf_err err = { 0 };
	struct mbsyncrc *rc = NULL;
	char *path, *text = NULL;
	size_t len = 0;
	FILE *out = stdout, *notes;
	char *notes_text = NULL;
	size_t notes_len = 0;
	int c, ret;

	(void)ctx;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:f", longopts, NULL)) != -1) {
		if (c == 'o')
			outpath = optarg;
		else if (c == 'f')
			force = true;
		else {
			fprintf(stderr, "usage: mailferry import-mbsyncrc "
					"[-o FILE [--force]] [FILE]\n");
			return MF_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "usage: mailferry import-mbsyncrc "
				"[-o FILE [--force]] [FILE]\n");
		return MF_EXIT_USAGE;
	}
	path = optind < argc ? xstrdup(argv[optind]) : default_rc();
	if (read_all(path, &text, &len, &err) < 0 ||
	    mbsyncrc_parse(path, text, len, &rc, &err) < 0) {
		free(path);
		free(text);
		return cmd_fail(&err);
	}
	free(text);
	if (outpath != NULL) {
		int fd = open(outpath,
			      O_WRONLY | O_CREAT | O_CLOEXEC |
				      (force ? O_TRUNC : O_EXCL),
			      0600);

		if (fd < 0 || (out = fdopen(fd, "w")) == NULL) {
			fprintf(stderr, "mailferry: %s: %s%s\n", outpath,
				strerror(errno),
				errno == EEXIST ? " (--force overwrites it)" :
						  "");
			if (fd >= 0)
				close(fd);
			free(path);
			mbsyncrc_free(&rc);
			return MF_EXIT_USAGE;
		}
	}
	notes = open_memstream(&notes_text, &notes_len);
	if (notes == NULL) {
		free(path);
		mbsyncrc_free(&rc);
		return MF_EXIT_INTERNAL;
	}
	ret = mbsyncrc_write_yaml(rc, out, notes, &err);
	mbsyncrc_free(&rc);
	fclose(notes);
	show_notes(notes_text);
	free(notes_text);
	if (out != stdout && fclose(out) != 0 && ret == 0)
		ret = mf_err_set(&err, MF_E_USAGE, "%s: %s", outpath,
				 strerror(errno));
	if (ret < 0) {
		mf_err_prefix(&err, "%s", path);
		free(path);
		return cmd_fail(&err);
	}
	free(path);
	return MF_EXIT_OK;
}
