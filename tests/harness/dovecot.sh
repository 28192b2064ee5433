#!/usr/bin/env bash
# A private, throwaway Dovecot on 127.0.0.1 for mailferry's tests.
#
# As a command:
#   dovecot.sh start DIR [--caps "IMAP4rev1 ..."] [--user NAME] [--pass PW]
#                        [--extra-user NAME]...
#                        [--special-use] [--role BOX=ROLE]...
#                        [--layout fs|dot]
#                        [--set "key = value"]...
#                        [--watch PID | --no-watch]
#   dovecot.sh stop DIR              stop, wait until every process is gone
#   dovecot.sh restart DIR           same config, ports and mail
#   dovecot.sh status DIR            exit 0 when running
#   dovecot.sh env DIR               print the variables (also in DIR/env)
#   dovecot.sh seed DIR BOX [--flags DFPRST] [--new] [--files-from F] FILE...
#   dovecot.sh path DIR BOX          the box's maildir on the server
#   dovecot.sh doveadm DIR ARGS...   doveadm against this instance, as MF_USER
#   dovecot.sh uidvalidity DIR BOX [N | --reset | --reset-reversed]
#   dovecot.sh logmark DIR           a mark for "traffic --since"
#   dovecot.sh traffic DIR [--since MARK]   "sessions=N in=BYTES out=BYTES"
#   dovecot.sh tunnel DIR            run the preauth tunnel (stdin/stdout)
# The server stops by itself when the process that started it (--watch,
# default the caller) exits.  --extra-user adds a user with the same
# password (its maildir in mail/NAME/); MF_HARNESS_USER=NAME in the
# environment makes seed, path, doveadm and uidvalidity act as that user.
#
# Sourced (". tests/harness/dovecot.sh"), it defines mf_harness_start,
# mf_harness_stop and mf_harness; see tests/README.md for all of it.
#
# Layout of DIR: dovecot.conf, dovecot.log, passwd, env, env.txt, tls/,
# mail/USER/ (maildir, LAYOUT=fs, INBOX in mail/USER/INBOX, separator "/"),
# state (for this script).  --layout dot makes a Courier-style server
# instead: separator ".", every folder under the personal namespace prefix
# "INBOX." (INBOX.Sent, INBOX.Work.Projects), stored as Maildir++ (INBOX
# is mail/USER itself, INBOX.Sent is mail/USER/.Sent).  Sockets live in a short private directory under
# /tmp (unix socket paths are limited to 108 bytes), removed by stop.
#
# Dovecot refuses mail access as root, so as root the mail belongs to the
# system user "mail" (MF_HARNESS_MAIL_USER overrides).  When that user cannot
# reach DIR (a parent is private, e.g. made by mktemp -d or under /root), the
# mail lives next to the sockets instead, DIR/mail is a symlink to it and
# stop removes it.  As an ordinary user everything runs under that user.

_mfh_self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename \
	"${BASH_SOURCE[0]}")

# ---------------------------------------------------------------------
# Sourced interface.  Each helper runs this file as a separate bash, so
# nothing here depends on the caller's shell options.

_mfh_started=()
_mfh_created=()

