#!/usr/bin/env bash
# Runs the libFuzzer targets built into build-fuzz/ (make fuzz-build), each
# for a fixed time, and prints per target its executions, its coverage
# (libFuzzer's closing figures: cov = code edges reached, ft = features,
# the finer edge/counter pairs it steers by) and any crash, then a line
# with the totals.
#   tests/fuzz/run.sh [-t SECONDS] [TARGET...]    default: 60 s, every target
# A target starts from its committed seeds (tests/fuzz/corpus/<target>/) and
# the corpus earlier runs grew (build-fuzz/corpus/<target>/, where new inputs
# go: the committed seeds stay as they are). Crashes, leaks and timeouts are
# written to build-fuzz/crashes/<target>/. A target passes when libFuzzer
# exits 0 and left no new crash file. The last line of
# build/test-logs/fuzz-result is "<passed> <failed>" for tests/run-all.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=60
while getopts t: o; do
	case $o in
	t) secs=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [TARGET...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do
		[ -e "$f" ] && targets+=("$(basename "$f" .c)")
	done
fi
logs=build/test-logs
mkdir -p "$logs"
pass=0
fail=0
total_execs=0
total_cov=0
total_ft=0
for t in "${targets[@]}"; do
	bin=build-fuzz/$t
	work=build-fuzz/corpus/$t
	crashes=build-fuzz/crashes/$t
	log=$logs/fuzz-$t.log
	mkdir -p "$work" "$crashes" "tests/fuzz/corpus/$t"
	if [ ! -x "$bin" ]; then
		printf '  %-24s not built (make fuzz-build)\n' "$t"
		fail=$((fail + 1))
		continue
	fi
	before=$(ls "$crashes" | wc -l)
	# -timeout: one input running 10 s is a hang; -rss_limit_mb: a leak;
	# -close_fd_mask=2: petrel's own warnings (a device that needs a reset
	# says so once per input) filled a log with 1 GB in 5 minutes; libFuzzer
	# and the sanitizers report through their own copy of stderr, and
	# replaying a crash file shows petrel's messages again
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 \
		-print_final_stats=1 -artifact_prefix="$crashes/" \
		"$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	# the last status line: "#N DONE cov: C ft: F corp: ..."
	cov=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p')
	ft=${cov#* }
	cov=${cov% *}
	corpus=$(ls "$work" | wc -l)
	new=$(($(ls "$crashes" | wc -l) - before))
	total_execs=$((total_execs + ${execs:-0}))
	total_cov=$((total_cov + ${cov:-0}))
	total_ft=$((total_ft + ${ft:-0}))
	if [ $rc -eq 0 ] && [ "$new" -eq 0 ]; then
		pass=$((pass + 1))
		printf '  %-24s ok: %s executions in %s s (%s/s), cov %s ft %s, corpus %s\n' \
			"$t" "${execs:-?}" "$secs" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corpus"
	else
		fail=$((fail + 1))
		printf '  %-24s FAIL (status %s) after %s executions; log %s\n' \
			"$t" "$rc" "${execs:-?}" "$log"
		grep -m3 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | sed 's/^/    /'
		ls -t "$crashes" | head -n "$new" | sed "s|^|    crash: $crashes/|"
	fi
done
printf '  %-24s %s targets: %s passed, %s failed; %s executions, cov %s ft %s in all\n' \
	"total" "${#targets[@]}" "$pass" "$fail" "$total_execs" "$total_cov" "$total_ft"
echo "$pass $fail" >"$logs/fuzz-result"
[ "$fail" -eq 0 ]
