#include <stdio.h>

#include "cmd.h"

int
cmd_sync(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	fprintf(stderr, "mailferry: sync: not built yet (the sync engine "
		"is the next milestone)\n");
	return MF_EXIT_UNAVAILABLE;
}
