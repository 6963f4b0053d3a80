#!/usr/bin/env bash
# Builds and runs every guest test (tests/guest/test_*.c; test_gdb, which
# drives the real gdb, runs in the gdb tier instead): one line per
# test, each test's full output in build/test-logs/guest/<test>.log, and the
# counts as one line "<pass> <fail> <skip>" in build/test-logs/guest-result (read by
# tests/run-all.sh). A test exits 0 (pass), 77 (skip: no usable /dev/kvm),
# or anything else (fail). Exit status: 0 unless
# something failed.
#   tests/guest/run.sh              all tests
#   tests/guest/run.sh irq smp      only test_irq and test_smp
#   SAN=1 tests/guest/run.sh        host halves with ASan + UBSan (build-san/)
# Every test runs once per irqchip mode (KIT_IRQCHIP, see kit.h): with KVM's
# in-kernel IOAPIC/PIC/PIT and with petrel's own (--irqchip split), as
# "test_irq" and "test_irq[split]". GUEST_IRQCHIPS="kernel" runs one mode.
set -uo pipefail
cd "$(dirname "$0")/../.."
SAN=${SAN:-0}
build=build
[ "$SAN" = 1 ] && build=build-san
logs=build/test-logs
mkdir -p "$logs/guest"
result=$logs/guest-result
echo "0 1 0" >"$result" # until proven otherwise
jobs=$(nproc 2>/dev/null || echo 2)
timeout_s=${GUEST_TEST_TIMEOUT:-90}

if ! make -s -j"$jobs" SAN="$SAN" guest-bins >"$logs/guest/build.log" 2>&1; then
	echo "  FAIL build (see $logs/guest/build.log)"
	tail -20 "$logs/guest/build.log" | sed 's/^/    /'
	exit 1
fi

names=()
if [ $# -gt 0 ]; then
	for n in "$@"; do names+=("test_${n#test_}"); done
else
	# test_gdb drives the real gdb: it runs in the gdb tier (tests/e2e/gdb_test.sh)
	for src in tests/guest/test_*.c; do
		[ "$(basename "$src" .c)" = test_gdb ] || names+=("$(basename "$src" .c)")
	done
fi

pass=0 fail=0 skip=0
start_all=$(date +%s%N)
read -ra modes <<<"${GUEST_IRQCHIPS:-kernel split}"
runs=()
for name in "${names[@]}"; do
	for mode in "${modes[@]}"; do runs+=("$name:$mode"); done
done
for run in "${runs[@]}"; do
	bin=$build/tests/guest/${run%:*}
	mode=${run#*:}
	name=${run%:*}
	log=$logs/guest/$name.log
	if [ "$mode" != kernel ]; then
		name="$name[$mode]"
		log=$logs/guest/${run%:*}.$mode.log
	fi
	if [ "$SAN" = 1 ]; then
		name="$name[san]"
		log=${log%.log}.san.log
	fi
	start=$(date +%s%N)
	# stdin from /dev/null: petrel's console must never see the terminal
	KIT_IRQCHIP=$mode PETREL=$build/petrel ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		timeout -s KILL "$timeout_s" "$bin" </dev/null >"$log" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	case $rc in
	0)
		pass=$((pass + 1))
		printf '  PASS %-22s %6d ms\n' "$name" "$ms"
		;;
	77)
		skip=$((skip + 1))
		printf '  SKIP %-22s %s\n' "$name" "$(grep -m1 '^SKIP' "$log" | sed 's/^SKIP: //')"
		;;
	*)
		fail=$((fail + 1))
		printf '  FAIL %-22s %6d ms (exit %d, log %s)\n' "$name" "$ms" "$rc" "$log"
		grep -E '^(FAIL|guest)' "$log" | head -10 | sed 's/^/    /'
		;;
	esac
done
total_ms=$((($(date +%s%N) - start_all) / 1000000))
echo "  guest tests: $pass passed, $fail failed, $skip skipped in $total_ms ms"
echo "$pass $fail $skip" >"$result"
[ "$fail" -eq 0 ]
