#!/bin/bash
# No password anywhere: against the harness Dovecot with a password full of
# quoting characters, a space and non-ASCII, run sync, list, status and
# check at the highest verbosity (-v -v -D --debug=all), with the password
# from `password:` and from `password_command:`, logging in with LOGIN (a
# literal: the password has 8-bit bytes) and with AUTHENTICATE PLAIN
# (SASL-IR).  Every run must succeed, and no stdout, stderr, state file or
# Maildir file may contain the password, a part of it, its base64, or the
# base64 of PLAIN's "\0user\0password".  Skips (exit 77) without Dovecot.
set -u

PW='p"a\'"'"'s$s{w}o%r\\d p'$'\xc3\xa4''ss w'$'\xc3\xb6''rd'
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"
mf_setup --pass "$PW"
mf_harness seed INBOX "$MF_TESTDATA"/messages/spamassassin/nice-00{1,2} \
	>/dev/null 2>&1

check "the harness took the password" test "$MF_PASS" = "$PW"
printf '%s\n' "$PW" >"$T/pw"
chmod 600 "$T/pw"
# YAML single quotes: only ' needs doubling
yq=\'${PW//\'/\'\'}\'

# account NAME MECH SOURCE-LINE
account() {
	cat <<YAML
  $1:
    host: localhost
    port: $MF_IMAPS_PORT
    tls: implicit
    user: $MF_USER
    ca_file: $MF_CA_FILE
    auth_mechs: [$2]
    $3
YAML
}
{
	echo "state_dir: $T/state"
	echo "accounts:"
	account plain-file plain "password: $yq"
	account login-file login "password: $yq"
	account plain-cmd plain "password_command: \"cat $T/pw\""
	account login-cmd login "password_command: \"cat $T/pw\""
	echo "stores:"
	for a in plain-file login-file plain-cmd login-cmd; do
		printf '  m-%s:\n    maildir: %s\n' "$a" "$T/mail/$a"
	done
	echo "channels:"
	for a in plain-file login-file plain-cmd login-cmd; do
		printf '  %s:\n    far: %s\n    near: m-%s\n' "$a" "$a" "$a"
	done
} >"$CFG"

out=$T/out
mkdir -p "$out"
for a in plain-file login-file plain-cmd login-cmd; do
	for c in sync list status check; do
		mf -v -v -D --debug=all "$c" "$a" >"$out/$a.$c.out" \
			2>"$out/$a.$c.err"
		check "$a: $c succeeds" test $? -eq 0
	done
	check "$a: sync fetched the messages" \
		test "$(find "$T/mail/$a/INBOX/cur" "$T/mail/$a/INBOX/new" -type f | wc -l)" -eq 2
	check "$a: list shows INBOX" grep -q '^INBOX ' "$out/$a.list.out"
	case $a in
	plain-*) want='AUTHENTICATE PLAIN <redacted>' ;;
	login-*) want='LOGIN <redacted>' ;;
	esac
	check "$a: the trace shows the login ($want)" \
		grep -q "C: A[0-9]* $want" "$out/$a.sync.err"
done
# Nothing is uploaded, so the only literal we send is LOGIN's password: the
# trace must not give even its length away ("C: {25 bytes}").
check "no literal sent is traced by its size" \
	eval '! grep -qaE "C: \{[0-9]+ bytes\}" "$out"/*.err'
check "the LOGIN literal is traced as <redacted>" \
	grep -qx "C: <redacted>" "$out/login-cmd.sync.err"

# The forms a leak could take: the password, its pieces around the quoting
# characters, base64 of it and of PLAIN's message.
forms=("$PW" 's$s{w}o%r' 'p"a' "w$(printf '\xc3\xb6')rd"
	"$(printf '%s' "$PW" | base64 -w0)"
	"$(printf '\0%s\0%s' "$MF_USER" "$PW" | base64 -w0)")
places=("$out" "$T/state" "$T/mail" "$HOME")
check "there is something to search" \
	test "$(find "${places[@]}" -type f | wc -l)" -gt 30
for f in "${forms[@]}"; do
	hits=$(grep -rlaF -e "$f" "${places[@]}")
	if [ -z "$hits" ]; then
		ok "not found: form $((${#f})) chars"
	else
		not_ok "found a form of the password in:"
		sed 's/^/#   /' <<<"$hits"
	fi
done
finish
