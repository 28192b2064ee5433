#!/bin/bash
# Folder renames (issue 15): a folder renamed on one side is renamed on the
# other side, nothing downloaded or uploaded again, one folder under the new
# name on both sides.
#   1. renamed on the server (another client's RENAME) with 100 messages:
#      the local directory is renamed (file names kept), no body FETCH,
#      the old name gone on both sides; the next run does nothing
#   2. renamed locally (mv of the directory, 100 messages): an IMAP RENAME,
#      no APPEND
#   3. a parent with children, both directions, into a new hierarchy
#      (Proj -> Old/Proj on the server, Team -> Arch/Team locally): every
#      child follows, the parents the other side needs are made
#   3b. a parent without mail (\Noselect): the children are renamed
#   4. the local renames of 2 and 3 in a maildir++ tree (.Name.Child):
#      the server's fs layout compared by Message-IDs per folder
#   6. ambiguity is not guessed, the messages move one by one: a folder
#      split in two new ones; renamed differently on both sides (the
#      server's name wins); copied whole into two new folders; half
#      expunged and half moved into a new folder, the old one deleted
#   7. INBOX renamed on the server (Dovecot moves its messages and keeps an
#      empty INBOX): the local INBOX stays, every message once
#   8. sync -n lists the rename and changes nothing
#   9. renamed and the old name made again at once (server: new folder
#      under the old name; locally: an empty maildir there), and two
#      folders swapped on the server (renamed locally the same way; more
#      of swaps in sync-rename-swap.sh)
#   10. a rename and changes in the same round on both sides (new,
#      expunged, flagged and moved messages): only the new ones copied
#   11. names outside ASCII (modified UTF-7 RENAME)
#   12. IMAP <-> IMAP: renamed on either account; names swapped on either
#   13. a deleted folder and a new one with its UIDVALIDITY and, under its
#      UIDs, other messages of the same sizes: not a rename
# (5, a rename stopped at every step, is sync-rename-crash.sh.)  4 and 12
# run last, with their own trees, states and configs.  Checks marked TODO
# are what the rename code does not do yet (the reason follows the mark).
set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup "$@"
# Under ASan/UBSan (CI runs this in that build too) every report goes to
# a file, also from the runs whose output is thrown away; checked at the end
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/sanitizer"

# A failing check inside a case marked todo (case_todo=WHY) is reported as
# "not ok N - NAME # TODO WHY" and not counted: only for the cases the
# report lists as failing against the current engine.
case_todo=
todo() {
	n=$((n + 1))
	echo "not ok $n - $1 # TODO $2"
}
# as_todo WHY COMMAND...: run a check with case_todo=WHY
as_todo() {
	local why=$1
	shift
	case_todo=$why
	"$@"
	case_todo=
}
not_ok() {
	if [ -n "$case_todo" ]; then
		todo "$1" "$case_todo"
		return
	fi
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $1"
}

# names DIR: the message file names of DIR, without the flags, sorted
names() {
	(cd "$1" && ls cur new 2>/dev/null) | grep -v ':$' | grep . |
		sed 's/[:!]2,.*//' | LC_ALL=C sort
}
# same_in NAME BOX...: the two sides hold the same messages with the same
# flags in the folders BOX... and their children (so that one case failing
# does not fail the next ones)
same_in() {
	local name=$1 a b
	shift
	a=$(sig "$MF_MAILDIR" | only "$@")
	b=$(sig "$LOCAL" | only "$@")
	if [ "$a" = "$b" ]; then ok "$name"; else
		not_ok "$name"
		diff <(echo "$a") <(echo "$b") | head -8 | sed 's/^/#   /'
	fi
}
only() {
	awk -v boxes="$*" 'BEGIN { n = split(boxes, b, " ") }
	{ for (i = 1; i <= n; i++)
		if ($1 == b[i] || index($1, b[i] "/") == 1) { print; next } }'
}
# summary OUT: the channel's summary line of a sync's output
summary() {
	grep -E '^c: [0-9]+ folders' "$1"
}

gen_msgs "$T/a1" 1 100 a1
gen_msgs "$T/s2" 1 100 s2
mf_harness seed Archive "$T"/a1/m{1..100} >/dev/null 2>&1
mf_harness seed Sent --flags S "$T"/s2/m{1..100} >/dev/null 2>&1
check "initial sync" mf -q sync
same_sides "initial sync converged"

# --- 1. renamed on the server
before=$(names "$LOCAL/Archive")
mf_harness doveadm mailbox rename Archive Archive-2025 >/dev/null
mf -D sync >"$T/out1" 2>"$T/trace1"
echo "# exit $?; $(summary "$T/out1")"
check "1: the rename is reported" \
	grep -qxF 'c: renamed Archive -> Archive-2025 (on far)' "$T/out1"
check "1: the summary counts it" \
	grep -Eq '^c: [0-9]+ folders.*, renamed 1($|[,; ])' "$T/out1"
check "1: no message body fetched" no_body_fetch "$T/trace1"
check "1: nothing appended" test "$(appends "$T/trace1")" -eq 0
check "1: the server has Archive-2025 and no Archive" \
	eval 'srv_has Archive-2025 && ! srv_has Archive'
check "1: locally Archive-2025 and no Archive" \
	eval 'loc_has Archive-2025 && [ ! -e "$LOCAL/Archive" ]'
check "1: the local files were renamed, names kept" \
	test "$before" = "$(names "$LOCAL/Archive-2025")"
