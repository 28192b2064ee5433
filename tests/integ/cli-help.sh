#!/bin/bash
# Help, man pages and friendlier errors (mailferry(1), mailferry.yaml(5)):
#   a. every command of main.c's table: `help CMD`, `CMD --help`, `CMD -h`
#      exit 0 with its usage, and it is in mailferry(1)
#   b. `help config` lists the parser's keys: each one is accepted by the
#      parser in its section (never "unknown key") and is in
#      mailferry.yaml(5), and the man page documents no other key
#   c. both man pages render without a groff warning
#   d. "did you mean" for commands, channels, accounts and folders; a
#      pattern matching no folder warned about; no "far: far:"
#   e. fetch -n lists what would be fetched and changes nothing; sync -n
#      says "match" where the real run says "matched", and a move (local
#      or on the server) is a "would move", not a copy and a deletion;
#      fetch prints no total for a channel that never synced
set -u
. "$(dirname "$0")/lib.sh"
MF_STORE_OPTS="fsync: false"
mf_setup "$@"
M=$MAILFERRY
# all CMD1 -- CMD2 ...: every command (split by --) succeeds, for check
all() {
	local cmd=()
	while [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then
			"${cmd[@]}" || return 1
			cmd=()
		else
			cmd+=("$1")
		fi
		shift
	done
	"${cmd[@]}"
}
MAN1=$MF_SOURCE_ROOT/cmd/mailferry.1
MAN5=$MF_SOURCE_ROOT/cmd/mailferry.yaml.5

# --- a. commands
cmds=$(sed -n 's/^\t{ "\([a-z-]*\)", cmd_[a-z_]*,.*/\1/p' \
	"$MF_SOURCE_ROOT/cmd/main.c")
check "main.c's command table was read" test "$(echo "$cmds" | wc -w)" -ge 7
for c in $cmds; do
	"$M" help "$c" >"$T/h" 2>&1
	rc=$?
	check "help $c exits 0 with its usage" \
		test $rc -eq 0 -a "$(grep -c "^usage: mailferry .*$c" "$T/h")" -eq 1
	"$M" "$c" --help >"$T/h2" 2>&1
	rc=$?
	check "$c --help exits 0, same text" \
		all test $rc -eq 0 -- cmp -s "$T/h" "$T/h2"
	"$M" "$c" -h >/dev/null 2>&1
	check "$c -h exits 0" test $? -eq 0
	# roff writes a hyphen in a name as \- (import\-mbsyncrc)
	pat=${c//-/\\\\?-}
	check "$c is in mailferry(1) COMMANDS" \
		grep -Eq "^\.(B|BR|BI) $pat( |\$)" "$MAN1"
	check "$c is in the general help" grep -q "^  $c " <("$M" help)
done
check "help lists no command main.c lacks" test \
	"$("$M" help | sed -n '/^commands:/,/^$/p' | awk 'NF {print $1}' |
		grep -v commands: | sort)" = "$(echo "$cmds" | sort)"
"$M" sync --help -c /nonexistent >/dev/null 2>&1
check "sync --help needs no configuration" test $? -eq 0
"$M" help sync | grep -q -- "--dry-run"
check "help sync names its options" test $? -eq 0
"$M" help nosuch >/dev/null 2>&1
check "help of an unknown command exits 2" test $? -eq 2

# --- b. configuration keys
"$M" help config >"$T/keys"
check "help config exits 0" test $? -eq 0
# section key: from the headers of help config
awk '/^top level:/ {s="top"} /^accounts:/ {s="account"}
     /^stores:/ {s="store"} /^channels:/ {s="channel"}
     /^  [a-z_]+ / {print s, $1}' "$T/keys" >"$T/keylist"
check "help config lists the 38 keys or more" test "$(wc -l <"$T/keylist")" -ge 38
# cfg_with SECTION KEY: a config with KEY: ~ added to that section
cfg_with() {
	local top="" acct="" store="" chan=""
	case $1 in
	top) top="$2: ~" ;; account) acct="    $2: ~" ;;
	store) store="    $2: ~" ;; channel) chan="    $2: ~" ;;
	esac
	printf '%s\naccounts:\n  a:\n    host: h\n    user: u\n%s\nstores:\n  s:\n    maildir: %s/m\n%s\nchannels:\n  c:\n    far: a\n    near: s\n%s\n' \
		"$top" "$acct" "$T" "$store" "$chan"
}
bad_unknown=""
bad_man=""
while read -r sec key; do
	cfg_with "$sec" "$key" >"$T/k.yaml"
	"$M" -c "$T/k.yaml" check >"$T/k.out" 2>&1
	grep -q "unknown key" "$T/k.out" && bad_unknown="$bad_unknown $sec.$key"
	grep -Eq "^\.BR? $key( |\$)" "$MAN5" || bad_man="$bad_man $key"
