# Sourced by bench/run.sh and bench/boot_banner.sh (bash, from the checkout's
# top): where a benchmark runs, decided by tools/kvm-where.sh as for the KVM
# test tiers. On this machine's /dev/kvm when that KVM has hardware
# virtualization (vmx or svm in /proc/cpuinfo); otherwise in the nested VM of
# tests/nested/ (QEMU TCG, kvm-amd in L1), where the QEMU baselines run too.
# PETREL_KVM=host or PETREL_KVM=nested forces the choice.
#
# Sets bench_kvm (none, hw or soft: a /dev/kvm without VMX/SVM, the software
# KVM of ../shared/PLATFORM.md), bench_where (host or nested) and
# bench_kvm_what (one phrase for the output and the result table).

bench_kvm=$(tools/kvm-where.sh --kind | tail -n1)
bench_where=$(tools/kvm-where.sh) || exit 2
if [ -n "${PETREL_IN_NESTED:-}" ]; then
	bench_kvm_what="kvm-amd inside the nested VM (QEMU TCG -cpu max on the host, $(nproc) L1 CPUs)"
elif [ "$bench_kvm" = hw ]; then
	bench_kvm_what="this machine's /dev/kvm (hardware virtualization)"
else
	bench_kvm_what="this machine's /dev/kvm (a software KVM: no VMX/SVM${PETREL_KVM:+, PETREL_KVM=$PETREL_KVM})"
fi

# bench_in_nested LOG CMD...: says why in one line, runs CMD as root in the
# nested VM (its output streamed and kept in LOG) and returns its status.
# The nested VM's environment is empty: pass settings as `env VAR=...`.
bench_in_nested() {
	local log=$1 why others rc
	shift
	why=$(tools/kvm-where.sh -v | tail -n1)
	echo "bench: running in the nested VM under QEMU TCG ($why); QEMU baselines run there too"
	# TCG shares the host's CPUs with whatever else runs: it skews the ratios
	others=$(pgrep -c -x qemu-system-x86 || true)
	if [ "${others:-0}" -gt 0 ]; then
		echo "bench: note: $others other QEMU process(es) on this host share its CPUs:" \
			"expect noisy figures (PLATFORM.md)"
	fi
	mkdir -p "$(dirname "$log")"
	# (tests/nested/run.sh boots L1 once more if the platform itself failed)
	rc=0
	tests/nested/run.sh -- "$@" 2>&1 | tee "$log" || rc=$?
	others=$(pgrep -c -x qemu-system-x86 || true)
	if [ "${others:-0}" -gt 0 ]; then
		echo "bench: note: $others other QEMU process(es) were running on this host at the end" \
			"of the run: its figures may be skewed"
	fi
	return $rc
}
