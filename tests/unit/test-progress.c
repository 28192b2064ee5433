/*
 * Unit tests for cmd/progress.c (the live line's pieces), cmd/hooks.c
 * (what counts as a change) and the hook keys of cmd/config-channel.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "hooks.h"
#include "progress.h"

static void
test_bytes(void **state)
{
	static const struct {
		uint64_t n;
		const char *want;
	} rows[] = {
		{ 0, "0 B" },
		{ 1023, "1023 B" },
		{ 1024, "1.0 KiB" },
		{ 1536, "1.5 KiB" },
		{ 10u * 1024 * 1024, "10.0 MiB" },
		{ 3ull * 1024 * 1024 * 1024, "3.0 GiB" },
		{ 2048ull * 1024 * 1024 * 1024, "2.0 TiB" },
		{ 5000ull * 1024 * 1024 * 1024 * 1024, "5000.0 TiB" },
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strcmp(progress_bytes(rows[i].n, buf, sizeof(buf)),
			   rows[i].want) != 0)
			fail_msg("row %zu: %s, want %s", i, buf, rows[i].want);
}

static void
test_mode(void **state)
{
	enum progress_mode m = PROGRESS_NEVER;

	(void)state;
	assert_int_equal(progress_mode_parse("auto", &m), 0);
	assert_int_equal(m, PROGRESS_AUTO);
	assert_int_equal(progress_mode_parse("always", &m), 0);
	assert_int_equal(m, PROGRESS_ALWAYS);
	assert_int_equal(progress_mode_parse("never", &m), 0);
	assert_int_equal(m, PROGRESS_NEVER);
	assert_int_equal(progress_mode_parse("", &m), -1);
	assert_int_equal(progress_mode_parse("yes", &m), -1);
	assert_int_equal(progress_mode_parse("Always", &m), -1);
	assert_true(progress_wanted(PROGRESS_ALWAYS, true));
	assert_false(progress_wanted(PROGRESS_NEVER, false));
	/* -q turns auto off, terminal or not */
	assert_false(progress_wanted(PROGRESS_AUTO, true));
}

/* The first draw of a channel, read back from stderr. */
static void
test_draw(void **state)
{
	struct progress p;
	struct sync_progress f = { .kind = SYNC_PROGRESS_FOLDER };
	struct sync_progress c = { .kind = SYNC_PROGRESS_COPY };
	char path[] = "/tmp/test-progress.XXXXXX", buf[1024];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	unlink(path);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	progress_begin(&p, "work", true);
	f.box_index = 2;
	f.box_count = 7;
	f.far_name = "INBOX";
	f.near_name = "In\tbox";
	progress_update(&p, &f);
	c.to_near = true;
	c.msgs_total = 3000;
	c.bytes_total = 3u * 1024 * 1024;
	progress_update(&p, &c);
	progress_end(&p);
	progress_clear_active(); /* nothing active: no output */
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	/* the folder line, the first counts (not rate-limited), the erase;
	 * the tab in the near name shown safely, never raw */
	assert_non_null(strstr(buf, "\rwork: folder 2/7 In"));
	assert_null(strchr(buf, '\t'));
	assert_non_null(strstr(buf, ": pull 0/3000, 0 B/3.0 MiB\033[K"));
	assert_string_equal(buf + strlen(buf) - 4, "\r\033[K");
	assert_null(strstr(buf, "/s")); /* no rate yet */
}

static void
test_changed(void **state)
{
	struct sync_summary s = { 0 };

	(void)state;
	assert_false(hooks_changed(&s));
	s.boxes = 4;
	s.boxes_unchanged = 3;
	s.failed = 1; /* a failure changes nothing */
	assert_false(hooks_changed(&s));
	s.flags_near = 1;
	assert_true(hooks_changed(&s));
	s.flags_near = 0;
	s.renamed = 1;
	assert_true(hooks_changed(&s));
}

static const char base_yaml[] = "accounts:\n"
				"  a:\n"
				"    host: h\n"
				"    user: u\n"
				"    password_env: P\n"
				"stores:\n"
				"  m:\n"
				"    maildir: /tmp/m\n"
				"channels:\n"
				"  c:\n"
				"    far: a\n"
				"    near: m\n";

static int
load(const char *extra, struct mf_config **cfg_r, struct mf_err *err)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), "%s%s", base_yaml, extra);
	return config_load_string("t.yaml", yaml, strlen(yaml), cfg_r, err);
}

static void
test_config(void **state)
{
	struct mf_config *cfg = NULL;
	struct mf_err err = { 0 };

	(void)state;
	assert_int_equal(load("", &cfg, &err), 0);
	assert_null(cfg->channels[0].pre_sync_command);
	assert_null(cfg->channels[0].post_sync_command);
	assert_int_equal(cfg->channels[0].hook_timeout_ms, 300000);
	config_free(&cfg);
	assert_int_equal(load("    pre_sync_command: \"echo a\"\n"
			      "    post_sync_command: notmuch new\n"
			      "    sync_command_timeout: 20\n",
			      &cfg, &err),
			 0);
	assert_string_equal(cfg->channels[0].pre_sync_command, "echo a");
	assert_string_equal(cfg->channels[0].post_sync_command, "notmuch new");
	assert_int_equal(cfg->channels[0].hook_timeout_ms, 20000);
	config_free(&cfg);
	assert_int_equal(load("    sync_command_timeout: 0\n", &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "t.yaml:13:"));
	assert_non_null(strstr(err.msg, "sync_command_timeout"));
	mf_err_clear(&err);
	assert_int_equal(load("    post_sync_command: [a, b]\n", &cfg, &err),
			 -1);
	assert_non_null(strstr(err.msg, "post_sync_command"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),  cmocka_unit_test(test_mode),
		cmocka_unit_test(test_draw),   cmocka_unit_test(test_changed),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
