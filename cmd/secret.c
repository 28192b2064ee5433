/*
 * Secrets for accounts: run a command, read a variable, or ask.
 *
 * The command runs as /bin/sh -c CMD with our stdin and stderr (so pass or
 * gpg can ask for a passphrase on the terminal) and its stdout on a pipe.
 * We keep the first SECRET_MAX_OUTPUT bytes and drain, without keeping, up
 * to SECRET_MAX_DRAIN more, so "pass show" with long notes after the
 * password still works, while a command that never stops writing is killed
 * instead of hanging us.  So is one that takes longer than its timeout, and
 * with it its process group: a child it left behind holding the pipe would
 * keep us waiting too.  Every buffer that held a secret is wiped.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "base/cancel.h"
#include "base/xalloc.h"

/* Output beyond the kept part that is read and thrown away. */
#define SECRET_MAX_DRAIN (1024 * 1024)

/* Between SIGTERM and SIGKILL to a command's group. */
#define SECRET_KILL_GRACE_MS 1000

static int64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
left_ms(int64_t deadline)
{
	int64_t left = deadline - clock_ms();

	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/*
 * Read everything up to EOF or the deadline; keep the first size - 1 bytes
 * in buf.  0: EOF; 1: too much output; 2: deadline; -1: error or stop.
 */
static int
read_output(int fd, int64_t deadline, char *buf, size_t size, size_t *len_r,
	    bool *more_r)
{
	char scratch[4096];
	size_t len = 0, drained = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n = 0;
	int ret = 0, p;

	*more_r = false;
	for (;;) {
		p = poll(&pfd, 1, left_ms(deadline));
		/* a stop asked for (cancel.h) ends the wait for the command */
		if (p < 0 && errno == EINTR && mf_cancel_signal() == 0)
			continue;
		if (p <= 0) {
			ret = p == 0 ? 2 : -1;
			break;
		}
		if (len < size - 1)
			n = read(fd, buf + len, size - 1 - len);
		else
			n = read(fd, scratch, sizeof(scratch));
		if (n < 0 && errno == EINTR && mf_cancel_signal() == 0)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -1 : 0;
			break;
		}
		if (len < size - 1) {
			len += (size_t)n;
			continue;
		}
		*more_r = true;
		drained += (size_t)n;
		if (drained > SECRET_MAX_DRAIN) {
			ret = 1;
			break;
		}
	}
	explicit_bzero(scratch, sizeof(scratch));
	buf[len] = '\0';
	*len_r = len;
	return ret;
}

/* Reap pid by the deadline (-1: wait for ever).  0: reaped; 1: not yet. */
static int
wait_child(pid_t pid, int64_t deadline, int *status_r)
{
	for (;;) {
		pid_t r = waitpid(pid, status_r, deadline < 0 ? 0 : WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0 && left_ms(deadline) == 0)
			return 1;
		if (r == 0)
			usleep(10 * 1000);
	}
}

/*
 * End the command and everything it started (its process group: "sh -c
 * 'helper &'" leaves a helper holding the pipe): SIGTERM, up to a grace for
 * the command to exit, then SIGKILL for whatever is left.  Whether others
 * in the group are still alive cannot be told (kill(-pgid, 0) counts the
 * zombies an init that does not reap leaves), so the SIGKILL always goes.
 * Its id could only name another group once the pid counter has wrapped
 * round, not in the 20 ms after we reaped the leader.
 */
static void
kill_group(pid_t pid, int *status_r, bool *reaped)
{
	int64_t grace = clock_ms() + SECRET_KILL_GRACE_MS;

	kill(-pid, SIGTERM);
	if (!*reaped && wait_child(pid, grace, status_r) == 0)
		*reaped = true;
	if (*reaped)
		usleep(20 * 1000); /* its children got the SIGTERM too */
	kill(-pid, SIGKILL);
	if (!*reaped && wait_child(pid, -1, status_r) == 0)
		*reaped = true;
}