# mf_harness_start [DIR] [start options]: starts a server (in a new temp
# dir when DIR is omitted), exports its variables and makes sure
# mf_harness_stop runs when the calling shell exits.
mf_harness_start()
{
	local dir old

	if (($# > 0)) && [[ $1 != -* ]]; then
		dir=$1
		shift
	else
		dir=$(mktemp -d "${TMPDIR:-/tmp}/mf-harness.XXXXXX") ||
			return 1
		# As root the mail user must reach it (see the top).
		chmod 755 "$dir"
		_mfh_created+=("$dir")
	fi
	local -a auto=()
	[[ " ${_mfh_created[*]} " == *" $dir "* ]] && auto=(--autoremove)
	bash "$_mfh_self" start "$dir" --watch "$$" "${auto[@]}" "$@" \
		>/dev/null || return 1
	# shellcheck disable=SC1091
	. "$dir/env" || return 1
	_mfh_started+=("$dir")
	old=$(trap -p EXIT)
	if [[ $old != *mf_harness_stop* ]]; then
		if [[ -n $old ]]; then
			eval "set -- $old"
			# shellcheck disable=SC2064
			trap "mf_harness_stop; $3" EXIT
		else
			trap mf_harness_stop EXIT
		fi
	fi
	return 0
}

# mf_harness_stop: stops every server mf_harness_start started and removes
# the directories it created (MF_HARNESS_KEEP=1 keeps them).  When the
# shell is exiting with an error the end of each server log goes to stderr.
mf_harness_stop()
{
	local rc=$? dir

	for dir in "${_mfh_started[@]}"; do
		bash "$_mfh_self" stop "$dir" || true
		if ((rc != 0)) && [[ -f $dir/dovecot.log ]]; then
			echo "--- last lines of $dir/dovecot.log" >&2
			tail -n 20 "$dir/dovecot.log" >&2
		fi
	done
	if [[ ${MF_HARNESS_KEEP:-0} != 1 ]]; then
		for dir in "${_mfh_created[@]}"; do
			rm -rf -- "$dir"
		done
	elif ((${#_mfh_created[@]} > 0)); then
		echo "harness: kept ${_mfh_created[*]}" >&2
	fi
	_mfh_started=()
	_mfh_created=()
	return "$rc"
}

# mf_harness CMD ARGS...: any command above against $MF_HARNESS_DIR,
# e.g. mf_harness seed INBOX a.eml; mf_harness doveadm expunge mailbox X 1
mf_harness()
{
	local cmd=$1

	shift
	bash "$_mfh_self" "$cmd" "$MF_HARNESS_DIR" "$@"
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
	return 0
fi

# ---------------------------------------------------------------------
# Command interface.

set -euo pipefail
umask 022

die()
{
	echo "harness: $*" >&2
	exit 1
}

note()
{
	echo "harness: $*" >&2
}

# Single-quotes a string for /bin/sh.
shquote()
{
	local s=$1

	printf "'%s'" "${s//\'/\'\\\'\'}"
}

find_bins()
{
	local d

	DOVECOT=$(PATH=$PATH:/usr/sbin:/sbin command -v dovecot) ||
		die "dovecot not found (apt-get install dovecot-imapd)"
	DOVEADM=$(PATH=$PATH:/usr/sbin:/sbin command -v doveadm) ||
		die "doveadm not found"
	IMAP_BIN=
	for d in /usr/lib/dovecot /usr/libexec/dovecot \
		/usr/local/libexec/dovecot; do
		if [[ -x $d/imap ]]; then
			IMAP_BIN=$d/imap
			break
		fi
	done
	[[ -n $IMAP_BIN ]] || die "dovecot's imap binary not found"
}

abspath()
{
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$PWD/$1" ;;
	esac
}

# Dovecot's config reads % and $ as variables and ends values at blanks.
check_path()
{
	case $1 in
	*[[:space:]\"\'%\$\\]*)
		die "unsupported characters in path: $1" ;;
	esac
}

# /proc/PID/stat field 22 (start time): identifies a process across PID
# reuse.  Fails when the process does not exist or is a zombie (a
# daemon's zombie waits for PID 1, which in some containers never reaps).
proc_start()
{
	local stat
	local -a f

	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	# The command name in parentheses may contain blanks.
	read -r -a f <<<"${stat##*) }"
	[[ ${f[0]} != [ZX] ]] || return 1
	printf '%s\n' "${f[19]}"
}

proc_alive()
{
	local start

	start=$(proc_start "$1") || return 1
	[[ -z ${2:-} || $start == "$2" ]]
}

# PIDs whose parent is $1.
proc_children()
{
	local parent=$1 path stat
	local -a f

	for path in /proc/[0-9]*/stat; do
		read -r stat 2>/dev/null <"$path" || continue
		read -r -a f <<<"${stat##*) }"
		if [[ ${f[1]} == "$parent" ]]; then
			path=${path#/proc/}
			printf '%s\n' "${path%/stat}"
		fi
	done
}

# Local TCP ports in use in any state, from /proc (no ss or netstat on a
# minimal system).
used_ports()
{
	local f sl local rest

	for f in /proc/net/tcp /proc/net/tcp6; do
		[[ -r $f ]] || continue
		while read -r sl local rest; do
			[[ $sl == sl ]] && continue
			printf '%d\n' "$((16#${local##*:}))"
		done <"$f"
	done
}

# Two free ports below the ephemeral range (so that no outgoing
# connection holds them).  A race with another process is caught when
# Dovecot fails to bind, and the caller retries.
pick_ports()
{
	local -A used=()
	local p a=0 b=0

	while read -r p; do
		used[$p]=1
	done < <(used_ports)
	while ((a == 0 || b == 0)); do
		p=$((20000 + RANDOM % 12000))
		[[ -n ${used[$p]:-} ]] && continue
		used[$p]=1
		if ((a == 0)); then
			a=$p
		else
			b=$p
		fi
	done
	echo "$a $b"
}

# ---------------------------------------------------------------------
# State: DIR/state holds shell assignments written by start.

load_state()
{
	DIR=$(abspath "$1")
	[[ -f $DIR/state ]] || return 1
	# shellcheck disable=SC1091
	. "$DIR/state"
}

save_state()
{
	local v tmp=$DIR/state.tmp

	: >"$tmp"
	for v in RUNDIR MAILBASE MAIL_UID MAIL_GID MF_USER MF_PASS EXTRA_USERS \
		LAYOUT MF_IMAP_PORT MF_IMAPS_PORT WATCH_PID WATCH_START AUTOREMOVE \
		MASTER_PID MASTER_START; do
		printf '%s=%s\n' "$v" "$(shquote "${!v:-}")" >>"$tmp"
	done
	mv -f "$tmp" "$DIR/state"
}

write_env()
{
	local v tmp=$DIR/env.tmp txt=$DIR/env.txt.tmp

	MF_HARNESS_DIR=$DIR
	MF_HARNESS_SCRIPT=$_mfh_self
	MF_HOST=127.0.0.1
	MF_CA_FILE=$DIR/tls/ca.pem
	MF_SERVER_CERT=$DIR/tls/server.pem
	MF_SERVER_KEY=$DIR/tls/server.key
	MF_WRONG_CERT=$DIR/tls/wrong.pem
	MF_WRONG_KEY=$DIR/tls/wrong.key
	MF_SELFSIGNED_CERT=$DIR/tls/selfsigned.pem
	MF_SELFSIGNED_KEY=$DIR/tls/selfsigned.key
	MF_MAILDIR=$MAILBASE/mail/$MF_USER
	MF_DOVECOT_CONF=$DIR/dovecot.conf
	MF_DOVECOT_LOG=$DIR/dovecot.log
	MF_DOVECOT_PID=$MASTER_PID
	MF_TUNNEL="$(shquote "$IMAP_BIN") -c $(shquote "$DIR/dovecot.conf")"
	# Its log lines would otherwise land on the client's stderr.
	MF_TUNNEL+=" -u $(shquote "$MF_USER") 2>>$(shquote "$DIR/tunnel.log")"
	: >"$tmp"
	: >"$txt"
	for v in MF_HARNESS_DIR MF_HARNESS_SCRIPT MF_HOST MF_IMAP_PORT \
		MF_IMAPS_PORT MF_USER MF_PASS MF_CA_FILE MF_SERVER_CERT \
		MF_SERVER_KEY MF_WRONG_CERT MF_WRONG_KEY MF_SELFSIGNED_CERT \
		MF_SELFSIGNED_KEY MF_TUNNEL MF_MAILDIR MF_DOVECOT_CONF \
		MF_DOVECOT_LOG MF_DOVECOT_PID; do
		printf 'export %s=%s\n' "$v" "$(shquote "${!v}")" >>"$tmp"
		printf '%s=%s\n' "$v" "${!v}" >>"$txt"
	done
	mv -f "$tmp" "$DIR/env"
	mv -f "$txt" "$DIR/env.txt"
}

# ---------------------------------------------------------------------
# Certificates: a CA, a server certificate for localhost / 127.0.0.1, one
# from the same CA for the wrong name, and a self-signed one (untrusted).
# EC keys: generating them takes milliseconds.

mkcert()
{
	local tls=$1 name=$2 cn=$3 san=$4 signer=$5

	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$tls/$name.key" 2>/dev/null
	printf '%s\n' "subjectAltName=$san" "basicConstraints=CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" >"$tls/$name.ext"
	openssl req -new -key "$tls/$name.key" -subj "/CN=$cn" \
		-out "$tls/$name.csr" 2>/dev/null
	if [[ $signer == self ]]; then
		openssl x509 -req -in "$tls/$name.csr" -key "$tls/$name.key" \
			-days 3650 -set_serial "0x$(rand_hex 8)" \
			-extfile "$tls/$name.ext" -out "$tls/$name.pem" \
			2>/dev/null
	else
		openssl x509 -req -in "$tls/$name.csr" -CA "$tls/ca.pem" \
			-CAkey "$tls/ca.key" -days 3650 \
			-set_serial "0x$(rand_hex 8)" \
			-extfile "$tls/$name.ext" -out "$tls/$name.pem" \
			2>/dev/null
	fi
	rm -f "$tls/$name.csr" "$tls/$name.ext"
}

rand_hex()
{
	od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

make_certs()
{
	local tls=$DIR/tls

	[[ -s $tls/selfsigned.pem ]] && return 0
	rm -rf "$tls"
	mkdir -p "$tls"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$tls/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$tls/ca.key" -days 3650 \
		-subj "/CN=mailferry test CA $(rand_hex 4)" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$tls/ca.pem" 2>/dev/null
	# mbsync ignores IP SANs, hence DNS:localhost too.
	mkcert "$tls" server localhost \
		"DNS:localhost,IP:127.0.0.1,IP:::1" ca
	mkcert "$tls" wrong wrong.example "DNS:wrong.example" ca
	mkcert "$tls" selfsigned localhost "DNS:localhost,IP:127.0.0.1" self
	chmod 644 "$tls"/*.pem
	chmod 600 "$tls"/*.key
	openssl verify -CAfile "$tls/ca.pem" "$tls/server.pem" >/dev/null ||
		die "generated certificate does not verify"
}

# ---------------------------------------------------------------------
# Users and directories.

# Sets MAIL_UID/MAIL_GID, INTERNAL_USER, INTERNAL_GROUP, LOGIN_USER.
pick_users()
{
	local mu

	if ((EUID == 0)); then
		mu=${MF_HARNESS_MAIL_USER:-mail}
		getent passwd "$mu" >/dev/null || mu=nobody
		MAIL_UID=$(id -u "$mu")
		MAIL_GID=$(id -g "$mu")
		INTERNAL_USER=dovecot
		getent passwd dovecot >/dev/null || INTERNAL_USER=nobody
		INTERNAL_GROUP=$(id -gn "$INTERNAL_USER")
		LOGIN_USER=dovenull
		getent passwd dovenull >/dev/null || LOGIN_USER=nobody
	else
		MAIL_UID=$(id -u)
		MAIL_GID=$(id -g)
		INTERNAL_USER=$(id -un)
		INTERNAL_GROUP=$(id -gn)
		LOGIN_USER=$INTERNAL_USER
	fi
}

# Can the mail user create files in $1 (as root)?
mail_user_reaches()
{
	setpriv --reuid="$MAIL_UID" --regid="$MAIL_GID" --clear-groups \
		-- test -x "$1" 2>/dev/null
}

setup_dirs()
{
	if [[ -z ${RUNDIR:-} || ! -d $RUNDIR ]]; then
		RUNDIR=$(mktemp -d /tmp/mfdc.XXXXXX)
	fi
	chmod 755 "$RUNDIR"
	mkdir -p "$RUNDIR/run" "$RUNDIR/state"
	ln -sfn "$RUNDIR/run" "$DIR/run"

	MAILBASE=$DIR
	if ((EUID == 0)) && ! mail_user_reaches "$DIR"; then
		MAILBASE=$RUNDIR
		note "mail user cannot reach $DIR; mail in $RUNDIR/mail" \
			"(removed by stop)"
	fi
	if [[ $MAILBASE == "$RUNDIR" ]]; then
		mkdir -p "$RUNDIR/mail" "$RUNDIR/home"
		[[ -L $DIR/mail || ! -e $DIR/mail ]] ||
			die "$DIR/mail exists and is not ours"
		ln -sfn "$RUNDIR/mail" "$DIR/mail"
	else
		[[ -L $DIR/mail ]] && rm -f "$DIR/mail"
		mkdir -p "$DIR/mail" "$DIR/home"
	fi
	if ((EUID == 0)); then
		chown "$MAIL_UID:$MAIL_GID" "$MAILBASE/mail" "$MAILBASE/home"
	fi
	local u
	for u in "$MF_USER" ${EXTRA_USERS:-}; do
		as_mail mkdir -p "$MAILBASE/mail/$u" "$MAILBASE/home/$u"
	done
}

# Runs a command as the owner of the mail (as root: the mail user), with
# the private modes Dovecot itself would use.
as_mail()
{
	if ((EUID == 0)); then
		(umask 077 && exec setpriv --reuid="$MAIL_UID" \
			--regid="$MAIL_GID" --clear-groups -- "$@")
	else
		(umask 077 && exec "$@")
	fi
}

write_passwd()
{
	local u
	for u in "$MF_USER" ${EXTRA_USERS:-}; do
		[[ $u =~ ^[A-Za-z0-9._@+-]+$ ]] ||
			die "user name must be [A-Za-z0-9._@+-]: $u"
	done
	case $MF_PASS in
	*:* | *$'\n'* | '') die "password must be non-empty without ':'" ;;
	esac
	(umask 077 && for u in "$MF_USER" ${EXTRA_USERS:-}; do
		printf '%s:{PLAIN}%s::::::\n' "$u" "$MF_PASS"
	done >"$DIR/passwd")
}

write_conf()
{
	local f=$DIR/dovecot.conf.tmp mailroot=$MAILBASE/mail svc box

	{
		cat <<EOF
# Written by tests/harness/dovecot.sh for one test run; restart reuses it.
instance_name = mf-${RUNDIR##*.}
base_dir = $RUNDIR/run
state_dir = $RUNDIR/state
protocols = imap
listen = 127.0.0.1
shutdown_clients = yes
verbose_proctitle = yes

log_path = $DIR/dovecot.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
# Bytes per session for benchmarks ("in=%i out=%o" first).
imap_logout_format = in=%i out=%o deleted=%{deleted} expunged=%{expunged} body_count=%{fetch_body_count} body_bytes=%{fetch_body_bytes}

ssl = yes
ssl_cert = <$DIR/tls/server.pem
ssl_key = <$DIR/tls/server.key
# Plaintext logins on the plain port too, so that tls: none can be tested.
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests of refused logins need not wait the default 2 s.
auth_failure_delay = 0

default_internal_user = $INTERNAL_USER
default_internal_group = $INTERNAL_GROUP
default_login_user = $LOGIN_USER
first_valid_uid = $MAIL_UID
first_valid_gid = $MAIL_GID
# Also here, not only from the userdb: doveadm with USER set and the
# tunnel do no userdb lookup.
mail_uid = $MAIL_UID
mail_gid = $MAIL_GID

EOF
		if [[ ${LAYOUT:-fs} == dot ]]; then
			cat <<EOF
# Courier-style (--layout dot): "." as separator and every folder under
# "INBOX."; Maildir++ on disk: INBOX is MF_MAILDIR, INBOX.A.B is
# MF_MAILDIR/.A.B.
mail_location = maildir:$mailroot/%u
namespace inbox {
  inbox = yes
  separator = .
  prefix = INBOX.
EOF
		else
			cat <<EOF
# One directory per folder, "/" as separator on disk and on the wire, so a
# folder name maps to a path: MF_MAILDIR/<name> (INBOX: MF_MAILDIR/INBOX).
mail_location = maildir:$mailroot/%u:LAYOUT=fs:INBOX=$mailroot/%u/INBOX
namespace inbox {
  inbox = yes
  separator = /
  prefix =
EOF
		fi
		if ((SPECIAL_USE)); then
			# RFC 6154 roles, shown once a client creates the box.
			for box in Drafts Sent Trash Junk Archive; do
				printf '  mailbox %s {\n    special_use = \\%s\n  }\n' \
					"$box" "$box"
			done
		fi
		# --role BOX=ROLE: one more (a role that follows a rename)
		for box in "${ROLES[@]}"; do
			printf '  mailbox "%s" {\n    special_use = \\%s\n  }\n' \
				"${box%=*}" "${box##*=}"
		done
		cat <<EOF
}
mail_max_userip_connections = 100

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/passwd
}
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$MAILBASE/home/%u
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $MF_IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $MF_IMAPS_PORT
    ssl = yes
  }
  # One long-lived login process instead of one per connection.
  service_count = 0
  process_min_avail = 1
EOF
		printf '}\n'
		# No growing delays for logins from an address that failed
		# before (tests of refused logins come before good ones).
		printf '%s\n' 'service anvil {' \
			'  unix_listener anvil-auth-penalty {' '    mode = 0' \
			'  }' '}'
		if ((EUID == 0)); then
			# DIR may be private to root: read passwd as root.
			printf 'service auth {\n  user = root\n}\n'
		else
			# Only root may chroot.
			for svc in aggregator anvil director imap-login \
				imap-urlauth-login ipc old-stats; do
				printf 'service %s {\n  chroot =\n}\n' "$svc"
			done
		fi
		if [[ -n $CAPS ]]; then
			printf 'imap_capability = %s\n' "$CAPS"
		fi
		if ((${#EXTRA[@]} > 0)); then
			printf '%s\n' "# --set" "${EXTRA[@]}"
		fi
	} >"$f"
	mv -f "$f" "$DIR/dovecot.conf"
}

# ---------------------------------------------------------------------
# Running it.

# Starts the master with DIR/dovecot.conf.  Returns 2 when a port was
# taken (the caller picks others), 1 on other failures.
launch()
{
	local out=$DIR/dovecot.stderr rc=0 i line

	: >"$out"
	"$DOVECOT" -c "$DIR/dovecot.conf" </dev/null >>"$out" 2>&1 || rc=$?
	if ((rc != 0)); then
		if grep -q 'Address already in use' "$out" "$DIR/dovecot.log" \
			2>/dev/null; then
			return 2
		fi
		cat "$out" >&2
		[[ -f $DIR/dovecot.log ]] && tail -n 20 "$DIR/dovecot.log" >&2
		return 1
	fi
	MASTER_PID=
	for ((i = 0; i < 200; i++)); do
		if [[ -s $RUNDIR/run/master.pid ]]; then
			read -r MASTER_PID <"$RUNDIR/run/master.pid" || true
			[[ -n $MASTER_PID ]] && break
		fi
		sleep 0.05
	done
	[[ -n $MASTER_PID ]] || {
		note "no master.pid after start"
		return 1
	}
	MASTER_START=$(proc_start "$MASTER_PID") || {
		note "master exited at once"
		tail -n 20 "$DIR/dovecot.log" >&2 || true
		return 1
	}
	# Ready when the plain port greets with capabilities (the login
	# process has its auth connection by then).
	for ((i = 0; i < 100; i++)); do
		line=$(bash -c '
			exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
			read -r -t 5 line <&3
			printf "%s\n" "$line"
			printf "z LOGOUT\r\n" >&3' - "$MF_IMAP_PORT" \
			2>/dev/null) || true
		[[ $line == '* OK [CAPABILITY'* ]] && return 0
		proc_alive "$MASTER_PID" "$MASTER_START" || break
		sleep 0.1
	done
	note "server did not become ready; log:"
	tail -n 20 "$DIR/dovecot.log" >&2 || true
	kill_master
	return 1
}

# Stops the master and waits for it and its children.  The master lingers
# a second for its log process; stopping the others first and the log
# process last (so that no line is lost) takes a tenth of that.
kill_master()
{
	local -a kids=() others=()
	local i pid logpid= cmd left

	[[ -n ${MASTER_PID:-} ]] || return 0
	proc_alive "$MASTER_PID" "${MASTER_START:-}" || return 0
	mapfile -t kids < <(proc_children "$MASTER_PID")
	for pid in "${kids[@]}"; do
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
		if [[ $cmd == */log || $cmd == */log\ * ]]; then
			logpid=$pid
		else
			others+=("$pid")
		fi
	done
	kill -TERM "$MASTER_PID" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		left=0
		for pid in "${others[@]}"; do
			proc_alive "$pid" && left=1
		done
		((left == 0)) && break
		sleep 0.02
	done
	if [[ -n $logpid ]]; then
		kill -TERM "$logpid" 2>/dev/null || true
	fi
	for ((i = 0; i < 250; i++)); do
		proc_alive "$MASTER_PID" "$MASTER_START" || break
		sleep 0.02
	done
	if proc_alive "$MASTER_PID" "$MASTER_START"; then
		note "master $MASTER_PID ignores TERM; killing"
		kill -KILL "$MASTER_PID" 2>/dev/null || true
	fi
	for pid in "${kids[@]}"; do
		if proc_alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	for ((i = 0; i < 100; i++)); do
		proc_alive "$MASTER_PID" "$MASTER_START" || return 0
		sleep 0.05
	done
	note "master $MASTER_PID did not go away"
	return 1
}

kill_watchdog()
{
	if [[ -n ${WATCH_DOG:-} ]] && [[ $WATCH_DOG != "${MFH_WATCHDOG:-}" ]]; then
		kill -TERM "$WATCH_DOG" 2>/dev/null || true
	fi
	rm -f "$DIR/watchdog.pid"
}

read_watchdog()
{
	local pid start

	WATCH_DOG=
	[[ -f $DIR/watchdog.pid ]] || return 0
	read -r pid start <"$DIR/watchdog.pid" || return 0
	proc_alive "$pid" "$start" && WATCH_DOG=$pid
	return 0
}

# A detached process that stops the server when WATCH_PID exits, even if
# the caller was killed without running its traps (e.g. a test timeout).
# It holds none of the caller's file descriptors: meson waits for those.
start_watchdog()
{
	[[ -n ${WATCH_PID:-} ]] || return 0
	setsid bash ${MFH_WD_X:-} -c '
		watch=$1 wstart=$2 master=$3 mstart=$4 dir=$5 self=$6 auto=$7
		alive() {
			local s
			local -a f
			read -r s 2>/dev/null <"/proc/$1/stat" || return 1
			read -r -a f <<<"${s##*) }"
			[[ ${f[0]} != [ZX] && ${f[19]} == "$2" ]]
		}
		trap "exit 0" TERM
		while alive "$watch" "$wstart"; do
			# The server went away by other means: nothing to do.
			alive "$master" "$mstart" || exit 0
			sleep 1 & wait $!
		done
		if [[ -f $dir/state ]]; then
			MFH_WATCHDOG=$$ bash ${MFH_WD_X:-} "$self" stop "$dir"
		elif alive "$master" "$mstart"; then
			kill -TERM "$master"
		fi
		# A temp dir made by mf_harness_start for a shell that died
		# without its traps.
		if [[ $auto == 1 && ${MF_HARNESS_KEEP:-0} != 1 ]]; then
			rm -rf -- "$dir"
		fi
	' mf-harness-watchdog "$WATCH_PID" "$WATCH_START" "$MASTER_PID" \
		"$MASTER_START" "$DIR" "$_mfh_self" "${AUTOREMOVE:-0}" \
		</dev/null >/dev/null 2>>"${MFH_WD_LOG:-/dev/null}" &
	echo "$! $(proc_start $! || echo 0)" >"$DIR/watchdog.pid"
}

cmd_start()
{
	local -a EXTRA=()
	local CAPS= user= pass= watch=$PPID nowatch=0 attempt rc=0 ports
	local SPECIAL_USE=0 AUTOREMOVE=0
	LAYOUT=fs
	EXTRA_USERS=
	local -a ROLES=()

	DIR=$(abspath "${1:?usage: start DIR [options]}")
	shift
	while (($# > 0)); do
		case $1 in
		--caps) CAPS=${2?}; shift ;;
		--user) user=${2?}; shift ;;
		--pass) pass=${2?}; shift ;;
		--extra-user) EXTRA_USERS+="${EXTRA_USERS:+ }${2?}"; shift ;;
		--set) EXTRA+=("${2?}"); shift ;;
		--special-use) SPECIAL_USE=1 ;;
		--role) ROLES+=("${2?}"); shift ;;
		--autoremove) AUTOREMOVE=1 ;;
		--layout)
			LAYOUT=${2?}
			[[ $LAYOUT == fs || $LAYOUT == dot ]] ||
				die "start: --layout fs or dot, not $LAYOUT"
			shift ;;
		--watch) watch=${2?}; shift ;;
		--no-watch) nowatch=1 ;;
		*) die "start: unknown option $1" ;;
		esac
		shift
	done
	check_path "$DIR"
	find_bins
	mkdir -p "$DIR"
	if load_state "$DIR" && proc_alive "$MASTER_PID" "$MASTER_START"; then
		die "already running in $DIR (pid $MASTER_PID)"
	fi
	RUNDIR=${RUNDIR:-}
	[[ -n $RUNDIR && -d $RUNDIR ]] || RUNDIR=
	MF_USER=${user:-${MF_USER:-test}}
	MF_PASS=${pass:-${MF_PASS:-secret-pw-$(rand_hex 6)}}
	WATCH_PID= WATCH_START=
	if ((nowatch == 0)) && [[ -n $watch ]]; then
		WATCH_PID=$watch
		WATCH_START=$(proc_start "$watch") ||
			die "--watch $watch: no such process"
	fi
	pick_users
	setup_dirs
	make_certs
	write_passwd
	for ((attempt = 0; attempt < 20; attempt++)); do
		ports=$(pick_ports)
		MF_IMAP_PORT=${ports% *}
		MF_IMAPS_PORT=${ports#* }
		write_conf
		rc=0
		launch || rc=$?
		((rc == 2)) || break
		note "port taken, retrying"
	done
	if ((rc != 0)); then
		rm -rf "$RUNDIR"
		rm -f "$DIR/run"
		die "could not start dovecot in $DIR"
	fi
	save_state
	write_env
	start_watchdog
	cat "$DIR/env"
}

