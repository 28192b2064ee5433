/*
 * Unit tests for cmd/secret.c: commands, variables, plain values, and the
 * rule that no message ever contains the secret or the command's output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cancel.h"
#include "secret.h"

static void
init_account(struct config_account *acct)
{
	memset(acct, 0, sizeof(*acct));
	acct->name = "work";
	acct->imap.name = "work";
	acct->imap.host = "imap.example.com";
	acct->imap.user = "alice";
}

/* The secret, or NULL with err set. */
static char *
get(const struct config_account *acct, enum imap_secret_kind kind,
    struct mf_err *err)
{
	char *secret = (char *)"unchanged";

	mf_err_clear(err);
	if (secret_get(acct, kind, &secret, err) < 0) {
		if (secret != NULL)
			fail_msg("secret_r not NULL after failure");
		return NULL;
	}
	return secret;
}

static void
test_commands(void **state)
{
	static const struct {
		const char *cmd;
		const char *secret; /* NULL: must fail */
		const char *error;  /* substring of the message */
		const char *never;  /* must not appear in the message */
	} rows[] = {
		{ "printf 'hunter2\\nnotes: x\\n'", "hunter2", NULL, NULL },
		{ "printf 'tok\\r\\n'", "tok", NULL, NULL },
		{ "printf 'no newline'", "no newline", NULL, NULL },
		{ "printf ' spaces kept \\n'", " spaces kept ", NULL, NULL },
		/* a long tail after the first line is read and dropped */
		{ "echo pw; head -c 100000 /dev/zero", "pw", NULL, NULL },
		{ "echo leaked-secret; exit 3", NULL,
		  "account 'work': password_command failed (exit status 3)",
		  "leaked-secret" },
		{ "true", NULL, "printed nothing", NULL },
		{ "printf '\\n\\nlater'", NULL, "printed nothing", "later" },
		{ "echo partial-secret; kill -9 $$", NULL, "killed by signal 9",
		  "partial-secret" },
		{ "exec /nonexistent/helper 2>/dev/null", NULL,
		  "exit status 127", NULL },
		{ "head -c 20000 /dev/zero | tr '\\0' x", NULL,
		  "first line longer than 8192 bytes", "xxx" },
		/* never stops writing: killed, not waited for forever */
		{ "yes leaked", NULL, "printed more than", "leaked" },
	};
	struct config_account acct;
	struct mf_err err;
	size_t i;

	(void)state;
	init_account(&acct);
	for (i = 0; i < MF_N_ELEMENTS(rows); i++) {
		char *s;

		acct.password_command = rows[i].cmd;
		s = get(&acct, IMAP_SECRET_PASSWORD, &err);
		if (rows[i].secret != NULL &&
		    (s == NULL || strcmp(s, rows[i].secret) != 0))
			fail_msg("row %zu: got '%s' (%s)", i, s ? s : "(fail)",
				 err.msg);
		if (rows[i].secret == NULL && s != NULL)
			fail_msg("row %zu: succeeded with '%s'", i, s);
		if (rows[i].error != NULL &&
		    (strstr(err.msg, rows[i].error) == NULL ||
		     err.cls != MF_E_AUTH))
			fail_msg("row %zu: message '%s'", i, err.msg);
		if (rows[i].never != NULL &&
		    strstr(err.msg, rows[i].never) != NULL)
			fail_msg("row %zu: message leaks output: '%s'", i,
				 err.msg);
		/* the command itself may hold a secret: never shown */
		if (s == NULL && strstr(err.msg, rows[i].cmd) != NULL)
			fail_msg("row %zu: message shows the command", i);
		free(s);
	}
}

/* tmpl with each '@' replaced by pid. */
static void
with_pid(const char *tmpl, long pid, char *out, size_t size)
{
	size_t o = 0;

	for (; *tmpl != '\0' && o + 24 < size; tmpl++) {
		if (*tmpl == '@')
			o += (size_t)snprintf(out + o, size - o, "%ld", pid);
		else
			out[o++] = *tmpl;
	}
	out[o] = '\0';
}

