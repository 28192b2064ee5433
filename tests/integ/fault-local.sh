#!/usr/bin/env bash
# Local faults: what the disk, the file system and the process setup can do
# to a run, and what mailferry must do then (mailferry(1) EXIT STATUS and
# SYNC RULES).  Against the harness Dovecot; every case starts from a
# synced pair and checks that nothing on the server was deleted, nothing
# doubled, and that a run after the fault is removed converges.
#
#   ENOSPC   the Maildir on a 2 MB tmpfs (a private mount namespace:
#            unshare -m; SKIP naming why where that is refused), a pull of
#            4 MB: an error naming the full disk, every message the state
#            calls synced complete on disk, tmp/ empty, and a run once
#            there is room converges
#   EACCES   a local folder (and, apart, its cur/) unreadable: that folder
#            fails with an error, the others sync, nothing of it is deleted
#            on the server, not even the folder under "remove: far" (as
#            root the DAC capabilities are dropped with setpriv so the mode
#            bits count)
#   odd files  a FIFO, a symlink, an unreadable and a zero-byte file in
#            cur/: no hang, no crash, nothing uploaded from the first three
#   state DB   truncated, random bytes, a newer user_version: exit 5,
#            nothing changed on either side, the file left as it was
#   fds 0-2 closed  the run works and writes neither the DB nor a mail file
#            through them (the DB passes integrity_check, holds no output)
#   emptied folder  all files of a 30-message folder removed: the mass
#            deletion guard holds the deletions back and says so
#   broken root  the Maildir root a dangling symlink: nothing deleted on
#            the server, also in a folder under the guard's ten messages
#   power loss  tests/fault/nofsync.so (LD_PRELOAD) cuts each file back to
#            what was durable at the N-th fsync/rename and exits 97, at 8
#            points of a pull plus push with fsync: true (MF_LONG=1: every
#            point): the state passes integrity_check, each row it calls
#            synced has its whole file, the next run converges

set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup "$@"
command -v sqlite3 >/dev/null || { echo "Bail out! sqlite3 not installed"; exit 1; }
DB=$T/state/c.db

# unpriv CMD...: run CMD where file modes apply (root: no DAC override)
unpriv() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --inh-caps=-all \
			--bounding-set=-dac_override,-dac_read_search -- "$@"
	else
		"$@"
	fi
}

# runmf NAME ARGS...: mailferry with a 30 s limit; rc and $T/NAME.out
runmf() {
	local name=$1
	shift
	timeout 30 "$MAILFERRY" -c "$CFG" "$@" >"$T/$name.out" 2>&1
	rc=$?
}
# rc_in NAME CODES...: the last runmf's status is one of CODES
rc_in() {
	local name=$1 c
	shift
	for c in "$@"; do
		[ "$rc" = "$c" ] && { ok "$name (exit $rc)"; return; }
	done
	not_ok "$name (exit $rc, want $*)"
	grep -v '^ *$' "$T/out.last" 2>/dev/null | head -5 | sed 's/^/#   /'
}
show() { cp "$T/$1.out" "$T/out.last"; }

