#!/usr/bin/env bash
# petrel's benchmarks (see docs/performance.md). Prints figures and ratios
# against baselines measured in the same run, on the same machine; it never
# asserts on time. `make bench` builds everything and runs this.
#
#   bench/run.sh               all of them (about a minute)
#   bench/run.sh exit startup  only some: exit, mmio, irq, startup, memory
#
# Where they run, as tests/run-all.sh decides for the KVM test tiers: on this
# machine's /dev/kvm when that KVM has hardware virtualization (vmx or svm in
# /proc/cpuinfo); otherwise everything is built here and the whole run,
# QEMU baselines included, goes inside the nested VM (tests/nested/run.sh:
# QEMU TCG with an emulated AMD CPU and kvm-amd, one L1 boot), and the run
# says so. PETREL_KVM=host or PETREL_KVM=nested forces the choice (host on
# a software KVM measures that KVM, as the older tables in
# docs/performance.md did). NESTED_CPUS etc. are tests/nested/run.sh's.
#
# Knobs (environment): BENCH_RUNS (runs per figure, default 7),
# BENCH_EXITS (guest writes per exit run, default 10000), BENCH_QEMU_PC=0 to
# skip the slow QEMU -M pc startup row. The result table is also written to
# build/bench/latest.md.
set -euo pipefail
cd "$(dirname "$0")/.."

inner=0
if [ "${1:-}" = --inner ]; then # run by the outer bench/run.sh in the nested VM
	inner=1
	shift
fi
RUNS=${BENCH_RUNS:-7}
EXITS=${BENCH_EXITS:-10000}
QEMU_PC=${BENCH_QEMU_PC:-1}
B=build/bench
GUEST_MIB=64
OUT=$B/latest.md
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(exit mmio irq startup memory)

. bench/where.sh
. bench/stats.sh
if [ $inner -eq 0 ]; then
	# the nested VM runs the binaries built here: build them here, not there
	make -s all bench-bins
	if [ "$bench_where" = nested ]; then
		bench_in_nested $B/nested.log env BENCH_RUNS="$RUNS" BENCH_EXITS="$EXITS" \
			BENCH_QEMU_PC="$QEMU_PC" bench/run.sh --inner "${parts[@]}"
		exit
	fi
fi
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "bench: /dev/kvm is not usable here: skipped"; exit 0; }
QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || echo "bench: qemu-system-x86_64 not found: QEMU rows skipped (tools/deps.sh installs it)"

