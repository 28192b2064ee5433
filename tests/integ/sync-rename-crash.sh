#!/bin/bash
# Folder renames (issue 15) stopped at every step (MAILFERRY_TEST_STOP_AFTER,
# store/base/testhook.h), then a full run: one folder under the new name on
# both sides, no old folder, every message once per side, and across both
# runs no body FETCH and no APPEND (nothing copied again).
#   F. renamed on the server (CrF -> CrF-new): steps "rename near" and
#      "rename record"
#   N. renamed locally (CrN -> CrN-new): "rename far" and "rename record"
#   H. both in one run, each into a new hierarchy with a child: CrH and
#      CrH/sub -> CrOld/CrH on the server, CrL and CrL/sub -> CrNew/CrL
#      locally
#   B. renamed differently on the two sides (CrB -> CrB-far on the
#      server, CrB -> CrB-near locally): the server's name wins
#   S. renamed the same way on both sides: only the state follows
#   M. renamed on the server, a message new there, and under the old name
#      locally a flag set and a file moved out (the new one is fetched,
#      nothing appended)
#   R. renamed on the server and the old name made again at once
#   I. INBOX renamed on the server: its messages move, INBOX stays
#   W. two names swapped on the server: the local folders swapped too
#   K. the same for two parents with a child each (the children go along)
#   X. the same, then the children swapped back: the parents' messages
#      are moved instead ("move journal", "move record")
#   P. a maildir++ tree (the folder, then its children renamed one by one
#      there): CrP, CrP/a, CrP/b -> CrZ/CrP... on the server; and a stop
#      between them (no test step there: made by hand), which the next run
#      must finish
# Also: the third run after each recovery has nothing left to do.
# Each case's channel covers only its folders (folders:), to keep the
# number of steps, and so of runs, small.
# Each N starts from a copy of the server's mail, the Maildir and the state
# taken before the renaming sync (the server stopped for the copy).
set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup "$@"
# Under ASan/UBSan (CI runs this in that build too) every report goes to
# a file, also from the runs whose output is thrown away; checked at the end
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/sanitizer"

case_todo=
todo() {
	n=$((n + 1))
	echo "not ok $n - $1 # TODO $2"
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

no_body_fetch() {
	! grep -E '^C: [^ ]+ UID FETCH .*(BODY(\.PEEK)?\[\]|RFC822[ )])' "$1" \
		>/dev/null
}
appends() {
	trace_commands "$1" | grep -c '^APPEND$'
}
srv_has() {
	mf_harness doveadm mailbox list 2>/dev/null | grep -qxF "$1"
}
ids() {
	cat "$1"/cur/* "$1"/new/* 2>/dev/null |
		sed -n 's/\r$//; s/^Message-ID: //p' | LC_ALL=C sort
}
want_ids() {
	local i
	for ((i = $1; i <= $2; i++)); do echo "<m$i.$3@test>"; done |
		LC_ALL=C sort
}

# loc_dir BOX: the local folder's directory (fs layout, or maildir++)
PP=0
loc_dir() {
	if [ "$PP" = 1 ]; then
		echo "$LOCAL/.$(echo "$1" | tr / .)"
	else
		echo "$LOCAL/$1"
	fi
}

snapshot() {	# snapshot NAME: save server mail, local maildir, state
	bash "$MF_HARNESS" stop "$MF_HARNESS_DIR" --keep-runtime >/dev/null 2>&1
	rm -rf "$T/snap-$1"
	mkdir -p "$T/snap-$1"
	cp -a "$MF_MAILDIR/." "$T/snap-$1/server"
	cp -a "$LOCAL/." "$T/snap-$1/local"
	cp -a "$T/state/." "$T/snap-$1/state"
	bash "$MF_HARNESS" restart "$MF_HARNESS_DIR" >/dev/null 2>&1
}
restore() {	# restore NAME
	bash "$MF_HARNESS" stop "$MF_HARNESS_DIR" --keep-runtime >/dev/null 2>&1
	find "$MF_MAILDIR" -mindepth 1 -delete
	cp -a "$T/snap-$1/server/." "$MF_MAILDIR"
	bash "$MF_HARNESS" restart "$MF_HARNESS_DIR" >/dev/null 2>&1
	rm -rf "$LOCAL" "$T/state"
	cp -a "$T/snap-$1/local" "$LOCAL"
	cp -a "$T/snap-$1/state" "$T/state"
}

# EXPECT holds "NEW FROM TO TAG" lines (the folder NEW holds exactly
# those messages on both sides; "NEW 1,2,5 - TAG" lists them) and GONE the
# old names; FETCHES=1 when the run has new server mail to fetch (then only
# "no APPEND" is required of the runs)
# result_ok: prints what is wrong, returns 1 if anything is
result_ok() {
	local new from to tag old bad=0 want a b
	while read -r new from to tag; do
		if [ "$to" = - ]; then	# FROM is a list: 1,2,5
			want=$(tr , '\n' <<<"$from" | sed "s/.*/<m&.$tag@test>/" |
				LC_ALL=C sort)
		else
			want=$(want_ids "$from" "$to" "$tag")
		fi
		srv_has "$new" || { echo "#     server lacks $new"; bad=1; }
		[ -d "$(loc_dir "$new")/cur" ] ||
			{ echo "#     local lacks $new"; bad=1; }
		[ "$(ids "$MF_MAILDIR/$new")" = "$want" ] ||
			{ echo "#     server $new: not each message once"; bad=1; }
		[ "$(ids "$(loc_dir "$new")")" = "$want" ] ||
			{ echo "#     local $new: not each message once"; bad=1; }
	done <<<"$EXPECT"
	for old in $GONE; do
		srv_has "$old" && { echo "#     server still has $old"; bad=1; }
		[ -e "$(loc_dir "$old")" ] &&
			{ echo "#     local still has $old"; bad=1; }
	done
	# a maildir++ tree has other folder paths than the server: the
	# Message-IDs per folder above are the comparison then
	[ "$PP" = 1 ] && return $bad
	a=$(sig "$MF_MAILDIR")
	b=$(sig "$LOCAL")
	[ "$a" = "$b" ] || {
		echo "#     sides differ:"
		diff <(echo "$a") <(echo "$b") | head -6 | sed 's/^/#       /'
		bad=1
	}
	return $bad
}