has_ids "1: every message once in the local Archive-2025" \
	"$LOCAL/Archive-2025" 1 100 a1
same_in "1: sides agree" Archive Archive-2025
no_duplicates "$LOCAL" "1: no duplicates locally"
no_duplicates "$MF_MAILDIR" "1: no duplicates on the server"
mf -D sync >"$T/out1b" 2>"$T/trace1b"
check "1: the next run copies nothing" \
	grep -Eq '^c: [0-9]+ folders.*pulled 0, pushed 0' "$T/out1b"
check "1: and renames nothing" eval '! grep -q renamed "$T/out1b"'
check "1: and sends no RENAME, MOVE or APPEND" \
	test "$(trace_commands "$T/trace1b" | grep -Ec '^(RENAME|MOVE|APPEND)$')" -eq 0

# --- 2. renamed locally
mv "$LOCAL/Sent" "$LOCAL/Sent-old"
mf -D sync >"$T/out2" 2>"$T/trace2"
echo "# exit $?; $(summary "$T/out2")"
check "2: the rename is reported" \
	grep -qxF 'c: renamed Sent -> Sent-old (on near)' "$T/out2"
check "2: the summary counts it" \
	grep -Eq '^c: [0-9]+ folders.*, renamed 1($|[,; ])' "$T/out2"
check "2: the server got RENAME" \
	grep -Eq '^C: [^ ]+ RENAME "?Sent"? "?Sent-old"?' "$T/trace2"
check "2: nothing appended" test "$(appends "$T/trace2")" -eq 0
check "2: no message body fetched" no_body_fetch "$T/trace2"
check "2: the server has Sent-old and no Sent" \
	eval 'srv_has Sent-old && ! srv_has Sent'
check "2: no local Sent made again" test ! -e "$LOCAL/Sent"
has_ids "2: every message once in the server's Sent-old" \
	"$MF_MAILDIR/Sent-old" 1 100 s2
same_in "2: sides agree" Sent Sent-old
no_duplicates "$MF_MAILDIR" "2: no duplicates on the server"
mf sync >"$T/out2b" 2>&1
check "2: the next run copies nothing" \
	grep -Eq '^c: [0-9]+ folders.*pulled 0, pushed 0' "$T/out2b"

# --- 3. a parent and its children, into a new hierarchy
gen_msgs "$T/p" 1 15 p3
gen_msgs "$T/t" 1 15 t3
mf_harness seed Proj "$T"/p/m{1..5} >/dev/null 2>&1
mf_harness seed Proj/a "$T"/p/m{6..10} >/dev/null 2>&1
mf_harness seed Proj/b "$T"/p/m{11..15} >/dev/null 2>&1
mf_harness seed Team "$T"/t/m{1..5} >/dev/null 2>&1
mf_harness seed Team/a "$T"/t/m{6..10} >/dev/null 2>&1
mf_harness seed Team/b "$T"/t/m{11..15} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
same_in "3: synced before" Proj Team
mf_harness doveadm mailbox rename Proj Old/Proj >/dev/null
mkdir "$LOCAL/Arch"
mv "$LOCAL/Team" "$LOCAL/Arch/"
mf -D sync >"$T/out3" 2>"$T/trace3"
echo "# exit $?; $(summary "$T/out3")"
grep renamed "$T/out3" | sed 's/^/#   /'
check "3: the server's rename is reported" \
	grep -qxF 'c: renamed Proj -> Old/Proj (on far)' "$T/out3"
check "3: the local rename is reported" \
	grep -qxF 'c: renamed Team -> Arch/Team (on near)' "$T/out3"
check "3: no message body fetched" no_body_fetch "$T/trace3"
check "3: nothing appended" test "$(appends "$T/trace3")" -eq 0
check "3: the server got RENAME Team" \
	grep -Eq '^C: [^ ]+ RENAME "?Team"? "?Arch/Team"?' "$T/trace3"
ok3=0
for b in Old/Proj Old/Proj/a Old/Proj/b Arch/Team Arch/Team/a Arch/Team/b; do
	srv_has "$b" && loc_has "$b" || { ok3=1; echo "# 3: $b missing"; }
done
check "3: every folder under its new name on both sides" test $ok3 -eq 0
ok3=0
for b in Proj Proj/a Proj/b Team Team/a Team/b; do
	! srv_has "$b" && [ ! -e "$LOCAL/$b" ] || { ok3=1; echo "# 3: $b still there"; }
done
check "3: no old name on either side" test $ok3 -eq 0
ok3=0
while read -r b from to tag; do
	for root in "$MF_MAILDIR" "$LOCAL"; do
		[ "$(ids "$root/$b")" = "$(want_ids "$from" "$to" "$tag")" ] ||
			{ ok3=1; echo "# 3: $root/$b: not its messages once each"; }
	done
done <<'EOF3'
Old/Proj 1 5 p3
Old/Proj/a 6 10 p3
Old/Proj/b 11 15 p3
Arch/Team 1 5 t3
Arch/Team/a 6 10 t3
Arch/Team/b 11 15 t3
EOF3
check "3: each folder holds its own messages once, on both sides" test $ok3 -eq 0
same_in "3: sides agree" Proj Team Old Arch
no_duplicates "$LOCAL" "3: no duplicates locally"
no_duplicates "$MF_MAILDIR" "3: no duplicates on the server"