want() { local p; for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rows=()
row() { rows+=("$1"); }

echo "petrel benchmarks: $(date -u '+%Y-%m-%d %H:%M UTC'), $RUNS runs per figure, medians"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
echo "KVM: $bench_kvm_what"
echo

# --- exit and MMIO round trips: raw KVM and petrel alternate, run by run, so
# that the machine's drifting load hits both alike.
exit_bench() { # pio|mmio label
	local kind=$1 label=$2 raw irq pet r rmin pmin
	echo "== $label: $EXITS guest writes per run, CPL3 guest"
	for ((i = 0; i < RUNS; i++)); do
		$B/raw_kvm "$kind" "$EXITS" | field ns_per_exit >>"$tmp/$kind.raw"
		$B/exit_petrel "$kind" "$EXITS" | field ns_per_exit >>"$tmp/$kind.pet"
		$B/raw_kvm "$kind" "$EXITS" irqchip | field ns_per_exit >>"$tmp/$kind.irq"
		BENCH_SECCOMP=1 $B/exit_petrel "$kind" "$EXITS" | field ns_per_exit >>"$tmp/$kind.sec"
	done
	raw=$(median <"$tmp/$kind.raw")
	irq=$(median <"$tmp/$kind.irq")
	pet=$(median <"$tmp/$kind.pet")
	rmin=$(sort -g "$tmp/$kind.raw" | head -1)
	pmin=$(sort -g "$tmp/$kind.pet" | head -1)
	r=$(calc "%.3f" "$pet / $raw")
	printf '  raw KVM  %8.2f us/exit  (runs %s us)\n' "$(calc %.2f "$raw/1000")" \
		"$(awk '{ printf "%.1f\n", $1 / 1000 }' "$tmp/$kind.raw" | spread)"
	printf '  petrel   %8.2f us/exit  (runs %s us)\n' "$(calc %.2f "$pet/1000")" \
		"$(awk '{ printf "%.1f\n", $1 / 1000 }' "$tmp/$kind.pet" | spread)"
	printf '  raw KVM + in-kernel irqchip (as petrel has) %.2f us/exit: petrel/that = %s\n' \
		"$(calc %.2f "$irq/1000")" "$(calc %.3f "$pet / $irq")"
	# the best runs are the least disturbed by other load: a second view
	echo "  RATIO petrel/raw = $r of medians, $(calc %.3f "$pmin / $rmin") of best runs   (target <= 1.10)"
	sec=$(median <"$tmp/$kind.sec")
	printf '  petrel under its seccomp filters (the default of petrel run) %.2f us/exit: RATIO seccomp/none = %s\n' \
		"$(calc %.2f "$sec/1000")" "$(calc %.3f "$sec / $pet")"
	echo
	row "| $label | raw KVM $(calc %.2f "$raw/1000") µs/exit | petrel $(calc %.2f "$pet/1000") µs/exit | **$r** petrel/raw (best runs: $(calc %.3f "$pmin / $rmin")) | ≤ 1.10 |"
}
want exit && exit_bench pio "exit round trip (PIO)"
want mmio && exit_bench mmio "MMIO round trip"

# --- interrupt delivery and teardown per irqchip mode (bench/irq_petrel.c):
# KVM's IOAPIC (kernel) against petrel's (split), run by run in turn.
IRQS=${BENCH_IRQS:-2000}
IRQ_GUEST=build/tests/guest/guests/irq_bench.elf
if want irq; then
	echo "== interrupt delivery: a device thread raises IOAPIC pin 16, $IRQS interrupts per run, until the guest's handler ran"
	for ((i = 0; i < RUNS; i++)); do
		for mode in kernel split; do
			for trig in edge level; do
				$B/irq_petrel $mode $trig "$IRQS" $IRQ_GUEST >"$tmp/irq.out" ||
					{ echo "  ($mode $trig: a run failed)"; continue; }
				field median_ns <"$tmp/irq.out" >>"$tmp/irq.$mode.$trig"
				field teardown_ms <"$tmp/irq.out" >>"$tmp/down.$mode"
			done
		done
	done
	for trig in edge level; do
		k=$(median <"$tmp/irq.kernel.$trig") s=$(median <"$tmp/irq.split.$trig")
		printf '  %-5s kernel %7.2f us   split %7.2f us   RATIO split/kernel = %s\n' "$trig" \
			"$(calc %.2f "$k/1000")" "$(calc %.2f "$s/1000")" "$(calc %.2f "$s / $k")"
		row "| interrupt delivery ($trig) | kernel irqchip $(calc %.2f "$k/1000") µs | split $(calc %.2f "$s/1000") µs | **$(calc %.2f "$s / $k")** split/kernel | — |"
	done
	k=$(median <"$tmp/down.kernel") s=$(median <"$tmp/down.split")
	printf '  VM teardown (vm_destroy): kernel %s ms, split %s ms\n' "$k" "$s"
	row "| VM teardown | kernel irqchip $k ms | split $s ms | **$(calc %.2f "$s / $k")** split/kernel | — |"
	echo
fi

# --- startup: fork+exec to the guest's first port write (a byte on COM1 read
# from the VMM's stdout), and to the process's exit.
QEMU_COMMON=(-accel kvm -nodefaults -nographic -serial stdio -m ${GUEST_MIB}M
	-device isa-debug-exit,iobase=0xf4,iosize=4)
startup_runs() { # name runs cmd...
	local name=$1 n=$2; shift 2
	for ((i = 0; i < n; i++)); do
		$B/spawn -t 120 -- "$@" >>"$tmp/start.$name" || echo "  ($name: a run failed)"
	done
}
if want startup; then
	echo "== startup: fork+exec to the guest's first port write (Multiboot guest $B/mb_exit.elf)"
	for ((r = 0; r < RUNS; r++)); do
		startup_runs petrel 1 build/petrel run --kernel $B/mb_exit.elf --debug-exit \
			--mem ${GUEST_MIB}M --console stdio
		startup_runs raw 1 $B/raw_kvm startup
		if [ -n "$QEMU" ]; then
			startup_runs microvm 1 "$QEMU" -M microvm -kernel $B/mb_exit.elf "${QEMU_COMMON[@]}"
		fi
	done
	# -M pc runs SeaBIOS first, emulated here: ~2 s a run, so three runs
	if [ -n "$QEMU" ] && [ "$QEMU_PC" = 1 ]; then
		startup_runs pc 3 "$QEMU" -M pc -kernel $B/mb_exit.elf "${QEMU_COMMON[@]}"
	fi
	declare -A first=() done=()
	for name in raw petrel microvm pc; do
		[ -s "$tmp/start.$name" ] || continue
		first[$name]=$(field mark_us <"$tmp/start.$name" | median)
		done[$name]=$(field exit_us <"$tmp/start.$name" | median)
	done
	for name in raw petrel microvm pc; do
		[ -n "${first[$name]:-}" ] || continue
		case $name in
		raw) what="raw KVM (64-bit CPL3)";;
		petrel) what="petrel run";;
		microvm) what="QEMU -M microvm";;
		pc) what="QEMU -M pc (SeaBIOS)";;
		esac
		printf '  %-24s first write %9.2f ms   process exit %9.2f ms\n' "$what" \
			"$(calc %.2f "${first[$name]}/1000")" "$(calc %.2f "${done[$name]}/1000")"
	done
	d=$(calc "%+.2f" "(${first[petrel]} - ${first[raw]}) / 1000")
	echo "  petrel - raw = $d ms   (target <= 2 ms)"
	row "| startup (to first port write) | raw KVM $(calc %.2f "${first[raw]}/1000") ms | petrel $(calc %.2f "${first[petrel]}/1000") ms | **$d ms** petrel−raw | ≤ +2 ms |"
	for q in microvm pc; do
		[ -n "${first[$q]:-}" ] || continue
		x=$(calc "%.1f" "${first[$q]} / ${first[petrel]}")
		xr=$(calc "%.1f" "${first[$q]} / ${first[raw]}")
		echo "  RATIO QEMU -M $q / petrel = ${x}x   (target >= 20x; QEMU/raw = ${xr}x)"
		row "| startup vs QEMU -M $q | QEMU $(calc %.2f "${first[$q]}/1000") ms | petrel $(calc %.2f "${first[petrel]}/1000") ms | **${x}x** QEMU/petrel (raw: ${xr}x) | ≥ 20x |"
	done
	printf '  (process exit, for information: raw %.2f ms, petrel %.2f ms)\n' \
		"$(calc %.2f "${done[raw]}/1000")" "$(calc %.2f "${done[petrel]}/1000")"
	# one VM after another, each made, run and torn down whole (the
	# process's exit), as a pool that spawns VMs on demand would see them
	vms=""
	for name in raw petrel microvm pc; do
		[ -n "${done[$name]:-}" ] || continue
		vms+=" $name $(calc %.1f "1000000 / ${done[$name]}")"
	done
	echo "  VMs per second, one after another (1 / median time to process exit):$vms"
	row "| VMs/s, made + run + torn down in turn | raw KVM $(calc %.1f "1000000 / ${done[raw]}")/s${done[microvm]:+; QEMU -M microvm $(calc %.1f "1000000 / ${done[microvm]}")/s} | petrel $(calc %.1f "1000000 / ${done[petrel]}")/s | petrel/raw $(calc %.2f "${done[raw]} / ${done[petrel]}")${done[microvm]:+, petrel/microvm $(calc %.1f "${done[microvm]} / ${done[petrel]}")x} | |"
	echo
