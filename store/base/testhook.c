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
static unsigned long stop_after; /* 0: never */
static unsigned long steps;
static unsigned long delay_ms; /* 0: none */
static int log_fd = -1;
static char fail_name[64]; /* "": no failure to inject */
static unsigned long fail_at = 1, fail_seen;

/* MAILFERRY_TEST_FAIL=NAME[:N]; anything malformed injects nothing. */
static void
load_fail(const char *s)
{
	const char *colon = strrchr(s, ':');
	size_t len = colon != NULL ? (size_t)(colon - s) : strlen(s);
	uint64_t v;

	if (len == 0 || len >= sizeof(fail_name))
		return;
	if (colon != NULL) {
		if (!mf_str_to_u64(colon + 1, strlen(colon + 1), &v) || v == 0)
			return;
		fail_at = (unsigned long)v;
	}
	memcpy(fail_name, s, len);
	fail_name[len] = '\0';
}

static void
load(void)
{
	const char *s = getenv("MAILFERRY_TEST_STOP_AFTER");
	const char *log = getenv("MAILFERRY_TEST_STEP_LOG");
	const char *fail = getenv("MAILFERRY_TEST_FAIL");
	const char *d = getenv("MAILFERRY_TEST_STEP_DELAY_MS");
	uint64_t v;

	loaded = true;
	if (s != NULL && mf_str_to_u64(s, strlen(s), &v))
		stop_after = (unsigned long)v;
	if (fail != NULL)
		load_fail(fail);
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

bool
mf_test_fail(const char *what)
{
	if (!loaded)
		load();
	if (fail_name[0] == '\0' || strcmp(what, fail_name) != 0)
		return false;
	return ++fail_seen == fail_at;
}

void
mf_test_set_stop_after(unsigned long n)
{
	if (!loaded)
		load();
	stop_after = n;
	steps = 0;
}