# crash_every NAME STEP [STEP2]: the renaming run must log STEP and STEP2
# ("rename record" unless given); then stopped at each of its steps and
# run again
crash_every() {
	local name=$1 want_step=$2 step2=${3:-rename record} steps N bad=0
	local copied=0 rc tr
	restore "$name"
	rm -f "$T/steps-$name"
	MAILFERRY_TEST_STEP_LOG=$T/steps-$name mf -D sync >"$T/out-$name" \
		2>"$T/trace-$name"
	echo "# $name: exit $?; steps: $(tr '\n' ',' <"$T/steps-$name")"
	grep renamed "$T/out-$name" | sed 's/^/#   /'
	steps=$(wc -l <"$T/steps-$name")
	check "$name: the run has the step \"$want_step\"" \
		grep -Eqx "[0-9]+ $want_step" "$T/steps-$name"
	check "$name: the run has the step \"$step2\"" \
		grep -Eqx "[0-9]+ $step2" "$T/steps-$name"
	if { [ "${FETCHES:-0}" = 1 ] || no_body_fetch "$T/trace-$name"; } &&
		[ "$(appends "$T/trace-$name")" -eq 0 ]; then
		ok "$name: the uninterrupted run copies nothing again"
	else
		not_ok "$name: the uninterrupted run copies nothing again"
	fi
	if result_ok; then ok "$name: the uninterrupted run's result"; else
		not_ok "$name: the uninterrupted run's result"
	fi
	for ((N = 1; N <= steps; N += ${MF_CRASH_STRIDE:-1})); do
		restore "$name"
		MAILFERRY_TEST_STOP_AFTER=$N mf -D sync >/dev/null 2>"$T/tr1"
		rc=$?
		mf -D sync >/dev/null 2>"$T/tr2"
		mf sync >"$T/out3" 2>&1
		for tr in "$T/tr1" "$T/tr2"; do
			if { [ "${FETCHES:-0}" != 1 ] && ! no_body_fetch "$tr"; } ||
				[ "$(appends "$tr")" -ne 0 ]; then
				echo "# $name: step $N: a body fetched or appended"
				copied=$((copied + 1))
			fi
		done
		if [ $rc -ne 99 ]; then
			echo "# $name: step $N: not stopped (exit $rc)"
			bad=$((bad + 1))
		elif ! result_ok; then
			echo "# $name: step $N ($(sed -n "${N}p" "$T/steps-$name")): result wrong"
			bad=$((bad + 1))
		elif ! grep -Eq '^c: [0-9]+ folders.*pulled 0, pushed 0' "$T/out3" ||
			grep -q renamed "$T/out3"; then
			echo "# $name: step $N: a third run still had work: $(grep -E '^c: [0-9]+ folders' "$T/out3")"
			bad=$((bad + 1))
		fi
	done
	check "$name: stopped at each of $steps steps, the next run gives one folder, each message once" \
		test $bad -eq 0
	local what="fetched a body or appended"
	[ "${FETCHES:-0}" = 1 ] && what=appended
	check "$name: and no run of them $what" test $copied -eq 0
}

