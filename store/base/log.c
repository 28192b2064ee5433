#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "str.h"

static mf_log_fn *handler;
static void *handler_ctx;
static enum mf_log_level max_level = MF_LOG_NOTICE;
static unsigned debug_cats;

void
mf_log_set_handler(mf_log_fn *fn, void *ctx)
{
	handler = fn;
	handler_ctx = ctx;
}

void
mf_log_set_level(enum mf_log_level level)
{
	max_level = level;
}

void
mf_log_set_debug(unsigned cats)
{
	debug_cats = cats;
}

bool
mf_log_enabled(enum mf_log_level level, unsigned cat)
{
	if (handler == NULL)
		return false;
	if (level == MF_LOG_DEBUG)
		return (debug_cats & cat) != 0;
	return level <= max_level;
}

void
mf_log(enum mf_log_level level, unsigned cat, const char *fmt, ...)
{
	char msg[4096], shown[8192];
	va_list ap;

	if (!mf_log_enabled(level, cat))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* here, so that no caller can forget it (log.h) */
	mf_str_sanitize(shown, sizeof(shown), msg, strlen(msg));
	handler(level, cat, shown, handler_ctx);
}
