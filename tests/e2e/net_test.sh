#!/usr/bin/env bash
# The net tier: Debian's cloud kernel and its virtio_net driver (a module
# from the same package, loaded by the default initramfs) against petrel's
# virtio-net, with busybox's udhcpc, wget, nc and ping in the guest as the
# clients. Each case boots the default guest with a /test.sh appended to
# the initramfs and checks the bytes that crossed, by sha256, on both ends:
#   user-pci, user-mmio  --net user: DHCP, wget of a 16 MiB file from an
#                        HTTP server on this machine's loopback through
#                        slirp's gateway 10.0.2.2, and an 8 MiB file the
#                        other way: the host connects through a port forward
#                        to nc listening in the guest, which sends it
#   tap-pci, tap-mmio    --net tap=NAME on a tap this script makes: ping of
#                        the host end, the same two transfers
#   tap-fd               the same over a tap passed as an open fd
#                        (--net tap,fd=N), as libvirt passes one
#   tap-gone             the tap deleted under the running guest: its link
#                        goes down (carrier 0), petrel goes on, the guest
#                        powers off normally
#
# Needs KVM with hardware-virtualization semantics (run by tests/run-all.sh
# in the nested VM when this machine has none), root for the tap cases
# (ip tuntap), busybox (httpd) and python3 on this machine.
#   tests/e2e/net_test.sh              every case
#   tests/e2e/net_test.sh user-pci     only the cases named
# Writes "<pass> <fail> <skip>" to build/test-logs/net-result; logs are
# build/test-logs/net-<case>.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
PETREL=${PETREL:-build/petrel}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
INITRD=${PETREL_TEST_INITRD:-.cache/initrd.img}
TIMEOUT=${NET_TIMEOUT:-600}
BIG_MIB=${NET_BIG_MIB:-16} # the file the guest fetches
UP_MIB=${NET_UP_MIB:-8}    # the file it sends the host
logs=build/test-logs
mkdir -p "$logs"
result=$logs/net-result
echo "0 1 0" >"$result"
work=$(mktemp -d /tmp/petrel-net.XXXXXX)
bgpids=()
taps=()
cleanup() {
	for p in "${bgpids[@]}"; do kill "$p" 2>/dev/null; done
	for t in "${taps[@]}"; do ip link del "$t" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
bb=$(command -v busybox || echo /bin/busybox)
for t in cpio sha256sum python3 "$bb"; do
	command -v "$t" >/dev/null || { echo "  net tier: $t is missing (tools/deps.sh installs it)"; exit 1; }
done

. tests/e2e/initrd_with.sh

pass=0 fail=0 skip=0 bad=0
ok() { echo "     ok   $1"; }
no() { echo "     FAIL $1"; bad=1; }
has() { grep -qE -- "$1" "$log"; }
finish() {
	if [ $bad -eq 0 ]; then
		pass=$((pass + 1)); echo "     PASS (log $log)"
	else
		fail=$((fail + 1)); echo "     last lines of $log:"; tail -25 "$log" | sed 's/^/       /'
	fi
	bad=0
}
# waits until the guest printed PATTERN (or petrel ended)
wait_for() { # pattern pid
	for _ in $(seq $((TIMEOUT * 2))); do
		grep -q -- "$1" "$log" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

# slirp reaches the host through its loopback (L1 starts with lo down)
ip link set lo up 2>/dev/null

# The payloads, and an HTTP server with the big one (busybox httpd).
mkdir -p "$work/www"
head -c $((BIG_MIB << 20)) /dev/urandom >"$work/www/big.bin"
big_sum=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)
http_port=$((20000 + RANDOM % 10000))
"$bb" httpd -f -p "$http_port" -h "$work/www" &
bgpids+=($!)

# receives nbytes from addr:port into file, then closes (busybox nc in
# the guest keeps the connection open after its input ends)
recv_file() { # addr port nbytes file
	python3 - "$@" <<'EOF'
import socket, sys, time
addr, port, want, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for _ in range(60):
    try:
        s = socket.create_connection((addr, port), timeout=300)
        break
    except OSError:
        time.sleep(1)
else:
    sys.exit("cannot connect to %s:%d" % (addr, port))
got = bytearray()
while len(got) < want:
    b = s.recv(min(1 << 20, want - len(got)))
    if not b:
        break
    got += b
s.close()
open(out, "wb").write(got)
EOF
}

# the guest side: address, fetch, then nc listening for the upload
guest_script() { # out setup-commands server
	cat >"$1" <<EOF
ip link set lo up
ip link set eth0 up
$2
echo "GUEST-ADDR \$(ip addr show eth0 | grep -o 'inet [0-9./]*')"
echo "GUEST-MAC \$(cat /sys/class/net/eth0/address)"
if wget -q -O /big.bin "http://$3:$http_port/big.bin"; then
	echo "WGET-SUM \$(sha256sum /big.bin | cut -d' ' -f1)"
else
	echo "WGET-FAILED"
fi
rm -f /big.bin
head -c $((UP_MIB << 20)) /dev/urandom >/up.bin
echo "UP-SUM \$(sha256sum /up.bin | cut -d' ' -f1)"
nc -l -p 5555 </up.bin &
sleep 1
echo "NC-LISTENING"
wait \$!
echo "NC-DONE"
EOF
}

# opens tap argv[1] (/dev/net/tun, TUNSETIFF) and runs argv[2:] with the
# fd inherited, "FD" in its arguments replaced by the fd's number
cat >"$work/tapfd.py" <<'EOF'
import fcntl, os, struct, sys
fd = os.open("/dev/net/tun", os.O_RDWR)
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR, TUNSETIFF = 0x0002, 0x1000, 0x4000, 0x400454CA
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
os.set_inheritable(fd, True)
args = [a.replace("FD", str(fd)) for a in sys.argv[2:]]
os.execvp(args[0], args)
EOF
wrap=()

# boots the guest in the background; sets pid and log
boot_bg() { # name script petrel-options...
	local name=$1 script=$2
	shift 2
	log=$logs/net-$name.log
	: >"$log"
	initrd_with "$script" "$work/$name.initrd"
	timeout -s TERM "$TIMEOUT" "${wrap[@]}" "$PETREL" run -k "$KERNEL" --initrd "$work/$name.initrd" \
		--cmdline "console=ttyS0 panic=-1 quiet petrel.test=script" --stats "$@" \
		</dev/null >"$log" 2>&1 &
	pid=$!
}

check_transfers() { # name: after the guest ran guest_script
	has "WGET-SUM $big_sum" && ok "the guest fetched ${BIG_MIB} MiB by HTTP, sha256 matches" ||
		no "wget: $(grep -m1 -E 'WGET-(SUM|FAILED)' "$log") (want $big_sum)"
	local sent got
	sent=$(grep -m1 -o 'UP-SUM [0-9a-f]*' "$log" | cut -d' ' -f2)
	got=$(sha256sum "$work/got.bin" 2>/dev/null | cut -d' ' -f1)
	[ -n "$sent" ] && [ "$sent" = "$got" ] &&
		[ "$(stat -c %s "$work/got.bin")" -eq $((UP_MIB << 20)) ] &&
		ok "the host received ${UP_MIB} MiB from the guest by TCP, sha256 matches" ||
		no "guest -> host: the guest sent ${sent:-nothing}, the host got ${got:-nothing}"
	rm -f "$work/got.bin"
	has "stats: virtio-net0 \((user|tap [^)]*)\): tx [1-9][0-9]* packets" &&
		ok "$(grep -m1 -oE 'virtio-net0 \((user|tap [^)]*)\): .*' "$log")" || no "no virtio-net stats"
}

case_user() { # name transport
	local name=$1 transport=$2 fwd=$((30000 + RANDOM % 10000)) start=$SECONDS
	echo "  -- $name: --net user on virtio-$transport: DHCP, HTTP from the host's loopback via 10.0.2.2, a file out through a port forward"
	guest_script "$work/$name.sh" \
		'udhcpc -i eth0 -n -q -t 20 -T 3 >/dev/null 2>&1 || echo "DHCP-FAILED"
echo "GUEST-DNS $(cat /etc/resolv.conf)"
echo "GUEST-ROUTE $(ip route | grep default)"' 10.0.2.2
	boot_bg "$name" "$work/$name.sh" --net "user,hostfwd=tcp:127.0.0.1:$fwd-:5555,transport=$transport"
	if wait_for NC-LISTENING $pid; then
		recv_file 127.0.0.1 "$fwd" $((UP_MIB << 20)) "$work/got.bin" ||
			{ no "receiving through the forward failed"; kill $pid; }
	fi
	wait $pid
	rc=$?
	[ $rc -eq 0 ] && ok "exit status 0 (guest poweroff), $((SECONDS - start)) s" || no "exit status $rc"
	has "GUEST-ADDR inet 10\.0\.2\.15/24" && ok "udhcpc got 10.0.2.15/24 from slirp's DHCP" ||
		no "address: $(grep -m1 -E 'GUEST-ADDR|DHCP-FAILED' "$log")"
	has "GUEST-DNS nameserver 10\.0\.2\.3" && has "GUEST-ROUTE default via 10\.0\.2\.2" &&
		ok "the initramfs's udhcpc script set the route via 10.0.2.2 and DNS 10.0.2.3" ||
		no "route/DNS: $(grep -m1 GUEST-ROUTE "$log"), $(grep -m1 GUEST-DNS "$log")"
	has "GUEST-MAC 02:70:" && ok "the default MAC: $(grep -m1 -o 'GUEST-MAC .*' "$log")" ||
		no "MAC: $(grep -m1 GUEST-MAC "$log")"
	has "virtio-net0 \(virtio-$transport\)" && ok "on virtio-$transport" || no "not on virtio-$transport"
	check_transfers
	finish
}

new_tap() { # name: makes it, 192.168.77.1/24, up
	ip tuntap add dev "$1" mode tap && ip addr add 192.168.77.1/24 dev "$1" && ip link set "$1" up
}

case_tap() { # name transport [fd]
	local name=$1 transport=$2 tap=ptap$RANDOM start=$SECONDS net
	net="tap=$tap"
	[ "${3:-}" = fd ] && net="tap,fd=FD"
	echo "  -- $name: --net $net ($tap) on virtio-$transport: ping, HTTP from the host end, a file from the guest by TCP"
	if ! new_tap "$tap"; then
		no "cannot make tap $tap (needs root and the tun module)"
		log=/dev/null
		finish
		return
	fi
	taps+=("$tap")
	guest_script "$work/$name.sh" \
		'ip addr add 192.168.77.2/24 dev eth0
ping -c 3 -W 10 192.168.77.1 >/dev/null 2>&1 && echo "PING-OK" || echo "PING-FAILED"' 192.168.77.1
	[ "${3:-}" = fd ] && wrap=(python3 "$work/tapfd.py" "$tap")
	boot_bg "$name" "$work/$name.sh" --net "$net,mac=52:54:00:12:34:56,transport=$transport"
	wrap=()
	if wait_for NC-LISTENING $pid; then
		recv_file 192.168.77.2 5555 $((UP_MIB << 20)) "$work/got.bin" ||
			{ no "receiving from the guest failed"; kill $pid; }
	fi
	wait $pid
	rc=$?
	[ $rc -eq 0 ] && ok "exit status 0 (guest poweroff), $((SECONDS - start)) s" || no "exit status $rc"
	has "PING-OK" && ok "the guest pinged the tap's host end" || no "ping: $(grep -m1 PING- "$log")"
	has "GUEST-MAC 52:54:00:12:34:56" && ok "mac= reached the guest" || no "MAC: $(grep -m1 GUEST-MAC "$log")"
	check_transfers
	if [ "${3:-}" = fd ]; then
		has "virtio-net0 \(tap fd [0-9]+\)" && ok "petrel used the tap it was given by fd" ||
			no "not on the passed fd: $(grep -m1 -oE 'virtio-net0 \(tap[^)]*\)' "$log")"
	fi
	ip link del "$tap" 2>/dev/null
	finish
}

case_tap_gone() {
	local name=tap-gone tap=ptap$RANDOM
	echo "  -- $name: the tap deleted under the running guest: link down, petrel lives"
	if ! new_tap "$tap"; then
		no "cannot make tap $tap (needs root and the tun module)"
		log=/dev/null
		finish
		return
	fi
	taps+=("$tap")
	cat >"$work/$name.sh" <<'EOF'
ip link set eth0 up
ip addr add 192.168.77.2/24 dev eth0
ping -c 1 -W 10 192.168.77.1 >/dev/null 2>&1 && echo "PING-BEFORE-OK"
echo "CARRIER-BEFORE $(cat /sys/class/net/eth0/carrier)"
echo "LINK-WATCH"
c=1
for i in $(seq 240); do
	c=$(cat /sys/class/net/eth0/carrier 2>/dev/null)
	[ "$c" = 0 ] && break
	sleep 0.5
done
echo "CARRIER-AFTER $c"
ping -c 1 -W 2 192.168.77.1 >/dev/null 2>&1 && echo "PING-AFTER-OK" || echo "PING-AFTER-FAILED"
EOF
	boot_bg "$name" "$work/$name.sh" --net "tap=$tap"
	wait_for LINK-WATCH $pid && ip link del "$tap"
	wait $pid
	rc=$?
	[ $rc -eq 0 ] && ok "exit status 0: petrel kept running, the guest powered off" || no "exit status $rc"
	has "PING-BEFORE-OK" && ok "the link worked before" || no "no ping before"
	has "CARRIER-BEFORE 1" && has "CARRIER-AFTER 0" && ok "the guest saw its carrier go from 1 to 0" ||
		no "carrier: $(grep -m1 CARRIER-BEFORE "$log"), $(grep -m1 CARRIER-AFTER "$log")"
	has "PING-AFTER-FAILED" && ok "nothing goes out after" || no "ping after: $(grep -m1 PING-AFTER "$log")"
	has "the tap is gone; the guest's link is down" && ok "petrel said the tap went away" ||
		no "petrel did not report the tap going away"
	finish
}

cases=(user-pci user-mmio tap-pci tap-mmio tap-fd tap-gone)
only=("$@")
for c in "${cases[@]}"; do
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $c "* ]]; then
		continue
	fi
	case $c in
	user-*) case_user "$c" "${c#user-}" ;;
	tap-gone) case_tap_gone ;;
	tap-fd) case_tap "$c" pci fd ;;
	tap-*) case_tap "$c" "${c#tap-}" ;;
	esac
done
echo "$pass $fail $skip" >"$result"
[ $fail -eq 0 ]
