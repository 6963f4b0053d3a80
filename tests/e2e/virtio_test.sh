#!/usr/bin/env bash
# The virtio tier: Debian's cloud kernel, its own virtio drivers (modules
# from the same package, loaded by the default initramfs) as the outside
# client of petrel's virtio devices. Each case boots the default guest
# with a script appended to the initramfs (/init runs /test.sh with
# petrel.test=script) and checks what the guest did from the host: a
# file's content in the image (debugfs), a status line, petrel's status.
#
# Needs KVM with hardware-virtualization semantics (run by tests/run-all.sh
# in the nested VM when this machine has none), root for the full-disk
# case (a small tmpfs), and e2fsprogs (mkfs.ext4 -d, debugfs, e2fsck).
#
#   tests/e2e/virtio_test.sh            every case
#   tests/e2e/virtio_test.sh rng ro     only the cases named
#
# Writes "<pass> <fail> <skip>" to build/test-logs/virtio-result; logs are
# build/test-logs/virtio-<case>.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
PETREL=${PETREL:-build/petrel}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
INITRD=${PETREL_TEST_INITRD:-.cache/initrd.img}
TIMEOUT=${VIRTIO_TIMEOUT:-600}
logs=build/test-logs
mkdir -p "$logs"
result=$logs/virtio-result
echo "0 1 0" >"$result"
work=$(mktemp -d /tmp/petrel-virtio.XXXXXX)
cleanup() {
	mountpoint -q "$work/full" 2>/dev/null && umount "$work/full"
	rm -rf "$work"
}
trap cleanup EXIT
for t in mkfs.ext4 debugfs e2fsck cpio sha256sum; do
	command -v "$t" >/dev/null || { echo "  virtio tier: $t is missing (tools/deps.sh installs e2fsprogs)"; exit 1; }
done

. tests/e2e/initrd_with.sh

# A 64 MiB ext4 image holding data.bin (1 MiB of random bytes) and its sum.
make_image() { # out
	local src
	src=$(mktemp -d "$work/src.XXXXXX")
	head -c 1048576 /dev/urandom >"$src/data.bin"
	(cd "$src" && sha256sum data.bin >data.sha256)
	truncate -s 64M "$1"
	mkfs.ext4 -q -F -d "$src" "$1" >/dev/null
	cut -d' ' -f1 "$src/data.sha256"
}

pass=0 fail=0 skip=0
bad=0
ok() { echo "     ok   $1"; }
no() { echo "     FAIL $1"; bad=1; }

# boot NAME SCRIPT PETREL-OPTIONS...: runs the guest; sets rc and log.
# $APPEND, if set, goes at the end of the guest's command line.
boot() {
	local name=$1 script=$2
	shift 2
	log=$logs/virtio-$name.log
	initrd_with "$script" "$work/$name.img.initrd"
	timeout -s TERM "$TIMEOUT" "$PETREL" run -k "$KERNEL" --initrd "$work/$name.img.initrd" \
		--cmdline "console=ttyS0 panic=-1 quiet petrel.test=script${APPEND:+ $APPEND}" \
		--stats "$@" </dev/null >"$log" 2>&1
	rc=$?
}
has() { grep -qE -- "$1" "$log"; }

finish() { # name
	if [ $bad -eq 0 ]; then
		pass=$((pass + 1)); echo "     PASS (log $log)"
	else
		fail=$((fail + 1)); echo "     last lines of $log:"; tail -25 "$log" | sed 's/^/       /'
	fi
	bad=0
}

# The sum of the per-CPU counts on the /proc/interrupts lines the guest
# printed with TAG (IRQ-A before the I/O, IRQ-B after) whose rest matches RE.
irq_sum() { # tag re
	grep -a "^$1 " "$log" | grep -E -- "$2" |
		awk '{ for (i = 3; i <= NF && $i ~ /^[0-9]+$/; i++) t += $i } END { print t + 0 }'
}

