#!/bin/bash
# Keywords both ways between Dovecot and our Maildir, the way Dovecot keeps
# them there: letters a..z after ":2," named by dovecot-keywords.
#  - keywords set on the server reach the file names and dovecot-keywords;
#    an entry another program put in dovecot-keywords keeps its letter;
#  - Dovecot itself, pointed at our Maildir, reads the same keywords, and a
#    keyword it adds there (its own dovecot-keywords write) reaches the
#    server;
#  - keywords added and removed by renaming files and replacing
#    dovecot-keywords, as another tool would, reach the server;
#  - beyond 26 keywords in a folder the rest stays in the state database:
#    reported once, never removed from the server;
#  - a state recorded before the Maildir kept keywords (rows with near
#    keywords, files without letters) removes nothing on the upgrade run
#    and writes the letters.
set -u
. "$(dirname "$0")/lib.sh"
mf_setup

gen_msgs "$T/in" 1 4 kw
mf_harness seed INBOX --flags S "$T/in"/m1 "$T/in"/m2 "$T/in"/m3 \
	"$T/in"/m4 >/dev/null 2>&1
dadm() { mf_harness doveadm "$@" 2>/dev/null; }
# server_kw ID: the keywords of that server message, sorted, one line
server_kw() {
	dadm fetch flags mailbox INBOX header message-id "$1@test" |
		sed -n 's/^flags: //p' | tr ' ' '\n' | grep -v '^\\' | grep . |
		LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
# local_kw ID: the keywords of the local file, through dovecot-keywords
local_kw() {
	local f letters
	f=$(local_file INBOX "$1")
	letters=$(basename "$f" | sed -n 's/.*:2,\([A-Za-z]*\).*/\1/p' |
		tr -d 'A-Z')
	awk -v l="$letters" '{
		i = $1 + 0; name = substr($0, index($0, " ") + 1)
		if (index(l, substr("abcdefghijklmnopqrstuvwxyz", i + 1, 1)))
			print name
	}' "$LOCAL/INBOX/dovecot-keywords" | LC_ALL=C sort | tr '\n' ' ' |
		sed 's/ $//'
}
# letter NAME: the local letter of a keyword
letter() {
	awk -v k="$1" 'substr($0, index($0, " ") + 1) == k {
		print substr("abcdefghijklmnopqrstuvwxyz", $1 + 1, 1) }' \
		"$LOCAL/INBOX/dovecot-keywords"
}
# rename_letters ID ADD DEL: give the local file letters ADD, drop DEL,
# keeping them sorted as Dovecot does
rename_letters() {
	local f info new
	f=$(local_file INBOX "$1")
	info=${f##*:2,}
	new=$(printf '%s%s' "$info" "$2" | tr -d "${3:-_}" | fold -w1 |
		LC_ALL=C sort -u | tr -d '\n')
	mv "$f" "${f%%:2,*}:2,$new"
}
# as_dovecot CMD...: doveadm on our Maildir; the files must be the mail
# user's for that (we run as root in CI), and mailferry, as root, still
# reads and writes them
owner=$(stat -c %u:%g "$MF_MAILDIR")
as_dovecot() {
	[ "$(id -u)" != 0 ] || chown -R "$owner" "$LOCAL"
	mf_harness doveadm -o "mail_location=maildir:$LOCAL:LAYOUT=fs:INBOX=$LOCAL/INBOX:INDEX=MEMORY" \
		"$@" 2>"$T/dv.err"
}
absent() { ! grep -q "$@"; }
sync_ok() {	# sync_ok NAME: a sync that must succeed
	mf sync >"$T/out" 2>&1
	local rc=$?
	check "$1" test $rc -eq 0
	[ $rc -eq 0 ] || sed 's/^/# /' "$T/out"
}

dadm flags add '$Label1 Important' mailbox INBOX header message-id m1.kw@test
dadm flags add '$Label1' mailbox INBOX header message-id m2.kw@test
# another program's entry, there before we write the file
mkdir -p "$LOCAL"/INBOX/{cur,new,tmp}
printf '0 $Foreign\n' >"$LOCAL/INBOX/dovecot-keywords"

sync_ok "first sync exits 0"
check "m1 has its server keywords locally" \
	test "$(local_kw m1.kw)" = '$Label1 Important'
check "m2 has its server keyword locally" test "$(local_kw m2.kw)" = '$Label1'
check "m3 has none" test "$(local_kw m3.kw)" = ''
check "the foreign entry kept its letter" \
	grep -qx '0 $Foreign' "$LOCAL/INBOX/dovecot-keywords"
check "each keyword has one line" \
	test "$(wc -l <"$LOCAL/INBOX/dovecot-keywords")" -eq 3
f=$(basename "$(local_file INBOX m1.kw)")
check "letters sorted after the flags ($f)" \
	test "${f##*:2,}" = "S$(printf '%s\n' "$(letter '$Label1')" \
		"$(letter Important)" | LC_ALL=C sort | tr -d '\n')"

# Dovecot reads the same keywords from what we wrote
as_dovecot fetch -u "$MF_USER" 'hdr.message-id flags' mailbox INBOX all \
	>"$T/dv1"
check "doveadm reads our Maildir" test -s "$T/dv1"
[ -s "$T/dv1" ] || sed 's/^/# /' "$T/dv.err"
# dv_flags ID: the flags line Dovecot reported for that message
dv_flags() {
	awk -v id="<$1@test>" '$2 == id { getline; print }' "$T/dv1" |
		sed 's/ \\Recent//'
}
check "Dovecot sees m1's keywords in our Maildir" \
	test "$(dv_flags m1.kw)" = 'flags: \Seen $Label1 Important'
check "Dovecot sees m2's keyword in our Maildir" \
	test "$(dv_flags m2.kw)" = 'flags: \Seen $Label1'

# Dovecot adds a keyword in our Maildir: its own dovecot-keywords write
as_dovecot flags add -u "$MF_USER" 'ByDovecot' mailbox INBOX \
	header message-id m3.kw@test
check "Dovecot gave it a letter next to ours" \
	grep -q ' ByDovecot$' "$LOCAL/INBOX/dovecot-keywords"
sleep 1.1
sync_ok "sync after Dovecot's change exits 0"
check "Dovecot's keyword on our side reached the server" \
	test "$(server_kw m3.kw)" = 'ByDovecot'
check "the foreign entry is still there" \
	grep -qx '0 $Foreign' "$LOCAL/INBOX/dovecot-keywords"

# another tool: a new name by replacing dovecot-keywords, letters by rename
printf '%s\n' "$(cat "$LOCAL/INBOX/dovecot-keywords")" '20 Later' \
	>"$LOCAL/INBOX/dovecot-keywords.new"
mv "$LOCAL/INBOX/dovecot-keywords.new" "$LOCAL/INBOX/dovecot-keywords"
rename_letters m1.kw '' "$(letter '$Label1')"
rename_letters m2.kw "$(letter Important)u"
sleep 2.1
sync_ok "sync after local renames exits 0"
check "a letter removed locally is removed on the server" \
	test "$(server_kw m1.kw)" = 'Important'
check "letters added locally are added on the server" \
	test "$(server_kw m2.kw)" = '$Label1 Important Later'
before=$(cd "$LOCAL" && find . -path '*/cur/*' | sort)
sleep 2.1
sync_ok "a sync with nothing to do exits 0"
after=$(cd "$LOCAL" && find . -path '*/cur/*' | sort)
check "and renames nothing" test "$before" = "$after"
check "server keywords unchanged by it" \
	test "$(server_kw m2.kw)" = '$Label1 Important Later'

# a Maildir whose dovecot-keywords spells a keyword otherwise than the
# server (IMAP keywords are case-insensitive): the same message on both
# sides pairs, and neither spelling is taken for a removal
gen_msgs "$T/w" 5 5 kw
mf_harness seed Work --flags S "$T/w/m5" >/dev/null 2>&1
dadm flags add '$Label1' mailbox Work header message-id m5.kw@test
mkdir -p "$LOCAL"/Work/{cur,new,tmp}
cp "$T/w/m5" "$LOCAL/Work/cur/1700000005.w5.test:2,Sa"
printf '0 $label1\n' >"$LOCAL/Work/dovecot-keywords"
work_kw() {
	dadm fetch flags mailbox Work header message-id m5.kw@test |
		sed -n 's/^flags: //p'
}
sync_ok "sync of a folder spelt otherwise exits 0"
# a change on the server makes both sides look at the message again
dadm flags add '\Flagged' mailbox Work header message-id m5.kw@test
sleep 2.1
sync_ok "and again"
check "the server keeps its keyword ($(work_kw))" \
	test "$(work_kw)" = '\Flagged \Seen $Label1'
check "the Maildir keeps its letter" \
	test -e "$LOCAL/Work/cur/1700000005.w5.test:2,FSa"
check "one message in the folder on each side" \
	test "$(count "$LOCAL/Work")" -eq 1 -a "$(count "$MF_MAILDIR/Work")" -eq 1

# beyond 26: the folder has 5 names; 23 more on one message, 2 too many
many=$(seq -f 'k%02g' 1 23 | tr '\n' ' ' | sed 's/ $//')
dadm flags add "$many" mailbox INBOX header message-id m4.kw@test
sync_ok "sync with 28 keywords in the folder exits 0"
check "dovecot-keywords is full, every entry once" \
	test "$(awk '{print $1}' "$LOCAL/INBOX/dovecot-keywords" | sort -u |
		wc -l)" -eq 26
