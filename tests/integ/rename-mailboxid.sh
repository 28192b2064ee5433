#!/bin/bash
# Folder renames proven by RFC 8474 MAILBOXID, against the scripted fake
# server (Dovecot 2.3 has no OBJECTID).  The first sync
# (mboxid-first.script) records A (three messages, MAILBOXID Fm1-A) and
# an empty folder Empty (Fm3_E); from a copy of its Maildir and state:
#   (a) mboxid-renamed.script: A is listed as B with the same MAILBOXID
#       but another UIDVALIDITY and other UIDs (no UID evidence at all):
#       the local A is renamed to B, no body is fetched, and the state
#       holds B with its new UIDVALIDITY and the MAILBOXID;
#   (c) the same session: Empty listed as Empty2 with its MAILBOXID (no
#       messages, so no other evidence could exist): renamed too;
#   (b) mboxid-lookalike.script: B has A's UIDVALIDITY, UIDs, sizes and
#       Message-IDs but MAILBOXID Fm2-B: not a rename (A stays as a
#       vanished folder, B gets a pair of its own, the messages follow by
#       the move pass, none fetched and none twice).
#   (d) mboxid-disabled.script: OBJECTID offered, "disable: [objectid]":
#       no MAILBOXID asked, and the ids sent anyway are not recorded.
# The server scripts also assert that MAILBOXID is asked in STATUS and in
# LIST-STATUS's RETURN where OBJECTID is offered.
set -u

. "$(dirname "$0")/lib-fake.sh"

# sync_with CASE SCRIPT: one sync of channel "c" (state and Maildir under
# $tmp/CASE); rc, $tmp/out (stdout+stderr), frc as in hostile-sync.sh
sync_with() {
	local dir=$tmp/$1
	fake_start "$2"
	mkdir -p "$dir"
	cat >"$tmp/cfg.yaml" <<YAML
state_dir: $dir/state
accounts:
  fake:
    host: 127.0.0.1
    port: $PORT
    tls: none
    allow_insecure: true
    user: alice
    password_env: MF_FAKE_PW
    timeout: 10
    disable: [${DISABLE:-}]
stores:
  local:
    maildir: $dir/local
    layout: fs
channels:
  c:
    far: fake
    near: local
YAML
	"$MAILFERRY" -c "$tmp/cfg.yaml" --debug=sync sync >"$tmp/out" 2>&1
	rc=$?
	fake_wait
}

played_out() { [ "$frc" -eq 0 ] && grep -q '^# script done' "$tmp/log"; }
no_body_fetch() { absent 'BODY(\.PEEK)?\[\]' "$tmp/log"; }
nothing_sent() { absent 'STORE|EXPUNGE|APPEND|RENAME|CREATE|DELETE' "$tmp/log"; }
db() { sqlite3 "$tmp/$1/state/c.db" "$2"; }
files_in() { find "$tmp/$1/local/$2" -path '*/cur/*' -type f 2>/dev/null | wc -l; }
all_files() { find "$tmp/$1/local" -path '*/cur/*' -type f -o \
	-path '*/new/*' -type f | wc -l; }

sync_with first mboxid-first.script
check "first sync: exit 0" test "$rc" -eq 0
check "first sync: the script played out (MAILBOXID asked in STATUS)" \
	played_out
check "first sync: A holds three messages" test "$(files_in first A)" -eq 3
check "first sync: A's MAILBOXID recorded" \
	test "$(db first "SELECT far_mailboxid FROM boxes WHERE far_name = 'A'")" = Fm1-A
check "first sync: Empty's MAILBOXID recorded" \
	test "$(db first "SELECT far_mailboxid FROM boxes WHERE far_name = 'Empty'")" = Fm3_E
check "first sync: nothing recorded for the Maildir side" \
	test "$(db first "SELECT count(*) FROM boxes WHERE near_mailboxid != ''")" = 0