cmd_stop()
{
	local keep=0

	DIR=$(abspath "${1:?usage: stop DIR}")
	[[ ${2:-} == --keep-runtime ]] && keep=1
	load_state "$DIR" || return 0
	read_watchdog
	kill_watchdog
	kill_master
	if ((keep == 0)); then
		if [[ -n ${RUNDIR:-} && $RUNDIR == /tmp/mfdc.* ]]; then
			rm -rf -- "$RUNDIR"
		fi
		rm -f "$DIR/run"
		[[ -L $DIR/mail ]] && rm -f "$DIR/mail"
	fi
	MASTER_PID= MASTER_START=
	save_state
	return 0
}

cmd_restart()
{
	DIR=$(abspath "${1:?usage: restart DIR}")
	load_state "$DIR" || die "nothing started in $DIR"
	find_bins
	cmd_stop "$DIR" --keep-runtime
	load_state "$DIR"
	[[ -d $RUNDIR ]] || die "runtime directory $RUNDIR is gone"
	if [[ -n $WATCH_PID ]] && ! proc_alive "$WATCH_PID" "$WATCH_START"; then
		WATCH_PID= WATCH_START=
	fi
	local rc=0
	launch || rc=$?
	((rc == 0)) || die "could not restart dovecot in $DIR"
	save_state
	write_env
	start_watchdog
	cat "$DIR/env"
}

