#!/usr/bin/env bash
# Builds the default guest's initramfs: busybox (Debian's busybox-static),
# /bin/boot-marker (tools/initrd/boot_marker.c) and an /init that first
# writes petrel's boot marker (port 0x3f0, value 123: --stats prints "boot
# marker at N ms"), mounts the usual file systems, then either
#  - with "petrel.test" (or "petrel.test=poweroff") on the kernel command
#    line: prints the marker line PETREL-INIT-OK with the CPU count and
#    MemTotal, then powers off (the boot test's success signal); with
#    "petrel.test=reboot" it reboots instead (a machine without ACPI has no
#    poweroff); with "petrel.test=clock" it prints its monotonic clock
#    ten times, and ten more 40 s later, and its clocksource (the boot
#    tier's drift check);
#    with "petrel.test=script" it runs /test.sh (which a test
#    adds as a second cpio archive appended to this one), prints
#    "PETREL-TEST-DONE status N" and powers off, or
#  - otherwise: gives an interactive shell on the console and powers off
#    when it exits.
# The kernel's virtio modules (from tools/fetch-kernel.sh, in MODULES, default
# the modules/ directory beside OUT) are loaded for the devices the guest
# has, from their modalias, as udev's coldplug would: PCI and ACPI first
# (virtio_pci, virtio_mmio), then the virtio bus (virtio_blk, ...).
set -euo pipefail
out=${1:?usage: mkinitrd.sh OUT.img}
mods=${MODULES:-$(dirname "$out")/modules}
bb=$(command -v busybox || true)
[ -x /bin/busybox ] && bb=/bin/busybox
if [ -z "$bb" ] || ! file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
	# file(1) may be missing; busybox-static's binary is /bin/busybox
	[ -x /bin/busybox ] || { echo "mkinitrd: install busybox-static" >&2; exit 1; }
	bb=/bin/busybox
fi
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,sbin,dev,proc,sys,tmp,etc,root}
cp "$bb" "$tmp/bin/busybox"
for app in $("$tmp/bin/busybox" --list); do
	[ "$app" = busybox ] || ln -sf busybox "$tmp/bin/$app"
done
# freestanding: no libc to start, so the marker is as early as /init can be
${CC:-cc} -I"$here/include" -Os -static -nostdlib -ffreestanding -fno-pie -no-pie \
	-fno-stack-protector -fcf-protection=none -fno-asynchronous-unwind-tables \
	-Wall -Wextra -Werror -Wl,--build-id=none \
	-o "$tmp/bin/boot-marker" "$here/tools/initrd/boot_marker.c"
if [ -d "$mods" ]; then
	mkdir -p "$tmp/lib/modules"
	cp -a "$mods"/[0-9]* "$tmp/lib/modules/"
else
	echo "mkinitrd: no kernel modules in $mods (tools/fetch-kernel.sh makes them): no virtio drivers" >&2
fi
# udhcpc's default script: applies a lease (--net user: udhcpc -i eth0).
# Debian's busybox looks in /etc/udhcpc, upstream's default in /usr/share.
mkdir -p "$tmp/etc/udhcpc" "$tmp/usr/share/udhcpc"
cat > "$tmp/etc/udhcpc/default.script" <<'DHCP'
#!/bin/sh
case "$1" in
deconfig) ip link set "$interface" up; ip addr flush dev "$interface" ;;
bound|renew)
	ip addr flush dev "$interface"
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
	for r in $router; do route add default gw "$r" dev "$interface"; break; done
	for d in $dns; do echo "nameserver $d"; done >/etc/resolv.conf ;;
esac
DHCP
chmod +x "$tmp/etc/udhcpc/default.script"
ln -s /etc/udhcpc/default.script "$tmp/usr/share/udhcpc/default.script"
cat > "$tmp/init" <<'INIT'
#!/bin/busybox sh
# first of all: user space is up (petrel --stats: "boot marker at N ms")
/bin/boot-marker
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
export PATH=/bin:/sbin
# coldplug: a driver for each device present (two rounds: the virtio bus
# appears only once virtio_pci or virtio_mmio is loaded)
for round in 1 2; do
	for a in /sys/bus/pci/devices/*/modalias /sys/bus/acpi/devices/LNRO0005*/modalias \
		 /sys/bus/virtio/devices/*/modalias; do
		[ -r "$a" ] && modprobe -q "$(cat "$a")" 2>/dev/null
	done
done
# with console=hvc0 (petrel --console virtio) the console appears only now,
# with the virtio_console module: /init started without one
case " $(cat /proc/cmdline) " in
*" console=hvc0 "*) [ -c /dev/hvc0 ] && exec </dev/hvc0 >/dev/hvc0 2>&1 ;;
esac
echo "PETREL-INIT-OK: $(uname -r) up, $(grep -c ^processor /proc/cpuinfo) cpu(s)," \
	"MemTotal $(awk '/^MemTotal:/{print $2}' /proc/meminfo) kB"
for w in $(cat /proc/cmdline); do
	case $w in
	petrel.test|petrel.test=poweroff) poweroff -f ;;
	petrel.test=reboot) reboot -f ;;
	petrel.test=typed)
		# the console's input path, the UART's receive interrupt: the
		# host types a line once it sees this prompt
		echo "PETREL-TYPE-NOW"
		read -r typed
		echo "PETREL-TYPED: $typed"
		# the interrupt counts, for the host to check which lines moved
		sed 's/^/PETREL-IRQ /' /proc/interrupts
		poweroff -f ;;
	petrel.test=clock)
		# the guest's CLOCK_MONOTONIC (ns), ten times in a row, then
		# again 40 s of guest time later: the host compares with its own
		# clock (each line's earliest arrival filters console latency)
		for round in 1 2; do
			[ $round -eq 2 ] && sleep 40
			for i in 1 2 3 4 5 6 7 8 9 10; do
				echo "PETREL-CLOCK $round $(grep -m1 'now at' /proc/timer_list | tr -dc 0-9)"
				usleep 100000
			done
		done
		echo "PETREL-CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
		poweroff -f ;;
	petrel.test=script)
		# tests append a cpio archive holding /test.sh to this initramfs
		sh /test.sh; echo "PETREL-TEST-DONE status $?"; sync; poweroff -f ;;
	esac
done
echo "petrel guest shell: 'poweroff -f' ends the VM"
setsid cttyhack sh
poweroff -f
INIT
chmod +x "$tmp/init"
mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9) > "$out.tmp"
mv "$out.tmp" "$out"
echo "mkinitrd: $out ($(stat -c %s "$out") bytes)"