# ---- (a) and (c): the same MAILBOXID under a new name ------------------
cp -a "$tmp/first" "$tmp/a"
sync_with a mboxid-renamed.script
check "(a) exit 0" test "$rc" -eq 0
check "(a) the script played out (MAILBOXID asked in LIST-STATUS)" played_out
check "(a) renamed A -> B" grep -q 'renamed A -> B (on far)' "$tmp/out"
check "(a) the MAILBOXID was the evidence" \
	grep -q "B: MAILBOXID is A's" "$tmp/out"
check "(a) the local A is gone" test ! -e "$tmp/a/local/A"
check "(a) B holds the three messages" test "$(files_in a B)" -eq 3
check "(a) no message twice" test "$(all_files a)" -eq 3
check "(a) the same files, moved with the directory" \
	test "$(cd "$tmp/first/local/A/cur" && ls | sort)" = \
	"$(cd "$tmp/a/local/B/cur" && ls | sort)"
check "(a) no body fetched" no_body_fetch
check "(a) nothing changed on the server" nothing_sent
check "(a) the state holds B, not A" \
	test "$(db a "SELECT far_name || ' ' || near_name FROM boxes WHERE far_name IN ('A', 'B')")" = "B B"
check "(a) B recorded with its new UIDVALIDITY and the MAILBOXID" \
	test "$(db a "SELECT far_uidvalidity || ' ' || far_mailboxid FROM boxes WHERE far_name = 'B'")" = "99 Fm1-A"
check "(a) B's rows carry the new UIDs" \
	test "$(db a "SELECT group_concat(far_uid, ' ') FROM (SELECT far_uid FROM msgs JOIN boxes ON boxes.id = box_id WHERE far_name = 'B' ORDER BY far_uid)")" = "11 12 13"
check "(c) renamed Empty -> Empty2" \
	grep -q 'renamed Empty -> Empty2 (on far)' "$tmp/out"
check "(c) the local Empty is now Empty2" \
	test ! -e "$tmp/a/local/Empty" -a -d "$tmp/a/local/Empty2/cur"
check "(c) the state holds Empty2 with the MAILBOXID" \
	test "$(db a "SELECT far_name || ' ' || far_uidvalidity || ' ' || far_mailboxid FROM boxes WHERE far_name LIKE 'Empty%'")" = "Empty2 12 Fm3_E"

# ---- (b) a look-alike with another MAILBOXID ---------------------------
cp -a "$tmp/first" "$tmp/b"
sync_with b mboxid-lookalike.script
check "(b) exit 0" test "$rc" -eq 0
check "(b) the script played out" played_out
check "(b) not renamed" absent 'renamed' "$tmp/out"
check "(b) the MAILBOXID said no" grep -q "B: MAILBOXID is not A's" "$tmp/out"
check "(b) A is kept as a folder vanished on the server" \
	grep -q 'A: vanished on far, kept' "$tmp/out"
check "(b) B has a pair of its own with its MAILBOXID" \
	test "$(db b "SELECT far_uidvalidity || ' ' || far_mailboxid FROM boxes WHERE far_name = 'B'")" = "7 Fm2-B"
check "(b) A's row is still there" \
	test "$(db b "SELECT count(*) FROM boxes WHERE far_name = 'A'")" = 1
check "(b) B holds the three messages" test "$(files_in b B)" -eq 3
check "(b) no message twice" test "$(all_files b)" -eq 3
check "(b) no body fetched (the move pass found them)" no_body_fetch
check "(b) nothing changed on the server" nothing_sent

# ---- (d) disable: [objectid] ------------------------------------------
DISABLE=objectid sync_with d mboxid-disabled.script
check "(d) exit 0" test "$rc" -eq 0
check "(d) the script played out (no MAILBOXID asked)" played_out
check "(d) the id sent anyway is not recorded" \
	test "$(db d "SELECT far_uidvalidity || ' [' || far_mailboxid || ']' FROM boxes WHERE far_name = 'INBOX'")" = "5 []"

fake_finish
