/*
 * The backoff hint (see backoff.h).  -1 means "none asked for", so that a
 * wait of 0 (the server named no time) is still a request to back off.
 */
#include "backoff.h"

#include <stdatomic.h>

static atomic_long asked = -1;

void
mf_backoff_ask(long ms)
{
	long cur = atomic_load(&asked);

	if (ms < 0)
		ms = 0;
	while (ms > cur && !atomic_compare_exchange_weak(&asked, &cur, ms))
		;
}

bool
mf_backoff_pending(void)
{
	return atomic_load(&asked) >= 0;
}

long
mf_backoff_take(bool *asked_r)
{
	long ms = atomic_exchange(&asked, -1);

	*asked_r = ms >= 0;
	return ms > 0 ? ms : 0;
}
