#!/bin/bash
# The server loses its UIDs (index rebuilt: new UIDVALIDITY, new UIDs).
# mailferry must match every message again by content (Message-ID and
# size, or a header hash where there is no Message-ID), download only what
# is really new, upload nothing twice, delete nothing, and keep local
# changes made meanwhile.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup "$@"

gen_msgs "$T/gen" 1 30
# five messages without a Message-ID (matched by header hash)
mkdir -p "$T/noid"
for i in 1 2 3 4 5; do
	printf 'Date: Tue, 3 Nov 2026 09:0%d:00 +0000\nFrom: x%d@example.org\nSubject: no id %d\n\nbody %d\n' \
		"$i" "$i" "$i" "$i" >"$T/noid/n$i"
done
mf_harness seed INBOX --flags S "$T"/gen/m{1..20} >/dev/null 2>&1
mf_harness seed INBOX "$T"/gen/m{21..30} "$T"/noid/* >/dev/null 2>&1
check "initial sync" mf -q sync
same_sides "initial sync converged"
(cd "$LOCAL/INBOX" && find cur new -type f -printf '%f\n' | sed 's/:2,.*//' | sort) \
	>"$T/keys-before"

old=$(mf_harness uidvalidity INBOX 2>/dev/null)
new=$(mf_harness uidvalidity INBOX --reset 2>/dev/null)
check "the server's UIDVALIDITY changed ($old -> $new)" \
	test -n "$new" -a "$old" != "$new"
gen_msgs "$T/later" 40 41 later
mf_harness seed INBOX "$T"/later/* >/dev/null 2>&1
set_local_flags "$(local_file INBOX m25.g)" FS

mf -v sync >"$T/out" 2>&1
rc=$?
check "sync after the UIDVALIDITY change exits 0" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/# /' "$T/out"
check "only the two new messages were downloaded" \
	grep -q "INBOX: pulled 2, pushed 0," "$T/out"
(cd "$LOCAL/INBOX" && find cur new -type f -printf '%f\n' | sed 's/:2,.*//' | sort) \
	>"$T/keys-after"
check "every local file is still there under its name" \
	test -z "$(comm -23 "$T/keys-before" "$T/keys-after")"
same_sides "both sides converged, local flag change carried"
no_duplicates "$LOCAL" "no duplicates locally"
no_duplicates "$MF_MAILDIR" "no duplicates on the server"
check "server count: 35 + 2 new" test "$(count "$MF_MAILDIR")" -eq 37

sleep 2.2
mf -v sync >"$T/out2" 2>&1
check "next sync has nothing to do" \
	grep -q "pulled 0, pushed 0, flags 0/0, deleted 0/0$" "$T/out2"
finish
