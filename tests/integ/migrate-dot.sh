#!/bin/bash
# mailferry migrate between two real Dovecots that name folders
# differently: the source with "/" as separator and no prefix (as
# Dovecot, Gmail or Fastmail show it), the destination Courier-style
# (dovecot.sh --layout dot: "." as separator, every folder under
# "INBOX.", Maildir++ on disk), whose Sent folder is "INBOX.Sent Items".
# Then back again, from the "." server to a fresh "/" account.
#
# Each way: every folder arrives under the translated name (Work/Projects
# as INBOX.Work.Projects and back; the non-ASCII Entwürfe in modified
# UTF-7 on both), the \Sent folder pairs with the other side's \Sent
# folder whatever it is called, and each message arrives once with its
# bytes, flags, keywords and internal date identical (compared per
# Message-ID from doveadm and the files themselves).  A run stopped part
# way finishes on the next with nothing twice; a second run copies
# nothing; --verify says all are there.  A source folder whose name holds
# the destination's separator ("v1.2") cannot be made there under its own
# name: that is reported, and the rest of the migration goes through; a
# channel with "migrate: true" and a folder_map entry for it then copies
# it under the mapped name, adopting what the first runs copied (a state
# of its own, nothing twice).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-imap2.sh"
MF2_NEAR_ARGS=(--layout dot --role "Sent Items=Sent")
mf2_setup --role Sent=Sent --extra-user back

gen_msgs "$T/in" 1 15 in
gen_msgs "$T/se" 1 10 se
gen_msgs "$T/wo" 1 5 wo
gen_msgs "$T/pr" 1 8 pr
gen_msgs "$T/en" 1 4 en
far_harness seed INBOX "$T"/in/m{1..10} --flags FS "$T"/in/m{11..15} \
	>/dev/null 2>&1
