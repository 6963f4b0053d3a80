#!/usr/bin/env bash
# Time from starting the VMM to the Linux kernel's banner on the serial
# console, for the same kernel and command line:
#   petrel, host-side decompression (the default)
#   petrel --guest-decompress (the bzImage's own decompressor runs in the guest)
#   qemu-system-x86_64 -accel kvm -kernel (SeaBIOS, then the in-guest decompressor)
# and petrel's resident memory beside the guest pages it has touched, sampled
# when the banner appears (then petrel is stopped with SIGTERM and its
# --stats line gives the guest's resident pages).
# Medians of RUNS runs (default 3), all in one run on one machine: on our
# nested build machines absolute times say little; the ratios are the point.
# Where: as bench/run.sh (bench/where.sh): on a machine whose KVM has no
# VMX/SVM the whole run, QEMU included, goes into the nested VM;
# PETREL_KVM=host|nested forces the choice.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
KERNEL=${KERNEL:-.cache/vmlinuz}
PETREL=${PETREL:-build/petrel}
CMDLINE="console=ttyS0 earlyprintk=ttyS0 noxsave" # earlyprintk: the banner as soon as it is printed
[ -s "$KERNEL" ] || tools/fetch-kernel.sh "$(dirname "$KERNEL")" >/dev/null || exit 1
. bench/where.sh
. bench/stats.sh
if [ "$bench_where" = nested ]; then
	make -s all || exit 1
	bench_in_nested build/bench/boot_banner.log env RUNS="$RUNS" KERNEL="$KERNEL" \
		PETREL="$PETREL" bench/boot_banner.sh
	exit
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run_until_banner LOG CMD...: prints "<ms> <vmrss_kib>" or "timeout"
run_until_banner() {
	local log=$1; shift
	local start now pid rss=0
	start=$(date +%s%N)
	"$@" </dev/null >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if grep -q '\] Linux version' "$log"; then
			now=$(date +%s%N)
			rss=$(awk '/^VmRSS:/{print $2}' /proc/$pid/status 2>/dev/null || echo 0)
			kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
			echo "$(( (now - start) / 1000000 )) $rss"
			return
		fi
		if [ $(( ($(date +%s%N) - start) / 1000000000 )) -gt 600 ]; then
			kill -KILL "$pid"; wait "$pid" 2>/dev/null; echo timeout; return
		fi
		sleep 0.02
	done
	echo "exited"
}


declare -A ms
for mode in host guest qemu; do
	: >"$tmp/$mode.ms"
	for i in $(seq "$RUNS"); do
		case $mode in
		host)  r=$(run_until_banner "$tmp/log" "$PETREL" run --kernel "$KERNEL" --cmdline "$CMDLINE" --mem 512M --cpu-features=-cx16,-xsave --stats) ;;
		guest) r=$(run_until_banner "$tmp/log" "$PETREL" run --kernel "$KERNEL" --cmdline "$CMDLINE" --mem 512M --cpu-features=-cx16,-xsave --guest-decompress) ;;
		qemu)  r=$(run_until_banner "$tmp/log" qemu-system-x86_64 -accel kvm -M pc -m 512M -cpu qemu64,-cx16 -nodefaults -nographic -serial stdio -kernel "$KERNEL" -append "$CMDLINE") ;;
		esac
		echo "  $mode run $i: $r" >&2
		echo "${r%% *}" >>"$tmp/$mode.ms"
		if [ "$mode" = host ]; then
			guest_kib=$(sed -n 's/.*guest RAM resident \([0-9]*\) KiB.*/\1/p' "$tmp/log")
			echo "$(( ${r#* } - ${guest_kib:-0} ))" >>"$tmp/overhead"
			echo "  petrel VmRSS ${r#* } KiB, guest pages resident ${guest_kib:-?} KiB" >&2
		fi
	done
	ms[$mode]=$(median <"$tmp/$mode.ms")
done
echo "time from VMM start to the kernel banner (median of $RUNS, $(date -u +%F), $(nproc) cpus, $(uname -r)):"
echo "  KVM: $bench_kvm_what"
printf '  %-34s %8s ms\n' "petrel (host-side decompression)" "${ms[host]}" \
	"petrel --guest-decompress" "${ms[guest]}" "qemu-system-x86_64 -kernel" "${ms[qemu]}"
awk -v h="${ms[host]}" -v g="${ms[guest]}" -v q="${ms[qemu]}" 'BEGIN{
	printf "  ratios: guest-decompress/host = %.1fx, qemu/petrel = %.1fx\n", g/h, q/h }'
echo "  petrel resident memory beside the guest's pages (VmRSS - guest resident), median: $(median <"$tmp/overhead") KiB"