# --- 3b. a parent without mail of its own (\Noselect on the server, a
# plain directory locally): its children are renamed, each on its evidence
gen_msgs "$T/l" 1 6 l3
mf_harness seed Lists/dev "$T"/l/m{1..3} >/dev/null 2>&1
mf_harness seed Lists/ops "$T"/l/m{4..6} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
mf_harness doveadm mailbox rename Lists Groups >/dev/null
mf -D sync >"$T/out3b" 2>"$T/trace3b"
echo "# exit $?; $(summary "$T/out3b")"
check "3b: Lists/dev reported renamed" \
	grep -qxF 'c: renamed Lists/dev -> Groups/dev (on far)' "$T/out3b"
check "3b: no message body fetched" no_body_fetch "$T/trace3b"
check "3b: nothing appended" test "$(appends "$T/trace3b")" -eq 0
has_ids "3b: local Groups/dev holds its messages once" "$LOCAL/Groups/dev" 1 3 l3
has_ids "3b: local Groups/ops holds its messages once" "$LOCAL/Groups/ops" 4 6 l3
check "3b: no local Lists/dev or Lists/ops" \
	test ! -e "$LOCAL/Lists/dev" -a ! -e "$LOCAL/Lists/ops"
same_in "3b: sides agree" Lists Groups

# --- 6a. split into two new folders, the old one deleted: no rename
gen_msgs "$T/x" 1 10 x6
gen_msgs "$T/b" 1 10 b6
gen_msgs "$T/c" 1 10 c6
mf_harness seed Amb "$T"/x/m{1..10} >/dev/null 2>&1
mf_harness seed Both "$T"/b/m{1..10} >/dev/null 2>&1
mf_harness seed Cp "$T"/c/m{1..10} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
same_in "6: synced before" Amb Both Cp
for b in AmbX AmbY; do mf_harness doveadm mailbox create "$b" >/dev/null; done
mf_harness doveadm move AmbX mailbox Amb uid 1:5 >/dev/null
mf_harness doveadm move AmbY mailbox Amb uid 6:10 >/dev/null
mf_harness doveadm mailbox delete Amb >/dev/null
mf -D sync >"$T/out6a" 2>"$T/trace6a"
echo "# exit $?; $(summary "$T/out6a")"
check "6a: not taken for a rename" eval '! grep -q "renamed Amb" "$T/out6a"'
once_in "6a: locally every message once" "$LOCAL" 1 10 x6 Amb AmbX AmbY
once_in "6a: on the server every message once" "$MF_MAILDIR" 1 10 x6 \
	Amb AmbX AmbY
has_ids "6a: local AmbX holds the first half" "$LOCAL/AmbX" 1 5 x6
has_ids "6a: local AmbY holds the second half" "$LOCAL/AmbY" 6 10 x6
check "6a: no message body fetched" no_body_fetch "$T/trace6a"
check "6a: nothing appended" test "$(appends "$T/trace6a")" -eq 0
same_in "6a: sides agree (the local Amb kept, empty)" AmbX AmbY
check "6a: the local Amb is kept, empty (remove: none)" \
	test -d "$LOCAL/Amb/cur" -a -z "$(ids "$LOCAL/Amb")"

# --- 6b. renamed on both sides to different names: the server's wins
mf_harness doveadm mailbox rename Both BothB >/dev/null
mv "$LOCAL/Both" "$LOCAL/BothC"
mf -D sync >"$T/out6b" 2>"$T/trace6b"
echo "# exit $?; $(summary "$T/out6b")"
grep renamed "$T/out6b" | sed 's/^/#   /'
check "6b: BothB on both sides" eval 'srv_has BothB && loc_has BothB'
check "6b: no BothC on either side" \
	eval '! srv_has BothC && [ ! -e "$LOCAL/BothC" ]'
check "6b: no Both on either side" \
	eval '! srv_has Both && [ ! -e "$LOCAL/Both" ]'
has_ids "6b: local BothB holds every message once" "$LOCAL/BothB" 1 10 b6
has_ids "6b: server BothB holds every message once" "$MF_MAILDIR/BothB" 1 10 b6
check "6b: no message body fetched" no_body_fetch "$T/trace6b"
check "6b: nothing appended" test "$(appends "$T/trace6b")" -eq 0
same_in "6b: sides agree" Both BothB BothC

# --- 6c. copied whole into two new folders, then deleted: two candidates
for b in CpX CpY; do mf_harness doveadm mailbox create "$b" >/dev/null; done
mf_harness doveadm copy CpX mailbox Cp all >/dev/null
mf_harness doveadm copy CpY mailbox Cp all >/dev/null
mf_harness doveadm mailbox delete Cp >/dev/null
mf -D sync >"$T/out6c" 2>"$T/trace6c"
echo "# exit $?; $(summary "$T/out6c")"
check "6c: not taken for a rename" eval '! grep -q "renamed Cp" "$T/out6c"'
has_ids "6c: local CpX holds every message of Cp once" "$LOCAL/CpX" 1 10 c6
has_ids "6c: local CpY holds every message of Cp once" "$LOCAL/CpY" 1 10 c6
check "6c: nothing appended" test "$(appends "$T/trace6c")" -eq 0
# Copies are not moves (two candidates): the far folder deleted, the
# local Cp is kept whole (remove: none, man page), beside the new copies
has_ids "6c: the local Cp is kept whole" "$LOCAL/Cp" 1 10 c6
same_in "6c: sides agree on the copies" CpX CpY
no_duplicates "$LOCAL" "6c: no duplicates locally"

