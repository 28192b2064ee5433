#!/bin/bash
# APPENDLIMIT (RFC 7889): a server that says it takes no message over N
# bytes (the harness Dovecot advertising APPENDLIMIT=4000) gets the
# smaller local messages, and the larger one is kept out before its bytes
# cross the wire, reported by name and size, left in the Maildir, and
# tried again (not duplicated) by the next run.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup --caps "+APPENDLIMIT=4000"

mf sync >/dev/null 2>&1
gen_msgs "$T/g" 1 3
head -c 9000 /dev/zero | tr '\0' 'x' | fold -w 76 >>"$T/g/m3"
mkdir -p "$LOCAL/INBOX/new"
for i in 1 2 3; do cp "$T/g/m$i" "$LOCAL/INBOX/new/$i.local"; done

mf sync >"$T/out" 2>"$T/err"
rc=$?
check "a message over APPENDLIMIT makes the run partial (exit 1, got $rc)" \
	test $rc -eq 1
check "it is named with the limit" grep -q 'over the server.s APPENDLIMIT of 4000' \
	"$T/err"
srv() { mf_harness doveadm search mailbox INBOX ALL 2>/dev/null | wc -l; }
check "the two small ones are on the server" test "$(srv)" -eq 2
check "the large one is not" test -z "$(server_uid INBOX m3.g)"
check "the large one stays in the Maildir" test -n "$(local_file INBOX m3.g)"
check "no APPEND of it was sent (the server log has no refusal)" \
	bash -c "! grep -qi 'too large\|APPENDLIMIT' '$MF_HARNESS_DIR/dovecot.log'"
mf sync >"$T/out2" 2>"$T/err2"
check "the next run reports it again, exit 1" test $? -eq 1
check "and copies nothing twice" test "$(srv)" -eq 2
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/out" "$T/err" "$T/err2"
finish