static void
test_timeout(void **state)
{
	/* sleeps with our pid in the argument (a parallel run has another);
	 * short, so a failure leaves nothing for long */
	static const char *const tmpls[] = {
		"sleep 29.@1",
		/* a child in the background holds stdout open */
		"sleep 29.@2 & sleep 29.@2",
		/* stdout closed after the line, but it never exits */
		"echo pw; exec >&-; sleep 29.@3",
		/* SIGTERM ignored: SIGKILL after the grace */
		"trap '' TERM; sleep 29.@4",
	};
	struct config_account acct;
	struct mf_err err;
	struct timespec t0, t1;
	char cmd[200], left[100];
	long me = (long)getpid();
	size_t i;
	char *s;

	(void)state;
	init_account(&acct);
	acct.secret_timeout_ms = 1000;
	for (i = 0; i < MF_N_ELEMENTS(tmpls); i++) {
		with_pid(tmpls[i], me, cmd, sizeof(cmd));
		acct.password_command = cmd;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (get(&acct, IMAP_SECRET_PASSWORD, &err) != NULL)
			fail_msg("row %zu: succeeded", i);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (strstr(err.msg, "account 'work': password_command did "
				    "not finish within 1 s") == NULL ||
		    err.cls != MF_E_AUTH)
			fail_msg("row %zu: message '%s'", i, err.msg);
		/* 1 s, the 1 s grace: a bound on a hang, not a speed test */
		if (t1.tv_sec - t0.tv_sec > 6)
			fail_msg("row %zu: took %ld s", i,
				 (long)(t1.tv_sec - t0.tv_sec));
		snprintf(left, sizeof(left),
			 "pgrep -f 'sleep 29\\.%ld%zu( |$)' >/dev/null", me,
			 i + 1);
		if (system(left) == 0)
			fail_msg("row %zu: a sleep of it still runs", i);
	}
	/* the default applies without password_command_timeout */
	acct.secret_timeout_ms = 0;
	acct.password_command = "echo quick";
	s = get(&acct, IMAP_SECRET_PASSWORD, &err);
	assert_non_null(s);
	assert_string_equal(s, "quick");
	free(s);
}

static void
test_env_and_plain(void **state)
{
	struct config_account acct;
	struct mf_err err;
	char *s;

	(void)state;
	init_account(&acct);
	setenv("MF_SECRET_TEST", "s3cret", 1);
	acct.password_env = "MF_SECRET_TEST";
	s = get(&acct, IMAP_SECRET_PASSWORD, &err);
	assert_non_null(s);
	assert_string_equal(s, "s3cret");
	free(s);

	unsetenv("MF_SECRET_UNSET");
	acct.password_env = "MF_SECRET_UNSET";
	assert_null(get(&acct, IMAP_SECRET_PASSWORD, &err));
	assert_string_equal(err.msg,
			    "account 'work': password_env: "
			    "environment variable MF_SECRET_UNSET is not set");
	assert_int_equal(err.cls, MF_E_CONFIG);

	setenv("MF_SECRET_EMPTY", "", 1);
	acct.password_env = "MF_SECRET_EMPTY";
	assert_null(get(&acct, IMAP_SECRET_PASSWORD, &err));
	assert_non_null(strstr(err.msg, "MF_SECRET_EMPTY is empty"));

	acct.password_env = NULL;
	acct.password = "plain";
	s = get(&acct, IMAP_SECRET_PASSWORD, &err);
	assert_non_null(s);
	assert_string_equal(s, "plain");
	free(s);
}

static void
test_oauth(void **state)
{
	struct config_account acct;
	struct mf_err err;
	char *s = NULL;

	(void)state;
	init_account(&acct);
	/* no token source */
	assert_null(get(&acct, IMAP_SECRET_OAUTH_TOKEN, &err));
	assert_non_null(strstr(err.msg, "set oauth_token_command"));

	acct.oauth_token_command = "echo ya29.token";
	acct.imap.use_oauth = true;
	/* through the callback the IMAP store calls */
	assert_int_equal(secret_imap_fn(&acct, IMAP_SECRET_OAUTH_TOKEN, &s,
					&err),
			 0);
	assert_string_equal(s, "ya29.token");
	free(s);
	/* a password is not to be had from a token command */
	assert_null(get(&acct, IMAP_SECRET_PASSWORD, &err));
	assert_non_null(strstr(err.msg, "only oauth_token_command"));
}

static void
test_no_terminal(void **state)
{
	struct config_account acct;
	struct mf_err err;
	int saved = dup(STDIN_FILENO), null = open("/dev/null", O_RDONLY);

	(void)state;
	assert_true(saved >= 0 && null >= 0);
	assert_int_equal(dup2(null, STDIN_FILENO), STDIN_FILENO);
	init_account(&acct);
	assert_null(get(&acct, IMAP_SECRET_PASSWORD, &err));
	assert_non_null(strstr(err.msg, "no terminal to ask on; set "
					"password_command"));
	assert_int_equal(err.cls, MF_E_CONFIG);
	dup2(saved, STDIN_FILENO);
	close(saved);
	close(null);
}

/* ---- the terminal prompt, on a pseudo-terminal ----------------------- */

/* The child: ask, then report what came back and whether echo is on. */
static void
prompt_child(void)
{
	struct config_account acct;
	struct mf_err err = { 0 };
	struct termios tio;
	char *s = NULL;
	int ret;

	init_account(&acct);
	ret = secret_get(&acct, IMAP_SECRET_PASSWORD, &s, &err);
	tcgetattr(STDIN_FILENO, &tio);
	printf("ret=%d secret=[%s] echo=%d\n", ret, s != NULL ? s : "",
	       (tio.c_lflag & ECHO) != 0);
	fflush(stdout);
	_exit(0);
}