# How the disk's interrupts came, from the guest's /proc/interrupts: by
# INTx (an IO-APIC line, level: fasteoi) with pci=nomsi, else by MSI-X
# (PCI-MSI lines, one per queue and one for config); either way the count
# moved while the guest read and wrote.
check_irq_lines() { # nomsi
	local dev a b
	dev=$(grep -a -m1 '^VDEV ' "$log" | tr -d '\r' | cut -d' ' -f2)
	[ -n "$dev" ] || { no "the guest did not say which virtio device vda is"; return; }
	if [ "$1" = 1 ]; then
		has "^IRQ-B .*IO-APIC.*fasteoi +$dev\s*\$" &&
			ok "$dev on an IO-APIC fasteoi (level) line: $(grep -a -m1 "^IRQ-B .* $dev" "$log" | tr -s ' ' | cut -d' ' -f2-)" ||
			no "no IO-APIC fasteoi line for $dev: $(grep -a '^IRQ-B' "$log" | tr '\n' '|')"
		has "^IRQ-B .*MSI.* $dev" && no "$dev still has MSI lines"
		a=$(irq_sum IRQ-A " $dev\s*\$") b=$(irq_sum IRQ-B " $dev\s*\$")
	else
		has "^IRQ-B .*PCI-MSI.* $dev-req" &&
			ok "$dev's queue on a PCI-MSI line: $(grep -a -m1 "^IRQ-B .* $dev-req" "$log" | tr -s ' ' | cut -d' ' -f2-)" ||
			no "no PCI-MSI line for $dev's queue: $(grep -a '^IRQ-B' "$log" | tr '\n' '|')"
		has "^IRQ-B .*IO-APIC.* $dev\s*\$" && no "$dev also has an IO-APIC line"
		a=$(irq_sum IRQ-A " $dev-req") b=$(irq_sum IRQ-B " $dev-req")
	fi
	[ "$b" -gt "$a" ] && ok "its interrupt count moved during the I/O: $a -> $b" ||
		no "its interrupt count did not move: $a -> $b"
}

# The guest checks data.bin, writes new.txt, syncs; the host reads it back.
# With APPEND=pci=nomsi the virtio-pci disk interrupts by INTx.
case_rw() { # name transport io [petrel options...]
	local name=$1 transport=$2 io=$3 img=$work/$1.ext4 sum token nomsi=0
	shift 3
	[[ " ${APPEND:-} " == *" pci=nomsi "* ]] && nomsi=1
	echo "  -- $name: ext4 on virtio-blk over virtio-$transport, io=$io${*:+ $*}${APPEND:+, guest $APPEND}: read, write, sync, read back on the host"
	sum=$(make_image "$img")
	token="petrel-$name-$RANDOM$RANDOM"
	cat >"$work/$name.sh" <<EOF
mkdir -p /mnt && mount -t ext4 /dev/vda /mnt || { echo "MOUNT-FAILED"; exit 1; }
echo "VDEV \$(basename \$(readlink /sys/block/vda/device))"
grep -i virtio /proc/interrupts | sed 's/^/IRQ-A /'
echo "GUEST-SUM \$(sha256sum /mnt/data.bin | cut -d' ' -f1)"
echo "SERIAL \$(cat /sys/block/vda/serial 2>/dev/null)"
echo "$token" >/mnt/new.txt
head -c 300000 /mnt/data.bin >>/mnt/new.txt
sync
grep -i virtio /proc/interrupts | sed 's/^/IRQ-B /'
umount /mnt && echo "UMOUNT-OK"
EOF
	boot "$name" "$work/$name.sh" --disk "$img,io=$io,transport=$transport,serial=sn-$name" "$@"
	[ $rc -eq 0 ] && ok "exit status 0 (guest poweroff)" || no "exit status $rc"
	# the path the kicks and interrupts took, as --stats says
	local want_k="ioeventfd" want_i="irqfd"
	[[ " $* " == *" --no-ioeventfd "* ]] && want_k=trapped
	[[ " $* " == *" --no-irqfd "* ]] && want_i=ioctl
	# --irqchip split: level lines (virtio-mmio's, INTx) have no resampling
	# irqfd there (KVM's needs its own IOAPIC): they go by ioctl
	local line_i=$want_i
	[[ " $* " == *" --irqchip split "* ]] && line_i=ioctl
	[ "$transport" = mmio ] && want_i=$line_i
	local irq_re="\($want_i\)" how=$want_i
	# with INTx, --stats says how often the line went up, and where
	if [ $nomsi = 1 ]; then
		irq_re="\(MSI-X: 0 by $want_i; INTx on GSI 1[01]: line raised [1-9][0-9]* times by $line_i\)"
		how="INTx, by $line_i"
	fi
	has "stats: virtio-blk0 \(virtio-$transport\): [0-9]+ kicks \($want_k\), [0-9]+ interrupts $irq_re" &&
		ok "kicks by $want_k, interrupts by $how" ||
		no "not kicks by $want_k / interrupts by $want_i: $(grep -m1 'stats: virtio-blk0 (' "$log")"
	[ "$transport" = pci ] && check_irq_lines $nomsi
	has "GUEST-SUM $sum" && ok "the guest read data.bin intact (sha256 $sum)" ||
		no "the guest's sha256 of data.bin differs: $(grep -m1 GUEST-SUM "$log")"
	has "SERIAL sn-$name" && ok "serial sn-$name in /sys/block/vda/serial" || no "serial not seen"
	has "UMOUNT-OK" && ok "unmounted cleanly" || no "umount failed"
	local got want
	got=$(debugfs -R "cat /new.txt" "$img" 2>/dev/null | sha256sum | cut -d' ' -f1)
	# what the guest wrote: the token line, then the first 300000 bytes of data.bin
	want=$({ echo "$token"; debugfs -R "cat /data.bin" "$img" 2>/dev/null | head -c 300000; } |
		sha256sum | cut -d' ' -f1)
	[ -n "$got" ] && [ "$got" = "$want" ] && ok "the host finds new.txt in the image, content right" ||
		no "new.txt in the image: sha256 $got, want $want"
	e2fsck -fn "$img" >"$work/$name.fsck" 2>&1 && ok "e2fsck: the file system is clean" ||
		no "e2fsck finds errors: $(tail -3 "$work/$name.fsck" | tr '\n' ' ')"
	finish
}

