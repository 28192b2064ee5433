#!/bin/bash
# mailferry watch against the harness Dovecot: a message APPENDed by
# another IMAP client (python's imaplib) reaches the Maildir, in INBOX
# (IDLE) and in another folder (NOTIFY, which the harness Dovecot offers), a flag set
# in the Maildir by renaming the file (as a mail reader does) reaches the
# server, a burst of changes is not followed by a storm of syncs, the
# server restarted under the watch is reconnected to, SIGHUP re-reads the
# configuration, SIGTERM exits 0; then NOTIFY turned off (disable: [notify])
# with an IDLE on a folder of the channel's watch: list and the polling
# fallback for the Maildir, and --json.
#
# --interval is an hour, so only IDLE and inotify (or the poll) can have
# carried a change within the waits below.  The waits are bounds for a
# watch that does not work at all (10 s, 30 s after a restart), not the
# speed asked of it: the time each change took is printed as a comment.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup

gen_msgs "$T/g" 1 5
mf_harness seed INBOX "$T"/g/* >/dev/null 2>&1
gen_msgs "$T/a" 1 4 a
mf_harness seed Archive "$T/a/m1" "$T/a/m2" >/dev/null 2>&1

# until SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds
# (0) or SECONDS passed (1); the time it took in $took
until_ok() {
	local limit=$1 t0 t1
	shift
	t0=$(date +%s%N)
	while ! "$@"; do
		t1=$(date +%s%N)
		if [ $(((t1 - t0) / 1000000)) -ge $((limit * 1000)) ]; then
			took=timeout
			return 1
		fi
		sleep 0.1
	done
	t1=$(date +%s%N)
	took=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f s", ns / 1e9 }')
}
# has_count N [BOX]: the local INBOX (or BOX) holds N messages or more
has_count() { [ "$(count "$LOCAL/${2:-INBOX}" 2>/dev/null)" -ge "$1" ]; }
# imap_append FILE [BOX]: APPEND by another client, as a webmail does
imap_append() {
	python3 - "$1" "$MF_CA_FILE" "$MF_IMAPS_PORT" "$MF_USER" "$MF_PASS" \
		"${2:-INBOX}" <<'PY'
import imaplib, ssl, sys
f, ca, port, user, pw, box = sys.argv[1:]
m = imaplib.IMAP4_SSL("localhost", int(port),
                      ssl_context=ssl.create_default_context(cafile=ca))
m.login(user, pw)
m.append(box, None, None, open(f, "rb").read().replace(b"\n", b"\r\n"))
m.logout()
PY
}
srv_flagged() {
	mf_harness doveadm fetch flags mailbox INBOX header message-id "$1" \
		2>/dev/null | grep -q Flagged
}
lines() { wc -l <"$1"; }

# ---- IDLE and inotify ----
"$MAILFERRY" -c "$CFG" watch --interval 3600 >"$T/w.out" 2>"$T/w.err" &
pid=$!
check "the first sync pulls the 5 messages" until_ok 10 has_count 5
check "the start line names IDLE and inotify" \
	until_ok 5 grep -q 'far: IDLE (NOTIFY where offered), near: inotify on' "$T/w.out"
check "NOTIFY is on" until_ok 5 grep -q 'far: connected, NOTIFY on every folder' \
	"$T/w.out"

gen_msgs "$T/h" 6 10
imap_append "$T/h/m6"
check "a message APPENDed by another client arrives" until_ok 10 has_count 6
echo "# APPEND to Maildir: $took"
imap_append "$T/a/m3" Archive
check "NOTIFY: an APPEND to another folder than INBOX arrives" \
	until_ok 10 has_count 3 Archive
echo "# APPEND to Archive, to Maildir: $took"

set_local_flags "$(local_file INBOX m2.g)" FS
check "a flag set in the Maildir reaches the server" \
	until_ok 10 srv_flagged m2.g
echo "# Maildir flag to server: $took"

# a burst of renames by a mail reader is a sync or two, then quiet
for i in 1 3 4 5; do set_local_flags "$(local_file INBOX "m$i.g")" S; done
sleep 2
before=$(lines "$T/w.out")
sleep 3
check "no sync storm: nothing printed in 3 quiet seconds" \
	test "$(lines "$T/w.out")" -eq "$before"
check "the burst reached the server" srv_flagged m2.g
seen=$(mf_harness doveadm search mailbox INBOX SEEN 2>/dev/null | wc -l)
check "all 5 seen flags are on the server ($seen)" test "$seen" -ge 5

# ---- the server restarted under the watch ----
mf_harness restart >/dev/null 2>&1
check "harness restarted" test $? -eq 0
imap_append "$T/h/m7"
check "after a server restart a new message still arrives" \
	until_ok 30 has_count 7
echo "# after the restart: $took"
check "the reconnect was said" until_ok 5 grep -q 'far: connected again' \
	"$T/w.out"

# ---- SIGHUP ----
kill -HUP $pid
check "SIGHUP re-reads the configuration" \
	until_ok 5 grep -q 'configuration read again' "$T/w.out"
imap_append "$T/h/m8"
check "after SIGHUP a new message still arrives" until_ok 10 has_count 8

# ---- SIGTERM ----
kill -TERM $pid
t0=$(date +%s%N)
wait $pid
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "SIGTERM: exit 0 ($rc)" test $rc -eq 0
check "SIGTERM: gone within 5 s ($ms ms)" test $ms -lt 5000
echo "# SIGTERM to exit: $ms ms"
no_duplicates "$LOCAL" \
	"no duplicate in the Maildir"
same_sides "both sides hold the same messages and flags"

# ---- NOTIFY off, and the polling fallback for the Maildir ----
sed -e 's/^    ca_file: .*/&\n    disable: [notify]/' \
	-e 's/^    near: local$/&\n    watch: [Archive]/' "$CFG" >"$T/nonotify.yaml"