gen_msgs "$T/g" 1 60 cr
mf_harness seed Keep "$T"/g/m{1..3} >/dev/null 2>&1
mf_harness seed CrF "$T"/g/m{4..8} >/dev/null 2>&1
mf_harness seed CrN --flags S "$T"/g/m{9..13} >/dev/null 2>&1
mf_harness seed CrH "$T"/g/m{14..16} >/dev/null 2>&1
mf_harness seed CrH/sub "$T"/g/m{17..19} >/dev/null 2>&1
mf_harness seed CrL "$T"/g/m{20..22} >/dev/null 2>&1
mf_harness seed CrL/sub "$T"/g/m{23..25} >/dev/null 2>&1
mf_harness seed CrB "$T"/g/m{26..30} >/dev/null 2>&1
mf_harness seed CrS "$T"/g/m{31..35} >/dev/null 2>&1
mf_harness seed CrM "$T"/g/m{45..49} >/dev/null 2>&1
mf_harness seed INBOX "$T"/g/m{51..55} >/dev/null 2>&1
mf_harness seed CrR "$T"/g/m{56..58} >/dev/null 2>&1
check "initial sync" mf -q sync
same_sides "initial sync converged"

# --- F
mf_config 'folders: ["CrF*"]'
mf_harness doveadm mailbox rename CrF CrF-new >/dev/null
snapshot F
EXPECT='CrF-new 4 8 cr'
GONE=CrF
crash_every F "rename near"
restore F
mf -q sync >/dev/null 2>&1

# --- N
mf_config 'folders: ["CrN*"]'
mv "$LOCAL/CrN" "$LOCAL/CrN-new"
snapshot N
EXPECT='CrN-new 9 13 cr'
GONE=CrN
crash_every N "rename far"
restore N
mf -q sync >/dev/null 2>&1

# --- H
mf_config 'folders: ["CrH*", "CrOld*", "CrL*", "CrNew*"]'
mf_harness doveadm mailbox rename CrH CrOld/CrH >/dev/null
mkdir "$LOCAL/CrNew"
mv "$LOCAL/CrL" "$LOCAL/CrNew/"
snapshot H
EXPECT='CrOld/CrH 14 16 cr
CrOld/CrH/sub 17 19 cr
CrNew/CrL 20 22 cr
CrNew/CrL/sub 23 25 cr'
GONE="CrH CrH/sub CrL CrL/sub"
crash_every H "rename near"
check "H: and the step \"rename far\"" grep -Eqx "[0-9]+ rename far" "$T/steps-H"
restore H
mf -q sync >/dev/null 2>&1

# --- B
mf_config 'folders: ["CrB*"]'
mf_harness doveadm mailbox rename CrB CrB-far >/dev/null
mv "$LOCAL/CrB" "$LOCAL/CrB-near"
snapshot B
EXPECT='CrB-far 26 30 cr'
GONE="CrB CrB-near"
crash_every B "rename near"
restore B
mf -q sync >/dev/null 2>&1

# --- S
mf_config 'folders: ["CrS*"]'
mf_harness doveadm mailbox rename CrS CrS2 >/dev/null
mv "$LOCAL/CrS" "$LOCAL/CrS2"
snapshot S
EXPECT='CrS2 31 35 cr'
GONE=CrS
crash_every S "rename record"
restore S
mf -q sync >/dev/null 2>&1

