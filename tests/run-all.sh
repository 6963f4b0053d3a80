#!/usr/bin/env bash
# Runs petrel's test tiers and prints one closing line
# "N passed, N failed, N skipped" (every case not run is counted as skipped).
#   tests/run-all.sh            every tier
#   tests/run-all.sh unit       unit tests (normal build and ASan+UBSan build)
#   tests/run-all.sh cli        petrel as a user runs it: errors, signals, console
#   tests/run-all.sh guest      tiny C guests under petrel, the hostile ones
#                               again under ASan + UBSan (needs KVM)
#   tests/run-all.sh boot       Debian's kernel booted by petrel to /init (needs KVM)
#   tests/run-all.sh virtio     that kernel's virtio drivers against petrel's
#                               disks and rng: data written, synced, read back
#                               on the host (tests/e2e/; needs KVM)
#   tests/run-all.sh net        that kernel's virtio_net against petrel's NICs:
#                               --net user (DHCP, HTTP, a port forward) and
#                               --net tap, files checked by sha256 both ways
#                               (tests/e2e/net_test.sh; needs KVM and root)
#   tests/run-all.sh trace      --trace end to end: a Multiboot guest's known
#                               accesses and interrupt route, and that kernel's
#                               virtio-blk kicks, completions and MSI-X
#                               interrupts (tests/e2e/trace_test.sh; needs KVM)
#   tests/run-all.sh api        the control API (--api-socket) against a running
#                               Linux guest with curl and petrel ctl: every
#                               endpoint, pause/resume, translate, bad
#                               requests, shutdown by the ACPI power button
#                               (tests/e2e/api_test.sh; needs KVM)
#   tests/run-all.sh gdb        Debian's gdb in batch mode against petrel's
#                               GDB stub: a guest-kit guest with symbols and
#                               Debian's kernel (break, hbreak, watch, stepi,
#                               threads, Ctrl-C, --gdb-wait, the guest's
#                               exit; tests/e2e/gdb_test.sh; needs KVM)
#   tests/run-all.sh seccomp    the seccomp filters and the privilege drop on
#                               the real binary: a forbidden syscall from
#                               each thread kind kills petrel with its
#                               message (PETREL_SECCOMP_SELFTEST), every
#                               thread filtered, --user nobody, a Linux
#                               boot with every thread kind
#                               (tests/e2e/seccomp_test.sh; needs KVM, root)
#   tests/run-all.sh deep       the emulation-assist test (needs a software KVM)
#   tests/run-all.sh fuzz       each libFuzzer target in tests/fuzz/ for
#                               FUZZ_TEST_TIME seconds (default 8; clang, on
#                               the host, no KVM); one pass or fail per target
#
# Where the tiers that need KVM run (guest, boot, and the cli tier's cases
# that run a guest): on this machine's /dev/kvm when that KVM has hardware
# virtualization (vmx or svm in /proc/cpuinfo), otherwise inside the nested
# VM (tests/nested/run.sh: QEMU TCG with an emulated AMD CPU and kvm-amd),
# in four L1 boots of a few tiers each. PETREL_KVM=host or PETREL_KVM=nested forces the choice;
# the run says which it used. The deep tier exists for the software KVM some
# machines have, and runs only on such a machine.
set -uo pipefail
cd "$(dirname "$0")/.."
inner=0
if [ "${1:-}" = --inner ]; then # the KVM tiers, inside the nested VM
	inner=1
	shift
fi
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(unit cli fuzz guest boot virtio net trace api gdb seccomp deep)
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

# a script tier that writes "<pass> <fail>" or "<pass> <fail> <skip>" to
# build/test-logs/NAME-result
run_counted() { # name script [args...]
	local name=$1 script=$2 rc line p f s
	shift 2
	rm -f "build/test-logs/$name-result"
	"$script" "$@"; rc=$?
	line=$(tail -n1 "build/test-logs/$name-result" 2>/dev/null || echo "0 1")
	read -r p f s _ <<<"$line"
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1})); skip=$((skip + ${s:-0}))
	if [ $rc -ne 0 ]; then
		failed_names+=("$name")
		# a script that failed without counting a failure still fails the run
		[ "${f:-1}" -eq 0 ] && fail=$((fail + 1))
	fi
}

