#!/usr/bin/env bash
# mailferry in two minutes, on a fresh Debian 12 (as root, or with sudo):
#
#   bash examples/demo.sh
#
# Installs what is missing, builds mailferry (build-demo/), starts a
# throwaway Dovecot on 127.0.0.1 (demo/server) holding a few hundred real
# test messages in several folders, writes demo/config.yaml for it and runs
# `mailferry check`, `list` and `sync` into demo/Maildir.  The server is
# stopped at the end; running the script again starts over.
#
# Environment:
#   DEMO_DIR        where to put everything (default: demo/ in the tree)
#   MAILFERRY       an already built mailferry binary (skips the build)
#   DEMO_BUILD_DIR  build directory (default: build-demo/ in the tree)
#   DEMO_NO_DEPS=1  do not install packages
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
harness=$root/tests/harness/dovecot.sh
msgs=$root/tests/data/messages
demo=${DEMO_DIR:-$root/demo}
case $demo in
/*) ;;
*) demo=$PWD/$demo ;;
esac
server=$demo/server
config=$demo/config.yaml

say()
{
	printf '\n== %s\n' "$*"
}

# -- packages and build ---------------------------------------------------
if [[ ${DEMO_NO_DEPS:-0} != 1 ]]; then
	# shellcheck disable=SC1091
	. "$root/tests/harness/deps.sh"
	pkgs=(dovecot-core dovecot-imapd openssl ca-certificates)
	if [[ -z ${MAILFERRY:-} ]]; then
		pkgs+=(gcc libc6-dev meson ninja-build pkg-config
			libsqlite3-dev libssl-dev libyaml-dev zlib1g-dev)
	fi
	mf_deps_install "${pkgs[@]}"
fi

if [[ -z ${MAILFERRY:-} ]]; then
	build=${DEMO_BUILD_DIR:-$root/build-demo}
	if [[ ! -f $build/build.ninja ]]; then
		say "building mailferry in $build"
		meson setup "$build" "$root" -Dtests=false >/dev/null
	fi
	ninja -C "$build" | tail -n 1
	MAILFERRY=$build/cmd/mailferry
	[[ -x $MAILFERRY ]] || MAILFERRY=$build/mailferry
fi
[[ -x $MAILFERRY ]] || { echo "demo: no mailferry binary" >&2; exit 1; }

# -- a clean demo directory --------------------------------------------
# Only a directory this script made (it holds the marker) is removed.
if [[ -e $demo ]]; then
	if [[ ! -e $demo/.mailferry-demo ]]; then
		echo "demo: $demo exists and was not made by this script;" \
			"set DEMO_DIR elsewhere" >&2
		exit 1
	fi
	bash "$harness" stop "$server" >/dev/null 2>&1 || true
	rm -rf -- "$demo"
fi
mkdir -p "$demo"
# As root, Dovecot's mail user must be able to enter it.
chmod 755 "$demo"
: >"$demo/.mailferry-demo"

stop_server()
{
	bash "$harness" stop "$server" >/dev/null 2>&1 || true
}
trap stop_server EXIT

# -- the server -----------------------------------------------------------
say "starting a private Dovecot in $server"
eval "$(bash "$harness" start "$server" --special-use --watch $$)"
echo "listening on 127.0.0.1:$MF_IMAPS_PORT (IMAPS) and" \
	"127.0.0.1:$MF_IMAP_PORT (STARTTLS), user $MF_USER"

# Real messages from the test corpus, spread over folders, some with flags.
files()
{
	find "$msgs/$1" -type f -name "$2" ! -name '*.md' | sort
}
seed()
{
	bash "$harness" seed "$server" "$@" 2>/dev/null
}
mapfile -t nice < <(files spamassassin 'nice-*')
mapfile -t spam < <(files spamassassin 'spam-*')
mapfile -t kit < <(files mailkit '*')
mapfile -t mime < <(files mimekit '*')
mapfile -t pyt < <(files python-test_email '*')
mapfile -t odd < <(files dovecot-malformed '*')

half=$((${#nice[@]} / 2))
seed INBOX --flags S "${nice[@]:0:half}" \
	--flags FS "${nice[@]:half:3}" \
	--flags "" "${nice[@]:half+3}"
seed Lists/dev --flags S "${kit[@]:0:30}" --flags "" "${kit[@]:30}"
seed Archive --flags S "${mime[@]}" "${odd[@]}"
seed Sent --flags S "${pyt[@]}"
seed Drafts --flags D "${mime[@]:0:2}"
seed Trash --flags S "${spam[@]:0:20}"
seed Junk "${spam[@]:20}"
total=$(bash "$harness" doveadm "$server" -f tab mailbox status messages '*' |
	awk -F '\t' 'NR > 1 { n += $NF } END { print n + 0 }')
echo "seeded $total messages:"
bash "$harness" doveadm "$server" -f tab mailbox status \
	"messages unseen" '*' |
	awk -F '\t' '{ printf "  %-12s %8s %8s\n", $1, $2, $3 }'

# -- the configuration --------------------------------------------------
# YAML single quotes: only ' needs doubling.
yq()
{
	printf "'%s'" "${1//\'/\'\'}"
}
cat >"$config" <<EOF
# Written by examples/demo.sh for the throwaway server in $server.
state_dir: $(yq "$demo/state")
accounts:
  demo:
    host: 127.0.0.1
    port: $MF_IMAPS_PORT
    tls: implicit
    user: $(yq "$MF_USER")
    password_env: MF_DEMO_PASSWORD
    ca_file: $(yq "$MF_CA_FILE")
stores:
  local:
    maildir: $(yq "$demo/Maildir")
    layout: fs
channels:
  demo:
    far: demo
    near: local
EOF
export MF_DEMO_PASSWORD=$MF_PASS
say "$config"
cat "$config"

# -- mailferry ------------------------------------------------------------
# Runs one mailferry command.  Exit 69 means the command is not built yet:
# the demo says so and goes on.  Any other failure ends the demo.
unavailable=()
mf()
{
	local rc=0

	say "mailferry -c $config $*"
	"$MAILFERRY" -c "$config" "$@" || rc=$?
	if ((rc == 69)); then
		echo "(mailferry $1 is not built yet; going on)"
		unavailable+=("$1")
		return 1
	elif ((rc != 0)); then
		echo "demo: mailferry $* failed (exit $rc)" >&2
		exit 1
	fi
	return 0
}

mf check || true
mf list demo || true
if mf sync demo; then
	say "what arrived in $demo/Maildir"
	local_total=0
	while IFS= read -r -d '' box; do
		box=${box%/cur}
		n=$(find "$box/cur" "$box/new" -type f | wc -l)
		printf '  %-24s %5d\n' "${box#"$demo/Maildir"/}" "$n"
		local_total=$((local_total + n))
	done < <(find "$demo/Maildir" -type d -name cur -print0 | sort -z)
	echo "  $local_total messages (the server has $total)"
	if ((local_total != total)); then
		echo "demo: the Maildir does not hold every message" >&2
		exit 1
	fi
	mf sync demo && echo "(a second sync has nothing to do)"
	mf status demo || true
fi

say "done"
if ((${#unavailable[@]} > 0)); then
	echo "not built yet: ${unavailable[*]}"
fi
echo "configuration: $config; the server is stopped now (run again to" \
	"start over)."
