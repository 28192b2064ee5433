#include <stdio.h>

#include "cmd.h"

int
cmd_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	fprintf(stderr, "mailferry: list: not built yet (needs the IMAP "
		"store)\n");
	return MF_EXIT_UNAVAILABLE;
}
