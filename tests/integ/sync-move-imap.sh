#!/bin/bash
# Moves in an IMAP <-> IMAP channel (two private Dovecots), where both
# mirrors are UID MOVEs and a stopped move is found again by UID and
# content on either side (mailferry(1), "Moves"):
#   a. moved on one account while the other removed a flag, both ways
#   b. moved on both accounts into different folders: the far account's
#      folder wins
#   c. moved on both into the same folder: paired there
#   d. all of these, the sync stopped at every step and run again: the
#      result of the uninterrupted run
set -u
. "$(dirname "$0")/lib.sh"
mf_setup "$@"

# the far server is mf_setup's; a second one is the near account
F_DIR=$MF_HARNESS_DIR F_MAILDIR=$MF_MAILDIR F_PORT=$MF_IMAPS_PORT
F_CA=$MF_CA_FILE F_USER=$MF_USER F_PASS=$MF_PASS
mf_harness_start "$T/srv2" >/dev/null 2>&1 || {
	echo "Bail out! second server failed to start"
	exit 1
}
N_DIR=$MF_HARNESS_DIR N_MAILDIR=$MF_MAILDIR N_PORT=$MF_IMAPS_PORT
N_CA=$MF_CA_FILE N_USER=$MF_USER N_PASS=$MF_PASS
MF_HARNESS_DIR=$F_DIR MF_MAILDIR=$F_MAILDIR
export MF_TEST_PW=$F_PASS MF_TEST_PW2=$N_PASS
cat >"$CFG" <<YAML
state_dir: $T/state
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
YAML

