#!/bin/bash
# Folder renames and special-use roles (issue 15, sync/rename.h "Special-use
# roles"): a folder renamed on one side that keeps its role there leaves the
# other side's folder of that role under its own name; only the record
# follows.  The server gives the new names their roles (--role), as servers
# whose roles belong to the folder do (Gmail, Exchange, Cyrus).
#   1. the server's \Sent "Sent" (paired by role with the local "Sent
#      Items") renamed "Sent Messages": -n says so and changes nothing; the
#      sync renames nothing, fetches and appends nothing, and mail goes on
#      flowing between "Sent Messages" and "Sent Items"
#   2. the same with one name on both sides (Drafts -> "Old Drafts")
#   3. the local "Trash" renamed "Deleted Items" (both trash names): no
#      RENAME on the server; stopped right after its record, then again
#   4. the local "Sent Items" renamed "Sent-2024", which is no sent name:
#      the server's sent folder is not renamed, the messages follow as
#      moves, each once
set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup --special-use --role "Sent Messages=Sent" --role "Old Drafts=Drafts"

# quiet OUT: a run that found nothing to rename, create or report gone
quiet() {
	! grep -Eq 'renamed|vanished|created|moved [1-9]' "$1"
}

gen_msgs "$T/m" 1 31 r
for b in Sent Drafts Trash; do
	mf_harness doveadm mailbox create "$b" >/dev/null
done
mf_harness seed Sent --flags S "$T"/m/m{1..10} >/dev/null 2>&1
mf_harness seed Drafts --flags D "$T"/m/m{21..25} >/dev/null 2>&1
mf_harness seed Trash "$T"/m/m{26..30} >/dev/null 2>&1
for b in INBOX "Sent Items" Drafts Trash; do
	mkdir -p "$LOCAL/$b"/cur "$LOCAL/$b"/new "$LOCAL/$b"/tmp
done
mf -q sync >"$T/out0" 2>&1
check "0: the first sync pairs Sent with Sent Items" test ! -e "$LOCAL/Sent"
has_ids "0: the local Sent Items holds the server's Sent" \
	"$LOCAL/Sent Items" 1 10 r

# --- 1. the server's sent folder renamed, the role kept
mf_harness doveadm mailbox rename Sent "Sent Messages" >/dev/null
mf -n sync >"$T/out1n" 2>&1
check "1: -n lists it" grep -qxF \
	'c: would rename Sent -> Sent Messages (on far; Sent Items stays on near)' \
	"$T/out1n"
check "1: -n changes nothing locally" \
	eval '[ ! -e "$LOCAL/Sent Messages" ] &&
		[ "$(ids "$LOCAL/Sent Items")" = "$(want_ids 1 10 r)" ]'
mf -D sync >"$T/out1" 2>"$T/trace1"
check "1: reported, the local name kept" grep -qxF \
	'c: renamed Sent -> Sent Messages (on far; Sent Items stays on near)' \
	"$T/out1"
check "1: no body fetched" no_body_fetch "$T/trace1"
check "1: nothing appended" test "$(appends "$T/trace1")" -eq 0
check "1: no local Sent Messages" test ! -e "$LOCAL/Sent Messages"
has_ids "1: the local Sent Items holds every message once" \
	"$LOCAL/Sent Items" 1 10 r
has_ids "1: the server's Sent Messages too" "$MF_MAILDIR/Sent Messages" 1 10 r
check "1: no Sent on the server" eval '! srv_has Sent'
mf_harness seed "Sent Messages" "$T"/m/m11 >/dev/null 2>&1
cp "$T/m/m12" "$LOCAL/Sent Items/new/1800000000.m12.test"
mf sync >"$T/out1b" 2>&1
check "1: the next run only carries the new mail" quiet "$T/out1b"
has_ids "1: a server message arrives in Sent Items" \
	"$LOCAL/Sent Items" 1 12 r
has_ids "1: a local one in Sent Messages" "$MF_MAILDIR/Sent Messages" 1 12 r

# --- 2. one name on both sides
mf_harness doveadm mailbox rename Drafts "Old Drafts" >/dev/null
mf -D sync >"$T/out2" 2>"$T/trace2"
check "2: reported, the local name kept" grep -qxF \
	'c: renamed Drafts -> Old Drafts (on far; Drafts stays on near)' \
	"$T/out2"
