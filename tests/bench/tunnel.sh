#!/bin/sh
# tunnel.sh DIR: run the preauth IMAP tunnel of the harness server in DIR
# (MF_TUNNEL from DIR/env.txt; a path keeps the clients' configs free of
# nested quoting) so that the server's CPU time and memory are not counted as
# the client's.
#
# A tunnel command is a child of the IMAP client, so getrusage (and GNU
# time) would add Dovecot's imap process to the client's user+sys time and
# peak RSS.  Here the command is started with "setsid -f" (which forks: the
# process that runs it is orphaned and reparented to init) on the same
# stdin/stdout; this script closes its own copies and waits for it to end,
# so the client still sees a child that lives as long as the session.
#
# Dovecot's imap refuses a socket on stdin or stdout ("must not be started
# from inetd"), and mbsync gives its tunnel a socketpair, so the command
# runs between two cats, for both clients alike: the extra copies cost the
# machine a little, but not the client's account.  The first cat is a
# process substitution that bash does not wait for and kills when the
# server is done: mbsync closes its end only after the tunnel exits.

dir=${1:?usage: tunnel.sh DIR}
cmd=$(sed -n 's/^MF_TUNNEL=//p' "$dir/env.txt")
[ -n "$cmd" ] || { echo "tunnel.sh: no MF_TUNNEL in $dir/env.txt" >&2; exit 1; }
fifo=$(mktemp -u "${TMPDIR:-/tmp}/mf-bench-tunnel.XXXXXX") || exit 1
mkfifo -m 600 "$fifo" || exit 1

# The orphan holds the fifo open for writing until it ends (its children
# do not): reading the fifo to EOF waits for it.  Waiting on the pid would
# not do: an orphan that init has not reaped yet still answers kill -0.
# shellcheck disable=SC2016
setsid -f bash -c 'exec 4>"$1"
	exec 3< <(exec cat 4>&-)
	cat=$!
	/bin/sh -c "$2" <&3 3<&- 4>&- | cat 4>&-
	kill "$cat" 2>/dev/null' bash "$fifo" "$cmd"
exec </dev/null >/dev/null
cat "$fifo"
rm -f "$fifo"
