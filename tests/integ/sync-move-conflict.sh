#!/bin/bash
# Moves that meet a flag change or another move in the same round
# (mailferry(1), "Moves"):
#   a. moved locally while the server removed a flag; moved on the server
#      while a flag was removed locally: the flag stays removed
#   b. moved on both sides into different folders: it ends in the server's
#      folder only (the local file follows), flags merged three-way
#   c. moved on both sides into the same folder: paired there with its
#      record, flags merged three-way, nothing uploaded or downloaded
#   d. all of a to c at once, the sync stopped at every step (test hook)
#      and then run again: the same result as the uninterrupted run
#      (where the next run settles a journaled move, that run is stopped
#      at each of its steps up to the settling too, then run again)
#   e. a of d on a server without MOVE (UID COPY, then UID EXPUNGE), where
#      a stop between the two leaves the message in both folders
set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup "$@"

gen_msgs "$T/gen" 1 40
mf_harness seed INBOX --flags S "$T"/gen/m{1..30} >/dev/null 2>&1
mf_harness seed Archive "$T"/gen/m{31..35} >/dev/null 2>&1
mf_harness seed Work "$T"/gen/m{36..40} >/dev/null 2>&1
check "initial sync" mf -q sync
same_sides "initial sync converged"

u() { server_uid "$1" "$2"; }
# on_server BOX ID: how many copies of message ID the server's BOX holds
on_server() {
	mf_harness doveadm search mailbox "$1" header message-id "$2@test" \
		2>/dev/null | wc -l
}
# on_local BOX ID: how many local files of BOX hold message ID
on_local() {
	grep -l -F "Message-ID: <$2@test>" "$LOCAL/$1"/cur/* "$LOCAL/$1"/new/* \
		2>/dev/null | wc -l
}
# srv_flags BOX ID: the server's flags of message ID (sorted letters)
srv_flags() {
	local f
	f=$(grep -l -F "Message-ID: <$2@test>" "$MF_MAILDIR/$1"/cur/* \
		"$MF_MAILDIR/$1"/new/* 2>/dev/null | head -1)
	flags_of "$f"
}
loc_flags() {
	flags_of "$(local_file "$1" "$2")"
}
flags_of() {
	local name
	name=$(basename "$1")
	case $name in *:2,*) name=${name##*:2,} ;; *) name= ;; esac
	echo "$name" | tr -cd 'A-Z' | fold -w1 | LC_ALL=C sort | tr -d '\n'
}
# mv_local FROM TO ID [FLAGS]: move the local file as mv(1) would, name
# kept (with FLAGS: the flag letters changed too, as a mail reader does)
mv_local() {
	local f base
	f=$(local_file "$1" "$3")
	if [ $# -ge 4 ]; then
		base=$(basename "$f")
		mv "$f" "$LOCAL/$2/cur/${base%%:2,*}:2,$4"
	else
		mv "$f" "$LOCAL/$2/cur/"
	fi
}
srv_move() {	# srv_move FROM TO ID
	mf_harness doveadm move "$2" mailbox "$1" uid "$(u "$1" "$3")" \
		>/dev/null
}
srv_unflag() {	# srv_unflag BOX ID FLAG
	mf_harness doveadm flags remove "$3" mailbox "$1" uid "$(u "$1" "$2")" \
		>/dev/null
}
srv_flag() {	# srv_flag BOX ID FLAG
	mf_harness doveadm flags add "$3" mailbox "$1" uid "$(u "$1" "$2")" \
		>/dev/null
}
# where ID EXPECT: "server-folders|local-folders|server-flags|local-flags"
# of message ID, e.g. "Work|Work|F|F"
where() {
	local id=$1 want=$2 got sb lb box
	sb= lb=
	for box in INBOX Archive Work; do
		for _ in $(seq "$(on_server "$box" "$id")"); do sb="$sb$box,"; done
		for _ in $(seq "$(on_local "$box" "$id")"); do lb="$lb$box,"; done
	done
	sb=${sb%,} lb=${lb%,}
	got="$sb|$lb|$(srv_flags "${sb%%,*}" "$id")|$(loc_flags "${lb%%,*}" "$id")"
	if [ "$got" = "$want" ]; then return 0; fi
	echo "# $id: got $got, want $want"
	return 1
}
no_body_fetch() {
	! grep -E '^C: [^ ]+ UID FETCH .*(BODY(\.PEEK)?\[\]|RFC822[ )])' "$1" \
		>/dev/null
}

# --- a. a move on one side, a flag removed on the other
mv_local INBOX Archive m1.g
srv_unflag INBOX m1.g '\Seen'
srv_move INBOX Work m2.g
f=$(local_file INBOX m2.g)
set_local_flags "$f" ""
mf -D sync >"$T/out-a" 2>"$T/trace-a"
check "a: moved locally, unflagged on the server: in Archive, flag gone" \
	where m1.g "Archive|Archive||"
check "a: moved on the server, unflagged locally: in Work, flag gone" \
	where m2.g "Work|Work||"
check "a: nothing copied" \
	test "$(trace_commands "$T/trace-a" | grep -c APPEND)" -eq 0
same_sides "a: sides agree"

# --- b. moved on both sides, into different folders
mv_local INBOX Archive m3.g FS		# flagged locally too
srv_move INBOX Work m3.g
srv_unflag Work m3.g '\Seen'		# and unread on the server
mf -D sync >"$T/out-b" 2>"$T/trace-b"
check "b: the server's folder wins, once on each side, flags merged" \
	where m3.g "Work|Work|F|F"
check "b: nothing copied" \
	test "$(trace_commands "$T/trace-b" | grep -c APPEND)" -eq 0
check "b: no message body fetched" no_body_fetch "$T/trace-b"
same_sides "b: sides agree"
no_duplicates "$LOCAL" "b: no duplicates locally"
no_duplicates "$MF_MAILDIR" "b: no duplicates on the server"

# --- c. moved on both sides, into the same folder
mv_local INBOX Archive m4.g ""		# unread locally
srv_move INBOX Archive m4.g
srv_flag Archive m4.g '\Flagged'	# flagged on the server
mv_local INBOX Work m5.g		# the same, no flag changes
srv_move INBOX Work m5.g
mf -D sync >"$T/out-c" 2>"$T/trace-c"
check "c: paired in Archive, flags merged three-way" \
	where m4.g "Archive|Archive|F|F"
check "c: paired in Work, flags kept" where m5.g "Work|Work|S|S"
check "c: nothing copied" \
	test "$(trace_commands "$T/trace-c" | grep -c APPEND)" -eq 0
check "c: no message body fetched" no_body_fetch "$T/trace-c"
same_sides "c: sides agree"
mf -D sync >"$T/out-c2" 2>"$T/trace-c2"
check "c: the next run has nothing to do" \
	test "$(trace_commands "$T/trace-c2" | grep -Ec 'APPEND|MOVE|STORE|EXPUNGE')" -eq 0

# --- d. all at once, stopped at every step
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
# crash_every NAME HOW EXPECT: the uninterrupted run must pass EXPECT (a
# command); then stop the sync at each step, run a full sync, compare.
# Some of the runs must find a move journaled and HOW ("done": moved but
# not recorded)
crash_every() {
	local name=$1 how=$2 expect=$3 steps N M k bad=0 settled=0 twice=0
	restore "$name"
	MAILFERRY_TEST_STEP_LOG=$T/steps-$name mf -q sync >/dev/null 2>&1
	steps=$(wc -l <"$T/steps-$name")
	sig "$LOCAL" >"$T/ref-$name"
	check "$name: reference run converges" \
		cmp -s "$T/ref-$name" <(sig "$MF_MAILDIR")
	check "$name: the reference result is the expected one" eval "$expect"
	check "$name: the run moves ($(tr '\n' ',' <"$T/steps-$name"))" \
		grep -q move "$T/steps-$name"
	for ((N = 1; N <= steps; N++)); do
		restore "$name"
		MAILFERRY_TEST_STOP_AFTER=$N mf -q sync >/dev/null 2>&1
		if [ $? -ne 99 ]; then
			echo "# $name: step $N: not stopped"
			bad=$((bad + 1))
			continue
		fi
		rm -f "$T/steps2"
		if ! MAILFERRY_TEST_STEP_LOG=$T/steps2 mf --debug=sync sync \
			>"$T/after" 2>"$T/after-trace"; then
			echo "# $name: step $N: recovery sync failed"
			sed 's/^/#   /' "$T/after" | head -5
			bad=$((bad + 1))
			continue
		fi
		grep -q "move journal of .*: $how\$" "$T/after-trace" &&
			settled=$((settled + 1))
		if ! sig "$LOCAL" | cmp -s - "$T/ref-$name" ||
		   ! sig "$MF_MAILDIR" | cmp -s - "$T/ref-$name"; then
			echo "# $name: step $N ($(sed -n "${N}p" "$T/steps-$name")): result differs"
			diff <(sig "$MF_MAILDIR") "$T/ref-$name" | head -6 | sed 's/^/#   server /'
			diff <(sig "$LOCAL") "$T/ref-$name" | head -6 | sed 's/^/#   local /'
			bad=$((bad + 1))
		fi
		# the settling itself stopped at each of its steps
		k=$(grep -n ' move recover$' "$T/steps2" | head -1 | cut -d: -f1)
		for ((M = 1; M <= ${k:-0}; M++)); do
			twice=$((twice + 1))
			restore "$name"
			MAILFERRY_TEST_STOP_AFTER=$N mf -q sync >/dev/null 2>&1
			MAILFERRY_TEST_STOP_AFTER=$M mf -q sync >/dev/null 2>&1
			if [ $? -ne 99 ] || ! mf -q sync >/dev/null 2>&1 ||
			   ! sig "$LOCAL" | cmp -s - "$T/ref-$name" ||
			   ! sig "$MF_MAILDIR" | cmp -s - "$T/ref-$name"; then
				echo "# $name: step $N, then the settling stopped at $M: result differs"
				bad=$((bad + 1))
			fi
		done
	done
	check "$name: killed at each of $steps steps, recovery gives the reference result" \
		test $bad -eq 0
	check "$name: the settling of a journal was stopped too ($twice times)" \
		test $twice -gt 0
	check "$name: some runs found a move journaled and $how ($settled)" \
		test $settled -gt 0
}

mv_local INBOX Archive m11.g		# a, both directions
srv_unflag INBOX m11.g '\Seen'
srv_move INBOX Work m12.g
set_local_flags "$(local_file INBOX m12.g)" ""
mv_local INBOX Archive m13.g FS		# b
srv_move INBOX Work m13.g
srv_unflag Work m13.g '\Seen'
mv_local INBOX Archive m14.g ""		# c
srv_move INBOX Archive m14.g
srv_flag Archive m14.g '\Flagged'
mv_local INBOX Archive m15.g		# a batch of two local moves
mv_local INBOX Archive m17.g
srv_unflag INBOX m15.g '\Seen'
srv_move INBOX Work m16.g		# and of two server moves
srv_move INBOX Work m18.g
set_local_flags "$(local_file INBOX m16.g)" ""
snapshot D
crash_every D done \
	'where m11.g "Archive|Archive||" && where m12.g "Work|Work||" &&
	 where m13.g "Work|Work|F|F" && where m14.g "Archive|Archive|F|F" &&
	 where m15.g "Archive|Archive||" && where m16.g "Work|Work||" &&
	 where m17.g "Archive|Archive|S|S" && where m18.g "Work|Work|S|S"'

# --- e. without MOVE: a copy made and the original not yet expunged
restore D
mf -q sync >/dev/null 2>&1
sed -i '/password_env/a\    disable: [move]' "$CFG"
mv_local INBOX Archive m21.g
mv_local INBOX Archive m22.g
srv_unflag INBOX m21.g '\Seen'
srv_move INBOX Work m23.g
set_local_flags "$(local_file INBOX m23.g)" ""
snapshot E
crash_every E "half done" \
	'where m21.g "Archive|Archive||" && where m22.g "Archive|Archive|S|S" &&
	 where m23.g "Work|Work||"'
finish
