#!/bin/bash
# Kill -9 at every step, IMAP to IMAP: sync-crash.sh with an IMAP near
# side.  A sync between two private Dovecots is stopped abruptly
# (MAILFERRY_TEST_STOP_AFTER, store/base/testhook.h) after its N-th change
# to mail or state, then one full sync runs, and both servers must hold
# exactly the reference result: no Message-ID twice in a folder, none
# missing, the same contents and flags on both sides.
#
# On an IMAP near side every copy is an APPEND whose UID the journal does
# not have (it comes back in APPENDUID); after a crash it must be found by
# identity above the journaled UIDNEXT, in both directions.  The server
# also goes on with APPENDs the dead client had already sent.
#
# Scenario A: first sync, 80 messages in two folders to pull (far -> near)
# and 20 to push (near -> far); a batch of APPENDs is one MULTIAPPEND
# command, and A1 is A again with one APPEND per message.  Scenario B: from a synced state, flags,
# deletions and new mail on both sides.
#
# Steps come in runs of one kind (200 APPENDs, then a confirmation...).
# The first and last step of every run are tried, and of the steps in
# between every MF_CRASH_STRIDE-th (default 5), which keeps this test to
# a few minutes.  Every step:
#   MF_CRASH_STRIDE=1 meson test -C build/dev sync-crash-imap.sh
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-imap2.sh"
mf2_setup
stride=${MF_CRASH_STRIDE:-5}

# crash_every NAME: for each chosen step N, restore, stop the sync at N,
# run a full sync, compare both sides with the reference result
crash_every() {
	local name=$1 steps N rc bad=0 tried=0 what
	local dups=0 missing=0 differ=0 appends
	local -a kind pick
	mf2_restore "$name"
	MAILFERRY_TEST_STEP_LOG=$T/steps-$name mf -q sync >/dev/null 2>&1
	steps=$(wc -l <"$T/steps-$name")
	appends=$(grep -c ' imap append$' "$T/steps-$name")
	mf2_reference "$name" "$T/ref-$name"
	check "$name: the run has steps to interrupt ($steps, $appends APPENDs)" \
		test "$steps" -gt 5 -a "$appends" -gt 0
	# kind[N]: the step's name; pick[N]: tried (see the top)
	mapfile -t kind < <(echo; cut -d' ' -f2- "$T/steps-$name"; echo)
	local run=0
	for ((N = 1; N <= steps; N++)); do
		if [ "${kind[N]}" != "${kind[N - 1]}" ]; then run=0; fi
		pick[N]=0
		if [ "${kind[N]}" != "${kind[N - 1]}" ] ||
		   [ "${kind[N]}" != "${kind[N + 1]}" ] ||
		   [ $((run % stride)) -eq 0 ]; then
			pick[N]=1
		fi
		run=$((run + 1))
	done
	for ((N = 1; N <= steps; N++)); do
		[ "${pick[N]}" = 1 ] || continue
		what=${kind[N]}
		tried=$((tried + 1))
		mf2_restore "$name"
		MAILFERRY_TEST_STOP_AFTER=$N mf -q sync >/dev/null 2>&1
		rc=$?
		if [ $rc -ne 99 ]; then
			echo "# $name: step $N ($what): run ended with $rc, not 99"
			bad=$((bad + 1))
			continue
		fi
		if ! mf -q sync >"$T/after" 2>&1; then
			echo "# $name: step $N ($what): recovery sync failed"
			sed 's/^/#   /' "$T/after" | head -5
			bad=$((bad + 1))
			continue
		fi
		if ! mf2_check_sides "$T/ref-$name" dups missing differ; then
			echo "# $name: step $N ($what): result differs"
			bad=$((bad + 1))
		fi
	done
	check "$name: killed at $tried of $steps steps, each recovery gives the reference" \
		test $bad -eq 0
	check "$name: no Message-ID twice on either side after any recovery ($dups)" \
		test "$dups" -eq 0
	check "$name: no message missing on either side ($missing)" \
		test "$missing" -eq 0
	check "$name: contents and flags as the reference ($differ sides differed)" \
		test "$differ" -eq 0
}

# --- scenario A: first sync, both directions
gen_msgs "$T/gen" 1 80
far_harness seed INBOX --flags S "$T"/gen/m{1..30} >/dev/null 2>&1
far_harness seed INBOX "$T"/gen/m{31..50} >/dev/null 2>&1
far_harness seed Work --flags FS "$T"/gen/m{51..80} >/dev/null 2>&1
gen_msgs "$T/loc" 201 220 l
near_harness seed INBOX --flags S "$T"/loc/m{201..210} >/dev/null 2>&1
near_harness seed INBOX "$T"/loc/m{211..220} >/dev/null 2>&1
check "A: seeded 80 far and 20 near messages" \
	test "$(count "$FAR_MAIL")" -eq 80 -a "$(count "$NEAR_MAIL")" -eq 20
mf2_snapshot A
crash_every A
# A1: the same with one APPEND per message (a server without MULTIAPPEND):
# the crash falls between two APPENDs of a batch too
mf2_restore A
mf2_snapshot A1
MF2_DISABLE=multiappend mf2_config
stride=$((stride * 2)) crash_every A1
mf2_config

# --- scenario B: changes on both sides after a sync
mf2_restore A
mf -q sync >/dev/null 2>&1
fuid() { far_harness doveadm search mailbox "$1" header message-id "$2@test" \
	2>/dev/null | awk '{print $2}' | head -1; }
nuid() { near_harness doveadm search mailbox "$1" header message-id "$2@test" \
	2>/dev/null | awk '{print $2}' | head -1; }
for i in 1 2 3; do
	far_harness doveadm flags add '\Flagged' mailbox INBOX \
		uid "$(fuid INBOX m$i.g)" >/dev/null
done
for i in 55 56; do
	far_harness doveadm expunge mailbox Work uid "$(fuid Work m$i.g)" \
		>/dev/null
done
for i in 10 11 202; do
	id=m$i.g
	[ "$i" -gt 200 ] && id=m$i.l
	near_harness doveadm flags add '\Answered' mailbox INBOX \
		uid "$(nuid INBOX "$id")" >/dev/null
done
near_harness doveadm expunge mailbox INBOX uid "$(nuid INBOX m20.g)" >/dev/null
near_harness doveadm expunge mailbox Work uid "$(nuid Work m70.g)" >/dev/null
gen_msgs "$T/srv2" 300 311 s
far_harness seed INBOX "$T"/srv2/* >/dev/null 2>&1
gen_msgs "$T/loc2" 400 407 l
near_harness seed Work "$T"/loc2/* >/dev/null 2>&1
mf2_snapshot B
crash_every B
finish
