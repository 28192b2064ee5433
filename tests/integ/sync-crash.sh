#!/bin/bash
# Kill -9 at every step: a sync is stopped abruptly (MAILFERRY_TEST_STOP_AFTER,
# see store/base/testhook.h) after its 1st, 2nd, ... N-th change to mail or
# state, then a full sync runs.  Every time, both sides must end with the
# same messages and flags as an uninterrupted run, none lost, none twice.
#
# Scenario A: first sync, 180 messages to pull and 20 to push (every
# delivery, APPEND and journal commit is a step).  Scenario B: from a
# synced state, flags, deletions and new mail on both sides.
# MF_CRASH_STRIDE=K tests every K-th step only (default 1: all of them).
set -u
. "$(dirname "$0")/lib.sh"
# a killed process loses nothing that reached the kernel, so this test
# does not need fsync (sync-basic.sh runs with it); it saves minutes
MF_STORE_OPTS="fsync: false"
mf_setup "$@"
stride=${MF_CRASH_STRIDE:-1}

snapshot() {	# snapshot NAME: save server mail, local maildir, state
	bash "$MF_HARNESS" stop "$MF_HARNESS_DIR" --keep-runtime >/dev/null 2>&1
	rm -rf "$T/snap-$1"
	mkdir -p "$T/snap-$1"
	cp -a "$MF_MAILDIR/." "$T/snap-$1/server"
	cp -a "$LOCAL/." "$T/snap-$1/local" 2>/dev/null || mkdir -p "$T/snap-$1/local"
	cp -a "$T/state/." "$T/snap-$1/state" 2>/dev/null || mkdir -p "$T/snap-$1/state"
	bash "$MF_HARNESS" restart "$MF_HARNESS_DIR" >/dev/null 2>&1
	sig "$MF_MAILDIR" >"$T/snap-$1/server.sig"
}

restore() {	# restore NAME: back to the snapshot (server only if it changed)
	if ! sig "$MF_MAILDIR" | cmp -s - "$T/snap-$1/server.sig"; then
		bash "$MF_HARNESS" stop "$MF_HARNESS_DIR" --keep-runtime \
			>/dev/null 2>&1
		find "$MF_MAILDIR" -mindepth 1 -delete
		cp -a "$T/snap-$1/server/." "$MF_MAILDIR"
		bash "$MF_HARNESS" restart "$MF_HARNESS_DIR" >/dev/null 2>&1
	fi
	rm -rf "$LOCAL" "$T/state"
	cp -a "$T/snap-$1/local" "$LOCAL"
	cp -a "$T/snap-$1/state" "$T/state"
}

# crash_every NAME: for each step N, restore, stop the sync at N, run a
# full sync, compare with the reference result
crash_every() {
	local name=$1 steps N rc bad=0 tried=0
	restore "$name"
	MAILFERRY_TEST_STEP_LOG=$T/steps-$name mf -q sync >/dev/null 2>&1
	steps=$(wc -l <"$T/steps-$name")
	sig "$LOCAL" >"$T/ref-$name"
	check "$name: reference run converges" \
		cmp -s "$T/ref-$name" <(sig "$MF_MAILDIR")
	check "$name: the run has steps to interrupt ($steps)" test "$steps" -gt 5
	for ((N = 1; N <= steps; N += stride)); do
		tried=$((tried + 1))
		restore "$name"
		MAILFERRY_TEST_STOP_AFTER=$N mf -q sync >/dev/null 2>&1
		rc=$?
		if [ $rc -ne 99 ]; then
			echo "# $name: step $N: run ended with $rc, not 99"
			bad=$((bad + 1))
			continue
		fi
		if ! mf -q sync >"$T/after" 2>&1; then
			echo "# $name: step $N ($(sed -n "${N}p" "$T/steps-$name")): recovery sync failed"
			sed 's/^/#   /' "$T/after" | head -5
			bad=$((bad + 1))
			continue
		fi
		if ! sig "$LOCAL" | cmp -s - "$T/ref-$name" ||
		   ! sig "$MF_MAILDIR" | cmp -s - "$T/ref-$name"; then
			echo "# $name: step $N ($(sed -n "${N}p" "$T/steps-$name")): result differs"
			diff <(sig "$MF_MAILDIR") "$T/ref-$name" | head -6 | sed 's/^/#   server /'
			diff <(sig "$LOCAL") "$T/ref-$name" | head -6 | sed 's/^/#   local /'
			bad=$((bad + 1))
		fi
	done
	check "$name: killed at each of $tried steps, recovery gives the reference result" \
		test $bad -eq 0
}

# --- scenario A: first sync
gen_msgs "$T/gen" 1 180
mf_harness seed INBOX --flags S "$T"/gen/m{1..90} >/dev/null 2>&1
mf_harness seed INBOX "$T"/gen/m{91..120} >/dev/null 2>&1
mf_harness seed Work --flags FS "$T"/gen/m{121..180} >/dev/null 2>&1
gen_msgs "$T/loc" 201 220 l
mkdir -p "$LOCAL"/INBOX/{cur,new,tmp}
for i in $(seq 201 220); do
	cp "$T/loc/m$i" "$LOCAL/INBOX/cur/17000$i.l$i.test:2,S"
done
snapshot A
crash_every A

# --- scenario B: changes on both sides after a sync
restore A
mf -q sync >/dev/null 2>&1
u() { server_uid "$1" "$2"; }
for i in 1 2 3 4 5; do
	mf_harness doveadm flags add '\Flagged' mailbox INBOX uid "$(u INBOX m$i.g)" >/dev/null
done
for i in 130 131 132; do
	mf_harness doveadm expunge mailbox Work uid "$(u Work m$i.g)" >/dev/null
done
gen_msgs "$T/srv2" 300 309 s
mf_harness seed INBOX "$T"/srv2/* >/dev/null 2>&1
for i in 10 11 12 13; do set_local_flags "$(local_file INBOX m$i.g)" RS; done
rm "$(local_file INBOX m20.g)" "$(local_file Work m150.g)"
gen_msgs "$T/loc2" 400 404 l
for i in $(seq 400 404); do
	cp "$T/loc2/m$i" "$LOCAL/INBOX/new/17000$i.l$i.test"
done
snapshot B
crash_every B
finish
