#!/bin/bash
# Folder names swapped (issue 15): both names still exist, each holding the
# other's messages.  Nothing lost, nothing twice, nothing downloaded or
# uploaded again:
#   1. swapped on the server by another client (RENAME A tmp, RENAME B A,
#      RENAME tmp B; Dovecot keeps UIDVALIDITY and UIDs with the folder):
#      the local folders are swapped too, the state follows
#   2. swapped locally (mv A tmp; mv B A; mv tmp B of the directories):
#      the server's folders follow (renames or moves, no APPEND)
#   3. three names rotated on the server
#   4. two parents with children swapped on the server: parents and
#      children swapped locally too (the children go along with their
#      parents' RENAMEs, RFC 3501 section 6.3.5)
#   5. two parents swapped on the server, only one with a child (which
#      goes along into the other name): not a cycle the children follow
#      (rename-match.c, family_ok()), so the messages are moved instead
#      (move.h, "UIDVALIDITY changed"), the child renamed
#   6. two parents with children swapped on the server, then the children
#      swapped back: the parents' messages are moved, the children stay
# After each, every folder holds on both sides what its namesake on the
# other side holds (Message-IDs compared per folder), the totals are
# unchanged, and the next run does nothing.
set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup "$@"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/sanitizer"

summary() {
	grep -E '^c: [0-9]+ folders' "$1"
}
srv_rename() {
	mf_harness doveadm mailbox rename "$1" "$2" >/dev/null
}
# both_hold CASE BOX FROM TO TAG: BOX on the server and locally holds
# exactly the messages FROM..TO of TAG, once each
both_hold() {
	has_ids "$1: server $2 holds $5 $3..$4 once each" "$MF_MAILDIR/$2" \
		"$3" "$4" "$5"
	has_ids "$1: local $2 holds $5 $3..$4 once each" "$LOCAL/$2" \
		"$3" "$4" "$5"
}
# totals CASE N: N messages on each side in all
totals() {
	check "$1: $2 messages on the server" test "$(count "$MF_MAILDIR")" -eq "$2"
	check "$1: $2 messages locally" test "$(count "$LOCAL")" -eq "$2"
}
# quiet CASE: the next run copies, renames and moves nothing
quiet() {
	mf -D sync >"$T/quiet.out" 2>"$T/quiet.trace"
	check "$1: the next run copies nothing" \
		grep -Eq '^c: [0-9]+ folders.*pulled 0, pushed 0' "$T/quiet.out"
	check "$1: and sends no RENAME, MOVE or APPEND" \
		test "$(trace_commands "$T/quiet.trace" |
			grep -Ec '^(RENAME|MOVE|APPEND)$')" -eq 0
	check "$1: and renames nothing locally" \
		eval '! grep -q renamed "$T/quiet.out"'
}

gen_msgs "$T/a" 1 20 sa
gen_msgs "$T/b" 1 30 sb
mf_harness seed SwA "$T"/a/m{1..20} >/dev/null 2>&1
mf_harness seed SwB "$T"/b/m{1..30} >/dev/null 2>&1
check "initial sync" mf -q sync
same_sides "initial sync converged"
total=$(count "$LOCAL")

# --- 1. swapped on the server
srv_rename SwA SwT
srv_rename SwB SwA
srv_rename SwT SwB
# 1d. a dry run lists the swap and changes nothing
tree_before=$(cd "$LOCAL" && find . | LC_ALL=C sort)
cp -a "$T/state" "$T/state.before"
mf sync -n >"$T/out1d" 2>&1
check "1d: the dry run lists both renames" eval \
	'grep -qxF "c: would rename SwA -> SwB (on far)" "$T/out1d" &&
	 grep -qxF "c: would rename SwB -> SwA (on far)" "$T/out1d"'
check "1d: the local tree is unchanged" \
	test "$tree_before" = "$(cd "$LOCAL" && find . | LC_ALL=C sort)"
