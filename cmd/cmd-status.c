/* placeholder until the owner's version lands */
#include <stdio.h>

#include "cmd.h"

int
cmd_status(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	fprintf(stderr, "mailferry: status: not built yet\n");
	return MF_EXIT_UNAVAILABLE;
}
