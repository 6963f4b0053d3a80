#!/usr/bin/env bash
# Time to /init: Debian's cloud kernel and the busybox initramfs booted by
# petrel (with KVM's irqchip, and as "split" with petrel's own IOAPIC, 8259
# and PIT: --irqchip split), QEMU -M microvm and QEMU -M pc (all with -accel kvm, the same
# kernel, initramfs and command line), from the VMM's start until the
# guest's /init prints its marker line. Medians of RUNS runs after one
# warm-up, run by run in turn so that drifting load hits all alike. Prints
# figures and ratios; asserts nothing.
#
#   bench/boot_init.sh            (RUNS=5 CPUS=1 by default)
#
# Where the machine's KVM lacks VMX/SVM it runs itself in the nested VM
# (tools/kvm-where.sh; PETREL_KVM forces), QEMU included.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
	echo "usage: [RUNS=5] [CPUS=1] bench/boot_init.sh   (takes no arguments)" >&2
	exit 2
fi
RUNS=${RUNS:-5}
CPUS=${CPUS:-1}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
INITRD=${PETREL_TEST_INITRD:-.cache/initrd.img}
if [ -z "${PETREL_IN_NESTED:-}" ] && [ "$(tools/kvm-where.sh)" = nested ]; then
	make -s all kernel initrd
	echo "boot_init: $(tools/kvm-where.sh -v | tail -n1): running in the nested VM"
	exec tests/nested/run.sh -- env RUNS="$RUNS" CPUS="$CPUS" bench/boot_init.sh
fi
[ -s "$KERNEL" ] && [ -s "$INITRD" ] || make -s all kernel initrd
cmdline="console=ttyS0 quiet petrel.test panic=-1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ms from the start of COMMAND until a line with PETREL-INIT-OK, or "fail".
# The console goes to a file polled every 10 ms (a pipe would slow the VMM's
# console writes); the guest powers off right after the marker.
time_to_init() {
	local start got=fail pid now out=$tmp/console
	: >"$out"
	start=$(date +%s%N)
	timeout 300 "$@" </dev/null >"$out" 2>&1 &
	pid=$!
	while :; do
		now=$(date +%s%N)
		if grep -q PETREL-INIT-OK "$out"; then
			got=$(((now - start) / 1000000))
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	wait "$pid" 2>/dev/null || true
	echo "$got"
}
# petrel also says (--stats) when its first KVM_RUN began and when the guest
# wrote the boot marker (/init's first act), both in ms after its main()
petrel() { # [petrel options]
	time_to_init build/petrel run -k "$KERNEL" -i "$INITRD" -c "$cmdline" -n "$CPUS" -m 512M --stats "$@"
	[ $# -eq 0 ] || return 0 # the start figures below: the default's only
	grep -o 'first KVM_RUN [0-9.]*' "$tmp/console" | grep -o '[0-9.]*$' >>"$tmp/first_run" || echo fail >>"$tmp/first_run"
	grep -o 'boot marker at [0-9.]*' "$tmp/console" | grep -o '[0-9.]*$' >>"$tmp/marker" || echo fail >>"$tmp/marker"
}
qemu() { # machine type
	time_to_init qemu-system-x86_64 -accel kvm -cpu host -M "$1" -smp "$CPUS" -m 512M \
		-nodefaults -no-user-config -nographic -serial stdio -no-reboot \
		-kernel "$KERNEL" -initrd "$INITRD" -append "$cmdline"
}
. bench/stats.sh

echo "boot to /init: $CPUS vCPU(s), 512M, \"$cmdline\", $RUNS runs after a warm-up"
echo "  where: $(uname -r), $(nproc) CPUs$([ -n "${PETREL_IN_NESTED:-}" ] && echo ", inside the nested VM")"
whos=(petrel split microvm pc)
for who in "${whos[@]}"; do
	case $who in petrel) petrel ;; split) petrel --irqchip split ;; *) qemu "$who" ;; esac >/dev/null # warm-up
done
rm -f "$tmp/first_run" "$tmp/marker"
for ((i = 0; i < RUNS; i++)); do
	petrel >>"$tmp/petrel"
	petrel --irqchip split >>"$tmp/split"
	qemu microvm >>"$tmp/microvm"
	qemu pc >>"$tmp/pc"
done
for who in "${whos[@]}"; do
	if grep -q fail "$tmp/$who"; then
		echo "  $who: $(grep -c fail "$tmp/$who") of $RUNS runs did not reach /init"
	fi
	grep -v fail "$tmp/$who" | median >"$tmp/$who.med" || true
	printf '  %-8s median %6s ms   runs: %s\n' "$who" "$(cat "$tmp/$who.med")" "$(tr '\n' ' ' <"$tmp/$who")"
done
for what in first_run marker; do
	printf '  petrel %-9s median %6s ms   runs: %s\n' "$what" \
		"$(grep -v fail "$tmp/$what" | median)" "$(tr '\n' ' ' <"$tmp/$what")"
done
p=$(cat "$tmp/petrel.med") s=$(cat "$tmp/split.med") m=$(cat "$tmp/microvm.med") c=$(cat "$tmp/pc.med")
awk -v p="$p" -v s="$s" -v m="$m" -v c="$c" 'BEGIN {
	printf "  RATIO petrel/microvm = %.2f, petrel/pc = %.2f\n", p / m, p / c
	printf "  RATIO split/petrel = %.2f, split/pc = %.2f\n", s / p, s / c }'
