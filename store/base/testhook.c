#include "testhook.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "str.h"

static bool loaded;
static unsigned long stop_after;	/* 0: never */
static unsigned long steps;
static unsigned long delay_ms;	/* 0: none */
static int log_fd = -1;

static void
load(void)
{
	const char *s = getenv("MAILFERRY_TEST_STOP_AFTER");
	const char *log = getenv("MAILFERRY_TEST_STEP_LOG");
	const char *d = getenv("MAILFERRY_TEST_STEP_DELAY_MS");
	uint64_t v;

	loaded = true;
	if (s != NULL && mf_str_to_u64(s, strlen(s), &v))
		stop_after = (unsigned long)v;
	if (d != NULL && mf_str_to_u64(d, strlen(d), &v))
		delay_ms = v > 1000 ? 1000 : (unsigned long)v;
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
	if (delay_ms != 0) {
		/* a signal may cut it short: a test aid only */
		struct timespec ts = { (time_t)(delay_ms / 1000),
				       (long)(delay_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
}
