#!/usr/bin/env bash
# The boot tier: Debian's linux-image-cloud-amd64 with a busybox initramfs,
# booted by petrel to /init, in every shape a user may boot it. Each case
# must print the kernel banner, reach /init (its marker line
# PETREL-INIT-OK reports the CPU count and MemTotal as the guest sees them),
# and end with status 0 through the guest's own poweroff or reboot.
#
# It needs a KVM with hardware-virtualization semantics (VMX/SVM): on our
# machines without one, tests/run-all.sh runs this tier inside the nested
# VM (tests/nested/). On a software KVM the kernel never reaches user space
# (README, "Our build machines"); the deep tier covers that platform.
#
#   tests/boot/boot_test.sh            every case
#   tests/boot/boot_test.sh host elf   only the cases named
#
# Writes "<pass> <fail> <skip>" to build/test-logs/boot-result; each case's
# console and petrel's messages are in build/test-logs/boot-<case>.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
PETREL=${PETREL:-build/petrel}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
INITRD=${PETREL_TEST_INITRD:-.cache/initrd.img}
VMLINUX=${PETREL_TEST_VMLINUX:-.cache/vmlinux}
# A boot takes under a minute even in the nested VM; there a hung guest (see
# below) should cost five minutes, not ten
TIMEOUT=${BOOT_TIMEOUT:-$([ -n "${PETREL_IN_NESTED:-}" ] && echo 300 || echo 600)}
# and a guest that prints nothing for this long has hung (the quietest case,
# drift, is silent for 40 s of guest time)
IDLE=${BOOT_IDLE:-$([ -n "${PETREL_IN_NESTED:-}" ] && echo 120 || echo 300)}
logs=build/test-logs
mkdir -p "$logs"
result=$logs/boot-result
echo "0 1 0" >"$result" # until proven otherwise
[ -s "$KERNEL" ] || tools/fetch-kernel.sh "$(dirname "$KERNEL")" || exit 1
[ -s "$INITRD" ] || tools/mkinitrd.sh "$INITRD" || exit 1
# re-extracted when the kernel was fetched again
{ [ -s "$VMLINUX" ] && [ "$VMLINUX" -nt "$KERNEL" ]; } || tools/extract-vmlinux.sh "$KERNEL" "$VMLINUX" || exit 1

# name | what it shows | petrel options | extra kernel command line | checks
# Checks: cpus=N (the guest's /proc/cpuinfo), above4g (RAM past the 4 GiB
# line in the e820 map and in MemTotal), off (ACPI poweroff), reset (reboot),
# timer (the PIT's interrupt through IOAPIC pin 2), clock (kvm-clock, no TSC
# calibration), typed (petrel.test=typed: a line typed on the console
# reaches /init through the UART's interrupt, whose count in the guest's
# /proc/interrupts moved on IO-APIC pin 4).
# --irqchip split: the same machine with petrel's IOAPIC, 8259 and PIT.
cases=(
	"host|bzImage decompressed on the host, 2 vCPUs, 512M|-k $KERNEL -n 2 -m 512M|petrel.test|cpus=2 clock off"
	"guest|bzImage with its own decompressor (--guest-decompress), 1 vCPU|-k $KERNEL --guest-decompress|petrel.test|cpus=1 off"
	# -arat: with ARAT and the TSC-deadline timer Linux never starts the PIT,
	# so its timer check (PIT -> IOAPIC pin 2 -> LAPIC) would not run
	"timer|the PIT's interrupt through IOAPIC pin 2 (--cpu-features=-arat), a typed line|-k $KERNEL --cpu-features=-arat|petrel.test=typed|cpus=1 timer typed off"
	# without kvm-clock the FADT's PM timer is the guest's reference clock
	"pmtimer|no kvm-clock (--cpu-features=-kvmclock): the ACPI PM timer is the clocksource|-k $KERNEL --cpu-features=-kvmclock|petrel.test|cpus=1 pmtimer off"
	# 40 s of guest time against the host's clock, on kvm-clock
	"drift|the guest's clock against the host's over 40 s: under 0.1 % apart|-k $KERNEL -n 2|petrel.test=clock|drift off"
	"elf|ELF vmlinux, 4 vCPUs|-k $VMLINUX -n 4|petrel.test|cpus=4 off"
	"mem4g|4G, RAM split around the PCI hole, 2 vCPUs|-k $KERNEL -n 2 -m 4G|petrel.test|cpus=2 above4g off"
	"reboot|reboot -f with ACPI, 2 vCPUs|-k $KERNEL -n 2|petrel.test=reboot|cpus=2 reset"
	# no ACPI: Debian's cloud kernel has no MP-table parser, so it runs in
	# virtual-wire mode, the PIT's interrupt reaching it through the 8259 and
	# LINT0 (ExtINT); there is no poweroff without ACPI, so it reboots
	"noacpi|--no-acpi (virtual-wire mode through the 8259), reboot -f|-k $KERNEL --no-acpi|petrel.test=reboot|cpus=1 reset"
	"split|--irqchip split: the PIT through petrel's IOAPIC pin 2 (-arat), a typed line|-k $KERNEL --irqchip split --cpu-features=-arat|petrel.test=typed|cpus=1 timer typed clock off"
	"split4|--irqchip split, 4 vCPUs|-k $KERNEL -n 4 --irqchip split|petrel.test|cpus=4 clock off"
	"splitnoacpi|--irqchip split --no-acpi: virtual wire through petrel's 8259, reboot -f|-k $KERNEL --irqchip split --no-acpi|petrel.test=reboot|cpus=1 reset"
)

