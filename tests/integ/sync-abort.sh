#!/bin/bash
# A batch that fails between deliver_begin and the flush, in a process that
# goes on (MAILFERRY_TEST_FAIL, see store/base/testhook.h): the deliveries
# are aborted (store.h deliver_abort_all), so the store holds no pointer to
# the freed batch; the run ends with an error, not a crash or a sanitizer
# report; nothing half-made is left (no tmp/ file, no APPEND); and the next
# run converges with every message once on both sides, counted by
# Message-ID.  Run in the ASan build too (tests/run.sh), where a store that
# kept a pointer into the freed batch is a heap-use-after-free report.
#
# For both destinations, pull (IMAP -> Maildir) and push (Maildir -> IMAP):
#   journal       the journal commit of the first batch fails: run stops
#   deliver begin the 3rd deliver_begin fails the folder: the next folder
#                 is still synced by the same process (and delivers into
#                 the same store)
#   confirm       the commit after the flush fails: the copies landed, their
#                 rows stay pending, the next run finds them (no second copy)
# and for "mailferry fetch": a folder failing mid-batch, the next folder
# fetched, the placeholders of the first kept for the next fetch.
set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup "$@"

# ids DIR: "folder message-id" per message file under DIR, sorted, with
# duplicates kept
ids() {
	local root=$1/
	find "$root" \( -path '*/cur/*' -o -path '*/new/*' \) -type f \
		-print0 | xargs -0 -r awk -v root="$root" '
		FNR == 1 {
			f = substr(FILENAME, length(root) + 1)
			sub(/\/(cur|new)\/[^\/]*$/, "", f)
		}
		tolower($0) ~ /^message-id:/ { sub(/\r$/, ""); print f, $2; nextfile }
		/^\r?$/ { nextfile }' | LC_ALL=C sort
}

# expect_ids NAME DIR WANT-FILE: DIR holds exactly the messages listed
expect_ids() {
	if ids "$2" | cmp -s - "$3"; then
		ok "$1"
	else
		not_ok "$1"
		diff <(ids "$2") "$3" | head -8 | sed 's/^/#   /'
	fi
}

# no_dup_ids NAME DIR: no Message-ID twice in one folder
no_dup_ids() {
	local d
	d=$(ids "$2" | uniq -d)
	if [ -z "$d" ]; then ok "$1"; else
		not_ok "$1"
		echo "$d" | head -5 | sed 's/^/#   twice: /'
	fi
}

# clean_err NAME FILE: no sanitizer report and no crash in FILE (stderr)
clean_err() {
	if grep -q -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$2"; then
		not_ok "$1"
		grep -m 5 -E 'Sanitizer|runtime error:|#[0-3] ' "$2" |
			sed 's/^/#   /'
	else
		ok "$1"
	fi
}

# failed_run NAME RC ERRFILE: an error exit of mailferry's own (not 0, not
# the stop hook's 99, not a signal), saying the failure was injected
failed_run() {
	check "$1: run exits with an error ($2)" \
		test "$2" -ne 0 -a "$2" -ne 99 -a "$2" -lt 128
	check "$1: the error names the injected failure" \
		grep -q "injected by MAILFERRY_TEST_FAIL" "$3"
	clean_err "$1: no sanitizer report" "$3"
}

# pending NAME N: the state holds N pending copies (rows journaled whose
# copy may or may not have landed: the next run looks for them first)
pending() {
	mf status >"$T/status.out" 2>&1
	if grep -q " $2 pending action" "$T/status.out"; then
		ok "$1: $2 rows left pending in the state"
	else
		not_ok "$1: $2 rows left pending in the state"
		grep "pending" "$T/status.out" | tail -3 | sed 's/^/#   /'
	fi
}

tmp_files() {	# tmp_files DIR: files left in any folder's tmp/ under DIR
	find "$1" \( -path "$1/tmp/*" -o -path "$1/*/tmp/*" \) -type f \
		2>/dev/null | wc -l
}

# converge NAME WANT-FILE: a plain run succeeds and both sides hold exactly
# the wanted messages, none twice; a run after that has nothing to copy
converge() {
	local rc
	mf sync >"$T/conv.out" 2>"$T/conv.err"
	rc=$?
	check "$1: the next run exits 0" test $rc -eq 0
	[ $rc -eq 0 ] || sed 's/^/#   /' "$T/conv.out" "$T/conv.err" | tail -5
	clean_err "$1: the next run has no sanitizer report" "$T/conv.err"
	expect_ids "$1: local has every message once" "$LOCAL" "$2"
	expect_ids "$1: server has every message once" "$MF_MAILDIR" "$2"
	no_dup_ids "$1: no duplicate locally" "$LOCAL"
	no_dup_ids "$1: no duplicate on the server" "$MF_MAILDIR"
	mf sync >"$T/conv2.out" 2>&1
	check "$1: a third run copies nothing" \
		grep -q "pulled 0, pushed 0," "$T/conv2.out"
}

# --- fixtures: server mail for pulls, local mail for pushes
gen_msgs "$T/srv" 1 50 s
gen_msgs "$T/loc" 101 150 l
{
	for i in $(seq 1 30); do echo "INBOX <m$i.s@test>"; done
	for i in $(seq 31 50); do echo "Work <m$i.s@test>"; done
} | LC_ALL=C sort >"$T/want-pull"
{
	for i in $(seq 101 130); do echo "INBOX <m$i.l@test>"; done
	for i in $(seq 131 150); do echo "Work <m$i.l@test>"; done
} | LC_ALL=C sort >"$T/want-push"

