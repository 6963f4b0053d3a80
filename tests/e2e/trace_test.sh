#!/usr/bin/env bash
# The trace tier: --trace end to end, checked line by line.
#   mb     a Multiboot kernel under --trace pio,mmio,irq,exits:FILE: known
#          accesses (port, value, device, offset) and the interrupt route
#          it programs (tests/guest/test_multiboot_trace.c)
#   linux  Debian's cloud kernel reading a virtio-blk disk (virtio-pci,
#          MSI-X by irqfd) under --trace virtio,irq:FILE: the queue's
#          kicks, used-ring pushes and interrupts, the MSI-X messages
#          decoded, agreeing with the MSI routes and with the guest's
#          /proc/interrupts, and COM1's line through IOAPIC pin 4
#
# Needs KVM with hardware-virtualization semantics (tests/run-all.sh runs it
# in the nested VM when this machine has none).
#   tests/e2e/trace_test.sh [mb] [linux]
# Writes "<pass> <fail> <skip>" to build/test-logs/trace-result; logs are
# build/test-logs/trace-<case>.log, the Linux trace trace-linux.trace.
set -uo pipefail
cd "$(dirname "$0")/../.."
PETREL=${PETREL:-build/petrel}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
INITRD=${PETREL_TEST_INITRD:-.cache/initrd.img}
TIMEOUT=${TRACE_TIMEOUT:-600}
logs=build/test-logs
mkdir -p "$logs"
result=$logs/trace-result
echo "0 1 0" >"$result"
work=$(mktemp -d /tmp/petrel-trace.XXXXXX)
trap 'rm -rf "$work"' EXIT

. tests/e2e/initrd_with.sh

pass=0 fail=0 skip=0
bad=0
ok() { echo "     ok   $1"; }
no() { echo "     FAIL $1"; bad=1; }
finish() { # log
	if [ $bad -eq 0 ]; then
		pass=$((pass + 1)); echo "     PASS (log $1)"
	else
		fail=$((fail + 1)); echo "     last lines of $1:"; tail -25 "$1" | sed 's/^/       /'
	fi
	bad=0
}
T='^[0-9]+\.[0-9]{9} ' # a line's time

case_mb() {
	local log=$logs/trace-mb.log bin=build/tests/guest/test_multiboot_trace rc
	echo "  -- mb: a Multiboot kernel under --trace pio,mmio,irq,exits:FILE"
	if [ ! -x "$bin" ]; then
		no "$bin is not built (make guest-bins)"
		finish "$log"
		return
	fi
	PETREL=$PETREL timeout -s KILL 120 "$bin" </dev/null >"$log" 2>&1
	rc=$?
	case $rc in
	0) ok "every access, exit and the COM1 route found, field by field"; finish "$log" ;;
	77) echo "     SKIP $(grep -m1 '^SKIP' "$log")"; skip=$((skip + 1)) ;;
	*) grep '^FAIL' "$log" | head -8 | sed 's/^/     /'; no "status $rc"; finish "$log" ;;
	esac
}

