#!/usr/bin/env bash
# What tracing costs on the exit path, with bench/exit_petrel.c (petrel's
# own vCPU loop, a CPL3 guest, a do-nothing device): exit_petrel built from
# BASE, before --trace existed (default: main), against this tree's, with
# tracing compiled in and off; and, for scale, this tree's with it on
# (exits plus pio or mmio, to /dev/null). The three alternate run by run,
# so that the machine's drifting load hits them alike; medians of RUNS.
# Prints figures, asserts nothing.
#
#   bench/trace_cost.sh [BASE]     BASE: a git revision (default main)
#
# Where it runs: as bench/run.sh (bench/where.sh): in the nested VM when
# this machine's KVM has no VMX/SVM. Knobs: BENCH_RUNS (default 9),
# BENCH_EXITS (guest writes per run, default 20000).
set -euo pipefail
cd "$(dirname "$0")/.."
inner=0
if [ "${1:-}" = --inner ]; then
	inner=1
	shift
fi
RUNS=${BENCH_RUNS:-9}
EXITS=${BENCH_EXITS:-20000}
B=build/bench

. bench/where.sh
. bench/stats.sh
if [ $inner -eq 0 ]; then
	base=${1:-main}
	src=build/bench-base
	make -s all bench-bins
	rm -rf "$src"
	mkdir -p "$src"
	git archive "$base" | tar -x -C "$src"
	make -s -C "$src" build/bench/exit_petrel >/dev/null
	cp "$src/build/bench/exit_petrel" "$B/exit_petrel.base"
	echo "before: $base ($(git rev-parse --short "$base")); after: this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include bench || echo ', with uncommitted changes'))"
	if [ "$bench_where" = nested ]; then
		bench_in_nested $B/trace_cost.log env BENCH_RUNS="$RUNS" BENCH_EXITS="$EXITS" \
			bench/trace_cost.sh --inner
		exit
	fi
fi
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "bench: /dev/kvm is not usable here: skipped"; exit 0; }


tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "trace cost: $(date -u '+%Y-%m-%d %H:%M UTC'), $RUNS runs of $EXITS exits per figure, medians"
echo "KVM: $bench_kvm_what"
for kind in pio mmio; do
	for ((i = 0; i < RUNS; i++)); do
		$B/exit_petrel.base "$kind" "$EXITS" | field ns_per_exit >>"$tmp/$kind.before"
		$B/exit_petrel "$kind" "$EXITS" | field ns_per_exit >>"$tmp/$kind.off"
		$B/exit_petrel "$kind" "$EXITS" "exits,$kind:/dev/null" | field ns_per_exit >>"$tmp/$kind.on"
	done
	before=$(median <"$tmp/$kind.before")
	off=$(median <"$tmp/$kind.off")
	on=$(median <"$tmp/$kind.on")
	echo "== $kind exits"
	printf '  before (no tracing in the code)  %8.0f ns/exit  (runs %s)\n' "$before" "$(spread %.0f <"$tmp/$kind.before")"
	printf '  after, tracing off               %8.0f ns/exit  (runs %s)\n' "$off" "$(spread %.0f <"$tmp/$kind.off")"
	printf '  after, --trace exits,%-4s        %8.0f ns/exit  (runs %s)\n' "$kind" "$on" "$(spread %.0f <"$tmp/$kind.on")"
	echo "  RATIO off/before = $(calc %.3f "$off / $before") (medians), $(calc %.3f "$(sort -g "$tmp/$kind.off" | head -1) / $(sort -g "$tmp/$kind.before" | head -1)") (best runs); on/before = $(calc %.2f "$on / $before")"
done
