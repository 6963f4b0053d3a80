# Sourced by the bench/*.sh scripts: the small statistics every benchmark
# prints, kept in one place so the figures in docs/performance.md are all
# computed the same way.

# median of the numbers on stdin, one per line ("nan" when there are none)
median() {
	sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
		if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# the value after KEY in a line "key value key value ..."
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'; }
# printf-style arithmetic: calc "%.2f" "$a / $b"
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# "lowest-highest" of the numbers on stdin, each printed with FMT (default %s)
spread() {
	sort -g | awk -v f="${1:-%s}" 'NR == 1 { lo = $1 } { hi = $1 }
		END { printf f "-" f, lo, hi }'
}
# column K of the runs recorded for configuration C in $tmp/C, failed runs left out
col() { { grep -v fail "$tmp/$1" || true; } | awk -v k="$2" '{ print $k }'; }