check "the two left over are reported, with the folder" \
	grep -q 'INBOX: all 26 dovecot-keywords letters are taken.*: k22 k23$' \
	"$T/out"
check "m4 carries the 21 that fit" \
	test "$(local_kw m4.kw | wc -w)" -eq 21
sleep 2.1
sync_ok "next sync exits 0"
check "the left-over keywords were not reported again" \
	absent 'letters are taken' "$T/out"
check "and not removed from the server" \
	test "$(server_kw m4.kw | wc -w)" -eq 23

# upgrade: a state written before the Maildir kept keywords recorded the
# server's keywords for the local side, while the files had no letters
db=$T/state/c.db
sqlite3 "$db" "DELETE FROM meta WHERE key LIKE 'near-keywords:%'"
for id in m1.kw m2.kw m3.kw m4.kw; do
	f=$(local_file INBOX "$id")
	mv "$f" "${f%%:2,*}:2,S"
done
sleep 2.1
sync_ok "upgrade sync exits 0"
check "upgrade: no server keyword removed" \
	test "$(server_kw m2.kw)" = '$Label1 Important Later' -a \
	"$(server_kw m1.kw)" = 'Important' -a \
	"$(server_kw m4.kw | wc -w)" -eq 23
check "upgrade: the letters are back on the files" \
	test "$(local_kw m2.kw)" = '$Label1 Important Later' -a \
	"$(local_kw m3.kw)" = 'ByDovecot'
check "upgrade: the folder is marked" \
	test "$(sqlite3 "$db" "SELECT count(*) FROM meta WHERE key LIKE 'near-keywords:%'")" -ge 1
rename_letters m1.kw '' "$(letter Important)"
sleep 2.1
sync_ok "sync after the upgrade exits 0"
check "after the upgrade a local removal counts again" \
	test "$(server_kw m1.kw)" = ''
same_sides "both sides hold the same messages with the same flags"
finish