# ids DIR: "folder message-id" per message file, sorted, duplicates kept
ids() {
	local root=$1/
	find "$root" \( -path "$root*/cur/*" -o -path "$root*/new/*" \) \
		-type f -print0 | xargs -0 -r awk -v root="$root" '
		FNR == 1 {
			f = substr(FILENAME, length(root) + 1)
			sub(/\/(cur|new)\/[^\/]*$/, "", f)
		}
		tolower($0) ~ /^message-id:/ { sub(/\r$/, ""); print f, $2; nextfile }
		/^\r?$/ { nextfile }' | LC_ALL=C sort
}
# server_same NAME: the server holds what $T/srv.ids says
server_same() {
	if ids "$MF_MAILDIR" | cmp -s - "$T/srv.ids"; then ok "$1"; else
		not_ok "$1"
		diff <(ids "$MF_MAILDIR") "$T/srv.ids" | grep '^[<>]' | head -5 |
			sed 's/^/#   /'
	fi
}
# converges NAME: a plain run exits 0 and both sides are equal
converges() {
	runmf conv -q sync
	if [ $rc -eq 0 ] && cmp -s <(sig "$MF_MAILDIR") <(sig "$LOCAL") &&
		[ -z "$(ids "$LOCAL" | uniq -d)" ]; then
		ok "$1"
	else
		not_ok "$1 (exit $rc)"
		head -3 "$T/conv.out" | sed 's/^/#   /'
		diff <(sig "$MF_MAILDIR") <(sig "$LOCAL") | head -4 | sed 's/^/#   /'
		echo "# server $(count "$MF_MAILDIR"), local $(count "$LOCAL") files"
	fi
}
snap_server() { ids "$MF_MAILDIR" >"$T/srv.ids"; }

