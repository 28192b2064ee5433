#!/bin/bash
# More hostile servers (tests/fake/hostile2-*.script), each one whole
# `mailferry sync` into a Maildir; hostile-sync.sh has the first set and
# store/imap/QUIRKS.md the rules.  Most cases start from a copy of a good
# first run (hostile-base.script: INBOX, UIDVALIDITY 7, UIDs 1-3):
#   (1) names on a "." server: "/" in a level and "../up" left out with a
#       warning; "$(touch x)", backticks, ";|*", "-rf" and a 302-byte
#       name of three levels synced into directories with those bytes (no
#       shell runs: no x or y appears); a 300-byte level refused (name too
#       long), exit 1;
#   (2) literals {-1}, {99999999999999999999} and {+5} in LIST and in a
#       BODY[] answer, a list nested 10000 deep in a FETCH: protocol
#       error, exit 4; an atom of 1 MiB as a mailbox name: left out;
#   (3) RFC822.SIZE 2^64-1 and -1 (no valid size: both messages arrive),
#       a UID of 2^32 and EXISTS 2^32 (the folder fails, exit 1), MODSEQ
#       and HIGHESTMODSEQ over 63 bits (ignored, never in the state),
#       UIDNEXT 0 with messages, a UID at or above UIDNEXT;
#   (4) a message without header and one of zero bytes: both arrive as
#       files, and the next run fetches neither again;
#   (5) unsolicited EXPUNGE, EXISTS and FETCH (FLAGS) amid the listing,
#       the body FETCH and the UID SEARCH answer: nothing deleted on
#       either side (an EXPUNGE of a message not yet listed would be: see
#       QUIRKS.md);
#   (6) APPEND to a server without UIDPLUS that sends [UIDNEXT 99] inside
#       the APPEND: the pushed message is recorded as UID 4, and the next
#       run appends nothing;
#   (7) BAD to every command: the run ends at once, exit 4.
# Every run also asserts: a documented exit code (below 70, no signal), no
# file made outside the Maildir root and the state directory (`find`
# before and after), no STORE or EXPUNGE sent, the good run's files still
# there, and memory bounded (ulimit -v 200 MB, not under ASan).  None of
# these servers offers TLS, so there is no LOGIN to look for (PREAUTH).
set -u

: "${MAILFERRY:?set by meson}" "${MF_SOURCE_ROOT:?set by meson}"
: "${MF_BUILD_ROOT:?set by meson}"
FAKE=$MF_BUILD_ROOT/tests/fake/fake-imapd
SCRIPTS=$MF_SOURCE_ROOT/tests/fake
[ -x "$FAKE" ] || { echo "Bail out! $FAKE not built"; exit 1; }

# $tmp: what mailferry may see (cases, home, cwd); $io: the harness's files
tmp=$(mktemp -d)
io=$(mktemp -d)
fake_pid=
cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
	rm -rf "$tmp" "$io"
}
trap cleanup EXIT
export HOME="$tmp/home" XDG_STATE_HOME= XDG_CONFIG_HOME=
mkdir -p "$HOME" "$tmp/cwd"
export MF_FAKE_PW="fake-secret-$RANDOM$RANDOM"
if ldd "$MAILFERRY" 2>/dev/null | grep -q asan; then
	limit=unlimited # ASan reserves terabytes of address space
else
	limit=204800 # 200 MB
fi

fails=0 n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else
		not_ok "$name"
		cut -c1-300 "$io/out" | sed 's/^/# out: /'
		cut -c1-300 "$io/log" | sed 's/^/# log: /'
	fi
}
absent() { ! grep -qaE "$1" "$2"; }

# everything under $tmp but case DIR's Maildir and state
snap() {
	find "$tmp" -path "$tmp/$1/local" -prune -o -path "$tmp/$1/state" \
		-prune -o -print | sort
}

# prep CASE: the good first run's Maildir and state, copied
prepped=" "
prep() { cp -a "$tmp/base" "$tmp/$1" && prepped="$prepped$1 "; }