# For a guest that hung or crashed: where each vCPU was (petrel --stats:
# "vcpuN at the stop: rip R, mode, interrupts on/off, halted/runnable").
# Debian's package has no System.map; the guest's /proc/kallsyms names R.
where_stopped() { # log
	grep -o 'vcpu[0-9]* at the stop: .*' "$1" | sed 's/^/       /'
}

only=("$@")
pass=0 fail=0 skip=0
for c in "${cases[@]}"; do
	IFS='|' read -r name what opts extra checks <<<"$c"
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $name "* ]]; then
		continue
	fi
	log=$logs/boot-$name.log
	echo "  -- $name: $what"
	for attempt in 1 2 3; do
		start=$(date +%s%N)
		# shellcheck disable=SC2086 # opts is a list of words
		# every line stamped with the host's clock when it arrives
		# ($EPOCHREALTIME: no fork per line)
		# In the background, watched: a guest silent for IDLE seconds has
		# hung (no case is quiet for half that long), and petrel gets the
		# SIGTERM early (its --stats then say where the vCPUs were)
		: >"$log"
		rm -f "$logs/boot.rc"
		# typed: the console's input is a line written once /init asks
		input=/dev/null writer=
		if [[ " $checks " == *" typed "* ]]; then
			# in /tmp: the nested VM's 9p share of the checkout has no fifos
			fifo=$(mktemp -u /tmp/petrel-boot-typed.XXXXXX)
			if mkfifo "$fifo"; then
				input=$fifo
				(
					until grep -q PETREL-TYPE-NOW "$log" 2>/dev/null; do sleep 0.5; done
					printf 'petrel typed this\n'
					sleep "$TIMEOUT"
				) >"$fifo" &
				writer=$!
			fi
		fi
		{
			sh -c 'echo $$ >"$0"; exec "$@"' "$logs/boot.pid" \
				timeout -s TERM "$TIMEOUT" "$PETREL" run $opts --initrd "$INITRD" \
				--cmdline "console=ttyS0 panic=-1 $extra" --stats <"$input"
			echo $? >"$logs/boot.rc"
		} 2>&1 | while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$log" &
		job=$!
		idle=0 size=0 hung=0
		while kill -0 $job 2>/dev/null; do
			sleep 2
			now=$(stat -c %s "$log" 2>/dev/null || echo 0)
			if [ "$now" = "$size" ]; then idle=$((idle + 2)); else idle=0 size=$now; fi
			if [ $idle -ge "$IDLE" ] && [ $hung -eq 0 ]; then
				hung=1
				kill -TERM "$(cat "$logs/boot.pid")" 2>/dev/null
			fi
		done
		wait $job
		if [ -n "$writer" ]; then
			kill "$writer" 2>/dev/null
			wait "$writer" 2>/dev/null
			rm -f "$fifo"
		fi
		rc=$(cat "$logs/boot.rc" 2>/dev/null || echo 1)
		[ $hung -eq 1 ] && rc=124
		ms=$((($(date +%s%N) - start) / 1000000))
		# Inside the nested VM only: a guest that triple-faults (status 3)
		# gets one more try, said aloud, its first log kept: one of the first
		# six boots with 4 vCPUs and 4G there triple-faulted (while loading
		# X.509 certificates, with no 8259 nudge and no petrel error), and
		# twice L1 itself died during that case; the emulation under it (QEMU
		# TCG) is not flawless (../shared/PLATFORM.md). The case is now two
		# (4 vCPUs; 4G), so that the next failure says which. A second crash
		# fails the case.
		# Up to two more tries, each said aloud with its log kept: a clean-
		# clone CI run saw the 2-vCPU case hang twice in a row early in the
		# kernel's boot (mid-printk, no exit to petrel for 300 s), when
		# 10 of 10 boots of the same case passed just after.
		# The same for a guest that hung there (timeout, status 124): seen
		# in the nested VM in the noacpi and timer cases, the guest silent
		# in KVM_RUN right after the kernel's "XSAVE consistency problem"
		# warning, which itself appears only in some boots there.
		{ [ $rc -eq 3 ] || [ $rc -eq 124 ]; } && [ -n "${PETREL_IN_NESTED:-}" ] &&
			[ $attempt -lt 3 ] || break
		cp "$log" "$log.attempt$attempt"
		echo "     NOTE the guest $([ $rc -eq 3 ] && echo "crashed (status 3" || echo "hung (silent for ${IDLE}s or no end within ${TIMEOUT}s"); log $log.attempt$attempt): once more, as the nested VM's emulation is not flawless"
		where_stopped "$log"
	done
	bad=0
	ok() { echo "     ok   $1"; }
	no() { echo "     FAIL $1"; bad=1; }
	has() { grep -qE -- "$1" "$log"; }
	[ $rc -eq 124 ] && no "the guest hung: silent for ${IDLE}s, or petrel did not stop within ${TIMEOUT}s"
	has '\] Linux version [0-9]' && ok "kernel banner" || no "no kernel banner"
	has 'Kernel panic' && no "the kernel panicked"
	if has 'PETREL-INIT-OK'; then ok "reached /init"; else no "did not reach /init"; fi
	for chk in $checks; do
		case $chk in
		cpus=*)
			n=${chk#cpus=}
			has "PETREL-INIT-OK: .* $n cpu\\(s\\)" && ok "the guest counts $n CPU(s)" ||
				no "the guest does not count $n CPU(s): $(grep -o 'up, [0-9]* cpu(s)' "$log")"
			;;
		above4g)
			has 'BIOS-e820: \[mem 0x0000000100000000-0x000000013fffffff\] usable' &&
				ok "e820 has RAM from 4 GiB" || no "no e820 RAM range at 4 GiB"
			kb=$(grep -o 'MemTotal [0-9]* kB' "$log" | grep -o '[0-9]*' || echo 0)
			# below the hole there are at most 3 GiB (3145728 kB)
			[ "${kb:-0}" -gt 3145728 ] && ok "MemTotal $kb kB: RAM above the hole is used" ||
				no "MemTotal ${kb:-?} kB: no more than fits below the PCI hole"
			;;
		off)
			has 'guest powered off \(acpi\)' && ok "ACPI poweroff" || no "no ACPI poweroff"
			;;
		reset)
			has 'guest reset \(' && ok "reset: $(grep -o 'guest reset ([^)]*)' "$log" | head -1)" ||
				no "no guest reset"
			;;
		clock)
			# the PV CPUID leaves give Linux kvm-clock: no TSC calibration
			has 'Switched to clocksource kvm-clock' && ok "clocksource kvm-clock" ||
				no "the guest did not switch to kvm-clock"
			has 'Fast TSC calibration failed|Unable to calibrate against PIT|could not calculate TSC khz' &&
				no "TSC calibration failure lines: $(grep -m1 -oE 'tsc: [^[]*' "$log")"
			has 'Calibrating delay loop \(skipped\)' && ok "delay-loop calibration skipped" ||
				no "the delay loop was calibrated"
			;;
		drift)
			# offset = host arrival - guest clock, per line; the smallest
			# offset of each round is the line that waited least in the
			# console path; the drift is how far the two offsets moved
			# over the guest's 40 s
			drift=$(awk '$2 == "PETREL-CLOCK" {
				off = $1 - $4 / 1e9
				if (!($3 in m) || off < m[$3]) { m[$3] = off; g[$3] = $4 / 1e9 }
			} END {
				if (!(1 in m) || !(2 in m)) exit
				d = m[2] - m[1]; span = g[2] - g[1]
				printf "%.1f %.3f %d", d * 1e3, span, (d < 0 ? -d : d) / span * 1e6
			}' "$log")
			if [ -n "$drift" ]; then
				read -r drift_ms span ppm <<<"$drift"
				[ "$ppm" -lt 1000 ] &&
					ok "over ${span} s the guest's clock moved ${drift_ms} ms against the host's: ${ppm} ppm (< 1000 ppm = 0.1 %)" ||
					no "over ${span} s the guest's clock moved ${drift_ms} ms against the host's: ${ppm} ppm (0.1 % = 1000 ppm)"
			else
				no "the guest printed no PETREL-CLOCK lines of both rounds"
			fi
			has 'PETREL-CLOCKSOURCE (kvm-clock|tsc)' && ok "$(grep -m1 -o 'PETREL-CLOCKSOURCE.*' "$log")" ||
				no "clocksource: $(grep -m1 -o 'PETREL-CLOCKSOURCE.*' "$log")"
			;;
		pmtimer)
			has 'ACPI: PM-Timer IO Port: 0x608' && ok "the guest found the PM timer at 0x608" ||
				no "no 'ACPI: PM-Timer IO Port: 0x608'"
			has 'Switched to clocksource acpi_pm' && ok "clocksource acpi_pm" ||
				no "the guest did not switch to acpi_pm: $(grep -o 'Switched to clocksource [a-z_-]*' "$log" | tail -1)"
			has 'kvm-clock' && no "kvm-clock appears although it was removed"
			# Under the nested VM's emulation a port read takes longer than
			# Linux's TSC-calibration window (tsc_read_refs), so it still says
			# "HPET/PMTIMER calibration failed" there; on a VMX/SVM host it
			# must not
			if [ -z "${PETREL_IN_NESTED:-}" ]; then
				has 'Unable to calibrate|HPET/PMTIMER calibration failed' &&
					no "TSC calibration failed although the PM timer is there"
			fi
			;;
		typed)
			has 'PETREL-TYPED: petrel typed this' && ok "the typed line reached /init" ||
				no "/init did not read the typed line: $(grep -m1 -o 'PETREL-TYPED.*' "$log")"
			# "PETREL-IRQ   4:  N [M...]  IO-APIC   4-edge  ttyS0": N... per CPU
			n=$(awk '$2 == "PETREL-IRQ" && /ttyS0/ {
				s = 0; for (i = 4; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i
				print s " " $i; exit }' "$log")
			read -r n chip <<<"$n"
			[ "${n:-0}" -gt 0 ] && [ "$chip" = IO-APIC ] &&
				ok "ttyS0's interrupt count moved: $n on the IO-APIC" ||
				no "ttyS0's interrupts: '${n:-none}' on '${chip:-?}', want a count > 0 on IO-APIC"
			;;
		timer)
			has '\.\.TIMER: vector=0x30 apic1=0 pin1=2' && ok "timer through IOAPIC pin 2" ||
				no "no '..TIMER: vector=0x30 apic1=0 pin1=2'"
			has "timer doesn't work" && no "the kernel says its timer doesn't work"
			;;
		esac
	done
	[ $rc -eq 0 ] && ok "exit status 0" || no "exit status $rc, want 0"
	printf '     %s in %d.%03d s (log %s)\n' "$([ $bad -eq 0 ] && echo PASS || echo FAIL)" \
		$((ms / 1000)) $((ms % 1000)) "$log"
	if [ $bad -eq 0 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "     last lines of $log:"
		tail -15 "$log" | sed 's/^/       /'
	fi
done
echo "$pass $fail $skip" >"$result"
[ $fail -eq 0 ]
