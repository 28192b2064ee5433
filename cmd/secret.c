/*
 * Secrets for accounts: run a command, read a variable, or ask.
 *
 * The command runs as /bin/sh -c CMD with our stdin and stderr (so pass or
 * gpg can ask for a passphrase on the terminal) and its stdout on a pipe.
 * We keep the first SECRET_MAX_OUTPUT bytes and drain, without keeping, up
 * to SECRET_MAX_DRAIN more, so "pass show" with long notes after the
 * password still works, while a command that never stops writing is killed
 * instead of hanging us.  Every buffer that held a secret is wiped.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "base/cancel.h"
#include "base/xalloc.h"

/* Output beyond the kept part that is read and thrown away. */
#define SECRET_MAX_DRAIN (1024 * 1024)

/* Read everything up to EOF; keep the first size - 1 bytes in buf. */
static int
read_output(int fd, char *buf, size_t size, size_t *len_r, bool *more_r)
{
	char scratch[4096];
	size_t len = 0, drained = 0;
	ssize_t n;

	*more_r = false;
	for (;;) {
		if (len < size - 1)
			n = read(fd, buf + len, size - 1 - len);
		else
			n = read(fd, scratch, sizeof(scratch));
		/* a stop asked for (cancel.h) ends the wait for the command */
		if (n < 0 && errno == EINTR && mf_cancel_signal() == 0)
			continue;
		if (n <= 0)
			break;
		if (len < size - 1) {
			len += (size_t)n;
			continue;
		}
		*more_r = true;
		drained += (size_t)n;
		if (drained > SECRET_MAX_DRAIN)
			break;
	}
	explicit_bzero(scratch, sizeof(scratch));
	buf[len] = '\0';
	*len_r = len;
	return n < 0 ? -1 : drained > SECRET_MAX_DRAIN ? 1 : 0;
}

static int
wait_child(pid_t pid, int *status_r)
{
	while (waitpid(pid, status_r, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Fork /bin/sh -c cmd with stdout on a pipe; *fd_r is the read end. */
static int
spawn(const char *cmd, pid_t *pid_r, int *fd_r)
{
	struct sigaction dfl;
	int fds[2];
	pid_t pid;

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
		/* dup2 clears close-on-exec on the new descriptor */
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(127);
		sigaction(SIGPIPE, &dfl, NULL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
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

static int
run_command(const struct config_account *acct, const char *key, const char *cmd,
	    char **secret_r, struct mf_err *err)
{
	char buf[SECRET_MAX_OUTPUT + 1];
	size_t len = 0;
	bool more;
	pid_t pid;
	int fd, status, rd, ret;

	if (spawn(cmd, &pid, &fd) < 0)
		return mf_err_sys(err, MF_E_AUTH,
				  "account '%s': %s: cannot "
				  "start /bin/sh",
				  acct->name, key);
	rd = read_output(fd, buf, sizeof(buf), &len, &more);
	close(fd);
	if (rd > 0)
		kill(pid, SIGKILL); /* it would never stop writing */
	else if (rd < 0 && mf_cancel_signal() != 0)
		kill(pid, SIGTERM); /* we stop: so does it */
	if (wait_child(pid, &status) < 0)
		ret = mf_err_sys(err, MF_E_AUTH, "account '%s': %s: waitpid",
				 acct->name, key);
	else if (rd > 0)
		ret = mf_err_set(err, MF_E_AUTH,
				 "account '%s': %s printed "
				 "more than %d bytes",
				 acct->name, key, SECRET_MAX_DRAIN);
	else if (rd < 0)
		ret = mf_err_sys(err, MF_E_AUTH, "account '%s': %s: read",
				 acct->name, key);
	else if (check_status(acct, key, status, err) < 0)
		ret = -1;
	else
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