# Three disks on virtio-pci with pci=nomsi: slots 1, 2, 3 swizzle to wires
# B, C, D, i.e. GSIs 10, 11, 11, so vdb and vdc share one level line. Both
# are read and written at once; each must get its interrupts (a line
# dropped by one device while the other still holds it would hang the
# other's I/O), and the guest must show the two on one IO-APIC line.
case_intx_shared() { # name [petrel options...]
	local name=$1 i sums=() token=$RANDOM$RANDOM
	shift
	echo "  -- $name: three disks over virtio-pci, guest pci=nomsi${*:+, $*}: two share GSI 11; both read and written at once"
	for i in 0 1 2; do
		sums+=("$(make_image "$work/$name-$i.ext4")")
	done
	cat >"$work/$name.sh" <<EOF
for d in vdb vdc; do
	mkdir -p /m\$d && mount -t ext4 /dev/\$d /m\$d || echo "MOUNT-FAILED \$d"
	echo "VDEV \$d \$(basename \$(readlink /sys/block/\$d/device))"
done
grep -i virtio /proc/interrupts | sed 's/^/IRQ-A /'
for d in vdb vdc; do
	( echo "GUEST-SUM \$d \$(sha256sum /m\$d/data.bin | cut -d' ' -f1)"
	  head -c 300000 /m\$d/data.bin >/m\$d/copy.bin && echo "$token" >>/m\$d/copy.bin && sync ) &
done
wait
grep -i virtio /proc/interrupts | sed 's/^/IRQ-B /'
umount /mvdb && umount /mvdc && echo "UMOUNT-OK"
EOF
	boot "$name" "$work/$name.sh" --disk "$work/$name-0.ext4" --disk "$work/$name-1.ext4" \
		--disk "$work/$name-2.ext4" "$@"
	[ $rc -eq 0 ] && ok "exit status 0 (guest poweroff)" || no "exit status $rc"
	local d1 d2 a b got want
	d1=$(grep -a '^VDEV vdb ' "$log" | tr -d '\r' | cut -d' ' -f3)
	d2=$(grep -a '^VDEV vdc ' "$log" | tr -d '\r' | cut -d' ' -f3)
	if [ -n "$d1" ] && [ -n "$d2" ] &&
		has "^IRQ-B +11: .*IO-APIC +11-fasteoi +($d1, $d2|$d2, $d1)\s*\$"; then
		ok "$d1 and $d2 share IO-APIC line 11: $(grep -a -m1 '^IRQ-B *11:' "$log" | tr -s ' ' | cut -d' ' -f2-)"
	else
		no "no shared IO-APIC line 11 for vdb and vdc ($d1, $d2): $(grep -a '^IRQ-B' "$log" | tr '\n' '|')"
	fi
	a=$(irq_sum IRQ-A "11-fasteoi") b=$(irq_sum IRQ-B "11-fasteoi")
	[ "$b" -gt "$a" ] && ok "line 11's count moved during the I/O: $a -> $b" ||
		no "line 11's count did not move: $a -> $b"
	has "GUEST-SUM vdb ${sums[1]}" && has "GUEST-SUM vdc ${sums[2]}" &&
		ok "the guest read data.bin intact on both" ||
		no "a data.bin sum differs: $(grep -a GUEST-SUM "$log" | tr '\n' ' ')"
	has "UMOUNT-OK" && ok "unmounted cleanly" || no "umount failed"
	for i in 1 2; do
		got=$(debugfs -R "cat /copy.bin" "$work/$name-$i.ext4" 2>/dev/null | sha256sum | cut -d' ' -f1)
		want=$({ debugfs -R "cat /data.bin" "$work/$name-$i.ext4" 2>/dev/null | head -c 300000
			echo "$token"; } | sha256sum | cut -d' ' -f1)
		[ "$got" = "$want" ] && ok "disk $i: the host finds copy.bin, content right" ||
			no "disk $i: copy.bin sha256 $got, want $want"
	done
	finish
}

