#!/bin/bash
# mailferry list against the harness Dovecot over IMAPS, STARTTLS and the
# tunnel: folders with counts, unseen and roles in aligned columns; a
# channel name lists its far side; an unknown name exits 2; a wrong
# password exits 3 with the server's text; the -D trace never shows the
# password.  Skips (exit 77) without Dovecot.
set -u

: "${MAILFERRY:?set by meson}" "${MF_HARNESS:?set by meson}"
: "${MF_TESTDATA:?set by meson}"
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || {
	echo "1..0 # SKIP dovecot not installed"
	exit 77
}
# shellcheck disable=SC1090
. "$MF_HARNESS"
mf_harness_start >/dev/null 2>&1 || { echo "Bail out! harness failed"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; mf_harness_stop' EXIT
export HOME="$tmp/home" XDG_STATE_HOME= XDG_CONFIG_HOME=
mkdir -p "$HOME"

fails=0 n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() {	# check NAME COMMAND...: the command must succeed
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

mf_harness seed INBOX "$MF_TESTDATA"/messages/spamassassin/nice-00{1,2,3} \
	>/dev/null 2>&1
mf_harness seed INBOX --flags S "$MF_TESTDATA"/messages/spamassassin/nice-004 \
	>/dev/null 2>&1
mf_harness doveadm mailbox create Sent "Entwürfe" Archive/2023 >/dev/null

export MF_TEST_PW=$MF_PASS
tunnel=${MF_TUNNEL//\\/\\\\}
tunnel=${tunnel//\"/\\\"}
cat >"$tmp/cfg.yaml" <<YAML
accounts:
  imaps:
    host: localhost
    port: $MF_IMAPS_PORT
    tls: implicit
    user: $MF_USER
    password_env: MF_TEST_PW
    ca_file: $MF_CA_FILE
  starttls:
    host: localhost
    port: $MF_IMAP_PORT
    tls: starttls
    user: $MF_USER
    password_env: MF_TEST_PW
    ca_file: $MF_CA_FILE
  tun:
    tunnel: "$tunnel"
  badpw:
    host: localhost
    port: $MF_IMAPS_PORT
    tls: implicit
    user: $MF_USER
    password_env: MF_TEST_BADPW
    ca_file: $MF_CA_FILE
stores:
  local:
    maildir: $tmp/mail
channels:
  work:
    far: imaps
    near: local
YAML
export MF_TEST_BADPW=wrong-password

for acct in imaps starttls tun work; do
	out=$("$MAILFERRY" -c "$tmp/cfg.yaml" list "$acct" 2>"$tmp/err")
	rc=$?
	if [ $rc -eq 0 ] &&
	   grep -Eq '^INBOX +4  \(3 unseen\)  inbox$' <<<"$out" &&
	   grep -Eq '^Archive +-$' <<<"$out" &&
	   grep -Eq '^Archive/2023 +0$' <<<"$out" &&
	   grep -Eq '^Entwürfe +0$' <<<"$out" &&
	   grep -Eq '^Sent +0$' <<<"$out"; then
		ok "list $acct"
	else
		not_ok "list $acct (exit $rc)"
		sed 's/^/# /' <<<"$out" "$tmp/err"
	fi
	# columns: every count ends in the same column (ASCII lines only:
	# awk may count bytes, and the padding counts characters)
	cols=$(grep -a '^[ -~]*$' <<<"$out" |
		awk '{ match($0, /  +[-0-9]+/); print RSTART + RLENGTH }' |
		sort -u | wc -l)
	check "list $acct: aligned" test "$cols" -eq 1
done

out=$("$MAILFERRY" -c "$tmp/cfg.yaml" -D list starttls 2>&1)
check "trace shows STARTTLS" grep -q '^C: A1 STARTTLS' <<<"$out"
check "trace redacts the login" grep -q 'AUTHENTICATE PLAIN <redacted>' <<<"$out"
if grep -qF "$MF_PASS" <<<"$out"; then
	not_ok "password not in the trace"
else
	ok "password not in the trace"
fi

"$MAILFERRY" -c "$tmp/cfg.yaml" list nosuch >/dev/null 2>"$tmp/err"
check "unknown name: exit 2" test $? -eq 2

"$MAILFERRY" -c "$tmp/cfg.yaml" list badpw >/dev/null 2>"$tmp/err"
rc=$?
check "wrong password: exit 3" test $rc -eq 3
check "wrong password: server text shown" \
	grep -q 'refused: NO \[AUTHENTICATIONFAILED\]' "$tmp/err"

echo "1..$n"
exit $((fails > 0))