check "2: no body fetched" no_body_fetch "$T/trace2"
check "2: no local Old Drafts" test ! -e "$LOCAL/Old Drafts"
has_ids "2: the local Drafts holds every message once" \
	"$LOCAL/Drafts" 21 25 r
check "2: the next run does nothing" eval \
	'mf sync >"$T/out2b" 2>&1 && quiet "$T/out2b"'

# --- 3. renamed locally, the role kept; stopped after its record
mv "$LOCAL/Trash" "$LOCAL/Deleted Items"
MAILFERRY_TEST_STOP_AFTER=1 MAILFERRY_TEST_STEP_LOG="$T/steps3" \
	mf -D sync >"$T/out3" 2>"$T/trace3"
check "3: the run stopped at the record" grep -q ' rename record$' "$T/steps3"
mf -D sync >"$T/out3b" 2>"$T/trace3b"
check "3: no RENAME, no APPEND" eval \
	'! trace_commands "$T/trace3" | grep -Eq "^(RENAME|APPEND)$" &&
	 ! trace_commands "$T/trace3b" | grep -Eq "^(RENAME|APPEND)$"'
check "3: no body fetched" eval \
	'no_body_fetch "$T/trace3" && no_body_fetch "$T/trace3b"'
check "3: the server keeps Trash" srv_has Trash
check "3: no Deleted Items on the server" eval '! srv_has "Deleted Items"'
check "3: no local Trash made again" test ! -e "$LOCAL/Trash"
has_ids "3: the server's Trash holds every message once" \
	"$MF_MAILDIR/Trash" 26 30 r
has_ids "3: the local Deleted Items too" "$LOCAL/Deleted Items" 26 30 r
mf_harness seed Trash "$T"/m/m31 >/dev/null 2>&1
mf sync >"$T/out3c" 2>&1
check "3: the pair goes on" quiet "$T/out3c"
has_ids "3: new mail in Trash arrives in Deleted Items" \
	"$LOCAL/Deleted Items" 26 31 r

# --- 4. renamed locally to a name without the role
mv "$LOCAL/Sent Items" "$LOCAL/Sent-2024"
mf -D sync >"$T/out4" 2>"$T/trace4"
check "4: no RENAME on the server" eval \
	'! trace_commands "$T/trace4" | grep -qx RENAME'
check "4: no body fetched, nothing appended" eval \
	'no_body_fetch "$T/trace4" && [ "$(appends "$T/trace4")" -eq 0 ]'
check "4: the server's sent folder stays" srv_has "Sent Messages"
once_in "4: on the server every message once" "$MF_MAILDIR" 1 12 r \
	"Sent Messages" Sent-2024
has_ids "4: the server's Sent-2024 holds them" "$MF_MAILDIR/Sent-2024" 1 12 r
has_ids "4: the local Sent-2024 holds them once" "$LOCAL/Sent-2024" 1 12 r
# a local folder removed is pulled again (sync/vanish.c): the server's
# sent folder, now empty
check "4: the local Sent Items is the server's empty sent folder" \
	eval '[ -d "$LOCAL/Sent Items/cur" ] && [ -z "$(ids "$LOCAL/Sent Items")" ]'

mf sync >"$T/out4b" 2>&1
has_ids "4: the next run leaves them" "$LOCAL/Sent-2024" 1 12 r
# pair_same NAME FAR NEAR: the server's folder FAR and the local NEAR
# hold the same messages with the same flags
pair_same() {
	local a b
	a=$(sig "$MF_MAILDIR/$2" | awk '{print $2, $3}' | LC_ALL=C sort)
	b=$(sig "$LOCAL/$3" | awk '{print $2, $3}' | LC_ALL=C sort)
	if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "$1"; else
		not_ok "$1"
		diff <(echo "$a") <(echo "$b") | head -8 | sed 's/^/#   /'
	fi
}
pair_same "the sides agree: Old Drafts and Drafts" "Old Drafts" Drafts
pair_same "the sides agree: Trash and Deleted Items" Trash "Deleted Items"
pair_same "the sides agree: Sent-2024" Sent-2024 Sent-2024
check "the server's Sent Messages is empty" \
	test -z "$(ids "$MF_MAILDIR/Sent Messages")"
finish