case_ro() {
	local img=$work/ro.ext4 sum before after
	echo "  -- ro: a read-only disk refuses writes in the guest, and the image is untouched"
	sum=$(make_image "$img")
	before=$(sha256sum "$img" | cut -d' ' -f1)
	cat >"$work/ro.sh" <<'EOF'
echo "RO-FLAG $(cat /sys/block/vda/ro)"
if dd if=/dev/zero of=/dev/vda bs=4096 count=1 seek=100 oflag=direct 2>/dev/null; then
	echo "RAW-WRITE-SUCCEEDED"
else
	echo "RAW-WRITE-REFUSED"
fi
mkdir -p /mnt && mount -t ext4 -o ro /dev/vda /mnt && echo "GUEST-SUM $(sha256sum /mnt/data.bin | cut -d' ' -f1)"
touch /mnt/x 2>/dev/null && echo "TOUCH-SUCCEEDED" || echo "TOUCH-REFUSED"
umount /mnt
EOF
	boot ro "$work/ro.sh" --disk "$img,ro"
	[ $rc -eq 0 ] && ok "exit status 0" || no "exit status $rc"
	has "RO-FLAG 1" && ok "the guest sees the disk read-only (/sys/block/vda/ro = 1)" || no "ro flag not 1"
	has "RAW-WRITE-REFUSED" && ok "a raw write to /dev/vda fails" || no "a raw write to /dev/vda succeeded"
	has "TOUCH-REFUSED" && ok "a file write on the ro mount fails" || no "touch succeeded"
	has "GUEST-SUM $sum" && ok "reads work" || no "read back differs"
	after=$(sha256sum "$img" | cut -d' ' -f1)
	[ "$before" = "$after" ] && ok "the image is byte-for-byte unchanged" || no "the image changed"
	finish
}