case_linux() {
	local log=$logs/trace-linux.log tr=$logs/trace-linux.trace img=$work/disk.raw
	local sum rc n guest_irqs msi e vec route_vec
	echo "  -- linux: Debian's kernel reads a virtio-blk disk under --trace virtio,irq:FILE"
	head -c 4194304 /dev/urandom >"$img"
	sum=$(head -c 1048576 "$img" | sha256sum | cut -d' ' -f1)
	cat >"$work/linux.sh" <<'EOF'
echo "GUEST-SUM $(head -c 1048576 /dev/vda | sha256sum | cut -d' ' -f1)"
grep -E 'virtio[0-9]+-req' /proc/interrupts | sed 's/^/GUEST-IRQ /'
grep -E 'ttyS0' /proc/interrupts | sed 's/^/GUEST-SERIAL /'
EOF
	initrd_with "$work/linux.sh" "$work/linux.initrd"
	rm -f "$tr"
	timeout -s TERM "$TIMEOUT" "$PETREL" run -k "$KERNEL" --initrd "$work/linux.initrd" \
		--cmdline "console=ttyS0 panic=-1 quiet petrel.test=script" \
		--disk "$img,ro" --trace "virtio,irq:$tr" </dev/null >"$log" 2>&1
	rc=$?
	[ $rc -eq 0 ] && ok "exit status 0 (guest poweroff)" || no "exit status $rc"
	grep -q "GUEST-SUM $sum" "$log" && ok "the guest read the disk's first MiB intact" ||
		no "the guest's sha256 differs: $(grep -m1 GUEST-SUM "$log")"
	if [ ! -s "$tr" ]; then
		no "no trace file $tr"
		finish "$log"
		return
	fi
	echo "     trace: $(wc -l <"$tr") lines in $tr"
	# the queue: kicks (by ioeventfd, taken on the I/O thread), pushes, interrupts
	n=$(grep -cE "${T}io virtio kick dev=virtio-blk0 queue=0 kicks=[1-9][0-9]*$" "$tr")
	[ "$n" -gt 0 ] && ok "$n kicks of virtio-blk0's queue 0 on the I/O thread" || no "no kick lines"
	n=$(grep -cE "${T}[a-z0-9-]+ virtio push dev=virtio-blk0 queue=0 head=[0-9]+ len=[0-9]+ used_idx=[0-9]+$" "$tr")
	[ "$n" -gt 0 ] && ok "$n used-ring pushes (completions)" || no "no push lines"
	e=$(grep -m1 -oE "virtio interrupt dev=virtio-blk0 queue=0 msix_vector=[0-9]+$" "$tr" | grep -oE '[0-9]+$')
	[ -n "$e" ] && ok "completions interrupt through MSI-X table entry $e" ||
		no "no 'virtio interrupt ... msix_vector=' line"
	e=${e:-1}
	# the MSI-X messages of that entry, decoded, and the route KVM was given
	msi=$(grep -cE "${T}[a-z0-9-]+ irq msi dev=virtio-blk0 entry=$e addr=0xfee[0-9a-f]{5} data=0x[0-9a-f]+ vector=0x[0-9a-f]+ delivery=fixed dest_mode=(physical|logical) dest=0x[0-9a-f]+ trigger=edge via=irqfd$" "$tr")
	[ "$msi" -gt 0 ] && ok "$msi MSI-X messages from entry $e, by irqfd" || no "no 'irq msi' lines for entry $e"
	route_vec=$(grep -E "irq msi-route dev=virtio-blk0 entry=$e route=[0-9]+ .* result=0$" "$tr" |
		tail -1 | grep -oE ' vector=0x[0-9a-f]+' | cut -d= -f2)
	vec=$(grep -E "irq msi dev=virtio-blk0 entry=$e " "$tr" | tail -1 | grep -oE ' vector=0x[0-9a-f]+' | cut -d= -f2)
	[ -n "$route_vec" ] && [ "$route_vec" != 0x0 ] && [ "$vec" = "$route_vec" ] &&
		ok "entry $e's route (KVM_SET_GSI_ROUTING) and its messages agree: vector $vec" ||
		no "route vector '$route_vec', message vector '$vec'"
	guest_irqs=$(grep -m1 'GUEST-IRQ' "$log" | awk '{ print $3 }')
	[ -n "$guest_irqs" ] && [ "$guest_irqs" -gt 0 ] && [ "$guest_irqs" -le "$msi" ] &&
		ok "the guest counted $guest_irqs virtio interrupts (/proc/interrupts), petrel sent $msi" ||
		no "guest counted '${guest_irqs}' virtio interrupts, petrel traced $msi: $(grep -m1 GUEST-IRQ "$log")"
	# COM1's line through IOAPIC pin 4, as Linux programmed it
	n=$(grep -cE "${T}[a-z0-9-]+ irq line dev=com1 gsi=4 level=1 ioapic_pin=4 redir=0x[0-9a-f]+ vector=0x[2-9a-f][0-9a-f] delivery=fixed dest_mode=(physical|logical) dest=0x[0-9a-f]+ trigger=edge polarity=high mask=0 remote_irr=[01] pic=master:4 pic_masked=[01] result=0$" "$tr")
	[ "$n" -gt 0 ] && ok "$n raises of COM1's GSI 4 to IOAPIC pin 4, unmasked, vector $(grep -m1 -E 'irq line dev=com1 gsi=4 level=1 .* mask=0 ' "$tr" | grep -oE ' vector=0x[0-9a-f]+' | cut -d= -f2)" ||
		no "no unmasked COM1 line through pin 4"
	grep -q "GUEST-SERIAL" "$log" && ok "the guest counted ttyS0 interrupts: $(grep -m1 GUEST-SERIAL "$log" | awk '{ print $3 }')" ||
		no "no ttyS0 line in the guest's /proc/interrupts"
	# nothing of other classes, and every line well formed
	n=$(grep -cvE "${T}[a-z0-9-]+ (virtio|irq) [a-z-]+ dev=" "$tr")
	[ "$n" -eq 0 ] && ok "every line is a virtio or irq line of the form" ||
		no "$n lines are not: $(grep -m1 -vE "${T}[a-z0-9-]+ (virtio|irq) [a-z-]+ dev=" "$tr")"
	finish "$log"
}

cases=(mb linux)
only=("$@")
for c in "${cases[@]}"; do
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $c "* ]]; then
		continue
	fi
	"case_$c"
done
echo "$pass $fail $skip" >"$result"
[ $fail -eq 0 ]
