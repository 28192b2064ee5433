# Installs the Debian packages mailferry's build, tests and demo need.
#
# Source it and call mf_deps_install [PACKAGE...]; without arguments it
# installs mf_deps_default.  Packages already installed are left alone and
# apt is not touched at all when nothing is missing, so a second run costs
# one dpkg-query.  Works as root, through sudo when it exists, and otherwise
# fails naming what is missing.
#
# Installing dovecot-core normally starts the system's own Dovecot on *:143
# and *:993 with PAM logins.  A test machine has no use for that, so while
# apt runs we install a policy-rc.d that forbids starting services (only if
# none exists already) and remove it afterwards.  The tests start their own
# private Dovecot on 127.0.0.1 (tests/harness/dovecot.sh).

mf_deps_default=(
	gcc libc6-dev meson ninja-build pkg-config
	libsqlite3-dev sqlite3 libssl-dev libyaml-dev zlib1g-dev libcmocka-dev
	dovecot-core dovecot-imapd openssl ca-certificates
	clang clang-format python3
	isync offlineimap3 neomutt notmuch tmux valgrind parallel
	groff-base man-db
)

# Prints the packages among "$@" that are not installed, one a line.
mf_deps_missing()
{
	local pkg status

	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" \
			2>/dev/null) || status=
		case $status in
		ii*) ;;
		*) printf '%s\n' "$pkg" ;;
		esac
	done
}

mf_deps_install()
{
	local -a want missing sudo=()
	local policy=/usr/sbin/policy-rc.d made_policy=0 rc=0 pkg

	if (($# > 0)); then
		want=("$@")
	else
		want=("${mf_deps_default[@]}")
	fi
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "deps: not a Debian system; install by hand:" \
			"${want[*]}" >&2
		return 1
	fi
	mapfile -t missing < <(mf_deps_missing "${want[@]}")
	((${#missing[@]} == 0)) && return 0

	if ((EUID != 0)); then
		if command -v sudo >/dev/null 2>&1; then
			sudo=(sudo)
		else
			echo "deps: missing packages and not root (no sudo):" \
				"${missing[*]}" >&2
			return 1
		fi
	fi
	echo "deps: installing ${missing[*]}" >&2
	for pkg in "${missing[@]}"; do
		if [[ $pkg == dovecot-* && ! -e $policy ]]; then
			made_policy=1
		fi
	done
	# A subshell, so that the policy goes away even when apt is
	# interrupted.
	(
		if ((made_policy)); then
			trap '"${sudo[@]}" rm -f "$policy"' EXIT
			printf '%s\n' '#!/bin/sh' \
				'# mailferry deps.sh: no daemons during install' \
				'exit 101' |
				"${sudo[@]}" tee "$policy" >/dev/null &&
				"${sudo[@]}" chmod 755 "$policy" || exit 1
		fi
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get update -q || exit 1
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends \
			"${missing[@]}"
	) || rc=1
	if ((rc != 0)); then
		echo "deps: apt-get failed" >&2
		return 1
	fi
	mapfile -t missing < <(mf_deps_missing "${want[@]}")
	if ((${#missing[@]} > 0)); then
		echo "deps: still missing: ${missing[*]}" >&2
		return 1
	fi
	return 0
}
