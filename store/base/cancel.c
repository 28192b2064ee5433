/*
 * The stop flag (see cancel.h).  sig_atomic_t is the one type C lets a
 * handler write and the program read without a race; volatile keeps the
 * compiler from caching it across the loops that poll it.
 */
#include "cancel.h"

#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t cancel_signo;

void
mf_cancel_set(int signo)
{
	if (cancel_signo == 0)
		cancel_signo = signo > 0 ? signo : SIGTERM;
}

int
mf_cancel_signal(void)
{
	return cancel_signo;
}

const char *
mf_cancel_name(void)
{
	static char buf[32];

	switch (cancel_signo) {
	case 0:
		return "nothing";
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	}
	snprintf(buf, sizeof(buf), "signal %d", (int)cancel_signo);
	return buf;
}

void
mf_cancel_reset(void)
{
	cancel_signo = 0;
}