# --- M: renamed on the server with changes in the same round: a message
# new there, and under the old name locally a flag set and a file moved
# out into Keep
mf_config 'folders: ["CrM*", "Keep"]'
mf_harness doveadm mailbox rename CrM CrM2 >/dev/null
mf_harness seed CrM2 "$T"/g/m50 >/dev/null 2>&1
set_local_flags "$(local_file CrM m46.cr)" S
mv "$(local_file CrM m47.cr)" "$LOCAL/Keep/cur/"
snapshot M
EXPECT='CrM2 45,46,48,49,50 - cr
Keep 1,2,3,47 - cr'
GONE=CrM
FETCHES=1
crash_every M "rename near"
FETCHES=0
check "M: one body fetched in the uninterrupted run, of one UID (the new message)" eval \
	'[ "$(grep -Ec "^C: [^ ]+ UID FETCH .*(BODY(\.PEEK)?\[\]|RFC822[ )])" "$T/trace-M")" -eq 1 ] &&
	 grep -Eq "^C: [^ ]+ UID FETCH [0-9]+ \(UID BODY(\.PEEK)?\[\]" "$T/trace-M"'
check "M: the flag set locally reached the server" eval \
	'mf_harness doveadm fetch flags mailbox CrM2 header message-id m46.cr@test |
	 grep -q "\\\\Seen"'
restore M
mf -q sync >/dev/null 2>&1

# --- R: renamed on the server and the old name made again at once (a
# yearly archive rotation): the old name is another folder (another
# UIDVALIDITY), the messages went with the rename
mf_config 'folders: ["CrR*"]'
mf_harness doveadm mailbox rename CrR CrR-2025 >/dev/null
mf_harness doveadm mailbox create CrR >/dev/null
snapshot R
EXPECT='CrR-2025 56 58 cr
CrR 1 0 cr'
GONE=
crash_every R "rename near"
restore R
mf -q sync >/dev/null 2>&1

# --- I: INBOX renamed on the server (Dovecot moves its messages into the
# new folder, which keeps INBOX's UIDVALIDITY and UIDs, and makes INBOX
# anew): the local files move, INBOX stays on both sides
mf_config 'folders: ["INBOX", "Old-Inbox"]'
mf_harness doveadm mailbox rename INBOX Old-Inbox >/dev/null
snapshot I
EXPECT='Old-Inbox 51 55 cr
INBOX 1 0 cr'
GONE=
crash_every I "rename near"
restore I
mf_config
mf -q sync >/dev/null 2>&1
same_sides "all: every folder agrees after F, N, H, B, S, M, R, I"

# --- W: two names swapped on the server (RENAME a t, b a, t b): the local
# folders are swapped by way of temporary names, the rows following each
# rename (sync/rename.h, "Names swapped")
gen_msgs "$T/w" 1 7 cw
mf_harness seed CrWa "$T"/w/m{1..3} >/dev/null 2>&1
mf_harness seed CrWb "$T"/w/m{4..7} >/dev/null 2>&1
mf_config 'folders: ["CrW*"]'
mf -q sync >/dev/null 2>&1
mf_harness doveadm mailbox rename CrWa CrWt >/dev/null
mf_harness doveadm mailbox rename CrWb CrWa >/dev/null
mf_harness doveadm mailbox rename CrWt CrWb >/dev/null
snapshot W
EXPECT='CrWa 4 7 cw
CrWb 1 3 cw'
GONE="CrWt CrWa~mf-swap CrWb~mf-swap"
crash_every W "rename near"
restore W
mf_config
mf -q sync >/dev/null 2>&1

# --- K: the same with children (CrKa/sub, CrKb/sub go along with each
# RENAME): the local parents are swapped, their children going along and
# the children's rows following in the same transaction as the parent's
gen_msgs "$T/k" 1 12 ck
mf_harness seed CrKa "$T"/k/m{1..3} >/dev/null 2>&1
mf_harness seed CrKa/sub "$T"/k/m{4..6} >/dev/null 2>&1
mf_harness seed CrKb "$T"/k/m{7..9} >/dev/null 2>&1
mf_harness seed CrKb/sub "$T"/k/m{10..12} >/dev/null 2>&1
mf_config 'folders: ["CrK*"]'
mf -q sync >/dev/null 2>&1
mf_harness doveadm mailbox rename CrKa CrKt >/dev/null
mf_harness doveadm mailbox rename CrKb CrKa >/dev/null
mf_harness doveadm mailbox rename CrKt CrKb >/dev/null
snapshot K
EXPECT='CrKa 7 9 ck
CrKa/sub 10 12 ck
CrKb 1 3 ck
CrKb/sub 4 6 ck'
GONE="CrKt CrKa~mf-swap CrKb~mf-swap"
crash_every K "rename near"
restore K
mf_config
mf -q sync >/dev/null 2>&1

