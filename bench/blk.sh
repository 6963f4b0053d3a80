#!/usr/bin/env bash
# virtio-blk throughput: petrel against QEMU, the same guest and the same
# disk. Debian's cloud kernel and the default busybox initramfs, with a cpio
# archive appended that holds /blkio (bench/blkio.c, static) and a /test.sh
# that runs it on /dev/vda with O_DIRECT: sequential 1 MiB reads over
# SEQ_MIB MiB (MB/s), then 4 KiB random reads at queue depth 1 and 32 for
# RAND_SECS seconds each (IOPS; Linux native AIO). Configurations, all 1
# vCPU, 512M, the disk opened with O_DIRECT by the VMM (cache=none):
#   petrel io=uring, petrel io=sync, petrel io=uring --no-ioeventfd,
#   QEMU -accel kvm -M pc -cpu host, -drive if=virtio,cache=none,aio=io_uring
# Medians of RUNS runs after one warm-up of each, the configurations in turn
# each run, so that drifting load hits all alike. Prints figures and ratios
# to QEMU (and petrel's --stats per request); asserts nothing. The markdown
# table is also written to build/bench/blk.md.
#
#   bench/blk.sh     (RUNS=5 SEQ_MIB=512 RAND_SECS=5 IMG_MIB=512 by default)
#
# The disk: BLK_IMG=PATH if given (a file or block device, made and filled
# with IMG_MIB MiB of random data if it does not exist); otherwise, in the
# nested VM, a RAM disk (brd, its module taken from the L1 kernel's package
# in .cache/nested: L1 has no disk, and its tmpfs (Linux 6.1) refuses the
# O_DIRECT that cache=none needs), and on a host a file in /var/tmp.
# Random data, so that the reads are real reads of real pages.
#
# Where: as bench/run.sh (bench/where.sh): where this machine's KVM lacks
# VMX/SVM the whole run, QEMU included, goes into the nested VM (it says
# so); PETREL_KVM=host|nested forces the choice. About 10 minutes there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
	echo "usage: [RUNS=5] [SEQ_MIB=512] [RAND_SECS=5] [IMG_MIB=512] [BLK_IMG=PATH] bench/blk.sh" >&2
	exit 2
fi
RUNS=${RUNS:-5}
SEQ_MIB=${SEQ_MIB:-512}
RAND_SECS=${RAND_SECS:-5}
IMG_MIB=${IMG_MIB:-512}
BLK_IMG=${BLK_IMG:-}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
INITRD=${PETREL_TEST_INITRD:-.cache/initrd.img}
B=build/bench
OUT=$B/blk.md

. bench/where.sh
. bench/stats.sh
if [ -z "${PETREL_IN_NESTED:-}" ]; then
	# the nested VM runs what is built here: build it here, not there
	make -s all kernel initrd $B/blkio
	if [ "$bench_where" = nested ]; then
		bench_in_nested $B/blk.log env RUNS="$RUNS" SEQ_MIB="$SEQ_MIB" RAND_SECS="$RAND_SECS" \
			IMG_MIB="$IMG_MIB" BLK_IMG="$BLK_IMG" bench/blk.sh
		exit
	fi
	if [ "$bench_kvm" != hw ]; then
		echo "blk: PETREL_KVM=host on a KVM without VMX/SVM ($bench_kvm): a Linux guest will" \
			"not reach user space here; expect every run to fail"
	fi
fi
[ -s "$KERNEL" ] && [ -s "$INITRD" ] && [ -x $B/blkio ] ||
	{ echo "blk: $KERNEL, $INITRD or $B/blkio is missing (make kernel initrd $B/blkio)"; exit 1; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "blk: /dev/kvm is not usable here: skipped"; exit 0; }
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "blk: qemu-system-x86_64 not found (tools/deps.sh installs it)"; exit 1; }