# sync_with CASE SCRIPT: one mailferry sync (state and Maildir under
# $tmp/CASE, cwd $tmp/cwd, ulimit -v) against the fake server playing
# SCRIPT; sets rc, frc (the server's status), $io/out, $io/log, and
# checks what every run must keep (see the top)
sync_with() {
	local dir=$tmp/$1 i
	rm -f "$io/port" "$io/log"
	"$FAKE" --script "$SCRIPTS/$2" --log "$io/log" \
		--port-file "$io/port" --timeout 20 2>"$io/fake.err" &
	fake_pid=$!
	for i in $(seq 100); do
		[ -s "$io/port" ] && break
		sleep 0.05
	done
	[ -s "$io/port" ] || { echo "Bail out! fake server did not start"; exit 1; }
	mkdir -p "$dir"
	cat >"$io/cfg.yaml" <<YAML
state_dir: $dir/state
accounts:
  fake:
    host: 127.0.0.1
    port: $(cat "$io/port")
    tls: none
    allow_insecure: true
    user: alice
    password_env: MF_FAKE_PW
    timeout: 10
stores:
  local:
    maildir: $dir/local
    layout: fs
channels:
  c:
    far: fake
    near: local
YAML
	snap "$1" >"$io/before"
	(cd "$tmp/cwd" && ulimit -v "$limit" &&
		exec "$MAILFERRY" -c "$io/cfg.yaml" sync) >"$io/out" 2>&1
	rc=$?
	wait "$fake_pid" 2>/dev/null
	frc=$?
	fake_pid=
	check "$2: exit $rc is documented (below 70, no signal)" \
		test "$rc" -lt 70
	check "$2: nothing made outside the Maildir and the state" \
		cmp -s "$io/before" <(snap "$1")
	check "$2: no STORE or EXPUNGE sent" absent '^C: [^ ]+ (UID )?(STORE|EXPUNGE)' "$io/log"
	check "$2: the password is not shown" absent "$MF_FAKE_PW" "$io/out"
	if [[ $prepped == *" $1 "* ]]; then
		check "$2: the good run's files are all still there" base_kept "$1"
	fi
}

base_kept() {
	local f
	while read -r f; do
		[ -e "$tmp/$1/local/INBOX/cur/$f" ] || return 1
	done <"$io/base-files"
}
count_local() { find "$tmp/$1/local" -path '*/cur/*' -type f -o \
	-path '*/new/*' -type f 2>/dev/null | wc -l; }
has_body() { grep -rqs "^$2"$'\r'"\?\$" "$tmp/$1/local"; }
played_out() { [ "$frc" -eq 0 ] && grep -q '^# script done' "$io/log"; }
said() { grep -qa -- "$1" "$io/out"; }
db() { sqlite3 "$tmp/$1/state/c.db" "$2"; }
asked_bodies() { grep -c '^C: [^ ]* UID FETCH [0-9:,]* (UID BODY.PEEK\[' "$io/log"; }

# ---- the good first run ------------------------------------------------
sync_with base hostile-base.script
check "base: exit 0" test "$rc" -eq 0
check "base: three messages here" test "$(count_local base)" -eq 3
ls "$tmp/base/local/INBOX/cur" >"$io/base-files"

# ---- (1) names -----------------------------------------------------------
p99=$(printf 'p%.0s' $(seq 99))
sync_with names hostile2-names.script
check "(1) exit 1 (the 300-byte name failed)" test "$rc" -eq 1
check "(1) the server's script played out" played_out
check "(1) 'a/b' left out with a warning" \
	said "skipping mailbox 'a/b': '/' in a name on a server whose delimiter is '.'"
check "(1) '../up' left out with a warning" said "skipping mailbox '../up'"
check "(1) the 300-byte level refused: name too long" \
	grep -qaE "c: L{300}: .*name too long" "$io/out"
check "(1) exactly these directories under the root" \
	test "$(cd "$tmp/names/local" && find . -mindepth 1 -maxdepth 1 |
		LC_ALL=C sort | tr '\n' ' ')" = './$(touch x) ./-rf ./INBOX ./`touch y` ./'"$p99"' ./s;t|u*v '
check "(1) the three-level name is three directories" \
	test -d "$tmp/names/local/$p99/$p99/$p99/cur"
check "(1) '\$(touch x)' holds its message" has_body names 'body x'
check "(1) no shell ran: no x or y made anywhere" \
	test -z "$(find "$tmp" -name x -o -name y)"
check "(1) nothing sent for the left-out names" \
	absent '^C: .*"(a/b|\.\./up)"' "$io/log"
