#!/bin/bash
# A server whose answer to a bulk body FETCH breaks the connection must
# not stick the folder for good (sync/exec.c, "fetching around").  Each
# case syncs INBOX (6 messages) from the scripted fake server
# (tests/fake/badmsg-*.script) into an empty Maildir:
#   (a) UID 3's answer cannot be parsed, also when asked for alone: 1, 2,
#       4, 5, 6 land, 3 does not, a warning names INBOX and UID 3, exit 1;
#   (b) the next run asks for the body of UID 3 only, and gets it;
#   (c) the connection is cut after UID 2 and the client comes back: all
#       six land, exit 0, no warning;
#   (d) the connection is cut and the server is gone: 1 and 2 are kept;
#       the attempt got something done, so the channel is tried once
#       more (cmd/cmd-sync.c): the cut is said once, as that attempt's
#       warning, with every context word once (no folder name twice), the
#       refused connection of the second attempt is the error, and there
#       is no per-message warning with an empty reason;
#   (e) every answer is broken: a bounded number of connections, then the
#       folder is given up with the skipped UIDs named, exit 1;
#   (f) the connection is cut and the folder is back with another
#       UIDVALIDITY: nothing more is fetched from it, the folder fails;
#   (g) "mailferry fetch" of six placeholders with UID 3 malformed: 5
#       replaced, 3 stays a placeholder, exit 1; the next fetch asks for
#       UID 3 only and replaces it.
# The fake's script checks every command the client sends, in order.
set -u

. "$(dirname "$0")/lib-fake.sh"

# sync_with SCRIPT [fresh]: one "mailferry sync" ($CMD if set) against
# the fake server running SCRIPT, with max_size $MAX_SIZE if set; fresh
# starts from an empty Maildir and state.  Sets rc, $tmp/out, $tmp/err,
# $tmp/log (the client's lines, "# connected" per connection) and waits
# for the server to finish.
sync_with() {
	[ "${2:-}" = fresh ] && rm -rf "$tmp/local" "$tmp/state"
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
${MAX_SIZE:+    max_size: $MAX_SIZE}
YAML
	"$MAILFERRY" -c "$tmp/cfg.yaml" "${CMD:-sync}" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	fake_wait
}

# which messages the Maildir holds, as "1 2 4" (from their Subject);
# PH=1: the placeholders among them instead (",PH=" in the file name)
have() {
	find "$tmp/local/INBOX" -type f \( -path '*/cur/*' -o -path '*/new/*' \) \
		-name "${PH:+*,PH=*}*" \
		-exec sed -n 's/^Subject: message \([0-9]*\)$/\1/p' {} + |
		sort -n | tr '\n' ' ' | sed 's/ $//'
}
have_is() { [ "$(have)" = "$1" ]; }
# no file left in the Maildir's tmp/ (a body cut short is discarded)
tmp_empty() { [ -z "$(find "$tmp/local/INBOX/tmp" -type f 2>/dev/null)" ]; }
script_done() { grep -q '^# script done' "$tmp/log"; }
connections() { grep -c '^# connected' "$tmp/log"; }
# body fetches the client sent, as "1:6 3 4:6"
asked() {
	sed -n 's/^C: [A-Z0-9]* UID FETCH \([0-9:,]*\) (UID BODY.PEEK\[\])$/\1/p' \
		"$tmp/log" | tr '\n' ' ' | sed 's/ $//'
}
asked_is() { [ "$(asked)" = "$1" ]; }
# no warning or error whose reason is empty ("...: copy: " at the end)
no_empty_reason() { absent ': *$' "$tmp/err"; }
# the error lines name INBOX at most once each
inbox_once() { ! grep -a 'mailferry:' "$tmp/err" | grep -q 'INBOX.*INBOX'; }
no_secret() { absent "$MF_FAKE_PW" "$tmp/err" && absent "$MF_FAKE_PW" "$tmp/out"; }

# (a) UID 3 is malformed, also alone
sync_with badmsg-pull.script fresh
check "(a) exit 1 (a message failed)" test "$rc" -eq 1
check "(a) the server saw the script through" script_done
check "(a) 1, 2, 4, 5, 6 are in the Maildir, 3 is not" have_is "1 2 4 5 6"
check "(a) nothing of 3 left in tmp/" tmp_empty
check "(a) a warning names INBOX and UID 3" \
	grep -q '^warning: INBOX: UID 3: fetch: .*protocol error.*tried again next run$' "$tmp/err"
check "(a) only UID 3 is named as failed" \
	test "$(grep -c 'UID [0-9]*:' "$tmp/err")" -eq 1
check "(a) three connections: the first, 3 alone, the rest" \
	test "$(connections)" -eq 3
check "(a) bodies asked: 1:6, then 3 alone, then 4:6" asked_is "1:6 3 4:6"
check "(a) the summary counts 5 pulled, 1 failed" \
	grep -q '^c: INBOX: pulled 5, .*1 FAILED$' "$tmp/out"
