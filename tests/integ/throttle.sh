#!/bin/bash
# A server that says "not now" (store/imap/imap-throttle.h) is waited for
# and tried again in the same run (cmd/cmd-sync.c), from where the first
# attempt stopped: nothing fetched twice, nothing lost.  Each case pulls
# INBOX (3 messages) from the scripted fake server (tests/fake/throttle-*)
# into an empty Maildir; the scripts check every command, in order:
#   (a) Microsoft 365's "NO Request is throttled. Suggested Backoff Time:
#       1200 milliseconds" and a BYE after the first body: the warning
#       names the throttling and the 1.2 s wait, the second session
#       fetches UIDs 2:3 only, all three land once, exit 0;
#   (b) the same with retries: 0: the run stops with the throttling as
#       its error (exit 4), the one message that came is kept, no second
#       connection is made;
#   (c) a greeting "* BYE [UNAVAILABLE] Temporary System Error" (no wait
#       named): tried again after 1 s, all three land, exit 0.
set -u

. "$(dirname "$0")/lib-fake.sh"

# sync_with SCRIPT [RETRIES]: a fresh Maildir and state, one sync.  Sets
# rc, $tmp/out, $tmp/err, $tmp/log.
sync_with() {
	local retries=
	rm -rf "$tmp/local" "$tmp/state"
	mkdir -p "$tmp/local/INBOX/cur" "$tmp/local/INBOX/new" \
		"$tmp/local/INBOX/tmp"
	[ -n "${2:-}" ] && retries="    retries: $2"
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
$retries
stores:
  local:
    maildir: $tmp/local
channels:
  c:
    far: fake
    near: local
    sync: [pull]
YAML
	"$MAILFERRY" -c "$tmp/cfg.yaml" sync >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# the far messages in the Maildir, as "1 2 3", one word per file
have() {
	find "$tmp/local/INBOX" -type f \( -path '*/cur/*' -o -path '*/new/*' \) \
		-exec sed -n 's/^Subject: message \([0-9]*\)$/\1/p' {} + |
		sort -n | tr '\n' ' ' | sed 's/ $//'
}
have_is() { [ "$(have)" = "$1" ]; }
script_done() { grep -q '^# script done' "$tmp/log"; }
connections() { grep -c '^# connected' "$tmp/log"; }

# (a) throttled mid-fetch, then served
sync_with throttle-fetch.script
fake_wait
check "throttled: exit 0 after trying again" test "$rc" -eq 0
check "throttled: all three once" have_is "1 2 3"
check "throttled: the script played out (2:3 asked the second time)" \
	script_done
check "throttled: two connections" test "$(connections)" -eq 2
check "throttled: the warning names the throttling and its wait" \
	grep -q "the server is throttling us (it asks for 1.200 s).*attempt 1 of 4); trying again in 1.2 s" "$tmp/err"
check "throttled: the summary counts all three" \
	grep -q "pulled 3, pushed 0" "$tmp/out"

# (b) no retries: the throttling is the error
sync_with throttle-fetch.script 0
kill "$fake_pid" 2>/dev/null
fake_wait
check "retries 0: exit 4 (network)" test "$rc" -eq 4
check "retries 0: the error names the throttling" \
	grep -q "the server is throttling us.*Suggested Backoff Time" "$tmp/err"
check "retries 0: not tried again" absent "trying again" "$tmp/err"
check "retries 0: one connection" test "$(connections)" -eq 1
check "retries 0: the message that came is kept" have_is "1"

# (c) turned away at the greeting with [UNAVAILABLE]
sync_with throttle-greeting.script
fake_wait
check "unavailable: exit 0 after trying again" test "$rc" -eq 0
check "unavailable: all three once" have_is "1 2 3"
check "unavailable: the script played out" script_done
check "unavailable: waited 1 s (no wait named)" \
	grep -q "BYE Temporary System Error (attempt 1 of 4); trying again in 1.0 s" "$tmp/err"

fake_finish
