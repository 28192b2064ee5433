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
# A first sync stopped after its copies, before it recorded the folder:
# the rows it left name UIDs of the UIDVALIDITY of that run.  When that
# changes before the next run (here: UID 1 expunged, then the index
# rebuilt, so every UID shifts), the rows must not be paired with the new
# UIDs, or deleting one local message would expunge another on the server.
gen_msgs "$T/part" 101 110 part
mf_harness doveadm mailbox create Part >/dev/null 2>&1
mf_harness seed Part "$T"/part/* >/dev/null 2>&1
# one step per run until the copies are there, the folder not recorded
for i in 1 2 3 4 5 6 7 8; do
	[ "$(count "$LOCAL/Part" 2>/dev/null)" = 10 ] && break
	MAILFERRY_TEST_STOP_AFTER=$i mf -q sync >/dev/null 2>&1
done
check "the stopped first sync left Part's copies, unrecorded" \
	test "$(count "$LOCAL/Part")" -eq 10 -a "$(sqlite3 "$T/state/c.db" \
		"SELECT far_uidnext FROM boxes WHERE far_name = 'Part'")" = 0
check "and recorded the UIDVALIDITY they belong to" \
	test "$(sqlite3 "$T/state/c.db" \
		"SELECT far_uidvalidity FROM boxes WHERE far_name = 'Part'")" \
		= "$(mf_harness doveadm -f flow mailbox status uidvalidity Part |
			sed 's/.*=//')"
mf_harness doveadm expunge mailbox Part uid 1 >/dev/null 2>&1
mf_harness uidvalidity Part --reset >/dev/null 2>&1
mf -v sync >"$T/out3" 2>&1
check "sync after the change exits 0" test $? -eq 0
rm -f "$(local_file Part m101.part)" "$(local_file Part m105.part)"
mf -v sync >>"$T/out3" 2>&1
check "a local deletion after it exits 0" test $? -eq 0
# live_uid ID: its UID on the server unless flagged \Deleted (without
# UIDPLUS a deletion stays the flag: MF_NO_UIDPLUS, sync-caps.sh)
live_uid() {
	mf_harness doveadm search mailbox Part header message-id "$1@test" \
		undeleted 2>/dev/null | awk '{print $2}' | head -1
}
check "the message deleted locally is gone from the server" \
	test -z "$(live_uid m105.part)"
for id in 102 103 104 106 107 108 109 110; do
	[ -n "$(live_uid m$id.part)" ] || echo "m$id" >>"$T/lost"
done
check "no other message was expunged on the server" test ! -s "$T/lost"
[ -s "$T/lost" ] && sed 's/^/# lost: /' "$T/lost"
check "after the change: matched again, nothing pulled" \
	grep -q "Part: pulled 0, pushed 1, .*matched 9" "$T/out3"
same_sides "both sides agree after the change"
no_duplicates "$LOCAL" "no duplicates locally after the change"
no_duplicates "$MF_MAILDIR" "no duplicates on the server after the change"
# --- The new UIDs handed out in another order than before (an index
# rebuilt from the files in another order): a row written with its new
# UID must not meet one still holding that number from the old numbering
# (state.h, state_msg_park_uid(); this stopped the folder with "UNIQUE
# constraint failed" in every run).  And a message another client moved
# out of the folder meanwhile is moved locally too, not pulled again
# (move.h, "UIDVALIDITY changed").
gen_msgs "$T/rev" 201 212 rev
mf_harness doveadm mailbox create Rev >/dev/null 2>&1
mf_harness seed Rev "$T"/rev/* >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
first_rev=$(mf_harness doveadm search mailbox Rev all 2>/dev/null |
	awk 'NR == 1 {print $2}')
mf_harness doveadm move INBOX mailbox Rev header message-id m211.rev@test \
	>/dev/null 2>&1
mf_harness uidvalidity Rev --reset-reversed >/dev/null 2>&1
check "Rev's UIDs now run the other way" test "$(mf_harness doveadm fetch \
	hdr.message-id mailbox Rev uid "$first_rev" 2>/dev/null |
	grep -o 'm[0-9]*\.rev')" = m212.rev
mf -D sync >"$T/out4" 2>"$T/trace4"
rc=$?
check "sync after the reversed renumbering exits 0" test $rc -eq 0
[ $rc -eq 0 ] || grep -v '^[CS]: ' "$T/trace4" | tail -5 | sed 's/^/# /'
check "Rev matched again: nothing pulled or pushed anywhere" \
	grep -Eq "^c: [0-9]+ folders .*pulled 0, pushed 0," "$T/out4"
check "the message moved on the server is moved locally" \
	grep -q "INBOX: pulled 0, pushed 0, .*moved 1" "$T/out4"
check "no message body fetched" no_body_fetch "$T/trace4"
check "m211.rev is in the local INBOX, not in Rev" \
	test -n "$(local_file INBOX m211.rev)" -a -z "$(local_file Rev m211.rev)"
set_local_flags "$(local_file Rev m205.rev)" FS
mf -q sync >/dev/null 2>&1
check "a local flag after it reaches the right message on the server" \
	test "$(mf_harness doveadm search mailbox Rev flagged 2>/dev/null |
		wc -l)" -eq 1 -a -n "$(mf_harness doveadm search mailbox Rev \
		flagged header message-id m205.rev@test 2>/dev/null)"
same_sides "both sides agree after the reversed renumbering"
no_duplicates "$LOCAL" "no duplicates locally after the renumbering"
no_duplicates "$MF_MAILDIR" "no duplicates on the server after the renumbering"
finish