# --- 6d. half expunged, half moved into a new folder, the old one deleted
# (the issue's "half emptied and half moved"): not a rename either
gen_msgs "$T/h" 1 10 h6
mf_harness seed Half "$T"/h/m{1..10} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
mf_harness doveadm mailbox create HalfX >/dev/null
mf_harness doveadm expunge mailbox Half uid 1:5 >/dev/null
mf_harness doveadm move HalfX mailbox Half uid 6:10 >/dev/null
mf_harness doveadm mailbox delete Half >/dev/null
mf -D sync >"$T/out6d" 2>"$T/trace6d"
echo "# exit $?; $(summary "$T/out6d")"
grep -E 'Half' "$T/out6d" | sed 's/^/#   /'
check "6d: not taken for a rename" eval '! grep -q "renamed Half" "$T/out6d"'
has_ids "6d: local HalfX holds the moved half once" "$LOCAL/HalfX" 6 10 h6
# the expunged half stays in the local Half: a folder deleted on the
# server is not taken as its messages deleted (remove: none)
has_ids "6d: the local Half keeps the rest" "$LOCAL/Half" 1 5 h6
check "6d: nothing appended" test "$(appends "$T/trace6d")" -eq 0
check "6d: the server did not get the expunged half back" \
	test "$(ids "$MF_MAILDIR/HalfX")" = "$(want_ids 6 10 h6)"

# --- 7. INBOX renamed on the server
gen_msgs "$T/i" 1 10 i7
mf_harness seed INBOX "$T"/i/m{1..10} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
same_in "7: synced before" INBOX
mf_harness doveadm mailbox rename INBOX Old-Inbox >/dev/null
mf -D sync >"$T/out7" 2>"$T/trace7"
echo "# exit $?; $(summary "$T/out7")"
check "7: the local INBOX is still there" loc_has INBOX
check "7: the server's INBOX is still there" srv_has INBOX
check "7: INBOX not reported as renamed" \
	eval '! grep -q "renamed INBOX" "$T/out7"'
once_in "7: locally every message once" "$LOCAL" 1 10 i7 INBOX Old-Inbox
once_in "7: on the server every message once" "$MF_MAILDIR" 1 10 i7 \
	INBOX Old-Inbox
has_ids "7: local Old-Inbox holds them" "$LOCAL/Old-Inbox" 1 10 i7
check "7: nothing appended" test "$(appends "$T/trace7")" -eq 0
same_in "7: sides agree" INBOX Old-Inbox

# --- 8. dry run
gen_msgs "$T/d" 1 10 d8
mf_harness seed DryA "$T"/d/m{1..10} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
mf_harness doveadm mailbox rename DryA DryB >/dev/null
srv_before=$(srv_boxes)
tree_before=$(cd "$LOCAL" && find . | LC_ALL=C sort)
cp -a "$T/state" "$T/state.before8"
mf sync -n >"$T/out8" 2>&1
echo "# exit $?; $(summary "$T/out8")"
check "8: the dry run lists the rename" \
	grep -qxF 'c: would rename DryA -> DryB (on far)' "$T/out8"
check "8: and does not say it renamed" \
	eval '! grep -q "c: renamed" "$T/out8"'
check "8: the local tree is unchanged" \
	test "$tree_before" = "$(cd "$LOCAL" && find . | LC_ALL=C sort)"
check "8: the server's folders are unchanged" test "$srv_before" = "$(srv_boxes)"
# the database is in WAL mode: compare what it holds, not the main file
if command -v sqlite3 >/dev/null 2>&1; then
	d1=$(sqlite3 "$T/state.before8/c.db" .dump 2>&1)
	d2=$(sqlite3 "$T/state/c.db" .dump 2>&1)
	check "8: the state is unchanged" eval \
		'[ "$d1" = "$d2" ] && grep -q "^INSERT INTO msgs" <<<"$d1"'
else
	check "8: the state is unchanged" \
		cmp -s "$T/state/c.db" "$T/state.before8/c.db"
fi
mf -D sync >"$T/out8b" 2>"$T/trace8b"
check "8: the real sync renames" \
	grep -qxF 'c: renamed DryA -> DryB (on far)' "$T/out8b"
check "8: locally DryB, no DryA" \
	eval 'loc_has DryB && [ ! -e "$LOCAL/DryA" ]'
check "8: no message body fetched" no_body_fetch "$T/trace8b"
same_in "8: sides agree" DryA DryB