MAILFERRY_WATCH_POLL=1 "$MAILFERRY" -c "$T/nonotify.yaml" watch \
	--interval 3600 >"$T/p.out" 2>"$T/p.err" &
pid=$!
check "polling: the start line says so" \
	until_ok 10 grep -q 'near: polling on' "$T/p.out"
check "no NOTIFY: IDLE on INBOX said" \
	until_ok 5 grep -q 'far: connected, IDLE on INBOX (no NOTIFY)' "$T/p.out"
imap_append "$T/h/m10"
check "no NOTIFY: an APPEND to INBOX still arrives" until_ok 10 has_count 9
sleep 2	# the syncs after the last change are over: only an IDLE is left
imap_append "$T/a/m4" Archive
check "no NOTIFY: an APPEND to Archive (in watch:) arrives by its IDLE" \
	until_ok 10 has_count 4 Archive
sleep 1
set_local_flags "$(local_file INBOX m6.g)" FS
check "polling: a Maildir flag reaches the server" \
	until_ok 10 srv_flagged m6.g
echo "# polling, Maildir flag to server: $took"
kill -TERM $pid
wait $pid
check "polling: SIGTERM exits 0" test $? -eq 0

# ---- --json ----
"$MAILFERRY" -c "$CFG" watch --json --interval 3600 >"$T/j.out" \
	2>"$T/j.err" &
pid=$!
check "json: the start event" until_ok 10 grep -q '"event":"start"' "$T/j.out"
imap_append "$T/h/m9"
check "json: a new message arrives" until_ok 10 has_count 10
check "json: a summary object for it" \
	until_ok 5 grep -q '"type":"summary"' "$T/j.out"
kill -TERM $pid
wait $pid
check "json: SIGTERM exits 0" test $? -eq 0
check "json: every line parses and has a type" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    assert "type" in json.loads(line), line
' "$T/j.out"
check "json: the last line is the stop event" \
	grep -q '"event":"stop"' <(tail -1 "$T/j.out")
[ "$fails" -eq 0 ] || sed 's/^/# out: /' "$T/w.out" "$T/w.err" | tail -30
finish