/* Give the terminal to group pgid (or back to ours) without SIGTTOU. */
static void
give_terminal(pid_t pgid)
{
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGTTOU);
	sigprocmask(SIG_BLOCK, &set, &old);
	tcsetpgrp(STDIN_FILENO, pgid);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/*
 * Fork /bin/sh -c cmd in a process group of its own, stdout on a pipe; *fd_r
 * is the read end.  When we own the terminal, its group gets it while it
 * runs (pass and gpg may ask for a passphrase there): *tty_r says so.  A
 * ^C then goes to the command only; run_command() passes it on to us.
 */
static int
spawn(const char *cmd, pid_t *pid_r, int *fd_r, bool *tty_r)
{
	struct sigaction dfl;
	int fds[2];
	pid_t pid;

	*tty_r = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
	/* we may ignore SIGPIPE; the command should not inherit that */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		/* both sides set the group, so neither waits for the other */
		setpgid(0, 0);
		if (*tty_r)
			give_terminal(getpid());
		/* dup2 clears close-on-exec on the new descriptor */
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		sigaction(SIGPIPE, &dfl, NULL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	if (*tty_r)
		give_terminal(pid);
	close(fds[1]);
	*pid_r = pid;
	*fd_r = fds[0];
	return 0;
}

static int
check_status(const struct config_account *acct, const char *key, int status,
	     struct mf_err *err)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return mf_err_set(err, MF_E_AUTH,
				  "account '%s': %s failed "
				  "(exit status 127: command not found?)",
				  acct->name, key);
	if (WIFEXITED(status))
		return mf_err_set(err, MF_E_AUTH,
				  "account '%s': %s failed "
				  "(exit status %d)",
				  acct->name, key, WEXITSTATUS(status));
	return mf_err_set(err, MF_E_AUTH,
			  "account '%s': %s failed (killed "
			  "by signal %d)",
			  acct->name, key,
			  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The first line of buf, without its CR LF, as a new string. */
static int
first_line(const struct config_account *acct, const char *key, char *buf,
	   size_t len, bool more, char **secret_r, struct mf_err *err)
{
	char *nl = memchr(buf, '\n', len);

	if (nl == NULL && more)
		return mf_err_set(err, MF_E_AUTH,
				  "account '%s': %s printed a "
				  "first line longer than %d bytes",
				  acct->name, key, SECRET_MAX_OUTPUT);
	if (nl != NULL)
		len = (size_t)(nl - buf);
	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	if (len == 0)
		return mf_err_set(err, MF_E_AUTH,
				  "account '%s': %s printed "
				  "nothing on its first line",
				  acct->name, key);
	*secret_r = xstrndup(buf, len);
	return 0;
}

/* What went wrong, from read_output()'s result rd; 0 when nothing did. */
static int
run_error(const struct config_account *acct, const char *key, int rd,
	  int timeout_ms, struct mf_err *err)
{
	if (rd == 1)
		return mf_err_set(err, MF_E_AUTH,
				  "account '%s': %s printed "
				  "more than %d bytes",
				  acct->name, key, SECRET_MAX_DRAIN);
	if (rd == 2)
		return mf_err_set(err, MF_E_AUTH,
				  "account '%s': %s did not "
				  "finish within %d s and was killed "
				  "(password_command_timeout)",
				  acct->name, key, timeout_ms / 1000);
	if (rd < 0 && mf_cancel_signal() != 0)
		return mf_err_set(err, MF_E_CANCELED,
				  "account '%s': %s: "
				  "interrupted by %s",
				  acct->name, key, mf_cancel_name());
	if (rd < 0)
		return mf_err_sys(err, MF_E_AUTH, "account '%s': %s: read",
				  acct->name, key);
	return 0;
}

static int
run_command(const struct config_account *acct, const char *key, const char *cmd,
	    char **secret_r, struct mf_err *err)
{
	int timeout_ms = acct->secret_timeout_ms > 0 ?
				 acct->secret_timeout_ms :
				 SECRET_DEFAULT_TIMEOUT_MS;
	int64_t deadline = clock_ms() + timeout_ms;
	char buf[SECRET_MAX_OUTPUT + 1];
	size_t len = 0;
	bool more, tty, reaped = false;
	pid_t pid;
	int fd, status = 0, rd, ret;

	if (spawn(cmd, &pid, &fd, &tty) < 0)
		return mf_err_sys(err, MF_E_AUTH,
				  "account '%s': %s: cannot "
				  "start /bin/sh",
				  acct->name, key);
	rd = read_output(fd, deadline, buf, sizeof(buf), &len, &more);
	close(fd);
	/* stdout closed, but the command may still be running */
	if (rd == 0) {
		int w = wait_child(pid, deadline, &status);

		reaped = w == 0;
		rd = w == 1 ? 2 : w < 0 ? -1 : 0;
	}
	if (!reaped)
		kill_group(pid, &status, &reaped);
	if (tty)
		give_terminal(getpgrp());
	/* a ^C typed while the command held the terminal was meant for us */
	if (tty && rd == 0 && WIFSIGNALED(status) &&
	    WTERMSIG(status) == SIGINT) {
		mf_cancel_set(SIGINT);
		rd = -1;
	}
	ret = run_error(acct, key, rd, timeout_ms, err);
	if (ret == 0 && !reaped)
		ret = mf_err_sys(err, MF_E_AUTH, "account '%s': %s: waitpid",
				 acct->name, key);
	if (ret == 0 && check_status(acct, key, status, err) < 0)
		ret = -1;
	if (ret == 0)
		ret = first_line(acct, key, buf, len, more, secret_r, err);
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

static int
from_env(const struct config_account *acct, char **secret_r, struct mf_err *err)
{
	const char *val = getenv(acct->password_env);

	if (val == NULL)
		return mf_err_set(err, MF_E_CONFIG,
				  "account '%s': "
				  "password_env: environment variable %s is "
				  "not set",
				  acct->name, acct->password_env);
	if (val[0] == '\0')
		return mf_err_set(err, MF_E_CONFIG,
				  "account '%s': "
				  "password_env: environment variable %s is "
				  "empty",
				  acct->name, acct->password_env);
	*secret_r = xstrdup(val);
	return 0;
}

/* ---- the terminal ----------------------------------------------------- */

/*
 * Echo is off while the password is typed; a signal in that window must
 * not leave the terminal mute, so the handlers below restore it first.
 */
static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;
static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static struct sigaction saved_act[MF_N_ELEMENTS(tty_signals)];

static void
restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	tio_saved = 0;
}

/* Terminal first, then whatever was installed before us (or death). */
static void
on_signal(int sig)
{
	size_t i;

	restore_tty();
	for (i = 0; i < MF_N_ELEMENTS(tty_signals); i++)
		if (tty_signals[i] == sig)
			sigaction(sig, &saved_act[i], NULL);
	raise(sig);
}

static int
echo_off(void)
{
	struct termios tio;
	struct sigaction sa;
	size_t i;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < MF_N_ELEMENTS(tty_signals); i++)
		sigaction(tty_signals[i], &sa, &saved_act[i]);
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	tio.c_lflag |= ECHONL;
	tio_saved = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) < 0)
		return -1;
	return 0;
}

