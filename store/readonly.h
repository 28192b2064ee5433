/*
 * A store that cannot be written: the source of `mailferry migrate`, which
 * must leave the old account exactly as it was.
 *
 * store_readonly_wrap() puts another store behind the same interface with
 * every mailbox opened read-only (IMAP: EXAMINE, so that not even \Recent
 * or \Seen changes) and every call that would change something failing
 * with MF_E_BOX, "NAME is read-only".  The guarantee is here, below the
 * engine, rather than in the engine's plan: whatever a policy or a bug
 * asks for, nothing reaches the source.  rename_box, move and relabel are
 * NULL, which the engine reads as "this store cannot".
 */
#ifndef MF_STORE_READONLY_H
#define MF_STORE_READONLY_H

#include "store.h"

/* Wrap *st, which the wrapper then owns (its destroy destroys it). */
void store_readonly_wrap(struct mf_store **st);

#endif
