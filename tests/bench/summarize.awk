# summarize.awk: the per-run TSV of tests/bench/run.sh into the summary.
#
# Input (tab-separated, header line first): scenario transport tool run
# wall user sys rss_kb from_server to_server ok
# Tools are "mbsync", "mailferry" and, for the physical limit, "fetch"
# and "copy".  Output: with -v fmt=tsv one summary line per scenario,
# transport and tool; with fmt=md a Markdown table where every pair of
# tools is followed by the ratio mailferry/mbsync, computed per run
# (same run number, i.e. the same moment) and given as median (min-max).

BEGIN { FS = OFS = "\t" }

NR == 1 { next }

{
	key = $1 SUBSEP $2 SUBSEP $3
	if (!(key in seen)) {
		seen[key] = 1
		order[++nkeys] = key
		if (!(($1 SUBSEP $2) in sseen)) {
			sseen[$1 SUBSEP $2] = 1
			sorder[++nscen] = $1 SUBSEP $2
		}
	}
	n = ++cnt[key]
	wall[key, n] = $5
	cpu[key, n] = $6 + $7
	rss[key, n] = $8
	from[key, n] = $9
	to[key, n] = $10
	bad[key] += ($11 != 1)
	runwall[key, $4] = $5
	runcpu[key, $4] = $6 + $7
	runrss[key, $4] = $8
	runfrom[key, $4] = $9
	runs[key, $4] = 1
}

function sortn(a, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
}

function median(a, n) {
	sortn(a, n)
	if (n == 0)
		return ""
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# stat(arr, key): sets MED, MIN, MAX over arr[key, 1..cnt[key]]
function stat(arr, key,    i, v, n) {
	n = cnt[key]
	for (i = 1; i <= n; i++)
		v[i] = arr[key, i]
	MED = median(v, n)
	MIN = v[1]
	MAX = v[n]
}

# ratio(arr, a, b): per-run ratios arr[a, r] / arr[b, r] -> MED MIN MAX
function ratio(arr, a, b,    r, v, n) {
	n = 0
	for (r = 1; r <= 1000; r++)
		if (((a, r) in runs) && ((b, r) in runs) && arr[b, r] > 0)
			v[++n] = arr[a, r] / arr[b, r]
	if (n == 0) {
		MED = MIN = MAX = ""
		return 0
	}
	MED = median(v, n)
	MIN = v[1]
	MAX = v[n]
	return n
}

function secs(x) {
	if (x == "")
		return "-"
	return x < 10 ? sprintf("%.2f", x) : sprintf("%.1f", x)
}

function bytes(x) {
	if (x == "")
		return "-"
	if (x >= 1048576)
		return sprintf("%.1f MiB", x / 1048576)
	if (x >= 1024)
		return sprintf("%.1f KiB", x / 1024)
	return sprintf("%d B", x)
}

function rng(lo, hi, f) {
	if (lo == hi)
		return ""
	return " (" (f == "s" ? secs(lo) "-" secs(hi) : \
	    sprintf("%.2f-%.2f", lo, hi)) ")"
}

function x(v) {
	return v == "" ? "-" : sprintf("%.2f", v)
}

function md_row(key,    parts, w, c, rs, fr, t) {
	split(key, parts, SUBSEP)
	stat(wall, key); w = secs(MED) rng(MIN, MAX, "s")
	stat(cpu, key); c = secs(MED) rng(MIN, MAX, "s")
	stat(rss, key); rs = sprintf("%.1f", MED / 1024)
	stat(from, key); fr = bytes(MED)
	stat(to, key); t = bytes(MED)
	printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", parts[1], \
	    parts[2], parts[3] (bad[key] ? " **(" bad[key] " failed)**" : ""), \
	    w, c, rs, fr, t
}

function md_ratio(sc,    a, b, w, c, rs, fr) {
	a = sc SUBSEP "mailferry"
	b = sc SUBSEP "mbsync"
	if (!(a in seen) || !(b in seen))
		return
	ratio(runwall, a, b); w = x(MED) rng(MIN, MAX)
	ratio(runcpu, a, b); c = x(MED) rng(MIN, MAX)
	ratio(runrss, a, b); rs = x(MED)
	ratio(runfrom, a, b); fr = x(MED)
	printf "| | | *mailferry / mbsync* | *%s* | *%s* | *%s* | *%s* | |\n", \
	    w, c, rs, fr
}

END {
	if (fmt == "tsv") {
		print "scenario", "transport", "tool", "runs", "wall_med", \
		    "wall_min", "wall_max", "cpu_med", "cpu_min", "cpu_max", \
		    "rss_kb_med", "from_server_med", "to_server_med", "failed", \
		    "ratio_wall_med", "ratio_wall_min", "ratio_wall_max", \
		    "ratio_cpu_med", "ratio_rss_med", "ratio_from_server_med"
		for (i = 1; i <= nkeys; i++) {
			key = order[i]
			split(key, p, SUBSEP)
			line = p[1] OFS p[2] OFS p[3] OFS cnt[key]
			stat(wall, key); line = line OFS MED OFS MIN OFS MAX
			stat(cpu, key); line = line OFS MED OFS MIN OFS MAX
			stat(rss, key); line = line OFS MED
			stat(from, key); line = line OFS MED
			stat(to, key); line = line OFS MED OFS bad[key]
			if (p[3] == "mailferry" && \
			    ((p[1] SUBSEP p[2] SUBSEP "mbsync") in seen)) {
				b = p[1] SUBSEP p[2] SUBSEP "mbsync"
				ratio(runwall, key, b)
				line = line OFS MED OFS MIN OFS MAX
				ratio(runcpu, key, b); line = line OFS MED
				ratio(runrss, key, b); line = line OFS MED
				ratio(runfrom, key, b); line = line OFS MED
			} else {
				line = line OFS OFS OFS OFS OFS OFS
			}
			print line
		}
		exit
	}
	print "| scenario | transport | tool | wall s | CPU s (user+sys) |" \
	    " peak RSS MiB | from server | to server |"
	print "|---|---|---|---|---|---|---|---|"
	for (s = 1; s <= nscen; s++) {
		for (i = 1; i <= nkeys; i++) {
			key = order[i]
			split(key, p, SUBSEP)
			if ((p[1] SUBSEP p[2]) == sorder[s])
				md_row(key)
		}
		md_ratio(sorder[s])
	}
}
