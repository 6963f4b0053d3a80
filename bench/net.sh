#!/usr/bin/env bash
# virtio-net: petrel against QEMU with the same backend, the same guest.
# Debian's cloud kernel and the default busybox initramfs with a /test.sh
# appended that measures, with busybox's nc and ping:
#   guest -> host  MIB MiB of zeros piped into nc; a receiver on the host
#                  times them from the first byte to the last (MB/s)
#   host -> guest  MIB MiB sent by the host to nc -l in the guest, timed by
#                  the sender until the guest's nc closed the connection
#                  after the last byte (MB/s)
#   latency        PINGS pings of the host end, 0.2 s apart: the median of
#                  the runs' average round trip (ms)
# Configurations, all 1 vCPU and 512M:
#   petrel --net user (libslirp)      QEMU -netdev user (its libslirp)
#   petrel --net tap=T                QEMU -netdev tap,ifname=T,vhost=off
# (vhost=off: petrel has no vhost-net, so both move the frames in the VMM.)
# The user runs reach the host through slirp's gateway 10.0.2.2 (the host's
# loopback) and a hostfwd; the tap runs through a tap the script makes
# (192.168.77.1/24, root). Medians of RUNS runs after one warm-up of each,
# configurations in turn each run. Prints figures and ratios to QEMU;
# asserts nothing. The markdown table is also written to build/bench/net.md.
#
#   bench/net.sh     (RUNS=5 MIB=16 PINGS=20 by default)
#
# In the nested VM every frame the guest sends costs a kick, and every
# exit is emulated by TCG: guest -> host runs at a fraction of 1 MB/s there
# (QEMU alike), so a run of the defaults takes about 40 minutes;
# RUNS=3 MIB=8 about 15.
# Where: as bench/blk.sh (bench/where.sh): in the nested VM where this
# machine's KVM lacks VMX/SVM, QEMU included; PETREL_KVM=host|nested
# forces the choice. Needs root for the tap rows (skipped without).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
	echo "usage: [RUNS=5] [MIB=16] [PINGS=20] bench/net.sh" >&2
	exit 2
fi
RUNS=${RUNS:-5}
MIB=${MIB:-16}
PINGS=${PINGS:-20}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
INITRD=${PETREL_TEST_INITRD:-.cache/initrd.img}
B=build/bench
OUT=$B/net.md

. bench/where.sh
. bench/stats.sh
if [ -z "${PETREL_IN_NESTED:-}" ]; then
	make -s all kernel initrd
	if [ "$bench_where" = nested ]; then
		bench_in_nested $B/net.log env RUNS="$RUNS" MIB="$MIB" PINGS="$PINGS" bench/net.sh
		exit
	fi
	if [ "$bench_kvm" != hw ]; then
		echo "net: PETREL_KVM=host on a KVM without VMX/SVM ($bench_kvm): a Linux guest will" \
			"not reach user space here; expect every run to fail"
	fi
fi
[ -s "$KERNEL" ] && [ -s "$INITRD" ] || { echo "net: $KERNEL or $INITRD is missing (make kernel initrd)"; exit 1; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "net: /dev/kvm is not usable here: skipped"; exit 0; }
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "net: qemu-system-x86_64 not found (tools/deps.sh installs it)"; exit 1; }

