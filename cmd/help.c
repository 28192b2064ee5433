/*
 * Per-command help: the text lives in each command's entry of main.c's
 * table (struct cmd_desc.help); this prints it and spots --help / -h in a
 * command's arguments, so that every command answers it the same way
 * without looking at its own options.
 */
#include <string.h>

#include "cmd.h"

void
cmd_print_help(FILE *f, const char *progname, const struct cmd_desc *cmd)
{
	fprintf(f, "usage: %s [-c FILE] [-v|-q] %s%s%s\n\n%s.\n", progname,
		cmd->name, cmd->args[0] != '\0' ? " " : "", cmd->args,
		cmd->summary);
	if (cmd->help != NULL && cmd->help[0] != '\0')
		fprintf(f, "\n%s", cmd->help);
	fprintf(f,
		"\nGlobal options (-c, -v, -q, -D, --debug) are in "
		"'%s help'; see mailferry(1).\n",
		progname);
}

bool
cmd_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}