# Where the KVM tiers run: tools/kvm-where.sh decides (and PETREL_KVM
# forces); kvm is this machine's kind of KVM: none, hw (VMX/SVM) or soft.
kvm=$(tools/kvm-where.sh --kind | tail -n1)
if [ $inner -eq 1 ]; then
	where=host why="inside the nested VM"
else
	{ read -r where; read -r why; } < <(tools/kvm-where.sh -v) || exit 2
fi

build() { # make targets...: a failed build counts as one failure
	make -s -j"$jobs" "$@" >"$log_dir/build.log" 2>&1 && return 0
	tail -20 "$log_dir/build.log" | sed 's/^/  /'
	record "build ($*)" 1
	return 1
}

tier_cli() {
	echo "== cli tests (petrel as a user runs it)"
	build all || return
	if [ "$where" = host ]; then
		run_counted cli tests/cli/cli_test.sh all
	else
		run_counted cli tests/cli/cli_test.sh nokvm
		echo "  (its cases that run a guest run with the KVM tiers, in the nested VM)"
		nested_tiers+=(cli-kvm)
	fi
}
tier_cli-kvm() {
	echo "== cli tests that run a guest"
	run_counted cli tests/cli/cli_test.sh kvm
}

tier_fuzz() {
	local n
	n=$(ls tests/fuzz/fuzz_*.c 2>/dev/null | wc -l)
	echo "== fuzz targets (libFuzzer, ${FUZZ_TEST_TIME:-8} s each)"
	if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
		echo "  SKIP fuzz: no ${FUZZ_CC:-clang} (tools/deps.sh installs it)"
		skip=$((skip + n))
		return
	fi
	build fuzz-build || return
	run_counted fuzz tests/fuzz/run.sh -t "${FUZZ_TEST_TIME:-8}"
}

tier_guest() {
	echo "== guest tests (tiny C guests under petrel)"
	run_counted guest tests/guest/run.sh
	# the guests that attack petrel, again with its host half under
	# ASan + UBSan (LeakSanitizer included): a memory error they provoke
	# need not crash the plain build
	echo "   the hostile guests under ASan + UBSan:"
	run_counted guest env SAN=1 tests/guest/run.sh hostile_regs hostile_virtio hostile_smp
}

tier_boot() {
	echo "== boot tests (Debian's kernel under petrel, to /init)"
	build all kernel initrd || return
	run_counted boot tests/boot/boot_test.sh
}

tier_virtio() {
	echo "== virtio tests (Debian's kernel and its virtio drivers against petrel's devices)"
	build all kernel initrd || return
	run_counted virtio tests/e2e/virtio_test.sh
}

tier_net() {
	echo "== net tests (Debian's kernel and its virtio_net against petrel's NICs)"
	build all kernel initrd || return
	run_counted net tests/e2e/net_test.sh
}

tier_trace() {
	echo "== trace tests (--trace end to end: a Multiboot guest, Debian's kernel)"
	build all guest-bins kernel initrd || return
	run_counted trace tests/e2e/trace_test.sh
}

tier_api() {
	echo "== api tests (the control API against Debian's kernel, with curl)"
	build all kernel initrd || return
	run_counted api tests/e2e/api_test.sh
}

tier_gdb() {
	echo "== gdb tests (Debian's gdb against petrel's GDB stub)"
	build all guest-bins kernel initrd || return
	run_counted gdb tests/e2e/gdb_test.sh
}

tier_seccomp() {
	echo "== seccomp tests (filters per thread kind, privilege drop)"
	build all kernel initrd || return
	run_counted seccomp tests/e2e/seccomp_test.sh
}

tier_deep() {
	echo "== deep boot test (Debian kernel with --emulation-assist)"
	if [ "$kvm" != soft ]; then
		echo "  SKIP deep: it tests --emulation-assist on a software KVM, and this machine has" \
			"$([ "$kvm" = none ] && echo "no /dev/kvm" || echo "hardware virtualization")"
		skip=$((skip + 1))
		return
	fi
	build all || return
	tests/boot/deep_test.sh; record "deep" $?
}