tmp=$(mktemp -d)
logs=$B/net-logs
mkdir -p "$logs"
rm -f "$logs"/*.log
tap=""
cleanup() {
	[ -z "$tap" ] || ip link del "$tap" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip link set lo up 2>/dev/null || true # L1 starts with it down

configs=(petrel-user qemu-user)
if [ "$(id -u)" -eq 0 ] && ip tuntap add dev ptapb$$ mode tap 2>/dev/null; then
	tap=ptapb$$
	ip addr add 192.168.77.1/24 dev "$tap"
	ip link set "$tap" up
	configs+=(petrel-tap qemu-tap)
else
	echo "net: cannot make a tap (needs root and tun): the tap rows are skipped"
fi
declare -A label=(
	[petrel-user]="petrel --net user" [qemu-user]="QEMU -netdev user"
	[petrel-tap]="petrel --net tap" [qemu-tap]="QEMU -netdev tap,vhost=off"
)

# the guest: the default initramfs + /test.sh, one per backend
guest() { # user|tap out
	local host setup
	if [ "$1" = user ]; then
		host=10.0.2.2
		setup='udhcpc -i eth0 -n -q -t 20 -T 3 >/dev/null 2>&1 || echo "BENCH-ERROR dhcp"'
	else
		host=192.168.77.1
		setup='ip addr add 192.168.77.2/24 dev eth0'
	fi
	mkdir -p "$tmp/$1"
	cat >"$tmp/$1/test.sh" <<EOF
ip link set lo up
ip link set eth0 up
$setup
sleep 1
echo "BENCH-G2H"
head -c $((MIB << 20)) /dev/zero | nc $host 5000
nc -l -p 5001 >/dev/null &
sleep 1
echo "BENCH-LISTEN"
wait \$!
ping -c $PINGS -i 0.2 $host | tail -1 | sed 's/^/BENCH-PING /'
echo "BENCH-DONE"
EOF
	(cd "$tmp/$1" && echo test.sh | cpio -o -H newc --quiet | gzip -1) >"$tmp/$1.cpio.gz"
	cat "$INITRD" "$tmp/$1.cpio.gz" >"$2"
}
guest user "$tmp/initrd-user"
[ -z "$tap" ] || guest tap "$tmp/initrd-tap"
cmdline="console=ttyS0 quiet petrel.test=script panic=-1"

# the host side of one run: receives, then sends, prints "g2h h2g" in MB/s
cat >"$tmp/driver.py" <<'EOF'
import socket, sys, time
bind, guest, fport, n, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((bind, 5000))
ls.listen(1)
ls.settimeout(1)
deadline = time.monotonic() + 600
def listening():
    return b"BENCH-LISTEN" in open(log, "rb").read()
c = None
while c is None:
    try:
        c, _ = ls.accept()
    except socket.timeout:
        # the guest gave up on sending (its error is in the log)
        if listening() or time.monotonic() > deadline:
            sys.exit("the guest did not connect")
c.settimeout(600)
got, t0 = 0, None
while got < n:
    b = c.recv(1 << 20)
    if not b:
        break
    if t0 is None:
        t0 = time.monotonic()
    got += len(b)
t1 = time.monotonic()
c.close()
g2h = got / (t1 - t0) / 1e6 if got == n and t1 > t0 else 0
deadline = time.monotonic() + 600
while not listening():
    if time.monotonic() > deadline:
        sys.exit("no BENCH-LISTEN")
    time.sleep(0.2)
s = socket.create_connection((guest, fport), timeout=600)
buf = bytes(1 << 20)
t0 = time.monotonic()
for _ in range(n >> 20):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
s.recv(1)  # the guest's nc closes once it has it all
t1 = time.monotonic()
s.close()
print("%.3f %.3f" % (g2h, n / (t1 - t0) / 1e6))
EOF

fwd=$((30000 + RANDOM % 10000))
vm_cmd() { # config: sets cmd
	local p=(build/petrel run -k "$KERNEL" -c "$cmdline" -n 1 -m 512M --stats)
	local q=(qemu-system-x86_64 -accel kvm -M pc -cpu host -smp 1 -m 512M -nodefaults
		-no-user-config -nographic -serial stdio -no-reboot -kernel "$KERNEL" -append "$cmdline")
	case $1 in
	petrel-user) cmd=("${p[@]}" -i "$tmp/initrd-user" --net "user,hostfwd=tcp:127.0.0.1:$fwd-:5001") ;;
	qemu-user) cmd=("${q[@]}" -initrd "$tmp/initrd-user"
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$fwd-:5001" -device virtio-net-pci,netdev=n0) ;;
	petrel-tap) cmd=("${p[@]}" -i "$tmp/initrd-tap" --net "tap=$tap") ;;
	qemu-tap) cmd=("${q[@]}" -initrd "$tmp/initrd-tap"
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=off" -device virtio-net-pci,netdev=n0) ;;
	esac
}
# one boot; appends "g2h h2g rtt" (or "fail") to $tmp/CONFIG unless warm
run() { # config n
	local c=$1 n=$2 log=$logs/$1-$2.log cmd vm r rtt bind=127.0.0.1 guest=127.0.0.1 port=$fwd
	if [ "${c#*-}" = tap ]; then bind=192.168.77.1 guest=192.168.77.2 port=5001; fi
	vm_cmd "$c"
	: >"$log"
	timeout 900 "${cmd[@]}" </dev/null >"$log" 2>&1 &
	vm=$!
	r=$(timeout 900 python3 "$tmp/driver.py" $bind $guest $port $((MIB << 20)) "$log" 2>>"$log") || r=""
	wait $vm || true
	rtt=$(sed -n 's/.*BENCH-PING .*= [0-9.]*\/\([0-9.]*\)\/.*/\1/p' "$log" | head -1)
	if [ -z "$r" ] || [ -z "$rtt" ] || [[ "$r" == 0.0* ]]; then
		echo "  ($c run $n failed: see $log: $(grep -m1 -E 'BENCH-ERROR|error|Error' "$log" || tail -1 "$log"))"
		[ "$n" = warm ] || echo fail >>"$tmp/$c"
		return
	fi
	[ "$n" = warm ] || echo "$r $rtt" >>"$tmp/$c"
	echo "  $c run $n: guest->host $(cut -d' ' -f1 <<<"$r") MB/s, host->guest $(cut -d' ' -f2 <<<"$r") MB/s, RTT $rtt ms"
}

