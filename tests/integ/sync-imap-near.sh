#!/bin/bash
# IMAP to IMAP with a near server that does not offer UIDPLUS: no APPEND
# returns a UID, so every copy into the near side stays journaled until
# the second pass of the run finds it by identity above the journaled
# UIDNEXT (sync.c run_passes, plan.c pass 3).  Before that search existed
# for pulls, each such copy was made again and the landed one uploaded
# back: every message twice on both servers, more with every run.
#
# Checks a first sync in both directions, that the next one changes
# nothing, that flags still travel (the rows did get their near UIDs),
# that verify agrees and then names a message expunged on the near
# server, and a kill at every 12th step of the first sync.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-imap2.sh"
MF2_NEAR_CAPS="IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE CONDSTORE QRESYNC ESEARCH LIST-STATUS MOVE"
mf2_setup

gen_msgs "$T/gen" 1 120
far_harness seed INBOX --flags S "$T"/gen/m{1..100} >/dev/null 2>&1
far_harness seed Work "$T"/gen/m{101..120} >/dev/null 2>&1
gen_msgs "$T/loc" 201 220 l
near_harness seed INBOX "$T"/loc/m{201..220} >/dev/null 2>&1
mf2_snapshot P

out=$(MAILFERRY_TEST_STEP_LOG=$T/steps mf -v sync 2>&1)
check "first sync succeeds" test $? -eq 0
check "it says the near server cannot expunge" \
	grep -q 'near server has no UIDPLUS' <<<"$out"
check "it pulled 120 and pushed 20" \
	grep -q 'pulled 120, pushed 20,' <<<"$out"
mf2_reference first "$T/ref"
check "each side has 140 messages" \
	test "$(count "$FAR_MAIL")" -eq 140 -a "$(count "$NEAR_MAIL")" -eq 140

out=$(mf sync 2>&1)
check "the second sync copies nothing" \
	grep -q 'pulled 0, pushed 0,' <<<"$out"
dups=0 missing=0 differ=0
mf2_check_sides "$T/ref" dups missing differ
check "... and leaves both sides as they were" \
	test $((dups + missing + differ)) -eq 0
out=$(mf verify 2>&1)
check "verify (IMAP <-> IMAP) finds both sides the same" \
	bash -c "[ $? -eq 0 ] && grep -qx 'c: all 140 far messages are on near' <<<'$out'"

uid=$(far_harness doveadm search mailbox INBOX header message-id m7.g@test \
	2>/dev/null | awk '{print $2}')
far_harness doveadm flags add '\Flagged' mailbox INBOX uid "$uid" >/dev/null
mf -q sync >/dev/null 2>&1
check "a flag set on the far side reaches the near copy" \
	test -n "$(near_harness doveadm search mailbox INBOX \
		header message-id m7.g@test flagged 2>/dev/null)"
uid=$(near_harness doveadm search mailbox Work header message-id m105.g@test \
	2>/dev/null | awk '{print $2}')
near_harness doveadm expunge mailbox Work uid "$uid" >/dev/null 2>&1
out=$(mf verify 2>&1)
rc=$?
check "verify names a message expunged on the near server (exit 1)" \
	bash -c "[ $rc -eq 1 ] && grep -q 'c: Work: far 20, near 19: 1 missing on near: <m105.g@test>' <<<'$out'"
[ $rc -eq 1 ] || printf '%s\n' "$out" | sed 's/^/# /' | head -5

steps=$(wc -l <"$T/steps")
bad=0 tried=0
for ((N = 1; N <= steps; N += 12)); do
	tried=$((tried + 1))
	mf2_restore P
	MAILFERRY_TEST_STOP_AFTER=$N mf -q sync >/dev/null 2>&1
	rc=$?
	mf -q sync >"$T/after" 2>&1 || rc=1
	dups=0 missing=0 differ=0
	if [ $rc -ne 99 ] || ! mf2_check_sides "$T/ref" dups missing differ; then
		echo "# step $N ($(sed -n "${N}p" "$T/steps")): rc $rc, wrong result"
		bad=$((bad + 1))
	fi
done
check "killed at $tried of $steps steps, each recovery gives the reference" \
	test $bad -eq 0
finish