# --- 9. renamed and the old name made again at once (a yearly archive
# rotation; a mail client that makes its Sent folder again): the name
# stays with another folder (server: another UIDVALIDITY; locally: another
# directory), the messages went with the rename
gen_msgs "$T/r9" 1 30 r9
mf_harness seed Arc "$T"/r9/m{1..10} >/dev/null 2>&1
mf_harness seed Snt --flags S "$T"/r9/m{11..20} >/dev/null 2>&1
mf_harness seed SwA "$T"/r9/m{21..23} >/dev/null 2>&1
mf_harness seed SwB "$T"/r9/m{24..26} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
mf_harness doveadm mailbox rename Arc Arc-2025 >/dev/null
mf_harness doveadm mailbox create Arc >/dev/null
mv "$LOCAL/Snt" "$LOCAL/Snt-old"
mkdir -p "$LOCAL/Snt/cur" "$LOCAL/Snt/new" "$LOCAL/Snt/tmp"
# 9c: swapped on the server
mf_harness doveadm mailbox rename SwA SwT >/dev/null
mf_harness doveadm mailbox rename SwB SwA >/dev/null
mf_harness doveadm mailbox rename SwT SwB >/dev/null
mf -D sync >"$T/out9" 2>"$T/trace9"
echo "# exit $?; $(summary "$T/out9")"
grep -E 'renamed|Arc|Snt|Sw' "$T/out9" | sed 's/^/#   /'
w9='lead: 9b is carried as moves (nothing copied), not reported as a rename'
check "9: nothing appended" test "$(appends "$T/trace9")" -eq 0
check "9: no message body fetched" no_body_fetch "$T/trace9"
check "9a: the server's rename is reported" \
	grep -qxF 'c: renamed Arc -> Arc-2025 (on far)' "$T/out9"
as_todo "$w9" check "9b: the local rename is reported" \
	grep -qxF 'c: renamed Snt -> Snt-old (on near)' "$T/out9"
for root in "$MF_MAILDIR" "$LOCAL"; do
	side=server
	[ "$root" = "$LOCAL" ] && side=local
	has_ids "9a: $side Arc-2025 holds every message once" \
		"$root/Arc-2025" 1 10 r9
	check "9a: $side Arc is empty" test "$(ids "$root/Arc")" = ""
	has_ids "9b: $side Snt-old holds every message once" \
		"$root/Snt-old" 11 20 r9
	check "9b: $side Snt is empty" test "$(ids "$root/Snt")" = ""
	has_ids "9c: $side SwA holds SwB's messages once" \
		"$root/SwA" 24 26 r9
	has_ids "9c: $side SwB holds SwA's messages once" \
		"$root/SwB" 21 23 r9
done
same_in "9: sides agree" Arc Arc-2025 Snt Snt-old SwA SwB

# --- 10. a rename and changes in the same round, on both sides
# want_list TAG N...: the Message-IDs <mN.TAG@test>, sorted
want_list() {
	local tag=$1 i
	shift
	for i in "$@"; do echo "<m$i.$tag@test>"; done | LC_ALL=C sort
}
# body_uids TRACE: the UID sets of the whole-message FETCHes
body_uids() {
	grep -E '^C: [^ ]+ UID FETCH .*(BODY(\.PEEK)?\[\]|RFC822[ )])' "$1" |
		awk '{print $5}' | tr '\n' ' ' | sed 's/ $//'
}
# srv_flags BOX ID: the server's system flags of message ID
srv_flags() {
	mf_harness doveadm fetch flags mailbox "$1" header message-id "$2@test" \
		2>/dev/null | sed -n 's/^flags: //p'
}
gen_msgs "$T/x10" 1 12 x10
gen_msgs "$T/y10" 1 12 y10
gen_msgs "$T/k10" 1 2 k10
mf_harness seed Mix "$T"/x10/m{1..10} >/dev/null 2>&1
mf_harness seed Nix "$T"/y10/m{1..10} >/dev/null 2>&1
mf_harness seed Keep10 "$T"/k10/m{1..2} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
# 10a: renamed on the server, then a message added, one expunged, one
# flagged there; under the old name locally one flagged, one moved out,
# one delivered
mf_harness doveadm mailbox rename Mix Mix2 >/dev/null
mf_harness seed Mix2 "$T"/x10/m11 >/dev/null 2>&1
mf_harness doveadm expunge mailbox Mix2 header message-id m1.x10@test >/dev/null
mf_harness doveadm flags add '\Flagged' mailbox Mix2 header message-id \
	m2.x10@test >/dev/null
set_local_flags "$(local_file Mix m3.x10)" S
mv "$(local_file Mix m4.x10)" "$LOCAL/Keep10/cur/"
cp "$T/x10/m12" "$LOCAL/Mix/new/1700000000.M1P1.mix"
# 10b: the mirror: renamed locally, changes under the new name locally
# and under the old name on the server
mv "$LOCAL/Nix" "$LOCAL/Nix2"
set_local_flags "$(local_file Nix2 m3.y10)" S
mv "$(local_file Nix2 m4.y10)" "$LOCAL/Keep10/cur/"
rm "$(local_file Nix2 m5.y10)"
cp "$T/y10/m12" "$LOCAL/Nix2/new/1700000000.M1P1.nix"
mf_harness seed Nix "$T"/y10/m11 >/dev/null 2>&1
mf_harness doveadm expunge mailbox Nix header message-id m1.y10@test >/dev/null
mf_harness doveadm flags add '\Flagged' mailbox Nix header message-id \
	m2.y10@test >/dev/null
mix11=$(server_uid Mix2 m11.x10)
nix11=$(server_uid Nix m11.y10)
mf -D sync >"$T/out10" 2>"$T/trace10"
echo "# exit $?; $(summary "$T/out10")"
check "10a: the server's rename is reported" \
	grep -qxF 'c: renamed Mix -> Mix2 (on far)' "$T/out10"
check "10b: the local rename is reported" \
	grep -qxF 'c: renamed Nix -> Nix2 (on near)' "$T/out10"
check "10b: the server got RENAME Nix" \
	grep -Eq '^C: [^ ]+ RENAME "?Nix"? "?Nix2"?' "$T/trace10"