echo "virtio-net: $(date -u '+%Y-%m-%d %H:%M UTC'), $RUNS runs after a warm-up, medians"
echo "  where: $(uname -r), $(nproc) CPUs; KVM: $bench_kvm_what"
echo "  guest: 1 vCPU, 512M; busybox nc, $MIB MiB each way; $PINGS pings of the host end"
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
ratio() { # config column: petrel / QEMU (for latency, lower is better)
	local q=${med[qemu-${1#petrel-}.$2]} p=${med[$1.$2]}
	case "$q$p" in *nan*) echo "-" ;; *) calc "%.2f" "$p / $q" ;; esac
}
echo
printf '  %-30s %14s %14s %12s\n' "" "guest->host" "host->guest" "RTT"
for c in "${configs[@]}"; do
	printf '  %-30s %9s MB/s %9s MB/s %9s ms\n' "${label[$c]}" "${med[$c.1]}" "${med[$c.2]}" "${med[$c.3]}"
done
echo "  runs (g2h | h2g | rtt):"
for c in "${configs[@]}"; do
	printf '    %-28s %s| %s| %s\n' "${label[$c]}" "$(col "$c" 1 | tr '\n' ' ')" \
		"$(col "$c" 2 | tr '\n' ' ')" "$(col "$c" 3 | tr '\n' ' ')"
done
for c in petrel-user petrel-tap; do
	[ -n "${med[$c.1]:-}" ] || continue
	echo "  RATIO ${label[$c]} / QEMU: guest->host $(ratio "$c" 1), host->guest $(ratio "$c" 2)," \
		"RTT $(ratio "$c" 3) (below 1 is faster)"
	grep -h 'stats: virtio-net0' "$logs/$c-$RUNS.log" 2>/dev/null | sed 's/^/    /' || true
done
mkdir -p "$B"
{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, Linux $(uname -r); KVM: $bench_kvm_what;"
	echo "\`RUNS=$RUNS MIB=$MIB PINGS=$PINGS bench/net.sh\`, medians of $RUNS runs (ratios to QEMU in bold; RTT: lower is better)."
	echo
	echo "| configuration | guest -> host (MB/s) | host -> guest (MB/s) | ping RTT (ms) |"
	echo "|---|---|---|---|"
	for c in "${configs[@]}"; do
		case $c in
		qemu-*) echo "| ${label[$c]} (baseline) | ${med[$c.1]} | ${med[$c.2]} | ${med[$c.3]} |" ;;
		*) echo "| ${label[$c]} | ${med[$c.1]} (**$(ratio "$c" 1)**) | ${med[$c.2]} (**$(ratio "$c" 2)**) | ${med[$c.3]} (**$(ratio "$c" 3)**) |" ;;
		esac
	done
} >"$OUT"
echo "  (table in $OUT)"