# --- ENOSPC: the Maildir on a 2 MB tmpfs, 4 MB to pull.  The mount lives
# in a private mount namespace (unshare -m), so it goes with the process
# whatever happens; all that looks at it runs in there and leaves its
# findings in $T/nospc.*.
enospc_inner() {
	mount -t tmpfs -o size=2m mf-enospc "$SMALL" || exit 77
	"$MAILFERRY" -c "$T/cfg-small" -q sync >"$T/nospc.out" 2>&1
	echo $? >"$T/nospc.rc"
	sig "$SMALL" >"$T/nospc.sig"
	find "$SMALL" -path "$SMALL/*/tmp/*" -type f >"$T/nospc.tmp"
	# every row the state calls synced has its file
	sqlite3 "$T/state-small/c.db" "SELECT m.near_key FROM msgs m JOIN
		boxes b ON b.id = m.box_id WHERE b.near_name = 'Big' AND
		m.pending = 0 AND m.near_key IS NOT NULL" >"$T/nospc.keys"
	: >"$T/nospc.missing"
	while read -r k; do
		ls "$SMALL/Big/cur/$k"[,:]* "$SMALL/Big/new/$k"[,:]* \
			2>/dev/null | grep -q . || echo "$k" >>"$T/nospc.missing"
	done <"$T/nospc.keys"
	mount -o remount,size=16m "$SMALL"
	"$MAILFERRY" -c "$T/cfg-small" -q sync >"$T/nospc2.out" 2>&1
	echo $? >"$T/nospc2.rc"
	sig "$SMALL" >"$T/nospc2.sig"
	ids "$SMALL" >"$T/nospc2.ids"
}
enospc_case() {
	local i r
	SMALL=$T/small-md
	mkdir -p "$SMALL" "$T/big"
	sed -e "s|^state_dir: .*|state_dir: $T/state-small|" \
		-e "s|^    maildir: .*|    maildir: $SMALL|" "$CFG" >"$T/cfg-small"
	printf '    folders: ["Big"]\n' >>"$T/cfg-small"
	for ((i = 1; i <= 40; i++)); do
		printf 'From: big@example.org\nSubject: big %d\nMessage-ID: <big%d@test>\n\n' \
			$i $i >"$T/big/b$i"
		base64 -w 76 </dev/urandom | head -c 100000 >>"$T/big/b$i"
		echo >>"$T/big/b$i"
	done
	mf_harness seed Big "$T"/big/* >/dev/null 2>&1
	snap_server
	export T SMALL MAILFERRY
	export -f enospc_inner sig ids
	unshare -m --propagation private bash -c enospc_inner 2>"$T/nospc.err"
	r=$?
	if [ $r = 77 ] || [ ! -s "$T/nospc.rc" ]; then
		n=$((n + 1))
		echo "ok $n - # SKIP ENOSPC: no tmpfs in a private mount namespace here ($(head -1 "$T/nospc.err"))"
		return
	fi
	rc=$(cat "$T/nospc.rc")
	show nospc
	rc_in "ENOSPC while pulling: the folder fails" 1
	check "ENOSPC while pulling: the error says the disk is full" \
		grep -q -i 'no space left' "$T/nospc.out"
	check "ENOSPC while pulling: some messages landed before ($(wc -l <"$T/nospc.sig"))" \
		test -s "$T/nospc.sig"
	check "ENOSPC while pulling: each landed one complete" \
		test -z "$(awk '{ print $1, $2 }' "$T/nospc.sig" |
			grep -v -x -F -f <(sig "$MF_MAILDIR" | awk '{ print $1, $2 }'))"
	check "ENOSPC while pulling: each message the state calls synced is on disk ($(wc -l <"$T/nospc.keys") rows)" \
		test ! -s "$T/nospc.missing"
	sed 's/^/# missing: /' "$T/nospc.missing" | head -3
	if [ -s "$T/nospc.tmp" ]; then
		not_ok "ENOSPC while pulling: tmp/ empty after the failure"
		sed 's/^/# left: /' "$T/nospc.tmp" | head -3
	else
		ok "ENOSPC while pulling: tmp/ empty after the failure"
	fi
	server_same "ENOSPC while pulling: nothing deleted on the server"
	check "ENOSPC, then room: the next run succeeds (exit $(cat "$T/nospc2.rc"))" \
		test "$(cat "$T/nospc2.rc")" = 0
	check "ENOSPC, then room: all 40 once, as on the server" \
		cmp -s "$T/nospc2.sig" <(sig "$MF_MAILDIR" | grep '^Big ')
	check "ENOSPC, then room: no message twice" \
		test -z "$(uniq -d "$T/nospc2.ids")"
}

# --- power loss: tests/fault/nofsync.so cuts every file back to what was
# durable at its N-th fsync/rename and exits 97.  Then the state must pass
# integrity_check, every row it calls synced must have its whole file
# (size as its ,S= says) and a plain run must converge with each message
# once.  A pull of 20 plus a push of 3 new local messages each time, with
# fsync: true; a sample of the points (MF_LONG=1: all of them).
power_case() {
	local so=$MF_BUILD_ROOT/tests/fault/nofsync.so pts N i tried=0 cut=0
	local bad=0 k f sz
	PL=$T/pl
	[ -f "$so" ] || { not_ok "power loss: $so not built"; return; }
	# in the sanitizer build libasan is not first when we preload
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"
	sed -e "s|^state_dir: .*|state_dir: $T/state-pl|" \
		-e "s|^    maildir: .*|    maildir: $PL|" \
		-e "s|fsync: false|fsync: true|" "$CFG" >"$T/cfg-pl"
	printf '    folders: ["Power"]\n' >>"$T/cfg-pl"
	gen_msgs "$T/pw" 1 20 pw
	mf_harness seed Power "$T"/pw/* >/dev/null 2>&1
	pl_round() {	# pl_round R: empty Maildir and state, 3 new local
		rm -rf "$PL" "$T/state-pl"
		gen_msgs "$T/plp$1" 1 3 "pl$1"
		mkdir -p "$PL/Power/cur" "$PL/Power/new" "$PL/Power/tmp"
		for i in 1 2 3; do
			cp "$T/plp$1/m$i" "$PL/Power/cur/1700000$i.pl$1.test:2,S"
		done
	}
	pl_round 0
	# env, not timeout, gets the library: timeout would count too
	timeout 60 env LD_PRELOAD="$so" MF_POWER_COUNT="$T/pl.count" \
		"$MAILFERRY" -c "$T/cfg-pl" -q sync >/dev/null 2>&1
	pts=$(cat "$T/pl.count" 2>/dev/null || echo 0)
	check "power loss: a run has points to stop at ($pts)" test "$pts" -gt 10
	if [ "${MF_LONG:-0}" = 1 ]; then
		sample=$(seq 1 "$pts")
	else
		sample=$(awk -v p="$pts" 'BEGIN { for (i = 0; i < 8; i++)
			print 1 + int(i * (p - 1) / 7) }' | uniq)
	fi
	for N in $sample; do
		tried=$((tried + 1))
		pl_round "$N"
		timeout 60 env LD_PRELOAD="$so" MF_POWER_AFTER="$N" \
			"$MAILFERRY" -c "$T/cfg-pl" -q sync >"$T/pl.out" 2>&1
		rc=$?
		[ $rc = 97 ] && cut=$((cut + 1))
		case $rc in 97 | 0 | 1) ;; *)
			echo "# point $N: exit $rc"; bad=$((bad + 1)) ;;
		esac
		if [ -s "$T/state-pl/c.db" ] &&
			[ "$(sqlite3 "$T/state-pl/c.db" 'PRAGMA integrity_check' 2>&1)" != ok ]; then
			echo "# point $N: the state fails integrity_check"
			bad=$((bad + 1))
		fi
		for k in $(sqlite3 "$T/state-pl/c.db" "SELECT near_key FROM msgs
			WHERE pending = 0 AND near_key IS NOT NULL" 2>/dev/null); do
			f=$(ls "$PL"/Power/cur/"$k"[,:]* "$PL"/Power/new/"$k"[,:]* \
				2>/dev/null | head -1)
			sz=$(echo "$f" | sed -n 's/.*,S=\([0-9]*\).*/\1/p')
			if [ -z "$f" ]; then
				echo "# point $N: $k synced in the state, no file"
				bad=$((bad + 1))
			elif [ -n "$sz" ] && [ "$(stat -c %s "$f")" != "$sz" ]; then
				echo "# point $N: $k synced in the state, $(stat -c %s "$f") of $sz bytes on disk"
				bad=$((bad + 1))
			fi
		done
		if ! timeout 60 "$MAILFERRY" -c "$T/cfg-pl" -q sync >"$T/pl2.out" 2>&1; then
			echo "# point $N: the next run failed: $(head -1 "$T/pl2.out")"
			bad=$((bad + 1))
		elif ! cmp -s <(sig "$PL") <(sig "$MF_MAILDIR" | grep '^Power ') ||
			[ -n "$(ids "$PL" | uniq -d)" ] ||
			[ -n "$(ids "$MF_MAILDIR" | uniq -d)" ]; then
			echo "# point $N: the next run does not converge"
			diff <(sig "$PL") <(sig "$MF_MAILDIR" | grep '^Power ') |
				head -4 | sed 's/^/#   /'
			bad=$((bad + 1))
		fi
	done
	check "power loss at $tried points ($cut cut): state intact, synced means on disk, converges" \
		test $bad -eq 0 -a $cut -gt 0
}

