#!/usr/bin/env bash
# Rewrites tests/fuzz/corpus-session/ from real Dovecot sessions: starts
# the test Dovecot (tests/harness/dovecot.sh), runs `mailferry sync`
# through session-seed.py's recording tunnel and turns what the server
# said into fuzz-session seeds (format in fuzz-session.c).
#
#   tests/fuzz/make-session-corpus.sh MAILFERRY-BINARY
#
# Seeds: a preauth tunnel, two runs with server-side changes between them
# (flags, a keyword, an expunge, a move between folders, a new message); a LOGIN over a plain
# port with a local message to push; maildir++ with local changes between
# runs (\Seen, a deletion); a placeholder for a message over max_size; a
# server without UIDPLUS, CONDSTORE or MOVE, two runs.
set -euo pipefail
mailferry=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
data=$here/../data/messages/mailkit
out=$here/corpus-session
export MF_HARNESS=$here/../harness/dovecot.sh
# shellcheck disable=SC1090
. "$MF_HARNESS"
mf_harness_start >/dev/null || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; mf_harness_stop' EXIT

mf_harness seed INBOX "$data"/message.14.msg "$data"/message.2.msg >/dev/null
mf_harness seed INBOX --flags S "$data"/message.19.msg >/dev/null
mf_harness seed Lists/dev --flags FS "$data"/message.18.msg \
	"$data"/message.15.msg >/dev/null
mf_harness doveadm flags add '$Forwarded' mailbox INBOX 2
mf_harness doveadm flags add 'Work' mailbox Lists/dev 1

cat >"$tmp/tun-pre.sh" <<EOF
exec python3 "$here/session-seed.py" record "\$REC" -- sh -c '$MF_TUNNEL'
EOF
cat >"$tmp/tun-tcp.sh" <<EOF
exec python3 "$here/session-seed.py" record "\$REC" --tcp 127.0.0.1 $MF_IMAP_PORT
EOF
export MF_SEED_PW=$MF_PASS

# config NAME TUNNEL-SCRIPT LAYOUT [EXTRA-CHANNEL-LINE]
config() {
	cat >"$tmp/$1.yaml" <<EOF
state_dir: $tmp/$1-state
accounts:
  far:
    tunnel: "sh $tmp/$2"
    user: $MF_USER
    password_env: MF_SEED_PW
stores:
  near:
    maildir: $tmp/$1-mail
    layout: $3
channels:
  fuzz:
    far: far
    near: near
    ${4:-}
EOF
}

# run NAME N: one sync, recorded into $tmp/NAME.N
run() {
	REC=$tmp/$1.$2 "$mailferry" -q -c "$tmp/$1.yaml" sync >/dev/null ||
		echo "note: $1 run $2 exited $?" >&2
}

# The message fuzz-session.c's option n puts in the near INBOX, byte for
# byte, so that the server's answers to its APPEND fit.
local_msg() {
	mkdir -p "$1"/{cur,new,tmp}
	printf '%s\r\n' "From: a@example.org" "To: b@example.org" \
		"Subject: local 1" "Message-ID: <local1@example.org>" \
		"Date: Mon, 1 Jan 2024 10:00:00 +0000" "" "written here" \
		>"$1/cur/1700000000.local1.host:2,"
}

rm -rf "$out"
mkdir -p "$out"

config pre tun-pre.sh fs
run pre 1
mf_harness doveadm flags add '\Flagged' mailbox INBOX 1
mf_harness doveadm flags add 'Project' mailbox INBOX 3
mf_harness doveadm expunge mailbox Lists/dev uid 2
mf_harness doveadm move Lists/dev mailbox INBOX uid 2
mf_harness seed INBOX "$data"/message.25.msg >/dev/null
run pre 2
python3 "$here/session-seed.py" seed "$tmp"/pre.1 "$tmp"/pre.2 \
	>"$out/preauth-2runs"

config login tun-tcp.sh fs
local_msg "$tmp/login-mail/INBOX"
run login 1
python3 "$here/session-seed.py" seed --opts n "$tmp"/login.1 \
	>"$out/login-push"

config pp tun-pre.sh maildir++
run pp 1
first=1
for f in "$tmp"/pp-mail/cur/*; do
	if ((first)); then
		rm -f "$f"
		first=0
	elif [[ $f != *:* ]]; then
		mv "$f" "$f:2,S"
	elif [[ ${f##*:} != *S* ]]; then
		mv "$f" "${f}S"
	fi
done
run pp 2
python3 "$here/session-seed.py" seed --opts pcd "$tmp"/pp.1 "$tmp"/pp.2 \
	>"$out/maildirpp-local-changes"

config big tun-pre.sh fs 'max_size: 2000'
run big 1
python3 "$here/session-seed.py" seed --opts s "$tmp"/big.1 \
	>"$out/max-size"

# A server with none of the extensions: no UIDPLUS (an APPEND found again
# by Message-ID, \Deleted without UID EXPUNGE), no CONDSTORE, no MOVE.
mf_harness_stop
mf_harness_start --caps "IMAP4rev1 LITERAL+" >/dev/null || exit 1
cat >"$tmp/tun-old.sh" <<EOF
exec python3 "$here/session-seed.py" record "\$REC" -- sh -c '$MF_TUNNEL'
EOF
mf_harness seed INBOX "$data"/message.14.msg "$data"/message.2.msg >/dev/null
mf_harness seed Archive --flags S "$data"/message.19.msg >/dev/null
config old tun-old.sh fs
local_msg "$tmp/old-mail/INBOX"
run old 1
mf_harness doveadm expunge mailbox INBOX uid 1
for f in "$tmp"/old-mail/INBOX/cur/*; do
	[[ $f == *:* ]] || mv "$f" "$f:2,S"
done
run old 2
python3 "$here/session-seed.py" seed --opts nc "$tmp"/old.1 "$tmp"/old.2 \
	>"$out/no-extensions-2runs"
ls -l "$out"