check "10: only the two new server messages fetched ($(body_uids "$T/trace10"))" \
	test "$(body_uids "$T/trace10" | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ')" = \
	"$(printf '%s\n' "$mix11" "$nix11" | LC_ALL=C sort | tr '\n' ' ')"
grep -E '^C: [^ ]+ (APPEND|UID MOVE|RENAME)' "$T/trace10" | cut -c1-72 |
	sed 's/^/#   /'
check "10: only the two new local messages appended" \
	test "$(appends "$T/trace10")" -eq 2
check "10: no old name on either side" eval \
	'! srv_has Mix && ! srv_has Nix && [ ! -e "$LOCAL/Mix" ] && [ ! -e "$LOCAL/Nix" ]'
for root in "$MF_MAILDIR" "$LOCAL"; do
	side=server
	[ "$root" = "$LOCAL" ] && side=local
	got=$(ids "$root/Mix2")
	check "10a: $side Mix2 holds 2, 3, 5-12 once each" \
		test "$got" = "$(want_list x10 2 3 5 6 7 8 9 10 11 12)"
	got=$(ids "$root/Nix2")
	check "10b: $side Nix2 holds 2, 3, 6-12 once each" \
		test "$got" = "$(want_list y10 2 3 6 7 8 9 10 11 12)"
	got=$(ids "$root/Keep10" | grep -v k10)
	check "10: $side Keep10 holds the two moved messages once each" \
		test "$got" = "$(printf '<m4.x10@test>\n<m4.y10@test>\n' | LC_ALL=C sort)"
done
check "10a: the server's flag came down" \
	eval 'basename "$(local_file Mix2 m2.x10)" | grep -q ":2,.*F"'
check "10a: the local flag went up" \
	eval 'srv_flags Mix2 m3.x10 | grep -q "\\\\Seen"'
check "10b: the server's flag came down" \
	eval 'basename "$(local_file Nix2 m2.y10)" | grep -q ":2,.*F"'
check "10b: the local flag went up" \
	eval 'srv_flags Nix2 m3.y10 | grep -q "\\\\Seen"'
same_in "10: sides agree" Mix Mix2 Nix Nix2 Keep10
mf sync >"$T/out10b" 2>&1
check "10: the next run copies nothing" \
	grep -Eq '^c: [0-9]+ folders.*pulled 0, pushed 0' "$T/out10b"

# --- 13. a look-alike is not a rename: a folder deleted on the server and
# a new one with its UIDVALIDITY (a server giving every folder the same
# one, or 1) and, under the same UIDs, other messages of the same sizes
gen_msgs "$T/la" 1 5 la
gen_msgs "$T/lb" 1 5 lb
mf_harness seed LookA "$T"/la/m{1..5} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
uv=$(mf_harness doveadm -f tab mailbox status uidvalidity LookA | tail -1 | awk '{print $NF}')
mf_harness doveadm mailbox delete LookA >/dev/null
mf_harness seed LookB "$T"/lb/m{1..5} >/dev/null 2>&1
mf_harness uidvalidity LookB "$uv" >/dev/null
mf -D sync >"$T/out13" 2>"$T/trace13"
echo "# exit $?; UIDVALIDITY $uv; $(summary "$T/out13")"
grep -E 'Look' "$T/out13" | sed 's/^/#   /'
check "13: not taken for a rename" \
	eval '! grep -q "renamed LookA" "$T/out13"'
has_ids "13: local LookB holds LookB's messages once" "$LOCAL/LookB" 1 5 lb
same_in "13: sides agree on LookB" LookB

# the trees but the folders kept by rule (6a, 6c, 6d, 13) and those of 9b and
# 9c, which are not renames yet (TODO above)
tree_but() {
	sig "$1" | awk '$1 !~ /^(Amb|Cp|Half|LookA|Snt|Snt-old|SwA|SwB)$/'
}
if [ "$(tree_but "$MF_MAILDIR")" = "$(tree_but "$LOCAL")" ]; then
	ok "1-10, 13: the whole trees agree but for the kept folders"
else
	not_ok "1-10, 13: the whole trees agree but for the kept folders"
	diff <(tree_but "$MF_MAILDIR") <(tree_but "$LOCAL") | head -8 |
		sed 's/^/#   /'
fi

# --- 11. names outside ASCII: modified UTF-7 on the server (whose
# directories sig cannot compare with ours: by Message-ID instead)
gen_msgs "$T/u11" 1 6 u11
mf_harness seed Uni "$T"/u11/m{1..3} >/dev/null 2>&1
mf_harness seed Loc "$T"/u11/m{4..6} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
mf_harness doveadm mailbox rename Uni 'Über-Привет' >/dev/null
mv "$LOCAL/Loc" "$LOCAL/Lokal-ä"
mf -D sync >"$T/out11" 2>"$T/trace11"
echo "# exit $?; $(summary "$T/out11")"
check "11: the server's rename is reported" \
	grep -qxF 'c: renamed Uni -> Über-Привет (on far)' "$T/out11"
check "11: the local rename is reported" \
	grep -qxF 'c: renamed Loc -> Lokal-ä (on near)' "$T/out11"
check "11: RENAME in modified UTF-7" \
	grep -Eq '^C: [^ ]+ RENAME "?Loc"? "Lokal-&AOQ-"' "$T/trace11"
check "11: no message body fetched" no_body_fetch "$T/trace11"
check "11: nothing appended" test "$(appends "$T/trace11")" -eq 0
check "11: the server lists both new names, not the old" eval \
	'srv_has "Über-Привет" && srv_has "Lokal-ä" && ! srv_has Uni && ! srv_has Loc'
