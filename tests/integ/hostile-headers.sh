#!/bin/bash
# A server whose answer to the header FETCH the engine makes to match
# messages (sync/snapshot.c, identify_side) breaks the connection must not
# stick the folder for good: the headers are read around the culprit
# (sync/around.h), the culprit is left alone for the run (mf_msg.held) and
# the rest is synced.  Each case syncs INBOX (6 messages) from the scripted
# fake server (tests/fake/badhdr-*.script) into a Maildir that holds one
# message of its own ("local"), so that both sides have new messages and
# the far headers must be read (pull only: the local one stays local):
#   (a) UID 3's header answer cannot be parsed, also alone: headers asked
#       1:6, 3, 4:6; bodies 1, 2, 4, 5, 6 land, 3 does not, a warning
#       names the side, INBOX and UID 3, the summary counts it failed,
#       exit 1;
#   (b) the next run asks for UID 3's header only; it breaks again: again
#       skipped and named, nothing new lands, exit 1;
#   (c) the server answers it properly now: its header, then its body
#       alone, all six are there once each, exit 0;
#   (d) the connection is cut after the headers of 1 and 2: 3 alone, then
#       4 and 5:6; all six land, exit 0, no warning;
#   (e) both ways, the Maildir holding also "twin", of UID 3's size: as
#       (a), and "local" is pushed, "twin" is not (it may be UID 3's copy).
# The fake's script checks every command the client sends, in order.
set -u

. "$(dirname "$0")/lib-fake.sh"

# sync_with SCRIPT [fresh]: one "mailferry sync" against the fake server
# running SCRIPT; fresh starts from a Maildir holding only the local
# message and no state.  Sets rc, $tmp/out, $tmp/err, $tmp/log.
sync_with() {
	if [ "${2:-}" = fresh ]; then
		rm -rf "$tmp/local" "$tmp/state"
		mkdir -p "$tmp/local/INBOX/cur" "$tmp/local/INBOX/new" \
			"$tmp/local/INBOX/tmp"
		printf 'Message-ID: <local@near.example>\nSubject: local\n\nmine, kept here\n' \
			>"$tmp/local/INBOX/cur/1700000000.1.host:2,S"
	fi
	# a message of UID 3's size (72 bytes with CRLF), for the push case
	[ -n "${TWIN:-}" ] &&
		printf 'Message-ID: <tw@near.example>\nSubject: twin\n\n%s\n' \
			xxxxxxxxxxxxxxxxxxxxxx \
			>"$tmp/local/INBOX/cur/1700000000.2.host:2,S"
	fake_start "$1"
	cat >"$tmp/cfg.yaml" <<YAML
state_dir: $tmp/state
accounts:
  fake:
    host: localhost
    port: $PORT
    tls: none
    allow_insecure: true
    user: alice
    password_env: MF_FAKE_PW
    timeout: 10
stores:
  local:
    maildir: $tmp/local
channels:
  c:
    far: fake
    near: local
    sync: [${SYNC:-pull}]
YAML
	"$MAILFERRY" -c "$tmp/cfg.yaml" sync >"$tmp/out" 2>"$tmp/err"
	rc=$?
	fake_wait
}

# which far messages the Maildir holds, as "1 2 4", one word per file
have() {
	find "$tmp/local/INBOX" -type f \( -path '*/cur/*' -o -path '*/new/*' \) \
		-exec sed -n 's/^Subject: message \([0-9]*\)$/\1/p' {} + |
		sort -n | tr '\n' ' ' | sed 's/ $//'
}
have_is() { [ "$(have)" = "$1" ]; }
local_kept() {
	[ "$(grep -l '^Subject: local$' -r "$tmp/local/INBOX" | wc -l)" -eq 1 ]
}
script_done() { grep -q '^# script done' "$tmp/log"; }
connections() { grep -c '^# connected' "$tmp/log"; }
# header and body fetches the client sent, as "1:6 3 4:6"
asked_hdr() {
	sed -n 's/^C: [A-Z0-9]* UID FETCH \([0-9:,]*\) (UID BODY.PEEK\[HEADER\])$/\1/p' \
		"$tmp/log" | tr '\n' ' ' | sed 's/ $//'
}
asked_body() {
	sed -n 's/^C: [A-Z0-9]* UID FETCH \([0-9:,]*\) (UID BODY.PEEK\[\])$/\1/p' \
		"$tmp/log" | tr '\n' ' ' | sed 's/ $//'
}
hdr_is() { [ "$(asked_hdr)" = "$1" ]; }
body_is() { [ "$(asked_body)" = "$1" ]; }
warned_3() {
	grep -q '^warning: far INBOX: UID 3: header breaks the session: skipped, tried again next run$' "$tmp/err"
}
one_uid_named() { [ "$(grep -c 'UID [0-9]*:' "$tmp/err")" -eq 1 ]; }

