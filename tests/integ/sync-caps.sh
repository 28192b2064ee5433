#!/bin/bash
# The sync scenarios again against a Dovecot that offers less: without
# CONDSTORE/QRESYNC (flags by full UID FETCH, expunges by UID list),
# without UIDPLUS (appended messages found by identity, no UID EXPUNGE),
# without LIST-STATUS (STATUS per folder), and a bare IMAP4rev1.  Each
# capability set runs sync-converge.sh and sync-uidvalidity.sh; the crash
# test runs on IMAP4rev1 + UIDPLUS at a stride (MF_CRASH_STRIDE, default 5).
set -u
here=$(dirname "$0")
base="IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE CHILDREN"
sets=(
	"no-condstore|$base UIDPLUS LIST-EXTENDED LIST-STATUS ESEARCH MOVE SPECIAL-USE"
	"condstore-only|$base CONDSTORE UIDPLUS"
	"no-uidplus|$base CONDSTORE QRESYNC LIST-EXTENDED LIST-STATUS"
	"bare|IMAP4rev1"
)
n=0 fails=0
for s in "${sets[@]}"; do
	name=${s%%|*}
	caps=${s#*|}
	for t in sync-converge.sh sync-uidvalidity.sh; do
		n=$((n + 1))
		nouidplus=0
		[[ " $caps " == *" UIDPLUS "* ]] || nouidplus=1
		if out=$(MF_NO_UIDPLUS=$nouidplus bash "$here/$t" \
			--caps "$caps" 2>&1); then
			echo "ok $n - $t with $name"
		else
			fails=$((fails + 1))
			echo "not ok $n - $t with $name"
			grep -v '^ok' <<<"$out" | head -20 | sed 's/^/# /'
		fi
	done
done
n=$((n + 1))
if out=$(MF_CRASH_STRIDE=${MF_CRASH_STRIDE:-5} bash "$here/sync-crash.sh" \
	--caps "IMAP4rev1 UIDPLUS" 2>&1); then
	echo "ok $n - sync-crash.sh with IMAP4rev1 UIDPLUS"
else
	fails=$((fails + 1))
	echo "not ok $n - sync-crash.sh with IMAP4rev1 UIDPLUS"
	grep -v '^ok' <<<"$out" | head -20 | sed 's/^/# /'
fi
echo "1..$n"
[ $fails -eq 0 ]