/* Append what the child wrote until want appears or it closes. */
static bool
read_until(int fd, char *buf, size_t size, size_t *len, const char *want)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (want == NULL || strstr(buf, want) == NULL) {
		ssize_t n;

		/* a generous bound against a hang, not a timing assertion */
		if (poll(&pfd, 1, 30000) <= 0)
			return false;
		n = read(fd, buf + *len, size - 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) /* EIO: the child closed the terminal */
			return want == NULL;
		*len += (size_t)n;
		buf[*len] = '\0';
	}
	return true;
}

static pid_t
start_prompt(int *master_r, char *buf, size_t size, size_t *len)
{
	struct termios tio;
	pid_t pid;

	fflush(NULL); /* or the child would write cmocka's buffered lines */
	pid = forkpty(master_r, NULL, NULL, NULL);
	if (pid < 0)
		fail_msg("forkpty: %s", strerror(errno));
	if (pid == 0)
		prompt_child();
	if (!read_until(*master_r, buf, size, len,
			"Password for alice@imap.example.com: "))
		fail_msg("no prompt, got '%s'", buf);
	/* the prompt shows only once echo is off */
	assert_int_equal(tcgetattr(*master_r, &tio), 0);
	assert_false(tio.c_lflag & ECHO);
	return pid;
}

static void
test_prompt(void **state)
{
	char buf[1024] = "";
	size_t len = 0;
	int master, status;
	pid_t pid;

	(void)state;
	pid = start_prompt(&master, buf, sizeof(buf), &len);
	assert_int_equal(write(master, "hunter2\n", 8), 8);
	assert_true(read_until(master, buf, sizeof(buf), &len, NULL));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(master);
	assert_non_null(strstr(buf, "ret=0 secret=[hunter2] echo=1"));
	/* typed but not echoed: it appears once, in the child's report */
	assert_ptr_equal(strstr(buf, "hunter2"), strstr(buf, "[hunter2]") + 1);
}

static void
test_prompt_interrupted(void **state)
{
	struct termios tio;
	char buf[1024] = "";
	size_t len = 0;
	int master, status;
	pid_t pid;

	(void)state;
	pid = start_prompt(&master, buf, sizeof(buf), &len);
	/* ^C from the keyboard: the terminal gets its echo back */
	assert_int_equal(write(master, "\003", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGINT);
	assert_int_equal(tcgetattr(master, &tio), 0);
	assert_true(tio.c_lflag & ECHO);
	close(master);
}

/*
 * A password_command that reads the terminal (as gpg may for its
 * passphrase) runs in a group of its own: it must get the terminal, not
 * SIGTTIN, and we must get it back.
 */
static void
command_on_terminal(const char *typed, const char *want)
{
	char buf[1024] = "";
	size_t len = 0;
	int master, status;
	pid_t pid;

	fflush(NULL);
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid < 0)
		fail_msg("forkpty: %s", strerror(errno));
	if (pid == 0) {
		struct config_account acct;
		struct mf_err err = { 0 };
		char *s = NULL;
		int ret;

		init_account(&acct);
		acct.password_command = "printf 'say: ' >&2; read -r p; "
					"echo \"$p\"";
		acct.secret_timeout_ms = 20000;
		ret = secret_get(&acct, IMAP_SECRET_PASSWORD, &s, &err);
		printf("ret=%d secret=[%s] fg=%d stop=%d %s\n", ret,
		       s != NULL ? s : "", tcgetpgrp(STDIN_FILENO) == getpgrp(),
		       mf_cancel_signal(), err.msg);
		fflush(stdout);
		_exit(0);
	}
	if (!read_until(master, buf, sizeof(buf), &len, "say: "))
		fail_msg("no question, got '%s'", buf);
	assert_int_equal(write(master, typed, strlen(typed)),
			 (ssize_t)strlen(typed));
	assert_true(read_until(master, buf, sizeof(buf), &len, NULL));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(master);
	if (strstr(buf, want) == NULL)
		fail_msg("want '%s', got '%s'", want, buf);
}

static void
test_command_on_terminal(void **state)
{
	(void)state;
	command_on_terminal("from-tty\n",
			    "ret=0 secret=[from-tty] fg=1 stop=0");
	/* ^C stops the command and, through it, us */
	command_on_terminal("\003", "ret=-1 secret=[] fg=1 stop=2 account "
				    "'work': password_command: interrupted by "
				    "SIGINT");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_env_and_plain),
		cmocka_unit_test(test_oauth),
		cmocka_unit_test(test_no_terminal),
		cmocka_unit_test(test_prompt),
		cmocka_unit_test(test_prompt_interrupted),
		cmocka_unit_test(test_command_on_terminal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