# kill -9 of petrel right after the guest says its fsync returned: the host
# must find the file (after e2fsck replays the journal, as a reboot would).
case_kill() {
	local img=$work/kill.ext4 pid got want i
	echo "  -- kill9: kill -9 of petrel right after the guest's fsync returns loses nothing synced"
	make_image "$img" >/dev/null
	cat >"$work/kill.sh" <<'EOF'
mkdir -p /mnt && mount -t ext4 /dev/vda /mnt || exit 1
dd if=/dev/urandom of=/mnt/synced.bin bs=4096 count=256 conv=fsync 2>/dev/null
sync
echo "FSYNCED $(sha256sum /mnt/synced.bin | cut -d' ' -f1)"
# keep writing, never synced: the kill comes in the middle of this
while :; do dd if=/dev/urandom of=/mnt/unsynced.bin bs=65536 count=16 2>/dev/null; done
EOF
	log=$logs/virtio-kill9.log
	initrd_with "$work/kill.sh" "$work/kill.initrd"
	"$PETREL" run -k "$KERNEL" --initrd "$work/kill.initrd" \
		--cmdline "console=ttyS0 panic=-1 quiet petrel.test=script" --disk "$img" \
		</dev/null >"$log" 2>&1 &
	pid=$!
	for ((i = 0; i < TIMEOUT * 10; i++)); do
		grep -q "^FSYNCED " "$log" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	want=$(grep -m1 -o "^FSYNCED [0-9a-f]*" "$log" | cut -d' ' -f2)
	[ -n "$want" ] && ok "the guest synced synced.bin ($want) and petrel was killed" ||
		no "the guest never reported its fsync"
	e2fsck -fy "$img" >"$work/kill.fsck" 2>&1
	[ $? -le 1 ] && ok "e2fsck replayed the journal" || no "e2fsck: $(tail -2 "$work/kill.fsck" | tr '\n' ' ')"
	got=$(debugfs -R "cat /synced.bin" "$img" 2>/dev/null | sha256sum | cut -d' ' -f1)
	[ -n "$want" ] && [ "$got" = "$want" ] && ok "synced.bin is intact in the image" ||
		no "synced.bin in the image: sha256 $got, want $want"
	finish
}

# An image on a full file system: the guest gets I/O errors; petrel lives.
case_full() {
	echo "  -- full: an image on a full host file system gives the guest I/O errors, and petrel goes on"
	if [ "$(id -u)" -ne 0 ]; then
		echo "     SKIP needs root for a small tmpfs"
		skip=$((skip + 1))
		return
	fi
	mkdir -p "$work/full"
	mount -t tmpfs -o size=4m tmpfs "$work/full" || { no "cannot mount a tmpfs"; finish; return; }
	truncate -s 64M "$work/full/disk.raw"
	cat >"$work/full.sh" <<'EOF'
dd if=/dev/urandom of=/dev/vda bs=1M count=16 oflag=direct 2>/dev/null && echo "WRITE-SUCCEEDED" || echo "WRITE-FAILED"
dmesg | grep -m1 -i "I/O error" | sed 's/^/DMESG /'
dd if=/dev/vda of=/dev/null bs=1M count=1 2>/dev/null && echo "READ-STILL-WORKS"
EOF
	boot full "$work/full.sh" --disk "$work/full/disk.raw"
	[ $rc -eq 0 ] && ok "exit status 0: petrel lived and the guest powered off" || no "exit status $rc"
	has "WRITE-FAILED" && ok "the guest's write failed" || no "the guest's write did not fail"
	has "DMESG .*I/O error" && ok "the guest logged an I/O error" || no "no I/O error in the guest's dmesg"
	has "READ-STILL-WORKS" && ok "the disk still reads afterwards" || no "reads fail afterwards"
	has "PETREL-TEST-DONE" && ok "the guest script ran to its end" || no "the guest script did not finish"
	umount "$work/full"
	finish
}

case_rng() { # name transport
	local name=$1 transport=$2
	echo "  -- $name: the guest reads /dev/hwrng from virtio-rng over virtio-$transport"
	cat >"$work/$name.sh" <<'EOF'
echo "RNG-CURRENT $(cat /sys/class/misc/hw_random/rng_current)"
echo "RNG-BYTES $(dd if=/dev/hwrng bs=64 count=4 2>/dev/null | wc -c)"
a=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | sha256sum)
b=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | sha256sum)
[ "$a" != "$b" ] && echo "RNG-DIFFERS"
EOF
	boot "$name" "$work/$name.sh" --rng=transport=$transport
	[ $rc -eq 0 ] && ok "exit status 0" || no "exit status $rc"
	has "RNG-CURRENT virtio_rng" && ok "rng_current is $(grep -m1 -o 'virtio_rng[.0-9]*' "$log")" ||
		no "rng_current: $(grep -m1 RNG-CURRENT "$log")"
	has "RNG-BYTES 256" && ok "256 bytes read from /dev/hwrng" || no "$(grep -m1 RNG-BYTES "$log")"
	has "RNG-DIFFERS" && ok "two reads differ" || no "two reads were the same"
	finish
}