# adm far|near ARGS: doveadm on one server
adm() {
	local d=$F_DIR
	[ "$1" = near ] && d=$N_DIR
	shift
	bash "$MF_HARNESS" doveadm "$d" "$@" 2>/dev/null
}
uid_of() {	# uid_of far|near BOX ID
	adm "$1" search mailbox "$2" header message-id "$3@test" |
		awk '{print $2}' | head -1
}
mv_on() {	# mv_on far|near FROM TO ID
	adm "$1" move "$3" mailbox "$2" uid "$(uid_of "$1" "$2" "$4")" >/dev/null
}
flag_on() {	# flag_on far|near add|remove BOX ID FLAG
	adm "$1" flags "$2" "$5" mailbox "$3" uid "$(uid_of "$1" "$3" "$4")" \
		>/dev/null
}
copies() {	# copies MAILDIR BOX ID
	grep -l -F "Message-ID: <$3@test>" "$1/$2"/cur/* "$1/$2"/new/* \
		2>/dev/null | wc -l
}
flags_in() {	# flags_in MAILDIR BOX ID: sorted flag letters
	local f name
	f=$(grep -l -F "Message-ID: <$3@test>" "$1/$2"/cur/* "$1/$2"/new/* \
		2>/dev/null | head -1)
	name=$(basename "$f")
	case $name in *:2,*) name=${name##*:2,} ;; *) name= ;; esac
	echo "$name" | tr -cd 'A-Z' | fold -w1 | LC_ALL=C sort | tr -d '\n'
}
# where ID "far-folders|near-folders|far-flags|near-flags"
where() {
	local id=$1 want=$2 fb= nb= box got
	for box in INBOX Archive Work; do
		for _ in $(seq "$(copies "$F_MAILDIR" "$box" "$id")"); do fb="$fb$box,"; done
		for _ in $(seq "$(copies "$N_MAILDIR" "$box" "$id")"); do nb="$nb$box,"; done
	done
	fb=${fb%,} nb=${nb%,}
	got="$fb|$nb|$(flags_in "$F_MAILDIR" "${fb%%,*}" "$id")|$(flags_in "$N_MAILDIR" "${nb%%,*}" "$id")"
	[ "$got" = "$want" ] && return 0
	echo "# $id: got $got, want $want"
	return 1
}
both_same() {
	local a b
	a=$(sig "$F_MAILDIR") b=$(sig "$N_MAILDIR")
	[ "$a" = "$b" ] && return 0
	diff <(echo "$a") <(echo "$b") | head -10 | sed 's/^/# /'
	return 1
}

gen_msgs "$T/gen" 1 30
mf_harness seed INBOX --flags S "$T"/gen/m{1..20} >/dev/null 2>&1
mf_harness seed Archive "$T"/gen/m{21..25} >/dev/null 2>&1
mf_harness seed Work "$T"/gen/m{26..30} >/dev/null 2>&1
check "initial sync" mf -q sync
check "initial sync converged" both_same

# --- a to c at once, once uninterrupted, then stopped at every step
mv_on near INBOX Archive m1.g		# a: near move, far unflag
flag_on far remove INBOX m1.g '\Seen'
mv_on far INBOX Work m2.g		# a: far move, near unflag
flag_on near remove INBOX m2.g '\Seen'
mv_on near INBOX Archive m3.g		# b: different folders
flag_on near add Archive m3.g '\Flagged'
mv_on far INBOX Work m3.g
flag_on far remove Work m3.g '\Seen'
mv_on near INBOX Archive m4.g		# c: the same folder
flag_on near remove Archive m4.g '\Seen'
mv_on far INBOX Archive m4.g
flag_on far add Archive m4.g '\Flagged'
mv_on near INBOX Work m5.g		# a batch of near moves
mv_on near INBOX Work m6.g

snapshot() {	# snapshot NAME: both servers' mail and the state
	local d
	rm -rf "$T/snap-$1"
	mkdir -p "$T/snap-$1"
	for d in "$F_DIR" "$N_DIR"; do
		bash "$MF_HARNESS" stop "$d" --keep-runtime >/dev/null 2>&1
	done
	cp -a "$F_MAILDIR/." "$T/snap-$1/far"
	cp -a "$N_MAILDIR/." "$T/snap-$1/near"
	cp -a "$T/state/." "$T/snap-$1/state"
	for d in "$F_DIR" "$N_DIR"; do
		bash "$MF_HARNESS" restart "$d" >/dev/null 2>&1
	done
}
restore() {	# restore NAME
	local d
	for d in "$F_DIR" "$N_DIR"; do
		bash "$MF_HARNESS" stop "$d" --keep-runtime >/dev/null 2>&1
	done
	find "$F_MAILDIR" "$N_MAILDIR" -mindepth 1 -delete
	cp -a "$T/snap-$1/far/." "$F_MAILDIR"
	cp -a "$T/snap-$1/near/." "$N_MAILDIR"
	for d in "$F_DIR" "$N_DIR"; do
		bash "$MF_HARNESS" restart "$d" >/dev/null 2>&1
	done
	rm -rf "$T/state"
	cp -a "$T/snap-$1/state" "$T/state"
}
snapshot D
restore D
mf -D sync >"$T/out" 2>"$T/trace"
check "ref: converged" both_same
check "a: moved on near, unflagged on far: in Archive, flag gone" \
	where m1.g "Archive|Archive||"
check "a: moved on far, unflagged on near: in Work, flag gone" \
	where m2.g "Work|Work||"
check "b: the far account's folder wins, flags merged" \
	where m3.g "Work|Work|F|F"
check "c: paired in Archive, flags merged" where m4.g "Archive|Archive|F|F"
check "a batch moved on near" \
	eval 'where m5.g "Work|Work|S|S" && where m6.g "Work|Work|S|S"'
check "nothing appended" \
	test "$(trace_commands "$T/trace" | grep -c APPEND)" -eq 0
sig "$F_MAILDIR" >"$T/ref"
mf -D sync >"$T/out2" 2>"$T/trace2"
check "the next run has nothing to do" \
	test "$(trace_commands "$T/trace2" | grep -Ec 'APPEND|MOVE|STORE|EXPUNGE')" -eq 0

restore D
MAILFERRY_TEST_STEP_LOG=$T/steps mf -q sync >/dev/null 2>&1
steps=$(wc -l <"$T/steps")
check "the run moves ($(tr '\n' ',' <"$T/steps"))" grep -q move "$T/steps"
bad=0 settled=0
for ((N = 1; N <= steps; N++)); do
	restore D
	MAILFERRY_TEST_STOP_AFTER=$N mf -q sync >/dev/null 2>&1
	if [ $? -ne 99 ]; then
		echo "# step $N: not stopped"
		bad=$((bad + 1))
		continue
	fi
	if ! mf --debug=sync sync >"$T/after" 2>"$T/after-trace"; then
		echo "# step $N: recovery sync failed"
		sed 's/^/#   /' "$T/after" | head -5
		bad=$((bad + 1))
		continue
	fi
	grep -q 'move journal of .*: done$' "$T/after-trace" &&
		settled=$((settled + 1))
	if ! sig "$F_MAILDIR" | cmp -s - "$T/ref" ||
	   ! sig "$N_MAILDIR" | cmp -s - "$T/ref"; then
		echo "# step $N ($(sed -n "${N}p" "$T/steps")): result differs"
		diff <(sig "$F_MAILDIR") "$T/ref" | head -6 | sed 's/^/#   far /'
		diff <(sig "$N_MAILDIR") "$T/ref" | head -6 | sed 's/^/#   near /'
		bad=$((bad + 1))
	fi
done
check "killed at each of $steps steps, recovery gives the reference result" \
	test $bad -eq 0
check "some runs found a move journaled and done ($settled)" \
	test $settled -gt 0
finish
