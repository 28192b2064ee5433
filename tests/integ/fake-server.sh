#!/bin/bash
# mailferry against the scripted fake server (tests/fake/): what Dovecot
# will not do.  Each case runs `mailferry list` and asserts on the exit
# code, the message and the client lines the server recorded:
#   (a) STARTTLS required but not offered, or PREAUTH in cleartext:
#       clear error, no LOGIN/AUTHENTICATE ever sent, password nowhere;
#   (b) an untagged response injected after the OK to STARTTLS (same TCP
#       segment): error, no credentials sent;
#   (c) a certificate for another host name, a self-signed one (and its
#       fingerprint pin accepted), a good one;
#   (d) a 2 GB literal and a never-ending line: protocol error with
#       bounded memory (ulimit -v, unless built with ASan);
#   (e) a tagged response with a tag never sent;
#   (f) an ALERT with terminal escapes, shown sanitized.
set -u

FAKE_TIMEOUT=60
. "$(dirname "$0")/lib-fake.sh"
command -v openssl >/dev/null || { echo "1..0 # SKIP no openssl"; exit 77; }
PW=$MF_FAKE_PW

# ---- certificates: a CA, localhost, wrong.example, self-signed --------
mkcert() {	# mkcert NAME SAN [selfsigned]
	local name=$1 san=$2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$tmp/$name.key" -out "$tmp/$name.csr" \
		-subj "/CN=${san#*:}" 2>/dev/null || return 1
	printf 'subjectAltName=%s\n' "$san" >"$tmp/$name.ext"
	if [ "${3:-}" = selfsigned ]; then
		openssl x509 -req -in "$tmp/$name.csr" -signkey "$tmp/$name.key" \
			-days 2 -extfile "$tmp/$name.ext" \
			-out "$tmp/$name.pem" 2>/dev/null
	else
		openssl x509 -req -in "$tmp/$name.csr" -CA "$tmp/ca.pem" \
			-CAkey "$tmp/ca.key" -CAcreateserial -days 2 \
			-extfile "$tmp/$name.ext" -out "$tmp/$name.pem" \
			2>/dev/null
	fi
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 2 -subj "/CN=fake CA" \
	2>/dev/null &&
	mkcert localhost "DNS:localhost,IP:127.0.0.1" &&
	mkcert wrong "DNS:wrong.example" &&
	mkcert self "DNS:localhost" selfsigned ||
	{ echo "Bail out! cannot make certificates"; exit 1; }

# ---- running one case --------------------------------------------------
# config TLS [extra yaml lines...]: the account "fake" for the server
config() {
	local tls=$1 line
	shift
	{
		echo "accounts:"
		echo "  fake:"
		echo "    host: localhost"
		echo "    port: $PORT"
		echo "    tls: $tls"
		echo "    user: alice"
		[[ " $* " == *" oauth_token_command:"* ]] ||
			echo "    password_env: MF_FAKE_PW"
		[[ " $* " == *" timeout:"* ]] || echo "    timeout: 20"
		[ "$tls" = none ] && echo "    allow_insecure: true"
		for line in "$@"; do echo "    $line"; done
	} >"$tmp/cfg.yaml"
}

# run [ulimit -v KB]: mailferry list fake; sets rc, $tmp/out, $tmp/err,
# and waits for the server to finish
run() {
	local limit=${1:-unlimited}

	(ulimit -v "$limit"; exec "$MAILFERRY" -c "$tmp/cfg.yaml" list fake \
		>"$tmp/out" 2>"$tmp/err")
	rc=$?
	fake_wait
}

list() {
	config "$@"
	run
}

no_credentials() {
	absent 'LOGIN|AUTHENTICATE' "$tmp/log" && absent "$PW" "$tmp/log" &&
		absent "$PW" "$tmp/err" && absent "$PW" "$tmp/out"
}

# (a) STARTTLS required, not offered
fake_start starttls-missing.script
list starttls
check "(a) no STARTTLS: exit 4" test "$rc" -eq 4
check "(a) no STARTTLS: says so" grep -q 'does not offer STARTTLS' "$tmp/err"
check "(a) no STARTTLS: nothing sent" absent '^C:' "$tmp/log"
check "(a) no STARTTLS: no credentials" no_credentials

fake_start starttls-missing-nocode.script
list starttls
check "(a) no STARTTLS after CAPABILITY: exit 4" test "$rc" -eq 4
check "(a) no STARTTLS after CAPABILITY: only CAPABILITY sent" \
	test "$(grep -c '^C:' "$tmp/log")" -eq 1
check "(a) no STARTTLS after CAPABILITY: no credentials" no_credentials

fake_start starttls-preauth.script
list starttls
check "(a) PREAUTH with STARTTLS required: exit 4" test "$rc" -eq 4
check "(a) PREAUTH with STARTTLS required: says so" grep -q PREAUTH "$tmp/err"
check "(a) PREAUTH with STARTTLS required: no credentials" no_credentials

# (b) response injection after the OK to STARTTLS
fake_start starttls-inject.script --cert "$tmp/localhost.pem" --key "$tmp/localhost.key"
list starttls "ca_file: $tmp/ca.pem"
check "(b) injection: exit 4" test "$rc" -eq 4
check "(b) injection: named" grep -q 'injection' "$tmp/err"
check "(b) injection: no TLS started" absent 'TLS on' "$tmp/log"
check "(b) injection: no credentials" no_credentials

# STARTTLS done right, AUTH=PLAIN offered only under TLS (QUIRKS.md)
fake_start starttls-ok.script --cert "$tmp/localhost.pem" --key "$tmp/localhost.key"
list starttls "ca_file: $tmp/ca.pem"
check "STARTTLS, then PLAIN: exit 0" test "$rc" -eq 0
check "STARTTLS, then PLAIN: listed" grep -Eq '^INBOX +7  \(2 unseen\)  inbox$' "$tmp/out"
check "STARTTLS, then PLAIN: script completed" grep -q '# script done' "$tmp/log"

# (c) certificates
fake_start tls-greeting.script --tls --cert "$tmp/wrong.pem" --key "$tmp/wrong.key"
list implicit "ca_file: $tmp/ca.pem"
check "(c) wrong host: exit 4" test "$rc" -eq 4
check "(c) wrong host: names host and reason" \
	grep -q "localhost:$PORT: TLS certificate verification failed: hostname mismatch: the certificate is not valid for 'localhost'" "$tmp/err"
check "(c) wrong host: nothing sent" absent '^C:' "$tmp/log"

fake_start tls-greeting.script --tls --cert "$tmp/self.pem" --key "$tmp/self.key"
list implicit
fp=$(grep -o 'fingerprint: sha256:[0-9a-f]*' "$tmp/err" | head -n 1)
fp=${fp#fingerprint: }
check "(c) self-signed: exit 4" test "$rc" -eq 4
check "(c) self-signed: reason and fingerprint to pin" \
	grep -q 'verification failed: self-signed certificate.*fingerprint: sha256:[0-9a-f]\{64\}' "$tmp/err"
fake_start tls-greeting.script --tls --cert "$tmp/self.pem" --key "$tmp/self.key"
list implicit "fingerprint: \"$fp\""
check "(c) self-signed, pinned: listed" \
	grep -Eq '^INBOX +7  \(2 unseen\)  inbox$' "$tmp/out"
fake_start tls-greeting.script --tls --cert "$tmp/wrong.pem" --key "$tmp/wrong.key"
list implicit "fingerprint: \"$fp\""
check "(c) pin of another certificate: refused" \
	grep -q 'does not match the pinned fingerprint' "$tmp/err"

fake_start tls-greeting.script --tls --cert "$tmp/localhost.pem" --key "$tmp/localhost.key"
list implicit "ca_file: $tmp/ca.pem"
check "(c) good certificate: exit 0" test "$rc" -eq 0
check "(c) good certificate: listed" grep -Eq '^INBOX +7' "$tmp/out"

# (d) huge input, bounded memory
if ldd "$MAILFERRY" 2>/dev/null | grep -q asan; then
	limit=unlimited		# ASan reserves terabytes of address space
else
	limit=204800		# 200 MB
fi
fake_start huge-literal.script
config none
run "$limit"
check "(d) 2 GB literal: exit 4" test "$rc" -eq 4
check "(d) 2 GB literal: protocol error" grep -q 'protocol error.*literal' "$tmp/err"

fake_start flood.script
config none
run "$limit"
check "(d) endless line: exit 4" test "$rc" -eq 4
check "(d) endless line: protocol error" grep -q 'protocol error' "$tmp/err"

# (e) unknown tag
fake_start unknown-tag.script
list none
check "(e) unknown tag: exit 4" test "$rc" -eq 4
check "(e) unknown tag: named" grep -q 'tag that was never sent: ZZ9' "$tmp/err"
check "cleartext warned" grep -q 'cleartext' "$tmp/err"

# OAuth: XOAUTH2's exact initial response; OAUTHBEARER refused (exit 3)
fake_start xoauth2.script
list none 'oauth_token_command: "echo tok123"' "auth_mechs: [xoauth2]"
check "XOAUTH2: exit 0" test "$rc" -eq 0
check "XOAUTH2: script completed" grep -q '# script done' "$tmp/log"
fake_start oauthbearer-fail.script
list none 'oauth_token_command: "echo tok123"'
check "OAUTHBEARER refused: exit 3" test "$rc" -eq 3
check "OAUTHBEARER refused: server text" \
	grep -q 'refused: NO \[AUTHENTICATIONFAILED\] invalid token' "$tmp/err"
check "OAUTHBEARER refused: no token shown" absent tok123 "$tmp/err"

# a server that stops answering: the read timeout, naming host:port
fake_start slow.script
list none "timeout: 1"
check "silent server: exit 4" test "$rc" -eq 4
check "silent server: timed out" \
	grep -q "localhost:$PORT: timed out after 1 s waiting for the server" "$tmp/err"

# (f) ALERT with terminal escapes
fake_start alert.script
list none
check "(f) alert: exit 0" test "$rc" -eq 0
check "(f) alert: shown escaped" grep -qF \
	'server alert: \x1b[31mSystem going down\x1b]0;pwned\x07 at noon' "$tmp/err"
check "(f) alert: no escape bytes" absent $'\x1b|\x07' "$tmp/err"

fake_finish