if command -v sqlite3 >/dev/null 2>&1; then
	check "1d: the state is unchanged" test \
		"$(sqlite3 "$T/state.before/c.db" .dump)" = \
		"$(sqlite3 "$T/state/c.db" .dump)"
fi
mf -D sync >"$T/out1" 2>"$T/trace1"
echo "# exit $?; $(summary "$T/out1")"
grep -E 'renamed|swap|Sw' "$T/out1" | sed 's/^/#   /'
check "1: no message body fetched" no_body_fetch "$T/trace1"
check "1: nothing appended" test "$(appends "$T/trace1")" -eq 0
check "1: the swap is reported" \
	grep -qE '^c: (renamed|swapped) .*SwA.*SwB' "$T/out1"
both_hold 1 SwA 1 30 sb
both_hold 1 SwB 1 20 sa
check "1: no temporary folder left" \
	eval '! srv_has SwT && [ ! -e "$LOCAL/SwT" ]'
totals 1 "$total"
same_sides "1: sides agree"
quiet 1

# --- 2. swapped locally (folders of their own, so that 1 failing does
# not fail 2)
gen_msgs "$T/c" 1 20 sc
gen_msgs "$T/d" 1 30 sd
mf_harness seed LoA "$T"/c/m{1..20} >/dev/null 2>&1
mf_harness seed LoB "$T"/d/m{1..30} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
total=$(count "$LOCAL")
mv "$LOCAL/LoA" "$LOCAL/LoT"
mv "$LOCAL/LoB" "$LOCAL/LoA"
mv "$LOCAL/LoT" "$LOCAL/LoB"
mf -D sync >"$T/out2" 2>"$T/trace2"
echo "# exit $?; $(summary "$T/out2")"
grep -E 'renamed|swap|Lo' "$T/out2" | sed 's/^/#   /'
check "2: no message body fetched" no_body_fetch "$T/trace2"
check "2: nothing appended" test "$(appends "$T/trace2")" -eq 0
both_hold 2 LoA 1 30 sd
both_hold 2 LoB 1 20 sc
check "2: no temporary folder left" \
	eval '! srv_has LoT && [ ! -e "$LOCAL/LoT" ]'

totals 2 "$total"
same_sides "2: sides agree"
quiet 2

# --- 3. three names rotated on the server: R1 <- R3 <- R2 <- R1
gen_msgs "$T/r" 1 30 rr
mf_harness seed Rot1 "$T"/r/m{1..10} >/dev/null 2>&1
mf_harness seed Rot2 "$T"/r/m{11..20} >/dev/null 2>&1
mf_harness seed Rot3 "$T"/r/m{21..30} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
total=$(count "$LOCAL")
srv_rename Rot1 RotT
srv_rename Rot3 Rot1
srv_rename Rot2 Rot3
srv_rename RotT Rot2
mf -D sync >"$T/out3" 2>"$T/trace3"
echo "# exit $?; $(summary "$T/out3")"
grep -E 'renamed|swap|Rot' "$T/out3" | sed 's/^/#   /'
check "3: no message body fetched" no_body_fetch "$T/trace3"
check "3: nothing appended" test "$(appends "$T/trace3")" -eq 0
both_hold 3 Rot1 21 30 rr
both_hold 3 Rot2 1 10 rr
both_hold 3 Rot3 11 20 rr
totals 3 "$total"
same_sides "3: sides agree"
quiet 3