has_ids "11: local Über-Привет holds its messages once" "$LOCAL/Über-Привет" 1 3 u11
has_ids "11: server Über-Привет holds them once" \
	"$(mf_harness path 'Über-Привет')" 1 3 u11
has_ids "11: server Lokal-ä holds its messages once" \
	"$(mf_harness path 'Lokal-ä')" 4 6 u11
check "11: no local Uni or Loc" test ! -e "$LOCAL/Uni" -a ! -e "$LOCAL/Loc"


# --- 4. maildir++: its own tree, state and config (channel c again), for
# the Pp* folders only; last, so that the fs channel never sees them
PP=$T/pp
mkdir -p "$PP"
sed -e "s|^state_dir: .*|state_dir: $T/state-pp|" \
	-e "s|maildir: $LOCAL\$|maildir: $PP|" -e 's|layout: fs|layout: maildir++|' \
	"$CFG" >"$T/pp.yaml"
printf '    folders: ["Pp*"]\n' >>"$T/pp.yaml"
pp() { "$MAILFERRY" -c "$T/pp.yaml" "$@"; }
gen_msgs "$T/pp4" 1 40 pp4
mf_harness seed PpSent "$T"/pp4/m{1..25} >/dev/null 2>&1
mf_harness seed PpProj "$T"/pp4/m{26..30} >/dev/null 2>&1
mf_harness seed PpProj/a "$T"/pp4/m{31..35} >/dev/null 2>&1
mf_harness seed PpProj/b "$T"/pp4/m{36..40} >/dev/null 2>&1
check "4: first sync into maildir++" pp -q sync
check "4: the maildir++ names" \
	test -d "$PP/.PpSent/cur" -a -d "$PP/.PpProj.a/cur" -a ! -e "$PP/.Archive-2025"
mv "$PP/.PpSent" "$PP/.PpSent-old"
for s in "" .a .b; do mv "$PP/.PpProj$s" "$PP/.PpOld.PpProj$s"; done
pp -D sync >"$T/out4" 2>"$T/trace4"
echo "# exit $?; $(summary "$T/out4")"
grep renamed "$T/out4" | sed 's/^/#   /'
check "4: the rename is reported" \
	grep -qxF 'c: renamed PpSent -> PpSent-old (on near)' "$T/out4"
check "4: the parent's rename is reported" \
	grep -qxF 'c: renamed PpProj -> PpOld/PpProj (on near)' "$T/out4"
check "4: nothing appended" test "$(appends "$T/trace4")" -eq 0
check "4: no message body fetched" no_body_fetch "$T/trace4"
ok4=0
for b in PpSent-old PpOld/PpProj PpOld/PpProj/a PpOld/PpProj/b; do
	srv_has "$b" || { ok4=1; echo "# 4: $b not on the server"; }
done
check "4: the server has the new names" test $ok4 -eq 0
ok4=0
for b in PpSent PpProj PpProj/a PpProj/b; do
	srv_has "$b" && { ok4=1; echo "# 4: $b still on the server"; }
done
for b in .PpSent .PpProj .PpProj.a .PpProj.b; do
	[ -e "$PP/$b" ] && { ok4=1; echo "# 4: $b still local"; }
done
check "4: no old name on either side" test $ok4 -eq 0
ok4=0
for b in PpSent-old PpOld/PpProj PpOld/PpProj/a PpOld/PpProj/b; do
	[ "$(ids "$MF_MAILDIR/$b")" = "$(ids "$PP/.$(echo "$b" | tr / .)")" ] ||
		{ ok4=1; echo "# 4: $b differs"; }
done
check "4: each folder holds the same messages on both sides" test $ok4 -eq 0
has_ids "4: the server's PpSent-old holds every message once" \
	"$MF_MAILDIR/PpSent-old" 1 25 pp4
once_in "4: the server holds every message once" "$MF_MAILDIR" 1 40 pp4 \
	PpSent-old PpOld/PpProj PpOld/PpProj/a PpOld/PpProj/b
pp sync >"$T/out4b" 2>&1
check "4: the next run copies nothing" \
	grep -Eq '^c: [0-9]+ folders.*pulled 0, pushed 0' "$T/out4b"

# --- 12. IMAP <-> IMAP: a second Dovecot as the near account (its own
# config and state, the Im* folders only); renamed on each account
F_DIR=$MF_HARNESS_DIR F_MAILDIR=$MF_MAILDIR F_PORT=$MF_IMAPS_PORT
F_CA=$MF_CA_FILE F_USER=$MF_USER
mf_harness_start "$T/srv2" >/dev/null 2>&1 || {
	echo "Bail out! second server failed to start"
	exit 1
}
N_DIR=$MF_HARNESS_DIR N_MAILDIR=$MF_MAILDIR N_PORT=$MF_IMAPS_PORT
N_CA=$MF_CA_FILE N_USER=$MF_USER
export MF_TEST_PW2=$MF_PASS
MF_HARNESS_DIR=$F_DIR MF_MAILDIR=$F_MAILDIR
cat >"$T/imap2.yaml" <<YAML
state_dir: $T/state-imap
accounts:
  srv:
    host: localhost
    port: $F_PORT
    tls: implicit
    user: $F_USER
    password_env: MF_TEST_PW
    ca_file: $F_CA
  srv2:
    host: localhost
    port: $N_PORT
    tls: implicit
    user: $N_USER
    password_env: MF_TEST_PW2
    ca_file: $N_CA