cmd_status()
{
	DIR=$(abspath "${1:?usage: status DIR}")
	load_state "$DIR" || return 1
	proc_alive "${MASTER_PID:-x}" "$MASTER_START"
}

need_running()
{
	DIR=$(abspath "${1:?DIR missing}")
	load_state "$DIR" || die "no server in $DIR"
	proc_alive "${MASTER_PID:-x}" "$MASTER_START" ||
		die "server in $DIR is not running"
	if [[ -n ${MF_HARNESS_USER:-} ]]; then
		[[ " $MF_USER ${EXTRA_USERS:-} " == *" $MF_HARNESS_USER "* ]] ||
			die "no user $MF_HARNESS_USER in $DIR"
		MF_USER=$MF_HARNESS_USER
	fi
	find_bins
}

run_doveadm()
{
	USER=$MF_USER HOME=$MAILBASE/home/$MF_USER \
		"$DOVEADM" -c "$DIR/dovecot.conf" "$@"
}

cmd_doveadm()
{
	need_running "$1"
	shift
	run_doveadm "$@"
}

cmd_env()
{
	DIR=$(abspath "${1:?usage: env DIR}")
	[[ -f $DIR/env ]] || die "no server in $DIR"
	cat "$DIR/env"
}

cmd_tunnel()
{
	need_running "$1"
	exec "$IMAP_BIN" -c "$DIR/dovecot.conf" -u "$MF_USER" \
		2>>"$DIR/tunnel.log"
}