# --- 4. two parents with children swapped on the server (the children
# go along with each RENAME, RFC 3501 6.3.5): the local parents are
# swapped, their children going along, the children's rows following in
# the same transaction; the children's own cycle has only its rows left
gen_msgs "$T/p" 1 20 pp
mf_harness seed PaA "$T"/p/m{1..5} >/dev/null 2>&1
mf_harness seed PaA/kid "$T"/p/m{6..10} >/dev/null 2>&1
mf_harness seed PaB "$T"/p/m{11..15} >/dev/null 2>&1
mf_harness seed PaB/kid "$T"/p/m{16..20} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
total=$(count "$LOCAL")
srv_rename PaA PaT
srv_rename PaB PaA
srv_rename PaT PaB
mf -D sync >"$T/out4" 2>"$T/trace4"
echo "# exit $?; $(summary "$T/out4")"
grep -E 'renamed|swap|Pa' "$T/out4" | sed 's/^/#   /'
check "4: no message body fetched" no_body_fetch "$T/trace4"
check "4: nothing appended" test "$(appends "$T/trace4")" -eq 0
both_hold 4 PaA 11 15 pp
both_hold 4 PaB 1 5 pp
both_hold 4 PaA/kid 16 20 pp
both_hold 4 PaB/kid 6 10 pp
check "4: no temporary folder left" \
	eval '! srv_has PaT && [ -z "$(find "$LOCAL" -name "*mf-swap*")" ]'
totals 4 "$total"
same_sides "4: sides agree"
quiet 4

# --- 5. a parent with a child swapped with one without: the child goes
# along on the server (PaA/kid is QxB/kid now); locally the messages are
# moved between the parents, the child renamed
gen_msgs "$T/q" 1 15 qq
mf_harness seed QxA "$T"/q/m{1..5} >/dev/null 2>&1
mf_harness seed QxA/kid "$T"/q/m{6..10} >/dev/null 2>&1
mf_harness seed QxB "$T"/q/m{11..15} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
total=$(count "$LOCAL")
srv_rename QxA QxT
srv_rename QxB QxA
srv_rename QxT QxB
mf -D sync >"$T/out5" 2>"$T/trace5"
echo "# exit $?; $(summary "$T/out5")"
grep -E 'renamed|swap|Qx' "$T/out5" | sed 's/^/#   /'
check "5: no message body fetched" no_body_fetch "$T/trace5"
check "5: nothing appended" test "$(appends "$T/trace5")" -eq 0
check "5: the messages were moved, 5 each way" \
	grep -Eq '^c: [0-9]+ folders .*moved 10' "$T/out5"
both_hold 5 QxA 11 15 qq
both_hold 5 QxB 1 5 qq
both_hold 5 QxB/kid 6 10 qq
check "5: no QxA/kid left on either side" \
	eval '! srv_has QxA/kid && ! loc_has QxA/kid'
totals 5 "$total"
same_sides "5: sides agree"
quiet 5

# --- 6. parents with children swapped, then the children swapped back:
# the children stay as they were, the parents' messages are moved
gen_msgs "$T/w" 1 20 ww
mf_harness seed WxA "$T"/w/m{1..5} >/dev/null 2>&1
mf_harness seed WxA/kid "$T"/w/m{6..10} >/dev/null 2>&1
mf_harness seed WxB "$T"/w/m{11..15} >/dev/null 2>&1
mf_harness seed WxB/kid "$T"/w/m{16..20} >/dev/null 2>&1
mf -q sync >/dev/null 2>&1
total=$(count "$LOCAL")
srv_rename WxA WxT
srv_rename WxB WxA
srv_rename WxT WxB
srv_rename WxA/kid WxT
srv_rename WxB/kid WxA/kid
srv_rename WxT WxB/kid
mf -D sync >"$T/out6" 2>"$T/trace6"
echo "# exit $?; $(summary "$T/out6")"
grep -E 'renamed|swap|Wx' "$T/out6" | sed 's/^/#   /'
check "6: no message body fetched" no_body_fetch "$T/trace6"
check "6: nothing appended" test "$(appends "$T/trace6")" -eq 0
check "6: the messages were moved, 5 each way" \
	grep -Eq '^c: [0-9]+ folders .*moved 10' "$T/out6"
both_hold 6 WxA 11 15 ww
both_hold 6 WxB 1 5 ww
both_hold 6 WxA/kid 6 10 ww
both_hold 6 WxB/kid 16 20 ww
totals 6 "$total"
same_sides "6: sides agree"
quiet 6

if ls "$T"/sanitizer* >/dev/null 2>&1; then
	not_ok "no sanitizer report"
	head -20 "$T"/sanitizer* | sed 's/^/# /'
fi
finish