far_harness seed Sent --flags S "$T"/se/* >/dev/null 2>&1
far_harness seed Work "$T"/wo/* >/dev/null 2>&1
far_harness seed Work/Projects --flags RS "$T"/pr/* >/dev/null 2>&1
far_harness seed Entwürfe --flags D "$T"/en/* >/dev/null 2>&1
far_harness doveadm flags add '$Important NonJunk' mailbox INBOX \
	header message-id m3.in >/dev/null 2>&1
far_harness doveadm flags add '$Label1' mailbox Work/Projects \
	header message-id m2.pr >/dev/null 2>&1
# internal dates that differ from the files' arrival: a day apart each
i=0
for f in "$FAR_MAIL"/INBOX/cur/* "$FAR_MAIL"/Work/Projects/cur/*; do
	i=$((i + 1))
	touch -d "2025-03-$((1 + i % 28)) 08:$((i % 60)):00 UTC" "$f"
done
near_harness doveadm mailbox create -s "INBOX.Sent Items" >/dev/null 2>&1

# inv HARNESS MAP: "folder msgid flags internaldate" per message, sorted,
# folder names passed through the sed script MAP (to compare sides)
inv() {
	"$1" doveadm -f tab fetch 'mailbox hdr.message-id flags date.received' \
		all 2>/dev/null |
		awk -F '\t' 'NR > 1 {
			n = split($3, f, " "); fl = ""
			for (i = 1; i <= n; i++)
				if (f[i] != "\\Recent") fl = fl " " f[i]
			print $1 "\t" $2 "\t" fl "\t" $4
		}' | sed "$2" | LC_ALL=C sort
}
# bodies DIR: "msgid sha256" per message file under DIR, sorted
bodies() {
	find "$1" \( -path '*/cur/*' -o -path '*/new/*' \) -type f \
		-exec sh -c 'for f; do
			printf "%s %s\n" "$(sed -n "s/^Message-ID: //p" "$f" |
				head -1)" "$(sha256sum <"$f" | cut -c1-64)"
		done' sh {} + | LC_ALL=C sort
}
# "/" names as the "." server shows them (Sent pairs with Sent Items)
to_dot='/^Sent\t/{ s#^Sent\t#INBOX.Sent Items\t#; b; }; /^INBOX\t/b; s#^#INBOX.#; :a; s#^\([^\t]*\)/#\1.#; ta'
same() {	# NAME A B: A and B are equal, else show how they differ
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		diff <(echo "$2") <(echo "$3") | head -8 | sed 's/^/#   /'
	fi
}

src_before=$(inv far_harness '')
check "the source holds 42 messages" \
	test "$(grep -c . <<<"$src_before")" -eq 42

# ---- "/" to ".": stopped part way, then to the end ----
MF2_DISABLE=multiappend mf2_config
MAILFERRY_TEST_STOP_AFTER=17 mf migrate far near >"$T/k" 2>&1
got=$(inv near_harness '' | grep -c .)
check "a run stopped part way copied some, not all ($got)" \
	test "$got" -gt 0 -a "$got" -lt 42
mf2_config
mf migrate far near >"$T/out" 2>"$T/err"
rc=$?
check "migrate to the \".\" server exits 0" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/# /' "$T/out" "$T/err"
same "every folder under its translated name, every message once with its flags, keywords and internal date" \
	"$(inv far_harness "$to_dot")" "$(inv near_harness '')"
check "Work/Projects is INBOX.Work.Projects, stored as .Work.Projects" \
	test "$(count "$NEAR_MAIL/.Work.Projects")" -eq 8
check "Entwürfe is INBOX.Entw&APw-rfe on the wire and on disk" \
	test "$(count "$NEAR_MAIL/.Entw&APw-rfe")" -eq 4
check "no folder INBOX.Sent was made beside INBOX.Sent Items" \
	test ! -e "$NEAR_MAIL/.Sent"
same "each message's bytes arrived unchanged" \
	"$(bodies "$FAR_MAIL")" "$(bodies "$NEAR_MAIL")"
same "the source is unchanged" "$src_before" "$(inv far_harness '')"
mf migrate far near >"$T/out2" 2>&1
check "a second run copies nothing" \
	bash -c "! grep -q 'pulled [1-9]' '$T/out2'"
mf migrate --verify far near >"$T/v" 2>&1
check "--verify: all 42 are on the destination" \
	grep -q 'all 42 far messages are on near' "$T/v"
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/k" "$T/out" "$T/out2" "$T/v"

# ---- and back: "." to a fresh "/" account on the first server ----
sed -i "/^channels:/i\\
  back:\\
    host: localhost\\
    port: $FAR_PORT\\
    tls: implicit\\
    user: back\\
    password_env: MF_FAR_PW\\
    ca_file: $FAR_CA" "$CFG"
back_harness() { MF_HARNESS_USER=back far_harness "$@"; }
back_harness doveadm mailbox create -s Sent >/dev/null 2>&1
mf migrate near back >"$T/b" 2>&1
rc=$?
check "migrate from the \".\" server to a \"/\" one exits 0" test $rc -eq 0
same "back: every folder under its first name, every message once with its flags, keywords and internal date" \
	"$(inv far_harness '')" "$(inv back_harness '')"
same "back: each message's bytes arrived unchanged" \
	"$(bodies "$FAR_MAIL")" "$(bodies "${FAR_MAIL%/*}/back")"
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/b"

# ---- a name the "." server cannot hold ----
gen_msgs "$T/lv" 1 3 v
gen_msgs "$T/in2" 16 17 in
far_harness seed Lists/v1.2 "$T"/lv/* >/dev/null 2>&1
far_harness seed INBOX "$T"/in2/* >/dev/null 2>&1
mf migrate far near >"$T/d" 2>&1
rc=$?
check "a folder that cannot be made: exit 1 (partial)" test $rc -eq 1
check "it is named, with the reason" grep -q \
	"Lists/v1.2: create: .*contains the server's hierarchy delimiter '.'" "$T/d"
check "the rest went through: INBOX's 2 new messages" \
	grep -q 'INBOX: pulled 2,' "$T/d"
check "nothing was made for it on the destination" \
	bash -c "! ls -a '$NEAR_MAIL' | grep -q v1"
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/d"

# ---- folder_map: the same migration as a channel that names it ----
# (a state of its own: what is on the destination already is adopted,
# not copied again)
cat >>"$CFG" <<'YAML'
  move:
    far: far
    near: near
    migrate: true
    folder_map:
      "Lists/v1.2": "Lists/v1_2"
      "Nope/Typo": "Elsewhere"
YAML
mf migrate move >"$T/m" 2>&1
rc=$?
check "migrate CHANNEL with a folder_map: exit 0" test $rc -eq 0
check "the mapped folder was made under its new name" \
	test "$(count "$NEAR_MAIL/.Lists.v1_2")" -eq 3
same "everything once, the mapped folder included, nothing copied twice by the new state" \
	"$(inv far_harness "s#^Lists/v1\.2\t#Lists/v1_2\t#; $to_dot")" \
	"$(inv near_harness '')"
check "the run adopted the 44 already there and copied the 3 of the mapped folder only" \
	grep -q 'move: 6 folders (0 unchanged): pulled 3,' "$T/m"
check "a folder_map entry that names nothing is warned about" \
	grep -q "move: folder_map: no far folder 'Nope/Typo' and no near folder 'Elsewhere'" "$T/m"
check "the mapped pair is shown with both names" \
	grep -q 'Lists/v1.2 <-> Lists/v1_2: pulled 3,' "$T/m"
mf migrate --verify move >"$T/mv" 2>&1
check "--verify move: all 47 are on the destination" \
	grep -q 'all 47 far messages are on near' "$T/mv"
mf sync move >"$T/ms" 2>&1
check "sync of a migrate channel: the same, nothing to do" \
	bash -c "grep -q 'pulled 0, pushed 0' '$T/ms' && ! grep -q 'pushed [1-9]' '$T/ms'"
same "the source is unchanged by all of it" \
	"$(inv far_harness '' | grep -v -e v1.2 -e m1[67].in)" "$src_before"
mf migrate c >"$T/mc" 2>&1
check "migrate of a two-way channel is refused: exit 2" test $? -eq 2
check "with what to add" grep -q "add 'migrate: true'" "$T/mc"
[ "$fails" -eq 0 ] || sed 's/^/# /' "$T/m" "$T/mv" "$T/ms" "$T/mc"
finish