empty_server() {	# INBOX and Work, no mail
	bash "$MF_HARNESS" stop "$MF_HARNESS_DIR" --keep-runtime >/dev/null 2>&1
	find "$MF_MAILDIR" -mindepth 1 -delete
	bash "$MF_HARNESS" restart "$MF_HARNESS_DIR" >/dev/null 2>&1
	mf_harness doveadm mailbox create INBOX >/dev/null 2>&1
}

# pull_start: server INBOX m1..m30, Work m31..m50; no local mail, no state
pull_start() {
	empty_server
	mf_harness seed INBOX "$T"/srv/m{1..30} >/dev/null 2>&1
	mf_harness seed Work "$T"/srv/m{31..50} >/dev/null 2>&1
	rm -rf "$LOCAL" "$T/state"
}

# push_start: local INBOX l101..l130, Work l131..l150; empty server
push_start() {
	local i
	empty_server
	rm -rf "$LOCAL" "$T/state"
	mkdir -p "$LOCAL"/INBOX/{cur,new,tmp} "$LOCAL"/Work/{cur,new,tmp}
	for i in $(seq 101 150); do
		box=INBOX
		[ "$i" -gt 130 ] && box=Work
		cp "$T/loc/m$i" "$LOCAL/$box/cur/17000$i.l$i.test:2,S"
	done
}

# failing NAME HOOK: run a sync with MAILFERRY_TEST_FAIL=HOOK; sets rc
failing() {
	local f=$T/run-${1//\//-}
	MAILFERRY_TEST_FAIL=$2 mf sync >"$f.out" 2>"$f.err"
	rc=$?
	failed_run "$1" $rc "$f.err"
}

# --- pull: the destination is the Maildir store
pull_start
failing "pull/journal" journal
pending "pull/journal" 0
check "pull/journal: nothing delivered" test "$(count "$LOCAL")" -eq 0
check "pull/journal: no file left in tmp/" test "$(tmp_files "$LOCAL")" -eq 0
converge "pull/journal" "$T/want-pull"

pull_start
failing "pull/deliver-begin" "deliver begin:3"
pending "pull/deliver-begin" 0
check "pull/deliver-begin: INBOX got nothing" \
	test "$(count "$LOCAL/INBOX")" -eq 0
check "pull/deliver-begin: Work was synced by the same run" \
	test "$(count "$LOCAL/Work")" -eq 20
check "pull/deliver-begin: no file left in tmp/" \
	test "$(tmp_files "$LOCAL")" -eq 0
converge "pull/deliver-begin" "$T/want-pull"

pull_start
failing "pull/confirm" confirm
pending "pull/confirm" 30
check "pull/confirm: the first batch landed" \
	test "$(count "$LOCAL/INBOX")" -eq 30
converge "pull/confirm" "$T/want-pull"

# --- push: the destination is the IMAP store
push_start
failing "push/journal" journal
pending "push/journal" 0
check "push/journal: nothing appended" test "$(count "$MF_MAILDIR")" -eq 0
converge "push/journal" "$T/want-push"

push_start
failing "push/deliver-begin" "deliver begin:3"
pending "push/deliver-begin" 0
check "push/deliver-begin: nothing appended to INBOX" \
	test "$(count "$MF_MAILDIR/INBOX")" -eq 0
check "push/deliver-begin: Work was synced by the same run" \
	test "$(count "$MF_MAILDIR/Work")" -eq 20
converge "push/deliver-begin" "$T/want-push"

push_start
failing "push/confirm" confirm
pending "push/confirm" 30
check "push/confirm: the first batch was appended" \
	test "$(count "$MF_MAILDIR/INBOX")" -eq 30
converge "push/confirm" "$T/want-push"

# --- fetch: placeholders in INBOX and Work, INBOX fails at its 2nd message
for i in 2 3 4 32 33; do
	for ((k = 0; k < 400; k++)); do
		echo "line $k of the large message $i, padding padding padding"
	done >>"$T/srv/m$i"
done
pull_start
mf_config "max_size: 10K"
mf sync >"$T/ph.out" 2>&1
check "fetch: the sync made five placeholders" \
	grep -q "5 placeholders" "$T/ph.out"
MAILFERRY_TEST_FAIL="fetch deliver begin:2" mf fetch >"$T/fetch.out" \
	2>"$T/fetch.err"
rc=$?
failed_run "fetch/deliver-begin" $rc "$T/fetch.err"
ph_in() { find "$LOCAL/$1" -name '*,PH=*' -type f | wc -l; }
check "fetch/deliver-begin: INBOX keeps its three placeholders" \
	test "$(ph_in INBOX)" -eq 3
check "fetch/deliver-begin: Work was fetched by the same run" \
	test "$(ph_in Work)" -eq 0
check "fetch/deliver-begin: no file left in tmp/" \
	test "$(tmp_files "$LOCAL")" -eq 0
mf fetch >"$T/fetch2.out" 2>"$T/fetch2.err"
check "fetch: the next fetch exits 0" test $? -eq 0
clean_err "fetch: the next fetch has no sanitizer report" "$T/fetch2.err"
check "fetch: no placeholder left" test "$(ph_in .)" -eq 0
expect_ids "fetch: local has every message once" "$LOCAL" "$T/want-pull"
mf sync >"$T/fetch3.out" 2>&1
check "fetch: a sync after it copies nothing" \
	grep -q "pulled 0, pushed 0," "$T/fetch3.out"
expect_ids "fetch: server has every message once" "$MF_MAILDIR" \
	"$T/want-pull"
finish