# A host-side client of the console socket: connects when petrel made it,
# saves everything it receives to OUT, and once the guest's end marker
# came, sends LINE. Exits when petrel closes the socket.
console_client() { # sock out line
	python3 - "$@" <<'PY'
import socket, sys, time
path, out, line = sys.argv[1], sys.argv[2], sys.argv[3].encode() + b"\n"
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
for _ in range(1200):
    try:
        s.connect(path)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("no socket at " + path)
got, sent = b"", False
with open(out, "wb") as f:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
        f.write(b)
        f.flush()
        if not sent and b"PETREL-HVC-END\n" in got:
            s.sendall(line)
            sent = True
PY
}

# The guest writes a marker, 64 KiB of random bytes and an end marker to
# /dev/hvc0 (raw mode); the host client must receive exactly those bytes,
# then sends a line the guest reads back from /dev/hvc0.
case_console() { # name transport
	local name=$1 transport=$2 sock=$work/$1.sock out=$work/$1.out token sum want got
	echo "  -- $name: /dev/hvc0 of virtio-console over virtio-$transport <-> a Unix socket client"
	token="host-line-$RANDOM$RANDOM"
	cat >"$work/$name.sh" <<'EOF'
[ -c /dev/hvc0 ] || { echo "NO-HVC0"; exit 1; }
exec 3<>/dev/hvc0
stty raw -echo <&3 || echo "STTY-FAILED"
head -c 65536 /dev/urandom >/tmp/data
echo "GUEST-DATA-SUM $(sha256sum /tmp/data | cut -d' ' -f1)"
printf 'PETREL-HVC-HELLO\n' >&3
cat /tmp/data >&3
printf 'PETREL-HVC-END\n' >&3
read -r -t 60 line <&3 && echo "GUEST-GOT $line"
EOF
	console_client "$sock" "$out" "$token" &
	local client=$!
	boot "$name" "$work/$name.sh" --vconsole "socket=$sock,transport=$transport"
	wait $client
	[ $rc -eq 0 ] && ok "exit status 0" || no "exit status $rc"
	sum=$(grep -m1 -o 'GUEST-DATA-SUM [0-9a-f]*' "$log" | cut -d' ' -f2)
	got=$(python3 -c '
import hashlib, sys
d = open(sys.argv[1], "rb").read()
h, e = b"PETREL-HVC-HELLO\n", b"PETREL-HVC-END\n"
ok = d.startswith(h) and d.endswith(e) and len(d) == len(h) + 65536 + len(e)
print(hashlib.sha256(d[len(h):-len(e)]).hexdigest() if ok else "bad-framing-%d-bytes" % len(d))
' "$out" 2>/dev/null)
	want=${sum:-none}
	[ "$got" = "$want" ] && ok "the host received exactly the guest's 64 KiB (sha256 $want) between the markers" ||
		no "host got $got, guest sent $want"
	has "GUEST-GOT $token" && ok "the guest read the host's line from /dev/hvc0" ||
		no "the guest did not read the host's line: $(grep -m1 GUEST-GOT "$log")"
	has "virtio-console0: [0-9]+ bytes from the guest" &&
		ok "$(grep -m1 -oE 'virtio-console0: [0-9]+ bytes from the guest, [0-9]+ bytes to it' "$log")" ||
		no "no virtio-console stats"
	finish
}

# --console virtio: the terminal (here a pipe in, the log out) is hvc0 and
# the guest's console (petrel adds console=hvc0); a line typed reaches the
# guest's stdin, and Ctrl-A x still quits (status 5).
case_console_stdio() {
	local name=console-stdio fifo=$work/console-stdio.fifo token writer
	echo "  -- $name: --console virtio: stdin/stdout on hvc0, console=hvc0 added, Ctrl-A x"
	token="typed-$RANDOM$RANDOM"
	# virtio_console is a module: /init starts before hvc0 exists and
	# moves its stdio there once it loaded the module
	cat >"$work/$name.sh" <<'EOF'
echo "CMDLINE $(cat /proc/cmdline)"
read -r -t 120 line && echo "GUEST-GOT $line"
sleep 600
EOF
	log=$logs/virtio-$name.log
	: >"$log"
	initrd_with "$work/$name.sh" "$work/$name.img.initrd"
	mkfifo "$fifo"
	(
		exec 4>"$fifo"
		for _ in $(seq 600); do
			grep -q "CMDLINE" "$log" 2>/dev/null && break
			sleep 0.5
		done
		printf '%s\n' "$token" >&4
		for _ in $(seq 600); do
			grep -q "GUEST-GOT" "$log" 2>/dev/null && break
			sleep 0.5
		done
		printf '\001x' >&4
		sleep 30
	) &
	writer=$!
	timeout -s TERM "$TIMEOUT" "$PETREL" run -k "$KERNEL" --initrd "$work/$name.img.initrd" \
		--cmdline "panic=-1 petrel.test=script" --console virtio --stats \
		<"$fifo" >"$log" 2>&1
	rc=$?
	kill $writer 2>/dev/null; wait $writer 2>/dev/null
	has "CMDLINE .*console=hvc0" && ok "console=hvc0 was added to the command line" ||
		no "no console=hvc0: $(grep -m1 CMDLINE "$log")"
	has "PETREL-INIT-OK" && ok "/init's own output reached the terminal through hvc0" ||
		no "no PETREL-INIT-OK on the terminal"
	has "GUEST-GOT $token" && ok "the typed line reached the guest" || no "the guest did not read the line"
	[ $rc -eq 5 ] && ok "Ctrl-A x quit (status 5)" || no "exit status $rc, not 5 (Ctrl-A x)"
	finish
}

cases=(rw-pci-uring rw-pci-sync rw-mmio-uring rw-mmio-sync rw-pci-plain rw-mmio-plain
	rw-pci-intx rw-pci-intx-plain intx-shared intx-shared-plain
	rw-pci-split rw-mmio-split rw-pci-intx-split intx-shared-split ro kill9 full
	rng-pci rng-mmio console-pci console-mmio console-stdio)
only=("$@")
for c in "${cases[@]}"; do
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $c "* ]]; then
		continue
	fi
	case $c in
	# split: the same through petrel's IOAPIC (--irqchip split): MSI-X
	# still by KVM's routes, INTx and virtio-mmio's line by petrel's pins
	rw-pci-split) case_rw "$c" pci uring --irqchip split ;;
	rw-mmio-split) case_rw "$c" mmio uring --irqchip split ;;
	rw-pci-intx-split) APPEND=pci=nomsi case_rw "$c" pci uring --irqchip split ;;
	intx-shared-split) APPEND=pci=nomsi case_intx_shared "$c" --irqchip split ;;
	# intx: the guest has no MSI (pci=nomsi), so virtio-pci interrupts by INTx
	rw-pci-intx) APPEND=pci=nomsi case_rw "$c" pci uring ;;
	rw-pci-intx-plain) APPEND=pci=nomsi case_rw "$c" pci uring --no-ioeventfd --no-irqfd ;;
	intx-shared) APPEND=pci=nomsi case_intx_shared "$c" ;;
	intx-shared-plain) APPEND=pci=nomsi case_intx_shared "$c" --no-ioeventfd --no-irqfd ;;
	# plain: without the KVM fast paths (trapped notifies, MSIs by ioctl)
	rw-*-plain) IFS=- read -r _ t _ <<<"$c"; case_rw "$c" "$t" uring --no-ioeventfd --no-irqfd ;;
	rw-*) IFS=- read -r _ t io <<<"$c"; case_rw "$c" "$t" "$io" ;;
	ro) case_ro ;;
	kill9) case_kill ;;
	full) case_full ;;
	rng-*) case_rng "$c" "${c#rng-}" ;;
	console-stdio) case_console_stdio ;;
	console-*) case_console "$c" "${c#console-}" ;;
	esac
done
echo "$pass $fail $skip" >"$result"
[ $fail -eq 0 ]