done <"$T/keylist"
check "the parser accepts every key help config lists${bad_unknown}" \
	test -z "$bad_unknown"
check "every key is in mailferry.yaml(5)${bad_man}" test -z "$bad_man"
for sec in top account store channel; do
	cfg_with $sec no_such_key >"$T/k.yaml"
	"$M" -c "$T/k.yaml" check >"$T/k.out" 2>&1
	check "the parser refuses a key not in the table ($sec)" \
		grep -q "unknown key 'no_such_key'" "$T/k.out"
done
# and the man page documents no key the parser does not know
extra=$(sed -n 's/^\.BR \([a-z_]*\) " (.*/\1/p' "$MAN5" | sort -u |
	comm -23 - <(awk '{print $2}' "$T/keylist" | sort -u) | tr '\n' ' ')
check "mailferry.yaml(5) has no key the parser lacks: $extra" test -z "$extra"
check "the keys the examples use are in mailferry(1) (auth_mechs, trash)" \
	all grep -q "auth_mechs:" "$MAN1" -- grep -q "trash:" "$MAN1"

# --- c. the man pages render
for p in "$MAN1" "$MAN5"; do
	groff -man -Tutf8 -ww "$p" >/dev/null 2>"$T/groff"
	check "$(basename "$p") renders without warnings" test ! -s "$T/groff"
	if command -v man >/dev/null; then
		MANWIDTH=80 man -l "$p" >"$T/man" 2>/dev/null
		check "man -l $(basename "$p") shows it" test -s "$T/man"
	fi
done

# --- d. friendlier errors
"$M" synk >"$T/e" 2>&1
check "a mistyped command: did you mean" \
	grep -q "unknown command 'synk'; did you mean 'sync'?" "$T/e"
mf sync cc >"$T/e" 2>&1
rc=$?
check "a mistyped channel: did you mean, exit 2" \
	all test $rc -eq 2 -- grep -q "no channel 'cc'.*did you mean 'c'?" "$T/e"
for c in check status; do
	mf $c cc >"$T/e" 2>&1
	rc=$?
	check "$c of a mistyped channel: did you mean, exit 2" \
		all test $rc -eq 2 -- grep -q "did you mean 'c'?" "$T/e"
done
mf list srvv >"$T/e" 2>&1
check "a mistyped account: did you mean" grep -q "did you mean 'srv'?" "$T/e"
mf list zzzzzz >"$T/e" 2>&1
rc=$?
check "no suggestion when nothing is close" \
	all test $rc -eq 2 -- test "$(grep -c "did you mean" "$T/e")" -eq 0

gen_msgs "$T/gen" 1 6
mf_harness seed INBOX "$T"/gen/m{1..4} >/dev/null 2>&1
mf_harness seed Archive "$T"/gen/m{5..6} >/dev/null 2>&1
mf sync c:INBXO >"$T/e" 2>&1
rc=$?
check "a mistyped folder: did you mean, exit 2" \
	all test $rc -eq 2 -- grep -q "no folder 'INBXO'.*did you mean 'INBOX'?" "$T/e"

# folders patterns: one matching nothing is named; an exclusion is not
cp "$CFG" "$T/base.yaml"
mf_config 'folders: ["INBOX", "Archive", "Nosuch*", "!Junk"]'
mf sync >"$T/pat" 2>&1
check "a pattern matching no folder: a warning naming it" \
	grep -q "warning: c: folders: pattern 'Nosuch\*' matches no folder" "$T/pat"
check "patterns that match are not warned about" \
	test "$(grep -c "matches no folder" "$T/pat")" -eq 1
check "an exclusion matching nothing is not warned about" \
	test "$(grep -c "'!Junk'" "$T/pat")" -eq 0
