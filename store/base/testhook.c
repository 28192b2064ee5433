#include "testhook.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "str.h"

static bool loaded;
static unsigned long stop_after;	/* 0: never */
static unsigned long steps;
static int log_fd = -1;

static void
load(void)
{
	const char *s = getenv("MAILFERRY_TEST_STOP_AFTER");
	const char *log = getenv("MAILFERRY_TEST_STEP_LOG");
	uint64_t v;

	loaded = true;
	if (s != NULL && mf_str_to_u64(s, strlen(s), &v))
		stop_after = (unsigned long)v;
	if (log != NULL && log[0] != '\0')
		log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0600);
}

void
mf_test_step(const char *what)
{
	if (!loaded)
		load();
	steps++;
	if (log_fd >= 0) {
		char line[256];
		int n = snprintf(line, sizeof(line), "%lu %s\n", steps, what);

		if (n > 0 && write(log_fd, line, (size_t)n) < 0) {
			/* a test aid only: nothing to do */
		}
	}
	if (stop_after != 0 && steps >= stop_after)
		_exit(99);
}
