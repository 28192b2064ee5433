#!/bin/bash
# The wire line after the summary for an IMAP-to-IMAP channel: both
# stores' bytes added up, so the bodies count once as read (fetched from
# far) and once as written (appended to near).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-imap2.sh"
mf2_setup

far_harness seed INBOX "$MF_TESTDATA"/messages/mimekit/* >/dev/null 2>&1
bodies=$(cat "$MF_TESTDATA"/messages/mimekit/* | wc -c)

mf sync --progress=always >"$T/out" 2>"$T/err"
rc=$?
check "IMAP to IMAP sync exits 0" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/# /' "$T/out" "$T/err"
wire=$(grep '^c: [0-9.]* s, wire ' "$T/out")
echo "# $wire (bodies: $bodies bytes)"
to_bytes() {	# "12.5 KiB" -> bytes (rounded down)
	awk -v v="$1" -v u="$2" 'BEGIN {
		m = 1; if (u == "KiB") m = 1024; if (u == "MiB") m = 1048576
		printf "%d", v * m }'
}
read -r rv ru wv wu < <(echo "$wire" |
	sed 's/.*wire \([0-9.]*\) \([A-Za-z]*\) read, \([0-9.]*\) \([A-Za-z]*\) written/\1 \2 \3 \4/')
rd=$(to_bytes "${rv:-0}" "${ru:-B}")
wr=$(to_bytes "${wv:-0}" "${wu:-B}")
check "wire read ($rd) covers the fetched bodies" \
	test "$rd" -ge $((bodies * 95 / 100))
check "wire written ($wr) covers the appended bodies" \
	test "$wr" -ge $((bodies * 95 / 100))
check "neither is more than three times the bodies" \
	test "$rd" -lt $((bodies * 3 + 100000)) -a "$wr" -lt $((bodies * 3 + 100000))
check "the live line showed the copy counts" \
	grep -aq 'pull [0-9]*/[0-9]*' "$T/err"
finish
