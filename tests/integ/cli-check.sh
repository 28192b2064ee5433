#!/bin/bash
# mailferry check: every example configuration is accepted, a typo is
# reported with FILE:LINE:COL and exit 2, an unknown channel gives exit 2.
# Needs no server: check never connects nor runs password commands.
set -u

: "${MAILFERRY:?set by meson}" "${MF_SOURCE_ROOT:?set by meson}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a predictable environment: no variables from the developer's session
export HOME="$tmp/home" XDG_STATE_HOME= XDG_CONFIG_HOME=
unset MAILFERRY_ISP_PASSWORD
mkdir -p "$HOME"

fails=0 n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

examples=("$MF_SOURCE_ROOT"/examples/*.yaml)
if [ ! -e "${examples[0]}" ]; then
	echo "Bail out! no examples in $MF_SOURCE_ROOT/examples"
	exit 1
fi
for f in "${examples[@]}"; do
	name=${f##*/}
	if out=$("$MAILFERRY" check -c "$f" 2>&1) &&
	   grep -q ' <-> near ' <<<"$out" &&
	   ! grep -q "$HOME" <<<"$out"; then
		ok "example $name"
	else
		not_ok "example $name (exit $?)"
		sed 's/^/# /' <<<"$out"
	fi
done

# a typo in a key: exit 2, FILE:LINE:COL and a suggestion
cat >"$tmp/typo.yaml" <<'YAML'
accounts:
  work:
    host: imap.example.com
    usr: alice
YAML
out=$("$MAILFERRY" -c "$tmp/typo.yaml" check 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -qF "$tmp/typo.yaml:4:5: unknown key 'usr'" <<<"$out" &&
   grep -qF "did you mean 'user'?" <<<"$out"; then
	ok "typo: exit 2 with FILE:LINE:COL"
else
	not_ok "typo: exit $rc"
	sed 's/^/# /' <<<"$out"
fi

# a channel that does not exist
out=$("$MAILFERRY" -c "$MF_SOURCE_ROOT/examples/basic.yaml" check nosuch 2>&1)
rc=$?
if [ $rc -eq 2 ] && grep -qF "no channel 'nosuch'" <<<"$out"; then
	ok "unknown channel: exit 2"
else
	not_ok "unknown channel: exit $rc"
	sed 's/^/# /' <<<"$out"
fi

# only the channel asked for is shown
out=$("$MAILFERRY" -c "$MF_SOURCE_ROOT/examples/basic.yaml" check work 2>&1)
rc=$?
if [ $rc -eq 0 ] && grep -q '^work: far imaps://' <<<"$out"; then
	ok "one channel"
else
	not_ok "one channel: exit $rc"
	sed 's/^/# /' <<<"$out"
fi

# a password command is never run by check
cat >"$tmp/cmd.yaml" <<YAML
accounts:
  a:
    host: localhost
    user: u
    password_command: "touch $tmp/ran"
YAML
"$MAILFERRY" -c "$tmp/cmd.yaml" check >/dev/null 2>&1
if [ ! -e "$tmp/ran" ]; then
	ok "password_command not run"
else
	not_ok "password_command was run"
fi

echo "1..$n"
[ $fails -eq 0 ]