check "(1) the 300-byte one is not selected" \
	absent '^C: [^ ]+ SELECT "L{300}"' "$io/log"

# ---- (2) literals and nesting --------------------------------------------
for v in 'neg invalid literal size' 'big literal size overflows 64 bits' \
	'plus invalid literal size'; do
	set -- $v
	s=$1
	shift
	prep "list-$s"
	sync_with "list-$s" "hostile2-list-$s.script"
	check "(2) LIST literal ($s): exit 4" test "$rc" -eq 4
	check "(2) LIST literal ($s): protocol error named" \
		said "c: far: list folders: 127.0.0.1:[0-9]*: protocol error: $*"
	check "(2) LIST literal ($s): no STATUS or SELECT sent" \
		absent 'STATUS|SELECT' "$io/log"
	prep "fetch-$s"
	sync_with "fetch-$s" "hostile2-fetch-$s.script"
	check "(2) BODY[] literal ($s): exit 4" test "$rc" -eq 4
	check "(2) BODY[] literal ($s): protocol error, folder named" \
		said "c: INBOX: far: fetch: 127.0.0.1:[0-9]*: protocol error: $*"
	check "(2) BODY[] literal ($s): UID 4 not delivered" \
		test "$(count_local "fetch-$s")" -eq 3
	check "(2) BODY[] literal ($s): nothing left in tmp/" \
		test -z "$(find "$tmp/fetch-$s/local/INBOX/tmp" -type f)"
done
prep deep
sync_with deep hostile2-fetch-deep.script
check "(2) nested 10000 deep: exit 4" test "$rc" -eq 4
check "(2) nested 10000 deep: the limit named" \
	said 'c: far INBOX: scan: .*protocol error: lists nested deeper than the limit of 32'
check "(2) nested 10000 deep: nothing delivered" test "$(count_local deep)" -eq 3
prep atom
sync_with atom hostile2-list-atom.script
check "(2) 1 MiB atom as a name: exit 0" test "$rc" -eq 0
check "(2) 1 MiB atom as a name: the server's script played out" played_out
check "(2) 1 MiB atom as a name: left out with a warning" \
	said "skipping mailbox 'aaaaaaaa"
check "(2) 1 MiB atom as a name: the output stays short" \
	test "$(wc -c <"$io/out")" -lt 2000

# ---- (3) numbers -----------------------------------------------------------
prep size
sync_with size hostile2-size.script
check "(3) RFC822.SIZE 2^64-1 and -1: exit 0" test "$rc" -eq 0
check "(3) RFC822.SIZE 2^64-1 and -1: the server's script played out" played_out
check "(3) RFC822.SIZE 2^64-1 and -1: both arrived" \
	eval 'has_body size "body four" && has_body size "body five"'
check "(3) RFC822.SIZE 2^64-1 and -1: recorded with their real size" \
	test "$(db size 'SELECT size FROM msgs WHERE far_uid IN (4, 5)' |
		tr '\n' ' ')" = '138 138 '
prep uid32
sync_with uid32 hostile2-uid32.script
check "(3) UID 2^32: exit 1" test "$rc" -eq 1
check "(3) UID 2^32: the folder and message named" \
	said 'c: INBOX: far: scan: INBOX: the FETCH response for message 4 has no valid UID'
check "(3) UID 2^32: the server's script played out" played_out
prep exists
sync_with exists hostile2-exists.script
check "(3) EXISTS 2^32: exit 1" test "$rc" -eq 1
check "(3) EXISTS 2^32: the listing is not trusted" \
	said 'c: INBOX: far: scan: INBOX: listing incomplete'
check "(3) EXISTS 2^32: the server's script played out" played_out
prep modseq
sync_with modseq hostile2-modseq.script
check "(3) MODSEQ over 63 bits: exit 0" test "$rc" -eq 0
check "(3) MODSEQ over 63 bits: the server's script played out" played_out
check "(3) MODSEQ over 63 bits: HIGHESTMODSEQ 0 in the state" \
	test "$(db modseq "SELECT far_highestmodseq FROM boxes WHERE far_name = 'INBOX'")" = 0
prep uidnext
sync_with uidnext hostile2-uidnext.script
check "(3) UIDNEXT 0: exit 0" test "$rc" -eq 0
check "(3) UIDNEXT 0: the server's script played out (UID FETCH * asked)" \
	played_out