# The KVM tiers queued for the nested VM: everything they need is built
# here first, then L1 boots run them in groups (tests/run-all.sh --inner).
nested_tiers=()
# One L1 boot for a group of tiers. tests/nested/run.sh boots L1 once more
# if the platform itself failed (an L1 panic or triple fault under QEMU TCG,
# ../shared/PLATFORM.md); the longer one L1 lives, the likelier that is, so
# the tiers go in groups of a few minutes each rather than all in one L1.
run_nested_group() { # tier...
	local counts rc start=$SECONDS
	echo "== in the nested VM: $*"
	rm -f "$log_dir/inner-counts"
	# One L1 CPU unless NESTED_CPUS says otherwise: with two (QEMU's
	# multi-threaded TCG), the clean-clone runs of 2026-11-28 lost two L1s
	# (a kernel panic, a triple fault) and saw six early triple faults and
	# hangs of Linux guests; the same tiers with one CPU, four times that
	# day, ran without a single retry (4-vCPU guests included).
	NESTED_CPUS=${NESTED_CPUS:-1} tests/nested/run.sh -- tests/run-all.sh --inner "$@" 2>&1 |
		tee -a "$log_dir/nested.log"
	rc=${PIPESTATUS[0]}
	echo "  (nested VM: $* took $((SECONDS - start)) s, L1 boot included)"
	counts=$(cat "$log_dir/inner-counts" 2>/dev/null)
	if [ -z "$counts" ]; then
		record "nested VM: $* (status $rc)" 1
		return
	fi
	read -r p f s names <<<"$counts"
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	[ -n "$names" ] && failed_names+=($names)
	[ $rc -ne 0 ] && [ "$f" -eq 0 ] && record "nested VM: $* (status $rc)" 1
}
run_nested() {
	local groups=("cli-kvm guest trace seccomp" "boot" "virtio" "net api gdb") g t want
	build all guest-bins kernel initrd || return
	# the guest tier's ASan run too: built here, not by TCG in the L1
	build SAN=1 guest-bins || return
	[ -s .cache/vmlinux ] || tools/extract-vmlinux.sh .cache/vmlinuz .cache/vmlinux ||
		{ record "extract vmlinux" 1; return; }
	: >"$log_dir/nested.log"
	for g in "${groups[@]}"; do
		want=()
		for t in "${nested_tiers[@]}"; do
			[[ " $g " == *" $t "* ]] && want+=("$t")
		done
		[ ${#want[@]} -gt 0 ] && run_nested_group "${want[@]}"
	done
	# a tier no group names still runs, in an L1 of its own
	for t in "${nested_tiers[@]}"; do
		[[ " ${groups[*]} " == *" $t "* ]] || run_nested_group "$t"
	done
}

if [ $inner -eq 0 ]; then
	case $where in
	host) echo "KVM tiers: on this machine's /dev/kvm ($why)" ;;
	nested) echo "KVM tiers: in the nested VM under QEMU TCG ($why)" ;;
	esac
else
	echo "KVM tiers: inside the nested VM ($(uname -r), $(nproc) CPUs, /dev/kvm: $kvm)"
fi
timed() { # tier function: runs it and says how long it took
	local start=$SECONDS
	"$@"
	echo "  ($1 took $((SECONDS - start)) s)"
}
for t in "${tiers[@]}"; do
	case $t in
	unit|cli|deep|cli-kvm|fuzz) timed "tier_$t" ;;
	guest|boot|virtio|net|trace|api|gdb|seccomp)
		if [ "$where" = nested ]; then
			echo "== $t tests: queued for the nested VM"
			nested_tiers+=("$t")
		else
			timed "tier_$t"
		fi
		;;
	*) echo "unknown tier $t" >&2; exit 2 ;;
	esac
done
[ ${#nested_tiers[@]} -gt 0 ] && run_nested
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
if [ $inner -eq 1 ]; then
	# for the run outside; a closing line of its own would read as the run's
	echo "$pass $fail $skip ${failed_names[*]}" >"$log_dir/inner-counts"
	echo "in the nested VM: $pass passed, $fail failed, $skip skipped (counted in the closing line outside)"
else
	echo "$pass passed, $fail failed, $skip skipped"
fi
[ "$fail" -eq 0 ]