# --- X: the same, and then the children swapped back on the server: the
# parents' cycle is not one the children follow (rename-match.c,
# family_ok()), so each parent's messages are moved instead (move.h,
# "UIDVALIDITY changed"), the children left as they are
gen_msgs "$T/x" 1 12 cx
mf_harness seed CrXa "$T"/x/m{1..3} >/dev/null 2>&1
mf_harness seed CrXa/sub "$T"/x/m{4..6} >/dev/null 2>&1
mf_harness seed CrXb "$T"/x/m{7..9} >/dev/null 2>&1
mf_harness seed CrXb/sub "$T"/x/m{10..12} >/dev/null 2>&1
mf_config 'folders: ["CrX*"]'
mf -q sync >/dev/null 2>&1
for pair in "CrXa CrXt" "CrXb CrXa" "CrXt CrXb" "CrXa/sub CrXt" \
	"CrXb/sub CrXa/sub" "CrXt CrXb/sub"; do
	# shellcheck disable=SC2086
	mf_harness doveadm mailbox rename $pair >/dev/null
done
snapshot X
EXPECT='CrXa 7 9 cx
CrXa/sub 4 6 cx
CrXb 1 3 cx
CrXb/sub 10 12 cx'
GONE="CrXt"
crash_every X "move journal" "move record"
restore X
mf_config
mf -q sync >/dev/null 2>&1

# --- P: from here on a maildir++ tree with its own state
mf_harness seed CrP "$T"/g/m{36..38} >/dev/null 2>&1
mf_harness seed CrP/a "$T"/g/m{39..41} >/dev/null 2>&1
mf_harness seed CrP/b "$T"/g/m{42..44} >/dev/null 2>&1
rm -rf "$T/state"
LOCAL=$T/pp PP=1
mkdir -p "$LOCAL"
sed -i -e "s|maildir: .*|maildir: $LOCAL|" -e 's|layout: fs|layout: maildir++|' \
	"$CFG"
printf '    folders: ["CrP*", "CrZ*"]\n' >>"$CFG"
check "P: first sync into maildir++" mf -q sync
check "P: the maildir++ names" test -d "$LOCAL/.CrP.a/cur" -a ! -e "$LOCAL/.CrF-new"
mf_harness doveadm mailbox rename CrP CrZ/CrP >/dev/null
snapshot P
EXPECT='CrZ/CrP 36 38 cr
CrZ/CrP/a 39 41 cr
CrZ/CrP/b 42 44 cr'
GONE="CrP CrP/a CrP/b"
crash_every P "rename near"

# A stop inside one rename_box (maildir++ renames the folder, then the
# children one by one; no test step between them): made by hand, from P's
# starting point, with the folder renamed and none, one or both children
mid_stop() {	# mid_stop NAME CHILD...: rename the folder and those children, then sync
	local name=$1 c
	shift
	restore P
	mv "$LOCAL/.CrP" "$LOCAL/.CrZ.CrP"
	for c in "$@"; do mv "$LOCAL/.CrP$c" "$LOCAL/.CrZ.CrP$c"; done
	mf -D sync >"$T/out-$name" 2>"$T/tr-$name"
	mf sync >"$T/out2-$name" 2>&1
	grep renamed "$T/out-$name" | sed 's/^/#   /'
	if result_ok; then ok "$name: the next run finishes the rename"; else
		not_ok "$name: the next run finishes the rename"
	fi
	case_todo=
	if no_body_fetch "$T/tr-$name" && [ "$(appends "$T/tr-$name")" -eq 0 ]; then
		ok "$name: copying nothing"
	else
		not_ok "$name: copying nothing"
	fi
	check "$name: and a third run has nothing to do" eval \
		"grep -Eq '^c: [0-9]+ folders.*pulled 0, pushed 0' '$T/out2-$name' &&
		 ! grep -q renamed '$T/out2-$name'"
}
mid_stop "P, stopped after the folder"
mid_stop "P, stopped after one child" .a
check "no sanitizer report from any run" \
	test -z "$(ls "$T"/sanitizer.* 2>/dev/null)"
[ -z "$(ls "$T"/sanitizer.* 2>/dev/null)" ] || head -20 "$T"/sanitizer.* | sed 's/^/# /'
finish