check "(3) UIDNEXT 0: UID 4 arrived" has_body uidnext 'body four'
check "(3) UIDNEXT 0: UIDNEXT 5 recorded, not 0" \
	test "$(db uidnext "SELECT far_uidnext FROM boxes WHERE far_name = 'INBOX'")" = 5
prep uidbig
sync_with uidbig hostile2-uidbig.script
check "(3) UID 9 >= UIDNEXT 4: exit 0" test "$rc" -eq 0
check "(3) UID 9 >= UIDNEXT 4: the server's script played out" played_out
check "(3) UID 9 >= UIDNEXT 4: it arrived, once" \
	test "$(count_local uidbig)" -eq 4

# ---- (4) a message without header, one of zero bytes -----------------------
prep empty
sync_with empty hostile2-empty.script
check "(4) exit 0" test "$rc" -eq 0
check "(4) the server's script played out" played_out
check "(4) both arrived as files" test "$(count_local empty)" -eq 5
check "(4) the headerless one holds its body" has_body empty 'just a body, alone'
check "(4) the zero-byte one is an empty file" \
	test "$(find "$tmp/empty/local/INBOX/cur" -type f -empty | wc -l)" -eq 1
sync_with empty hostile2-empty-rerun.script
check "(4) next run: exit 0" test "$rc" -eq 0
check "(4) next run: the server's script played out" played_out
check "(4) next run: no body asked again" test "$(asked_bodies)" -eq 0
check "(4) next run: still five files" test "$(count_local empty)" -eq 5

# ---- (5) unsolicited responses amid the listing and the search -------------
prep unsol
sync_with unsol hostile2-unsol-fetch.script
check "(5) amid UID FETCH: exit 0" test "$rc" -eq 0
check "(5) amid UID FETCH: the server's script played out" played_out
check "(5) amid UID FETCH: UID 4 arrived" has_body unsol 'body four'
check "(5) amid UID FETCH: the three others still here" \
	test "$(count_local unsol)" -eq 4
prep unsol2
sync_with unsol2 hostile2-unsol-search.script
check "(5) amid UID SEARCH: exit 0" test "$rc" -eq 0
check "(5) amid UID SEARCH: the server's script played out (SEARCH asked)" \
	played_out
check "(5) amid UID SEARCH: all three still here" test "$(count_local unsol2)" -eq 3

# ---- (6) APPEND without UIDPLUS, [UIDNEXT] inside it -----------------------
prep append
printf 'From: c@example.org\r\nTo: b@example.org\r\nSubject: pushed\r\nMessage-ID: <pushed@example.org>\r\nDate: Mon, 1 Dec 2025 11:00:00 +0000\r\n\r\nbody pushed\r\n' \
	>"$tmp/append/local/INBOX/new/1796000000.P1.host"
sync_with append hostile2-append.script
check "(6) exit 0" test "$rc" -eq 0
check "(6) the server's script played out" played_out
check "(6) one APPEND, with the message" eval \
	'test "$(grep -c "^C: A[0-9]* APPEND" "$io/log")" -eq 1 &&
	grep -q "^C: body pushed" "$io/log"'
check "(6) recorded as UID 4 (not 99), once" \
	test "$(db append "SELECT far_uid FROM msgs WHERE msgid = '<pushed@example.org>'")" = 4
sync_with append hostile2-append-rerun.script
check "(6) next run: exit 0" test "$rc" -eq 0
check "(6) next run: the server's script played out (no APPEND)" played_out
check "(6) next run: no APPEND sent" absent APPEND "$io/log"
check "(6) next run: four files, the pushed one once" eval \
	'test "$(count_local append)" -eq 4 &&
	test "$(grep -rl "^body pushed" "$tmp/append/local" | wc -l)" -eq 1'

# ---- (7) BAD to everything -------------------------------------------------
prep bad
start=$(date +%s)
sync_with bad hostile2-bad.script
check "(7) exit 4" test "$rc" -eq 4
check "(7) the BAD is shown" said 'c: far: fake: LIST: BAD no'
check "(7) it stopped after at most 3 commands" \
	test "$(grep -c '^C: ' "$io/log")" -le 3
check "(7) within 5 s" test $(($(date +%s) - start)) -le 5

echo "1..$n"
exit $((fails > 0))