fi

# --- memory: the guest writes 'X', touches 1 MiB, writes 'Y' and halts; then
# the VMM's /proc/PID/smaps is read: total Rss, and the Rss of the guest-RAM
# mapping (the anonymous ${GUEST_MIB} MiB one), which is subtracted.
mem_runs() { # name mark-byte cmd...
	local name=$1 mark=$2; shift 2
	for ((i = 0; i < (RUNS + 1) / 2 + 1; i++)); do
		$B/spawn -x "$mark" -m $GUEST_MIB -s 300 -t 60 -- "$@" >>"$tmp/mem.$name" ||
			echo "  ($name: a run failed)"
	done
}
if want memory; then
	echo "== memory: VMM resident memory beside the guest's own pages (guest RAM ${GUEST_MIB} MiB)"
	mem_runs petrel Y build/petrel run --kernel $B/mb_hold.elf --mem ${GUEST_MIB}M --console stdio
	mem_runs raw X $B/raw_kvm hold
	if [ -n "$QEMU" ]; then
		mem_runs microvm Y "$QEMU" -M microvm -kernel $B/mb_hold.elf "${QEMU_COMMON[@]}"
	fi
	declare -A over=() mib=() priv=()
	for name in raw petrel microvm; do
		f=$tmp/mem.$name
		[ -s "$f" ] || continue
		rss=$(field rss_kib <"$f" | median)
		guest=$(field guest_kib <"$f" | median)
		over[$name]=$(awk '{ for (i = 1; i < NF; i++) { if ($i == "rss_kib") r = $(i+1); if ($i == "guest_kib") g = $(i+1) } print r - g }' "$f" | median)
		anon=$(awk '{ for (i = 1; i < NF; i++) { if ($i == "anon_kib") a = $(i+1); if ($i == "guest_kib") g = $(i+1) } print a - g }' "$f" | median)
		case $name in
		raw) what="raw KVM";; petrel) what="petrel run";; microvm) what="QEMU -M microvm";;
		esac
		printf '  %-16s RSS %7d KiB  guest RAM resident %6d KiB  RSS-guest %7d KiB (%.2f MiB)  private anon-guest %6d KiB\n' \
			"$what" "$rss" "$guest" "${over[$name]}" "$(calc %.2f "${over[$name]}/1024")" "$anon"
		mib[$name]=$(calc %.2f "${over[$name]}/1024")
		priv[$name]=$anon
	done
	base="raw KVM ${mib[raw]} MiB"
	res="petrel RSS−guest"
	if [ -n "${over[microvm]:-}" ]; then
		x=$(calc %.1f "${over[microvm]}/${over[petrel]}")
		echo "  RATIO QEMU/petrel overhead = ${x}x"
		base="$base; QEMU -M microvm ${mib[microvm]} MiB (private ${priv[microvm]} KiB)"
		res="QEMU/petrel ${x}x"
	fi
	row "| memory overhead (RSS − guest pages) | $base | petrel **${mib[petrel]} MiB** (private anon ${priv[petrel]} KiB) | $res | < 2 MiB |"
	echo "  (target: petrel RSS-guest < 2 MiB)"
	echo
fi

{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs," \
		"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r);" \
		"KVM: $bench_kvm_what;" \
		"\`bench/run.sh ${parts[*]}\`, medians of $RUNS runs."
	echo
	echo "| benchmark | baseline | petrel | result | target |"
	echo "|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} >"$OUT"
echo "table written to $OUT"
