#!/usr/bin/env bash
# Runs petrel's test tiers and prints one closing line "N passed, N failed".
#   tests/run-all.sh            every tier
#   tests/run-all.sh unit       unit tests (normal build and ASan+UBSan build)
#   tests/run-all.sh cli        petrel as a user runs it: errors, signals, console
#   tests/run-all.sh guest      tiny C guests under petrel (needs /dev/kvm)
#   tests/run-all.sh boot       Debian's kernel booted by petrel (slow)
#   tests/run-all.sh deep       the deep boot test with --emulation-assist (slow)
set -uo pipefail
cd "$(dirname "$0")/.."
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(unit cli guest boot deep)
jobs=$(nproc 2>/dev/null || echo 2)
pass=0
fail=0
skip=0
failed_names=()
log_dir=build/test-logs
mkdir -p "$log_dir"

record() { # name status
	if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); failed_names+=("$1"); fi
}

# Runs one cmocka binary with TAP output and counts its test cases; a binary
# that dies before reporting counts as one failure.
run_cmocka() { # label binary
	local label=$1 bin=$2 out ok notok skipped rc
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1); rc=$?
	# cmocka's TAP marks a skipped test "not ok N # SKIP": not a failure
	ok=$(grep -c '^ok ' <<<"$out")
	skipped=$(grep -c '^not ok .*# SKIP' <<<"$out")
	notok=$(( $(grep -c '^not ok ' <<<"$out") - skipped ))
	pass=$((pass + ok)); fail=$((fail + notok)); skip=$((skip + skipped))
	grep '^not ok ' <<<"$out" | grep -v '# SKIP' | sed "s|^|  FAIL $label: |"
	if [ "$notok" -gt 0 ]; then failed_names+=("$label"); fi
	if [ $rc -ne 0 ] && [ "$notok" -eq 0 ]; then
		fail=$((fail + 1)); failed_names+=("$label (exit $rc)")
		echo "$out" | tail -20 | sed "s|^|  $label: |"
	fi
	printf '  %-40s %d passed, %d failed%s\n' "$label" "$ok" "$notok" \
		"$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
}

tier_unit() {
	# the loader tests read Debian's real kernel; without it they skip
	make -s kernel >/dev/null 2>&1 || echo "  (could not fetch the test kernel: its tests will skip)"
	echo "== unit tests (normal build)"
	make -s -j"$jobs" all unit-bins >/dev/null || { record "build" 1; return; }
	for t in build/tests/unit/test_*; do
		[ -x "$t" ] && run_cmocka "$(basename "$t")" "$t"
	done
	echo "== unit tests (AddressSanitizer + UBSan build)"
	make -s -j"$jobs" SAN=1 all unit-bins >/dev/null || { record "build-san" 1; return; }
	for t in build-san/tests/unit/test_*; do
		[ -x "$t" ] && ASAN_OPTIONS=detect_leaks=1 run_cmocka "san/$(basename "$t")" "$t"
	done
}

tier_guest() {
	echo "== guest tests (tiny C guests under petrel)"
	if [ -x tests/guest/run.sh ]; then
		run_counted guest tests/guest/run.sh
	else
		echo "  (no guest tests yet)"
	fi
}

# a script tier that writes "<pass> <fail>" or "<pass> <fail> <skip>" to
# build/test-logs/NAME-result
run_counted() { # name script
	local name=$1 script=$2 rc line p f s
	rm -f "build/test-logs/$name-result"
	"$script"; rc=$?
	line=$(tail -n1 "build/test-logs/$name-result" 2>/dev/null || echo "0 1")
	read -r p f s _ <<<"$line"
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1})); skip=$((skip + ${s:-0}))
	if [ $rc -ne 0 ]; then
		failed_names+=("$name")
		# a script that failed without counting a failure still fails the run
		[ "${f:-1}" -eq 0 ] && fail=$((fail + 1))
	fi
}

tier_cli() {
	echo "== cli tests (petrel as a user runs it)"
	make -s -j"$jobs" all >/dev/null || { record "build" 1; return; }
	run_counted cli tests/cli/cli_test.sh
}

tier_boot() {
	echo "== boot test (Debian kernel under petrel, decompressed on the host)"
	make -s -j"$jobs" all >/dev/null || { record "build" 1; return; }
	tests/boot/boot_test.sh host; record "boot-host" $?
	echo "== boot test (Debian kernel, its own decompressor in the guest)"
	tests/boot/boot_test.sh guest; record "boot-guest" $?
}

tier_deep() {
	echo "== deep boot test (Debian kernel with --emulation-assist)"
	make -s -j"$jobs" all >/dev/null || { record "build" 1; return; }
	tests/boot/deep_test.sh; record "deep" $?
}

for t in "${tiers[@]}"; do
	case $t in
	unit|cli|guest|boot|deep) "tier_$t" ;;
	*) echo "unknown tier $t" >&2; exit 2 ;;
	esac
done
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