tmp=$(mktemp -d)
logs=$B/blk-logs
mkdir -p "$logs"
rm -f "$logs"/*.log # a failed run must not find an older run's console
brd=0
cleanup() {
	[ $brd -eq 0 ] || rmmod brd 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- the disk
fill() { # path: IMG_MIB MiB of random data, written past the page cache
	dd if=/dev/urandom of="$1" bs=1M count="$IMG_MIB" oflag=direct conv=notrunc status=none
}
if [ -n "$BLK_IMG" ]; then
	img=$BLK_IMG
	[ -e "$img" ] || fill "$img"
	what_img="$img"
elif [ -n "${PETREL_IN_NESTED:-}" ]; then
	deb=$(ls .cache/nested/linux-image-*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || { echo "blk: no L1 kernel package in .cache/nested (tests/nested/prepare.sh)"; exit 1; }
	dpkg --fsys-tarfile "$deb" | tar -xO "./lib/modules/$(uname -r)/kernel/drivers/block/brd.ko" \
		>"$tmp/brd.ko" || { echo "blk: no brd.ko for $(uname -r) in $deb"; exit 1; }
	[ -e /dev/ram0 ] && { echo "blk: /dev/ram0 exists already: refusing to overwrite it"; exit 1; }
	insmod "$tmp/brd.ko" rd_nr=1 rd_size=$((IMG_MIB * 1024)) max_part=0
	brd=1
	img=/dev/ram0
	for _ in $(seq 50); do [ -b $img ] && break; sleep 0.1; done
	fill $img
	what_img="a $IMG_MIB MiB RAM disk in L1 (brd, /dev/ram0)"
else
	img=/var/tmp/petrel-blk-bench.img
	rm -f "$img"
	fill "$img"
	trap 'cleanup; rm -f "$img"' EXIT
	what_img="$img"
fi

# --- the guest: the default initramfs + /blkio + /test.sh
mkdir "$tmp/cpio"
cp $B/blkio "$tmp/cpio/blkio"
cat >"$tmp/cpio/test.sh" <<EOF
for i in \$(seq 100); do [ -b /dev/vda ] && break; sleep 0.1; done
/blkio /dev/vda $SEQ_MIB $RAND_SECS
EOF
(cd "$tmp/cpio" && printf 'blkio\ntest.sh\n' | cpio -o -H newc --quiet | gzip -1) >"$tmp/add.cpio.gz"
cat "$INITRD" "$tmp/add.cpio.gz" >"$tmp/initrd"
cmdline="console=ttyS0 quiet petrel.test=script panic=-1"

configs=(uring sync noioevt qemu)
declare -A label=(
	[uring]="petrel io=uring" [sync]="petrel io=sync"
	[noioevt]="petrel io=uring --no-ioeventfd" [qemu]="QEMU -M pc aio=io_uring"
)
vm_cmd() { # config: sets cmd to the VMM's command line
	local p=(build/petrel run -k "$KERNEL" -i "$tmp/initrd" -c "$cmdline" -n 1 -m 512M --stats)
	case $1 in
	uring | sync) cmd=("${p[@]}" --disk "$img,cache=none,io=$1") ;;
	noioevt) cmd=("${p[@]}" --disk "$img,cache=none,io=uring" --no-ioeventfd) ;;
	qemu)
		cmd=(qemu-system-x86_64 -accel kvm -M pc -cpu host -smp 1 -m 512M
			-nodefaults -no-user-config -nographic -serial stdio -no-reboot
			-kernel "$KERNEL" -initrd "$tmp/initrd" -append "$cmdline"
			-drive "file=$img,if=virtio,format=raw,cache=none,aio=io_uring") ;;
	esac
}
# run CONFIG N: one boot; appends "<seq MB/s> <qd1 IOPS> <qd32 IOPS>" (or
# "fail") to $tmp/CONFIG unless N is "warm"; keeps the console in $logs.
# The warm-up also checks the guest's clock, by which blkio times itself:
# its console lines are stamped on arrival here (a pipe and a read loop,
# only then, since they cost the VMM time), and the time between the lines
# that end the QD1 and QD32 phases, as this host sees it, is compared with
# the QD32 phase's length as the guest measured it (clockcheck below).
run() {
	local c=$1 n=$2 log=$logs/$1-$2.log s q1 q32 cmd
	vm_cmd "$c"
	if [ "$n" = warm ]; then
		timeout 600 "${cmd[@]}" </dev/null 2>&1 |
			while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "${line%$'\r'}"; done |
			sed -E 's/^([0-9.]+) (BLKIO .*)/\2 host_t=\1/; t; s/^[0-9.]+ //' >"$log" || true
	else
		timeout 600 "${cmd[@]}" </dev/null >"$log" 2>&1 || true
	fi
	s=$(awk '/^BLKIO seq_read/ { sub(/\r$/, ""); for (i = 1; i <= NF; i++) if ($i ~ /^mbps=/) print substr($i, 6) }' "$log")
	q1=$(awk '/^BLKIO rand_read .* qd=1 / { sub(/\r$/, ""); for (i = 1; i <= NF; i++) if ($i ~ /^iops=/) print substr($i, 6) }' "$log")
	q32=$(awk '/^BLKIO rand_read .* qd=32 / { sub(/\r$/, ""); for (i = 1; i <= NF; i++) if ($i ~ /^iops=/) print substr($i, 6) }' "$log")
	if [ -z "$s" ] || [ -z "$q1" ] || [ -z "$q32" ]; then
		echo "  ($c run $n failed: see $log: $(grep -m1 -E 'BLKIO error|petrel:.*(error|fail)' "$log" || tail -1 "$log"))"
		[ "$n" = warm ] || echo fail >>"$tmp/$c"
		return
	fi
	[ "$n" = warm ] || echo "$s $q1 $q32" >>"$tmp/$c"
}
# the guest's QD32 phase: its own secs= and the host's time between lines
clockcheck() { # config
	awk '/^BLKIO rand_read/ { for (i = 1; i <= NF; i++) { split($i, kv, "=")
			if (kv[1] == "host_t") h = kv[2]; if (kv[1] == "secs") g = kv[2] }
		if (/ qd=1 /) h1 = h; else if (/ qd=32 /) { h32 = h; g32 = g } }
		END { if (h1 && h32) printf "guest %.2f s, host %.2f s (%+.1f%%)", g32, h32 - h1,
			((h32 - h1) / g32 - 1) * 100; else printf "no stamped lines" }' "$logs/$1-warm.log"
}

echo "virtio-blk: $(date -u '+%Y-%m-%d %H:%M UTC'), $RUNS runs after a warm-up, medians"
echo "  where: $(uname -r), $(nproc) CPUs; KVM: $bench_kvm_what"
echo "  disk: $what_img, random data, opened with O_DIRECT by every VMM (cache=none)"
echo "  guest: 1 vCPU, 512M, \"$cmdline\"; /blkio on /dev/vda with O_DIRECT:"
echo "    sequential 1 MiB reads over $SEQ_MIB MiB; 4 KiB random reads at QD1 and QD32, ${RAND_SECS} s each"
for c in "${configs[@]}"; do run "$c" warm; done
for ((i = 1; i <= RUNS; i++)); do
	for c in "${configs[@]}"; do run "$c" "$i"; done
done

declare -A med
for c in "${configs[@]}"; do
	touch "$tmp/$c"
	nf=$(grep -c fail "$tmp/$c" || true)
	[ "$nf" -gt 0 ] && echo "  ${label[$c]}: $nf of $RUNS runs failed"
	for k in 1 2 3; do med[$c.$k]=$(col "$c" "$k" | median); done
done
echo
printf '  %-34s %12s %12s %12s\n' "" "seq MB/s" "QD1 IOPS" "QD32 IOPS"
for c in "${configs[@]}"; do
	printf '  %-34s %12s %12s %12s\n' "${label[$c]}" "${med[$c.1]}" "${med[$c.2]}" "${med[$c.3]}"
done
echo "  runs (seq MB/s | QD1 IOPS | QD32 IOPS):"
for c in "${configs[@]}"; do
	printf '    %-32s %s| %s| %s\n' "${label[$c]}" "$(col "$c" 1 | tr '\n' ' ')" \
		"$(col "$c" 2 | tr '\n' ' ')" "$(col "$c" 3 | tr '\n' ' ')"
done
echo "  guest clock check (warm-up run, the QD32 phase as the guest and as this host timed it):"
for c in "${configs[@]}"; do printf '    %-32s %s\n' "${label[$c]}" "$(clockcheck "$c")"; done
ratio() { # config column
	local q=${med[qemu.$2]} p=${med[$1.$2]}
	case "$q$p" in *nan*) echo "-" ;; *) calc "%.2f" "$p / $q" ;; esac
}
for c in uring sync noioevt; do
	echo "  RATIO ${label[$c]} / QEMU: seq $(ratio "$c" 1), QD1 $(ratio "$c" 2), QD32 $(ratio "$c" 3)"
done

# petrel's --stats of its last run, per virtio-blk request: what a request
# costs in kicks, interrupts and vCPU exits
echo
echo "  petrel --stats, last run of each (per request: kicks, interrupts, vCPU exits):"
for c in uring sync noioevt; do
	log=$logs/$c-$RUNS.log
	[ -s "$log" ] || continue
	req=$(grep -m1 -oE 'stats: virtio-blk[^:]*\(.*io=[a-z]+\): [0-9]+ requests' "$log" | awk '{ print $(NF - 1) }')
	kick=$(grep -m1 -E 'stats: virtio-blk.*kicks' "$log" | grep -oE '[0-9]+ kicks' | awk '{ print $1 }')
	irq=$(grep -m1 -E 'stats: virtio-blk.*kicks' "$log" | grep -oE '[0-9]+ interrupts' | awk '{ print $1 }')
	echo "    ${label[$c]}:"
	grep -E 'petrel: stats: (vcpu|virtio-blk)' "$log" | sed 's/^/      /'
	exits=$(grep -E 'petrel: stats: vcpu[0-9]+ exits=' "$log" | grep -oE 'exits=[0-9]+' | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }')
	if [ -n "$req" ] && [ -n "$kick" ] && [ -n "$irq" ] && [ "$req" -gt 0 ]; then
		echo "      per request: $(calc %.3f "$kick / $req") kicks, $(calc %.3f "$irq / $req") interrupts," \
			"$(calc %.3f "${exits:-0} / $req") vCPU exits to petrel (boot included)"
	fi
done

{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, Linux $(uname -r); KVM: $bench_kvm_what;"
	echo "disk: $what_img; \`RUNS=$RUNS SEQ_MIB=$SEQ_MIB RAND_SECS=$RAND_SECS IMG_MIB=$IMG_MIB bench/blk.sh\`, medians of $RUNS runs."
	echo
	echo "| configuration | seq read 1 MiB (MB/s) | 4 KiB random QD1 (IOPS) | 4 KiB random QD32 (IOPS) |"
	echo "|---|---|---|---|"
	for c in "${configs[@]}"; do
		if [ "$c" = qemu ]; then
			echo "| ${label[$c]}, cache=none (baseline) | ${med[$c.1]} | ${med[$c.2]} | ${med[$c.3]} |"
		else
			echo "| ${label[$c]}, cache=none | ${med[$c.1]} (**$(ratio "$c" 1)**) | ${med[$c.2]} (**$(ratio "$c" 2)**) | ${med[$c.3]} (**$(ratio "$c" 3)**) |"
		fi
	done
} >"$OUT"
echo
echo "table written to $OUT; consoles in $logs/"