# The server-side maildir of BOX (whether or not it exists yet).
box_path()
{
	local box=$1 first rest

	if [[ ${LAYOUT:-fs} == dot ]]; then
		# INBOX is the root; INBOX.A.B is .A.B (plain ASCII; others
		# are modified UTF-7, which doveadm knows)
		if [[ ${box^^} == INBOX ]]; then
			printf '%s\n' "$MAILBASE/mail/$MF_USER"
		elif [[ $box =~ ^INBOX(\.[A-Za-z0-9\ _+-]+)+$ ]]; then
			printf '%s\n' "$MAILBASE/mail/$MF_USER/${box#INBOX}"
		else
			run_doveadm mailbox path "$box"
		fi
		return
	fi
	# Plain ASCII names map directly (LAYOUT=fs); others are stored
	# in modified UTF-7, which doveadm knows.
	if [[ $box =~ ^[A-Za-z0-9\ _.+-]+(/[A-Za-z0-9\ _.+-]+)*$ ]] &&
		[[ ! /$box/ =~ /\.\.?/ ]]; then
		first=${box%%/*}
		rest=${box#"$first"}
		[[ ${first^^} == INBOX ]] && first=INBOX
		printf '%s\n' "$MAILBASE/mail/$MF_USER/$first$rest"
	else
		run_doveadm mailbox path "$box"
	fi
}

# Creates BOX unless it exists (subscribed, like a client would).
ensure_box()
{
	local box=$1 path=$2

	[[ -d $path/cur ]] && return 0
	if [[ ${box^^} != INBOX ]]; then
		run_doveadm mailbox create -s "$box" 2>/dev/null || true
	fi
	if [[ ! -d $path/cur ]]; then
		as_mail mkdir -p "$path/cur" "$path/new" "$path/tmp"
	fi
}

# Copies files (paths NUL-separated on stdin) into BOXDIR/tmp and renames
# them into cur/ or new/.  Perl (always present: perl-base is essential)
# does it in one process; the names carry a zero-padded sequence number,
# so Dovecot gives the messages UIDs in argument order.
#
# Runs as the caller, not as the mail user: the files given may sit where
# only the caller can read them (a checkout under a 0700 directory, as CI
# clones into).  As root each file is handed to the mail user before it
# is renamed into place.
seed_copy()
{
	local boxdir=$1 sub=$2 info=$3 owner=-1:-1

	((EUID == 0)) && owner=$MAIL_UID:$MAIL_GID
	(umask 077 && exec perl -e '
		use strict;
		my ($dir, $sub, $info, $prefix, $owner) = @ARGV;
		my ($uid, $gid) = split(/:/, $owner);
		local $/ = "\0";
		my $n = 0;
		while (my $src = <STDIN>) {
			chomp $src;
			open(my $in, "<:raw", $src) or die "seed: $src: $!\n";
			my $data = do { local $/; <$in> };
			close($in);
			my $base = sprintf("%s%07d.mfseed", $prefix, $n++);
			my $tmp = "$dir/tmp/$base";
			open(my $out, ">:raw", $tmp) or die "seed: $tmp: $!\n";
			print $out $data or die "seed: $tmp: $!\n";
			close($out) or die "seed: $tmp: $!\n";
			$uid < 0 or chown($uid, $gid, $tmp)
				or die "seed: chown $tmp: $!\n";
			rename($tmp, "$dir/$sub/$base$info")
				or die "seed: rename $tmp: $!\n";
		}
		print "$n\n";
	' "$boxdir" "$sub" "$info" \
		"${EPOCHREALTIME%.*}.M${EPOCHREALTIME#*.}P$$Q${SEQ}_" "$owner")
}

# Maildir info flags must be in ASCII order.
sort_flags()
{
	local in=$1 out= c

	[[ $in =~ ^[DFPRST]*$ ]] ||
		die "seed: --flags takes maildir letters DFPRST: $in"
	for c in D F P R S T; do
		[[ $in == *$c* ]] && out+=$c
	done
	printf '%s\n' "$out"
}

cmd_seed()
{
	local -a files=()
	local box boxdir flags= sub=cur total=0 n list=

	need_running "$1"
	box=${2:?usage: seed DIR BOX [--flags L] [--new] FILE...}
	shift 2
	boxdir=$(box_path "$box")
	ensure_box "$box" "$boxdir"
	SEQ=0
	flush()
	{
		local info=

		((${#files[@]} > 0)) || return 0
		[[ $sub == cur ]] && info=":2,$flags"
		n=$(printf '%s\0' "${files[@]}" |
			seed_copy "$boxdir" "$sub" "$info")
		total=$((total + n))
		SEQ=$((SEQ + 1))
		files=()
	}
	while (($# > 0)); do
		case $1 in
		--flags)
			flush
			flags=$(sort_flags "${2?}")
			shift ;;
		--new) flush; sub=new ;;
		--cur) flush; sub=cur ;;
		--files-from)
			list=${2?}
			shift
			if [[ $list == - ]]; then
				mapfile -t -O "${#files[@]}" files
			else
				mapfile -t -O "${#files[@]}" files <"$list"
			fi ;;
		--) ;;
		*) files+=("$1") ;;
		esac
		shift
	done
	flush
	note "seeded $total message(s) into $box"
}

cmd_path()
{
	need_running "$1"
	box_path "${2:?usage: path DIR BOX}"
}

box_uidvalidity()
{
	run_doveadm -f tab mailbox status uidvalidity "$1" |
		awk -F '\t' 'END { print $NF }'
}

# uidvalidity DIR BOX [N]: sets UIDVALIDITY (default: higher than any
# value this box had from us) and keeps the UIDs.  --reset: forgets the
# box's UID list and indexes, so every message gets a new UID under a new
# UIDVALIDITY; --reset-reversed hands those out in the opposite order.  No session may have the box selected meanwhile.  Prints
# the new UIDVALIDITY.
cmd_uidvalidity()
{
	local box cur new boxdir high=0 want

	need_running "$1"
	box=${2:?usage: uidvalidity DIR BOX [N|--reset]}
	cur=$(box_uidvalidity "$box")
	[[ -f $DIR/uidvalidity.high ]] && read -r high <"$DIR/uidvalidity.high"
	((high > cur)) || high=$cur
	if [[ ${3:-} == --reset || ${3:-} == --reset-reversed ]]; then
		boxdir=$(box_path "$box")
		[[ -d $boxdir/cur ]] || die "no box $box"
		rm -f "$boxdir/dovecot-uidlist" "$boxdir"/dovecot.index* \
			"$MAILBASE/mail/$MF_USER"/dovecot.list.index*
		new=$(box_uidvalidity "$box")
		if [[ $3 == --reset-reversed ]]; then
			# the new UIDs handed out in the opposite order: the
			# message that had the lowest UID gets the highest
			awk 'NR == 1 { print; next }
			     { uid[NR] = $1; $1 = ""; rest[NR] = $0; n = NR }
			     END { for (i = 2; i <= n; i++)
					print uid[i] rest[n + 2 - i] }' \
				"$boxdir/dovecot-uidlist" >"$boxdir/uidlist.new"
			mv "$boxdir/uidlist.new" "$boxdir/dovecot-uidlist"
			rm -f "$boxdir"/dovecot.index* \
				"$MAILBASE/mail/$MF_USER"/dovecot.list.index*
			new=$(box_uidvalidity "$box")
		fi
		# Dovecot picks a fresh value, but one this box may have had
		# before; a client must never see an old value come back.
		if ((new <= high)); then
			run_doveadm mailbox update --uid-validity \
				"$((high + 1))" "$box"
			new=$(box_uidvalidity "$box")
		fi
	else
		want=${3:-$((high + 1))}
		[[ $want =~ ^[1-9][0-9]*$ ]] || die "bad UIDVALIDITY: $want"
		run_doveadm mailbox update --uid-validity "$want" "$box"
		new=$(box_uidvalidity "$box")
	fi
	((new > high)) && high=$new
	echo "$high" >"$DIR/uidvalidity.high"
	printf '%s\n' "$new"
}

log_lines()
{
	if [[ -f $1 ]]; then
		wc -l <"$1" | tr -d ' '
	else
		echo 0
	fi
}

# A position in the logs (dovecot.log and tunnel.log), for traffic.
cmd_logmark()
{
	DIR=$(abspath "${1:?usage: logmark DIR}")
	echo "$(log_lines "$DIR/dovecot.log"):$(log_lines "$DIR/tunnel.log")"
}

# Sums in=/out= over the sessions logged after MARK.  Waits (up to 10 s)
# until every network login after MARK has logged its disconnect: the imap
# process writes that line as it exits, a moment after the client has seen
# the connection close.  Tunnel sessions log before their pipes close.
cmd_traffic()
{
	local since=0:0 i logins ends

	DIR=$(abspath "${1:?usage: traffic DIR [--since MARK]}")
	[[ ${2:-} == --since ]] && since=${3:?}
	[[ $since =~ ^[0-9]+:[0-9]+$ ]] || die "bad mark: $since"
	touch "$DIR/tunnel.log"
	for ((i = 0; i < 100; i++)); do
		logins=$(tail -n "+$((${since%:*} + 1))" "$DIR/dovecot.log" |
			grep -c 'imap-login: Info: Login:' || true)
		ends=$(tail -n "+$((${since%:*} + 1))" "$DIR/dovecot.log" |
			grep -c -E '^[^ ]+ [^ ]+ imap\(.* in=[0-9]+ out=[0-9]+' ||
			true)
		((ends >= logins)) && break
		sleep 0.1
	done
	{
		tail -n "+$((${since%:*} + 1))" "$DIR/dovecot.log"
		tail -n "+$((${since#*:} + 1))" "$DIR/tunnel.log"
	} | awk '
		/(^| )imap\(.* in=[0-9]+ out=[0-9]+/ {
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^in=[0-9]+$/) { inb += substr($i, 4) }
				if ($i ~ /^out=[0-9]+$/) { outb += substr($i, 5) }
			}
			n++
		}
		END { printf "sessions=%d in=%d out=%d\n", n, inb, outb }'
}

usage()
{
	sed -n '2,24p' "$_mfh_self" | sed 's/^# \{0,1\}//'
	exit 2
}

main()
{
	local cmd=${1:-}

	(($# > 0)) && shift
	case $cmd in
	start) cmd_start "$@" ;;
	stop) cmd_stop "$@" ;;
	restart) cmd_restart "$@" ;;
	status) cmd_status "$@" ;;
	env) cmd_env "$@" ;;
	seed) cmd_seed "$@" ;;
	path) cmd_path "$@" ;;
	doveadm) cmd_doveadm "$@" ;;
	uidvalidity) cmd_uidvalidity "$@" ;;
	logmark) cmd_logmark "$@" ;;
	traffic) cmd_traffic "$@" ;;
	tunnel) cmd_tunnel "$@" ;;
	*) usage ;;
	esac
}

main "$@"