same_sides "the sync with the patterns converged"
cp "$T/base.yaml" "$CFG"

# an account named far: "far: " once, not "far: far:"
sed -e 's/^  srv:$/  far:/' -e 's/far: srv$/far: far/' \
	-e "s/port: $MF_IMAPS_PORT/port: 1/" "$CFG" >"$T/far.yaml"
"$M" -c "$T/far.yaml" sync >"$T/e" 2>&1
check "an unreachable account named far: exit 4" test $? -eq 4
check "its error does not stutter (far: far:)" \
	test "$(grep -c "far: far:" "$T/e")" -eq 0 -a "$(grep -c "far: connect" "$T/e")" -eq 1

# --- e. dry runs
# sync -n after the state is lost: the messages on both sides pair up
mv "$T/state/c.db" "$T/c.db.saved"
mf sync -n >"$T/dry" 2>&1
check "sync -n says match, not pair" \
	all grep -q "INBOX: would .*match 4" "$T/dry" -- \
	test "$(grep -c "pair [0-9]" "$T/dry")" -eq 0
mf sync >"$T/real" 2>&1
check "and the real run says matched" grep -q "INBOX: .*matched 4" "$T/real"
same_sides "sides agree after matching"

# a local move: "would move", no push, no expunge
f=$(local_file INBOX m1.g)
mv "$f" "$LOCAL/Archive/cur/"
mf sync -n >"$T/dry" 2>&1
check "sync -n lists the move as would move" \
	grep -q "INBOX -> Archive: near .* moved: would move far UID" "$T/dry"
check "and not as a push or an expunge" test "$(grep -Ec \
	": (pull |push )|expunge-far|delete-near|push [1-9]|delete [1-9]" \
	"$T/dry")" -eq 0
mf sync >"$T/real" 2>&1
check "the real run moved it" grep -q "Archive: .*moved 1" "$T/real"
# and a move on the server
mf_harness doveadm move Archive mailbox INBOX uid "$(server_uid INBOX m2.g)" \
	>/dev/null 2>&1
mf sync -n >"$T/dry" 2>&1
check "sync -n lists a server move as would move" \
	grep -q "INBOX -> Archive: far UID .* moved: would move near " "$T/dry"
check "and not as a pull or a deletion" test "$(grep -Ec \
	": (pull |push )|expunge-far|delete-near|pull [1-9]|delete [1-9]" \
	"$T/dry")" -eq 0
mf sync >"$T/real" 2>&1
check "the real run moved it" grep -q "Archive: .*moved 1" "$T/real"
same_sides "sides agree after the moves"

# fetch -n: a placeholder is listed, nothing changes
big=$T/big
{ printf 'From: a@example.org\nSubject: big\nMessage-ID: <big1@test>\n\n'
  head -c 30000 /dev/zero | tr '\0' 'x' | fold -w 70; } >"$big"
mf_harness seed INBOX "$big" >/dev/null 2>&1
mf_config "max_size: 10K"
mf -q sync
check "the big message arrived as a placeholder" \
	grep -q "mailferry fetch c:INBOX" "$(local_file INBOX big1)"
before=$(sig "$LOCAL")
mf fetch -n >"$T/f" 2>&1
rc=$?
check "fetch -n exits 0" test $rc -eq 0
check "fetch -n lists what would be fetched" \
	grep -q "^c: INBOX: would fetch 1$" "$T/f"
mf -n fetch c:INBOX >"$T/f2" 2>&1
check "-n fetch says the same" cmp -s "$T/f" "$T/f2"
check "fetch -n changed nothing" test "$before" = "$(sig "$LOCAL")"
mf fetch >"$T/f" 2>&1
check "the real fetch fetched it" grep -q "fetched 1 placeholders" "$T/f"

# the summary only for what ran: a channel never synced has no total
sed "s#^state_dir: .*#state_dir: $T/state-new#" "$CFG" >"$T/new.yaml"
"$M" -c "$T/new.yaml" fetch >"$T/f" 2>&1
rc=$?
check "fetch of a channel never synced: exit 0, says so, no total" \
	all test $rc -eq 0 -- grep -q "^c: never synced: nothing to fetch$" "$T/f" \
	-- test "$(grep -c "fetched" "$T/f")" -eq 0
finish