# (a) UID 3's header is malformed, also alone
sync_with badhdr-pull.script fresh
check "(a) exit 1 (a message failed)" test "$rc" -eq 1
check "(a) the server saw the script through" script_done
check "(a) headers asked: 1:6, then 3 alone, then 4:6" hdr_is "1:6 3 4:6"
check "(a) three connections: the first, 3 alone, the rest" \
	test "$(connections)" -eq 3
check "(a) bodies asked: all but 3, once" body_is "1:2,4:6"
check "(a) 1, 2, 4, 5, 6 are in the Maildir, 3 is not" have_is "1 2 4 5 6"
check "(a) the local message is kept, once" local_kept
check "(a) a warning names far, INBOX and UID 3" warned_3
check "(a) only UID 3 is named" one_uid_named
check "(a) the summary counts 5 pulled, 1 failed" \
	grep -q '^c: INBOX: pulled 5, .*1 FAILED$' "$tmp/out"

# (b) the next run tries UID 3 again; it breaks again
sync_with badhdr-rerun.script
check "(b) exit 1 (a message failed)" test "$rc" -eq 1
check "(b) the server saw the script through" script_done
check "(b) the header of UID 3 only, twice (batch, alone)" hdr_is "3 3"
check "(b) no body asked" body_is ""
check "(b) the Maildir is as it was" have_is "1 2 4 5 6"
check "(b) the local message is kept, once" local_kept
check "(b) the warning names UID 3 again" warned_3
check "(b) only UID 3 is named" one_uid_named

# (c) the server answers UID 3's header properly now
sync_with badhdr-fixed.script
check "(c) exit 0" test "$rc" -eq 0
check "(c) the server saw the script through" script_done
check "(c) the header of UID 3 only" hdr_is "3"
check "(c) the body of UID 3 only" body_is "3"
check "(c) all six are in the Maildir, once each" have_is "1 2 3 4 5 6"
check "(c) the local message is kept, once" local_kept
check "(c) no warning about a message" absent 'UID [0-9]' "$tmp/err"

# (d) the connection is cut during the header fetch
sync_with badhdr-cut.script fresh
check "(d) exit 0" test "$rc" -eq 0
check "(d) the server saw the script through" script_done
check "(d) headers asked: 1:6, then 3 alone, then 4 and 5:6" \
	hdr_is "1:6 3 4 5:6"
check "(d) all bodies in one fetch" body_is "1:6"
check "(d) all six are in the Maildir" have_is "1 2 3 4 5 6"
check "(d) no warning about a message" absent 'UID [0-9]' "$tmp/err"

# (e) both ways: the local message is pushed, the twin waits
SYNC="pull, push" TWIN=1 sync_with badhdr-both.script fresh
check "(e) exit 1 (a message failed)" test "$rc" -eq 1
check "(e) the server saw the script through" script_done
check "(e) headers asked: 1:6, then 3 alone, then 4:6" hdr_is "1:6 3 4:6"
check "(e) bodies asked: all but 3, once" body_is "1:2,4:6"
check "(e) 1, 2, 4, 5, 6 are in the Maildir, 3 is not" have_is "1 2 4 5 6"
check "(e) one APPEND, of the local message" \
	test "$(grep -c '^C: [A-Z0-9]* APPEND ' "$tmp/log")" -eq 1
check "(e) the APPEND carried the local message" \
	grep -q '^C: Subject: local' "$tmp/log"
check "(e) the twin is not uploaded" absent '^C: Subject: twin' "$tmp/log"
check "(e) a warning names far, INBOX and UID 3" warned_3

fake_finish