static void
echo_on(void)
{
	size_t i;

	restore_tty();
	for (i = 0; i < MF_N_ELEMENTS(tty_signals); i++)
		sigaction(tty_signals[i], &saved_act[i], NULL);
}

/* One line from stdin, at most size - 1 bytes; -1 on error or EOF. */
static int
read_line(char *buf, size_t size, size_t *len_r)
{
	size_t len = 0;
	ssize_t n;
	char ch;

	for (;;) {
		n = read(STDIN_FILENO, &ch, 1);
		if (n < 0 && errno == EINTR && mf_cancel_signal() == 0)
			continue;
		if (n < 0 || (n == 0 && len == 0))
			return -1;
		if (n == 0 || ch == '\n')
			break;
		if (len + 1 >= size)
			return -1;
		buf[len++] = ch;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	*len_r = len;
	return 0;
}

static int
prompt(const struct config_account *acct, char **secret_r, struct mf_err *err)
{
	char buf[SECRET_MAX_OUTPUT];
	size_t len = 0;
	int ret;

	if (!isatty(STDIN_FILENO))
		return mf_err_set(err, MF_E_CONFIG,
				  "account '%s': no "
				  "password configured and no terminal to "
				  "ask on; set password_command (e.g. \"pass "
				  "show mail/%s\") or password_env",
				  acct->name, acct->name);
	/* echo off first: nothing typed after the prompt shows may echo */
	if (echo_off() < 0) {
		echo_on();
		return mf_err_sys(err, MF_E_AUTH, "account '%s': terminal",
				  acct->name);
	}
	fprintf(stderr, "Password for %s@%s: ",
		acct->imap.user != NULL ? acct->imap.user : "",
		acct->imap.host != NULL ? acct->imap.host : acct->name);
	fflush(stderr);
	ret = read_line(buf, sizeof(buf), &len);
	echo_on();
	if (ret < 0 || len == 0)
		ret = mf_err_set(err, MF_E_AUTH,
				 "account '%s': no password "
				 "entered",
				 acct->name);
	else
		*secret_r = xstrndup(buf, len);
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

int
secret_get(const struct config_account *acct, enum imap_secret_kind kind,
	   char **secret_r, struct mf_err *err)
{
	*secret_r = NULL;
	if (kind == IMAP_SECRET_OAUTH_TOKEN) {
		if (acct->oauth_token_command == NULL)
			return mf_err_set(err, MF_E_CONFIG,
					  "account '%s': "
					  "the server wants an OAuth2 token; "
					  "set oauth_token_command",
					  acct->name);
		return run_command(acct, "oauth_token_command",
				   acct->oauth_token_command, secret_r, err);
	}
	if (acct->password_command != NULL)
		return run_command(acct, "password_command",
				   acct->password_command, secret_r, err);
	if (acct->password_env != NULL)
		return from_env(acct, secret_r, err);
	if (acct->password != NULL) {
		*secret_r = xstrdup(acct->password);
		return 0;
	}
	if (acct->oauth_token_command != NULL)
		return mf_err_set(err, MF_E_AUTH,
				  "account '%s': the server "
				  "wants a password, but only "
				  "oauth_token_command is configured",
				  acct->name);
	return prompt(acct, secret_r, err);
}

int
secret_imap_fn(void *ctx, enum imap_secret_kind kind, char **secret_r,
	       struct mf_err *err)
{
	return secret_get(ctx, kind, secret_r, err);
}

/* ---- a command without output, for the sync hooks (secret.h) -------- */

int
secret_run_plain(const char *cmd, char *const *env, int timeout_ms,
		 int *status_r)
{
	int64_t deadline = clock_ms() + timeout_ms;
	bool reaped = false;
	size_t i;
	pid_t pid;
	int w = 1;

	*status_r = 0;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct sigaction dfl;
		int null = open("/dev/null", O_RDONLY);

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		setpgid(0, 0);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
		    dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(127);
		for (i = 0; env != NULL && env[i] != NULL; i++)
			putenv(env[i]);
		sigaction(SIGPIPE, &dfl, NULL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	/* in short steps, so that a stop asked for ends the wait */
	while (mf_cancel_signal() == 0 && left_ms(deadline) > 0) {
		int64_t step = clock_ms() + 100;

		w = wait_child(pid, step < deadline ? step : deadline,
			       status_r);
		if (w != 1)
			break;
	}
	if (w == 0)
		return 0;
	if (w < 0 && errno != ECHILD)
		return -1;
	kill_group(pid, status_r, &reaped);
	return mf_cancel_signal() != 0 ? 2 : 1;
}