check "(a) no empty reason" no_empty_reason
check "(a) the cleartext warning once, not per connection" \
	test "$(grep -c 'cleartext connection' "$tmp/err")" -eq 1

# (b) the next run: nothing was recorded for UID 3, so it alone is asked
sync_with badmsg-rerun.script
check "(b) exit 0" test "$rc" -eq 0
check "(b) the server saw the script through" script_done
check "(b) one body fetch, for UID 3 only" asked_is "3"
check "(b) all six are in the Maildir now, once each" have_is "1 2 3 4 5 6"

# (c) the connection is cut after UID 2; the server is back at once
sync_with badmsg-cut.script fresh
check "(c) exit 0" test "$rc" -eq 0
check "(c) the server saw the script through" script_done
check "(c) all six are in the Maildir" have_is "1 2 3 4 5 6"
check "(c) bodies asked: 1:6, then 3 alone, then 4 and 5:6" \
	asked_is "1:6 3 4 5:6"
check "(c) no warning about a message" absent 'UID [0-9]' "$tmp/err"

# (d) the connection is cut and the server is gone
sync_with badmsg-gone.script fresh
check "(d) exit 4 (network)" test "$rc" -eq 4
check "(d) 1 and 2 are kept" have_is "1 2"
check "(d) nothing left in tmp/" tmp_empty
check "(d) the cut is said once, the refusal after it once" \
	test "$(grep -c '^mailferry: ' "$tmp/err")" -eq 2
check "(d) it names folder, cut and refused reconnect" \
	grep -q '^mailferry: c: INBOX: far: fetch: .*closed the connection; then fake: reconnect: .*refused (attempt 1 of 4); trying again in 1.0 s$' "$tmp/err"
check "(d) tried again once only: the second attempt did nothing" \
	test "$(grep -c 'trying again' "$tmp/err")" -eq 1
check "(d) the refused connection is the error" \
	grep -q '^mailferry: c: far: fake: connect to .*refused$' "$tmp/err"
check "(d) no folder name twice in it" inbox_once
check "(d) no per-message warning" absent 'UID [0-9]' "$tmp/err"
check "(d) no empty reason" no_empty_reason
check "(d) no password in the output" no_secret

# (e) every answer is broken: bounded, then given up
sync_with badmsg-all.script fresh
check "(e) exit 1 (the folder failed)" test "$rc" -eq 1
check "(e) the server saw the script through" script_done
check "(e) 11 connections: 10 to fetch, 1 for what comes next" \
	test "$(connections)" -eq 11
check "(e) nothing landed" have_is ""
check "(e) UIDs 1-4 skipped, each with a warning" \
	test "$(grep -c '^warning: INBOX: UID [1-4]: fetch: ' "$tmp/err")" -eq 4
check "(e) the folder is given up, naming the skipped UIDs" \
	grep -q '^mailferry: c: INBOX: far: fetch: given up .*UIDs skipped: 1 2 3 4;' "$tmp/err"
check "(e) no folder name twice in an error" inbox_once
check "(e) no empty reason" no_empty_reason

# (f) cut, and back with another UIDVALIDITY
sync_with badmsg-uidvalidity.script fresh
check "(f) exit 1 (the folder failed)" test "$rc" -eq 1
check "(f) the server saw the script through" script_done
check "(f) no body asked after the reconnect" asked_is "1:6"
check "(f) 1 and 2 are kept" have_is "1 2"
check "(f) the error names the change" \
	grep -q '^mailferry: c: INBOX: far: UIDVALIDITY 42 became 43 while reconnecting' "$tmp/err"

# (g) mailferry fetch, UID 3 malformed
MAX_SIZE=10 sync_with badmsg-headers.script fresh
check "(g) six placeholders made" eval 'PH=1 have_is "1 2 3 4 5 6"'
CMD=fetch MAX_SIZE=10 sync_with badmsg-fetch.script
check "(g) fetch: exit 1 (a message failed)" test "$rc" -eq 1
check "(g) fetch: the server saw the script through" script_done
check "(g) fetch: bodies asked: 1:6, then 3 alone, then 4:6" asked_is "1:6 3 4:6"
check "(g) fetch: 3 is still a placeholder, the others are not" \
	eval 'PH=1 have_is "3"'
check "(g) fetch: one file per message" have_is "1 2 3 4 5 6"
check "(g) fetch: the report names UID 3 and the broken answer" \
	grep -q '^mailferry: c: INBOX: 1 not fetched: UID 3: the server.s answer broke the connection (.*protocol error' "$tmp/err"
check "(g) fetch: no folder name twice in an error" inbox_once
CMD=fetch MAX_SIZE=10 sync_with badmsg-fetch-rerun.script
check "(g) next fetch: exit 0" test "$rc" -eq 0
check "(g) next fetch: UID 3 only" asked_is "3"
check "(g) next fetch: no placeholder left" eval 'PH=1 have_is ""'
check "(g) next fetch: one file per message" have_is "1 2 3 4 5 6"

fake_finish
