#!/bin/bash
# mailferry migrate SRC DST between two harness Dovecots: every folder
# copied with its flags and keywords, the source not changed by a byte
# (its maildir files keep their names, so not even \Seen was set), the
# dry run a line per folder and no change, a second run copying nothing,
# --verify's verdict and a message deleted on the destination named by it,
# a destination that already holds half the mail getting only the other
# half,
# and a migration killed with -9
# part way finishing on the next run with nothing twice.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-imap2.sh"
mf2_setup

gen_msgs "$T/in" 1 40 in
gen_msgs "$T/ar" 1 30 ar
gen_msgs "$T/li" 1 20 li
far_harness seed INBOX "$T"/in/* >/dev/null 2>&1
far_harness seed Archive --flags S "$T"/ar/* >/dev/null 2>&1
far_harness seed Lists/dev "$T"/li/* >/dev/null 2>&1
far_harness doveadm flags add '\Flagged $Important' mailbox INBOX \
	header message-id m3.in >/dev/null 2>&1
# the source as it is: every file name (flags included) and its bytes
src_state() {
	(cd "$FAR_MAIL" && find . \( -path '*/cur/*' -o -path '*/new/*' \) \
		-type f -exec sha256sum {} + | LC_ALL=C sort)
}
before=$(src_state)

# ---- dry run ----
mf migrate -n far near >"$T/dry" 2>"$T/dry.err"
check "dry run exits 0" test $? -eq 0
check "dry run: a line per folder, none per message" \
	test "$(grep -c '^migrate.far.near: [^:]*: would ' "$T/dry")" -eq 3 -a \
	"$(wc -l <"$T/dry")" -lt 10
check "dry run: nothing on the destination" \
	test "$(count "$NEAR_MAIL")" -eq 0
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/dry" "$T/dry.err"

# ---- killed part way, then the whole migration ----
# one APPEND per message for the killed run, so that it stops inside a
# batch; the run that resumes it sends whole batches (MULTIAPPEND) and
# must find what the killed one left journaled
MF2_DISABLE=multiappend mf2_config
MAILFERRY_TEST_STOP_AFTER=25 mf migrate far near >"$T/k" 2>&1
check "a run stopped part way copied some, not all" \
	test "$(count "$NEAR_MAIL")" -gt 0 -a "$(count "$NEAR_MAIL")" -lt 90
mf2_config
mf migrate far near >"$T/out" 2>"$T/err"
rc=$?
check "migrate exits 0" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/# /' "$T/out" "$T/err"
check "every message is on the destination, once" \
	test "$(msgids "$NEAR_MAIL")" = "$(msgids "$FAR_MAIL")"
check "Lists/dev was made on the destination" \
	near_harness doveadm mailbox status messages Lists/dev
near_flags() {
	near_harness doveadm fetch flags mailbox INBOX header message-id \
		m3.in 2>/dev/null
}
check "flags came along" bash -c "grep -q Flagged <<<'$(near_flags)'"
check "keywords came along" bash -c "grep -q Important <<<'$(near_flags)'"
check "Archive's messages are seen on the destination" test \
	"$(near_harness doveadm search mailbox Archive SEEN 2>/dev/null | wc -l)" -eq 30
check "the source is unchanged, byte for byte and name for name" \
	test "$(src_state)" = "$before"
check "the end line says the source was left alone" \
	grep -q 'SRC far unchanged (read-only)' "$T/out"

# ---- a second run ----
mf migrate far near >"$T/out2" 2>&1
check "a second run copies nothing" \
	bash -c "! grep -q 'pulled [1-9]' '$T/out2'"

# ---- --verify: the verdict, and a message deleted behind our back ----
mf migrate --verify far near >"$T/v" 2>&1
check "--verify after a complete migration exits 0" test $? -eq 0
check "--verify: the verdict" grep -q 'all [0-9]* far messages are on near' "$T/v"
near_harness doveadm expunge mailbox Archive header message-id m7.ar \
	>/dev/null 2>&1
mf migrate --verify far near >"$T/v2" 2>&1
check "--verify: a message deleted on DST behind our back: exit 1" \
	test $? -eq 1
check "--verify: it is named" grep -q 'm7.ar@test' "$T/v2"
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/v" "$T/v2"

# ---- a destination that already holds half ----
near_harness doveadm mailbox create Pre >/dev/null 2>&1
gen_msgs "$T/pre" 1 20 pre
far_harness seed Pre "$T"/pre/* >/dev/null 2>&1
for i in $(seq 1 10); do
	near_harness seed Pre "$T/pre/m$i" >/dev/null 2>&1
done
before=$(src_state)
mf migrate far near >"$T/out3" 2>&1
check "pre-seeded: only the other 10 are copied" \
	grep -q 'Pre: pulled 10,.*matched 10' "$T/out3"
check "pre-seeded: Pre holds 20 messages on the destination, once each" \
	test "$(msgids "$NEAR_MAIL" | grep -c '^Pre ')" -eq 20 -a \
	-z "$(msgids "$NEAR_MAIL" | uniq -d)"
check "the source is still unchanged" test "$(src_state)" = "$before"
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/out3"

# ---- the usage errors ----
mf migrate far farr >"$T/e" 2>&1
check "an unknown account: exit 2" test $? -eq 2
check "an unknown account: a suggestion" grep -q "did you mean 'far'" "$T/e"
mf migrate far far >/dev/null 2>&1
check "SRC = DST is refused" test $? -eq 2
finish