gen_msgs "$T/inbox" 1 12 i
gen_msgs "$T/work" 1 30 w
gen_msgs "$T/small" 1 5 s
mf_harness seed INBOX --flags S "$T"/inbox/* >/dev/null 2>&1
mf_harness seed Work "$T"/work/* >/dev/null 2>&1
mf_harness seed Small "$T"/small/* >/dev/null 2>&1
runmf first -q sync
check "the first sync" test $rc -eq 0
cp -a "$LOCAL" "$T/local.good"
cp -a "$T/state" "$T/state.good"

# --- state DB: truncated, random bytes, newer schema
state_case() {	# state_case NAME: $DB was damaged; a run must refuse it
	local name=$1 before
	snap_server
	sig "$LOCAL" >"$T/local.sig"
	before=$(sha256sum <"$DB")
	runmf "db-$name" sync
	show "db-$name"
	rc_in "state DB $name: refused" 5
	server_same "state DB $name: nothing changed on the server"
	check "state DB $name: nothing changed locally" \
		cmp -s "$T/local.sig" <(sig "$LOCAL")
	check "state DB $name: the file left as it was" \
		test "$before" = "$(sha256sum <"$DB")"
	check "state DB $name: the error names the database" \
		grep -q -i 'state\|database\|\.db' "$T/db-$name.out"
	rm -rf "$T/state"
	cp -a "$T/state.good" "$T/state"
}
rm -f "$DB-wal" "$DB-shm"
size=$(stat -c %s "$DB")
truncate -s $((size / 2)) "$DB"
state_case truncated
head -c "$size" /dev/urandom >"$DB"
state_case "of random bytes"
ver=$(sqlite3 "$DB" 'PRAGMA user_version')
sqlite3 "$DB" "PRAGMA user_version = $((ver + 1))"
state_case "from a newer version ($((ver + 1)))"

# --- a Maildir root that is a dangling symlink
snap_server
mv "$LOCAL" "$T/local.away"
ln -s "$T/nowhere" "$LOCAL"
runmf broken -q sync
show broken
check "Maildir root a dangling symlink: an error (exit $rc)" test $rc -ne 0
check "Maildir root a dangling symlink: the store status 4 (mailferry(1))" \
	test $rc -eq 4
check "Maildir root a dangling symlink: the error names the root" \
	grep -q "local" "$T/broken.out"
server_same "Maildir root a dangling symlink: nothing deleted on the server (Small has 5)"
check "Maildir root a dangling symlink: nothing made at its target" \
	test ! -e "$T/nowhere"
rm "$LOCAL"
mv "$T/local.away" "$LOCAL"
converges "back in place: converges"

# --- EACCES: a folder, then its cur/, unreadable
eacces_case() {	# eacces_case NAME PATH
	local name=$1 p=$2
	gen_msgs "$T/new-$name" 1 1 "x$name"
	mf_harness seed INBOX "$T/new-$name/m1" >/dev/null 2>&1
	snap_server
	chmod 000 "$p"
	unpriv timeout 30 "$MAILFERRY" -c "$CFG" sync >"$T/eacces.out" 2>&1
	rc=$?
	chmod 755 "$p"
	show eacces
	check "$name unreadable: the run reports a failure (exit $rc)" \
		test $rc -eq 1
	check "$name unreadable: the error names it" \
		grep -q 'Work' "$T/eacces.out"
	server_same "$name unreadable: nothing deleted on the server"
	check "$name unreadable: INBOX still synced" \
		test -n "$(local_file INBOX "m1.x$name")"
	converges "$name readable again: converges"
}
eacces_case "folder Work" "$LOCAL/Work"
eacces_case "Work/cur" "$LOCAL/Work/cur"
# where vanished folders are removed, an unreadable one must not count
mf_config "remove: far"
chmod 000 "$LOCAL/Work"
unpriv timeout 30 "$MAILFERRY" -c "$CFG" sync >"$T/eacces-rm.out" 2>&1
chmod 755 "$LOCAL/Work"
check "folder Work unreadable, remove: far: the server keeps Work's 30" \
	test "$(count "$MF_MAILDIR/Work" 2>/dev/null)" -eq 30
mf_config
converges "folder Work readable again (remove: far undone): converges"

# --- a FIFO, a symlink, an unreadable and a zero-byte file in cur/
snap_server
printf 'From: x@example.org\nSubject: outside\nMessage-ID: <outside@test>\n\nnot in the maildir\n' \
	>"$T/outside.msg"
cur=$LOCAL/INBOX/cur
mkfifo "$cur/1700000001.fifo.test:2,S"
ln -s "$T/outside.msg" "$cur/1700000002.link.test:2,S"
cp "$T/outside.msg" "$cur/1700000003.unread.test:2,S"
sed -i 's/outside@test/unread@test/' "$cur/1700000003.unread.test:2,S"
chmod 000 "$cur/1700000003.unread.test:2,S"
: >"$cur/1700000004.empty.test:2,S"
both_named() { grep -q "$2" "$1" && grep -q "$3" "$1"; }
unpriv timeout 30 "$MAILFERRY" -c "$CFG" sync >"$T/odd.out" 2>&1
rc=$?
show odd
check "odd files in cur/: no hang (exit $rc)" test $rc -ne 124
rc_in "odd files in cur/: no crash, a plain status" 0 1
check "odd files in cur/: the symlink's target not uploaded" \
	test -z "$(server_uid INBOX outside)"
check "odd files in cur/: a warning names the symlink" \
	grep -q 'link.test.*symbolic link' "$T/odd.out"
check "odd files in cur/: the unreadable file not uploaded" \
	test -z "$(server_uid INBOX unread)"
check "odd files in cur/: nothing from the FIFO or the empty file uploaded" \
	test "$(ids "$MF_MAILDIR" | grep -v -x -F -f "$T/srv.ids" |
		grep -c -v -F '<outside@test>')" -eq 0
check "odd files in cur/: a warning names the unreadable and the empty file" \
	both_named "$T/odd.out" unread empty
for w in fifo link unread empty; do
	grep -q "$w" "$T/odd.out" && echo "# warned about the $w file"
done
grep "fifo\|link\|unread\|empty" "$T/odd.out" | head -4 | sed 's/^/#   /'
unpriv timeout 30 "$MAILFERRY" -c "$CFG" sync >"$T/odd2.out" 2>&1
rc=$?
show odd2
rc_in "odd files in cur/: a second run the same" 0 1
check "odd files in cur/: the second run uploaded nothing more" \
	test "$(ids "$MF_MAILDIR" | grep -v -x -F -f "$T/srv.ids" |
		grep -c -v -F '<outside@test>')" -eq 0
rm -f "$cur"/170000000[1-4].*.test*
converges "odd files removed: converges"

# --- fds 0, 1 and 2 closed
gen_msgs "$T/fd" 1 2 fd
mf_harness seed INBOX "$T/fd/m1" >/dev/null 2>&1
mkdir -p "$LOCAL/INBOX/new"
cp "$T/fd/m2" "$LOCAL/INBOX/new/1700000100.fd.test"
"$MAILFERRY" -c "$CFG" -v sync <&- >&- 2>&-
rc=$?
check "fds 0-2 closed: the run succeeds (exit $rc)" test $rc -eq 0
check "fds 0-2 closed: the DB passes integrity_check" \
	test "$(sqlite3 "$DB" 'PRAGMA integrity_check' 2>&1)" = ok
check "fds 0-2 closed: no output in the DB" \
	bash -c "! grep -a -q -e 'folders (' -e 'mailferry:' -e 'pulled' '$DB'"
check "fds 0-2 closed: both new messages on both sides" \
	test -n "$(local_file INBOX m1.fd)" -a -n "$(server_uid INBOX m2.fd)"
check "fds 0-2 closed: every mail file as on the server" \
	cmp -s <(sig "$MF_MAILDIR") <(sig "$LOCAL")

# --- an emptied folder: a user deletion, held back by the guard
snap_server
find "$LOCAL/Work/cur" "$LOCAL/Work/new" -type f -delete
runmf empty sync
show empty
server_same "Work emptied locally: the guard keeps all 30 on the server"
check "Work emptied locally: the run says the deletions were held back" \
	grep -q -i 'held back\|max_delete\|mass' "$T/empty.out"
runmf empty2 -q sync
server_same "Work emptied locally: a second run holds them back too"
check "Work: no message twice on the server" \
	test -z "$(ids "$MF_MAILDIR" | uniq -d)"
echo "# after the emptied folder: exit $rc, $(count "$LOCAL/Work") local files in Work"

enospc_case
power_case
check "no password in any run's output" \
	bash -c "! grep -q 'secret-pw-' '$T'/*.out"
finish