channels:
  c:
    far: srv
    near: srv2
    folders: ["Im*"]
YAML
im() { "$MAILFERRY" -c "$T/imap2.yaml" "$@"; }
near_has() {
	MF_HARNESS_DIR=$N_DIR mf_harness doveadm mailbox list 2>/dev/null |
		grep -qxF "$1"
}
gen_msgs "$T/i12" 1 20 i12
mf_harness seed ImF "$T"/i12/m{1..10} >/dev/null 2>&1
mf_harness seed ImN --flags S "$T"/i12/m{11..20} >/dev/null 2>&1
check "12: first sync to the near account" im -q sync
mf_harness doveadm mailbox rename ImF ImF2 >/dev/null
MF_HARNESS_DIR=$N_DIR mf_harness doveadm mailbox rename ImN ImN2 >/dev/null
im -D sync >"$T/out12" 2>"$T/trace12"
echo "# exit $?; $(summary "$T/out12")"
check "12: the far account's rename is reported" \
	grep -qxF 'c: renamed ImF -> ImF2 (on far)' "$T/out12"
check "12: the near account's rename is reported" \
	grep -qxF 'c: renamed ImN -> ImN2 (on near)' "$T/out12"
check "12: both RENAMEs sent" eval \
	'grep -Eq "^C: [^ ]+ RENAME \"?ImF\"? \"?ImF2\"?" "$T/trace12" &&
	 grep -Eq "^C: [^ ]+ RENAME \"?ImN\"? \"?ImN2\"?" "$T/trace12"'
check "12: no message body fetched" no_body_fetch "$T/trace12"
check "12: nothing appended" test "$(appends "$T/trace12")" -eq 0
check "12: both accounts have the new names, not the old" eval \
	'srv_has ImF2 && srv_has ImN2 && near_has ImF2 && near_has ImN2 &&
	 ! srv_has ImF && ! srv_has ImN && ! near_has ImF && ! near_has ImN'
for root in "$F_MAILDIR" "$N_MAILDIR"; do
	side=far
	[ "$root" = "$N_MAILDIR" ] && side=near
	has_ids "12: $side ImF2 holds every message once" "$root/ImF2" 1 10 i12
	has_ids "12: $side ImN2 holds every message once" "$root/ImN2" 11 20 i12
done
check "12: the two accounts agree" \
	test "$(sig "$F_MAILDIR" | only ImF2 ImN2)" = "$(sig "$N_MAILDIR" | only ImF2 ImN2)"
im sync >"$T/out12b" 2>&1
check "12: the next run copies nothing" \
	grep -Eq '^c: [0-9]+ folders.*pulled 0, pushed 0' "$T/out12b"
# 12s: two names swapped on each account in one run (ImSa/ImSb on the
# far one, ImTa/ImTb on the near one): the other account's folders are
# swapped by RENAMEs, nothing copied
gen_msgs "$T/s12" 1 20 s12
mf_harness seed ImSa "$T"/s12/m{1..4} >/dev/null 2>&1
mf_harness seed ImSb "$T"/s12/m{5..10} >/dev/null 2>&1
mf_harness seed ImTa "$T"/s12/m{11..14} >/dev/null 2>&1
mf_harness seed ImTb "$T"/s12/m{15..20} >/dev/null 2>&1
im -q sync >/dev/null 2>&1
mf_harness doveadm mailbox rename ImSa ImSt >/dev/null
mf_harness doveadm mailbox rename ImSb ImSa >/dev/null
mf_harness doveadm mailbox rename ImSt ImSb >/dev/null
for r in "ImTa ImTt" "ImTb ImTa" "ImTt ImTb"; do
	# shellcheck disable=SC2086
	MF_HARNESS_DIR=$N_DIR mf_harness doveadm mailbox rename $r >/dev/null
done
im -D sync >"$T/out12s" 2>"$T/trace12s"
echo "# exit $?; $(summary "$T/out12s")"
grep renamed "$T/out12s" | sed 's/^/#   /'
check "12s: no message body fetched" no_body_fetch "$T/trace12s"
check "12s: nothing appended" test "$(appends "$T/trace12s")" -eq 0
for root in "$F_MAILDIR" "$N_MAILDIR"; do
	side=far
	[ "$root" = "$N_MAILDIR" ] && side=near
	has_ids "12s: $side ImSa holds ImSb's messages once" "$root/ImSa" 5 10 s12
	has_ids "12s: $side ImSb holds ImSa's messages once" "$root/ImSb" 1 4 s12
	has_ids "12s: $side ImTa holds ImTb's messages once" "$root/ImTa" 15 20 s12
	has_ids "12s: $side ImTb holds ImTa's messages once" "$root/ImTb" 11 14 s12
done
im sync >"$T/out12t" 2>&1
check "12s: the next run copies and renames nothing" eval \
	"grep -Eq '^c: [0-9]+ folders.*pulled 0, pushed 0' '$T/out12t' &&
	 ! grep -q renamed '$T/out12t'"
check "no sanitizer report from any run" \
	test -z "$(ls "$T"/sanitizer.* 2>/dev/null)"
[ -z "$(ls "$T"/sanitizer.* 2>/dev/null)" ] || head -20 "$T"/sanitizer.* | sed 's/^/# /'
finish
