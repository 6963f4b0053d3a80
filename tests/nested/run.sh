#!/usr/bin/env bash
# Runs a command as root inside the nested test VM and returns its output
# and exit status.
#
#   tests/nested/run.sh [--tty] [--] COMMAND [ARG...]
#
# The nested VM (L1) is Debian's standard kernel under QEMU's TCG with
# `-cpu max`, an emulated AMD CPU with SVM and nested paging; its kvm-amd
# gives a /dev/kvm with the semantics of KVM on real AMD hardware (see
# ../shared/PLATFORM.md). Inside, the host's root is mounted read-only and
# this checkout read-write at the same path, so binaries built here run
# there unchanged, and whatever the command writes under the checkout
# (logs, results) is here when it returns. One L1 boot serves one command:
# give it a whole test run, not one test.
#
#   --tty   the command's terminal is yours (make run): QEMU's stdio is
#           not multiplexed, so Ctrl-A reaches petrel, not QEMU.
#
# Exit status: the command's, or 125 when the nested VM itself failed (the
# message names the step: QEMU, the L1 kernel, kvm-amd, the 9p shares), or
# 124 on NESTED_TIMEOUT (seconds, default 3600). An abort of the outer QEMU
# or a triple fault of L1 (the platform's, not the command's) gets one more
# boot without --tty, said aloud; 125 if that fails too.
# Environment: NESTED_MEM (default 8G), NESTED_CPUS (default: nproc),
# NESTED_TIMEOUT, NESTED_LOGLEVEL (L1's console loglevel; default quiet),
# NESTED_MONITOR=PATH (QEMU's monitor on that Unix socket, for debugging L1).
set -uo pipefail
cd "$(dirname "$0")/../.."
work=$(pwd)
tty=0
while [ $# -gt 0 ]; do
	case $1 in
	--tty) tty=1; shift ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: tests/nested/run.sh [--tty] [--] COMMAND [ARG...]" >&2; exit 2; }
fail() { echo "nested: $*" >&2; exit 125; }
case $work in *[[:space:]]*) fail "the checkout's path '$work' has a space: the L1 kernel command line cannot carry it" ;; esac

command -v qemu-system-x86_64 >/dev/null || fail "step 'QEMU': qemu-system-x86_64 is missing (tools/deps.sh installs it)"
tests/nested/prepare.sh || exit 125

job=build/nested/job.$$
rm -rf "$job"
mkdir -p "$job"
{
	echo "# written by tests/nested/run.sh"
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$job/cmd"
# Whatever ends this script (an outer timeout's SIGTERM, Ctrl-C) ends its
# QEMU too: an orphaned L1 would eat a CPU for up to NESTED_TIMEOUT.
qpidfile=build/nested/qemu.$$.pid
kill_qemu() {
	local pid
	pid=$(cat "$qpidfile" 2>/dev/null)
	# a pidfile an aborted QEMU left behind may name a reused pid: check
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = qemu-system-x86 ] &&
		kill "$pid" 2>/dev/null
	rm -f "$qpidfile"
}
trap 'kill_qemu; rm -rf "$work/$job"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

mem=${NESTED_MEM:-8G}
cpus=${NESTED_CPUS:-$(nproc 2>/dev/null || echo 2)}
timeout_s=${NESTED_TIMEOUT:-3600}
append="console=ttyS0 ${NESTED_LOGLEVEL:+loglevel=$NESTED_LOGLEVEL} ${NESTED_LOGLEVEL:-quiet loglevel=1} panic=-1 nokaslr nested.work=$work nested.job=$job"
[ -n "${CI:-}" ] && append+=" nested.ci=$CI"
monitor=none
qlog=build/nested/qemu.$$.log
[ -n "${NESTED_MONITOR:-}" ] && monitor="unix:$NESTED_MONITOR,server=on,wait=off"
qemu=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp "$cpus" -m "$mem"
	-kernel .cache/nested/vmlinuz -initrd .cache/nested/initrd.img -append "$append"
	-d cpu_reset,guest_errors -D "$qlog" -pidfile "$qpidfile"
	-display none -monitor "$monitor" -no-reboot -nic none -vga none
	-chardev stdio,id=con,signal=off -serial chardev:con
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
	-virtfs "local,path=$work,mount_tag=work,security_model=none,multidevs=remap")

console=build/nested/console.$$.log
# One boot of L1 running the job: exits with the job's status, or returns 1
# when the test platform itself failed (an abort of the outer QEMU, L1
# triple-faulting) and the caller may try once more; other failures exit.
boot_l1() {
	local start secs rc qrc
	rm -f "$job/rc" "$job/qrc" "$qlog"
	start=$(date +%s%N)
	if [ $tty -eq 1 ]; then
		timeout --foreground "$timeout_s" "${qemu[@]}"
		qrc=$?
	else
		# batch: stdin closed; the console's CRs stripped; a copy kept so
		# that a failure of L1 can be reported with what it printed (L1's
		# own "reboot: Power down" is printed at KERN_EMERG: dropped)
		# in the background and waited for: a signal to this script is
		# handled at once (bash defers traps while a foreground job runs)
		{
			timeout "$timeout_s" "${qemu[@]}" </dev/null 2>&1
			echo $? >"$job/qrc"
		} | sed -u -e 's/\r$//' -e '/^\[ *[0-9.]*\] reboot: Power down$/d' |
			tee "$console" &
		wait $!
		qrc=$(cat "$job/qrc" 2>/dev/null || echo 1)
	fi
	secs=$(( ($(date +%s%N) - start) / 1000000000 ))
	if [ -s "$job/rc" ]; then
		rc=$(cat "$job/rc")
		rm -f "$console" "$qlog"
		case $rc in
		L1*) fail "${rc#L1 } (after ${secs}s)" ;;
		*[!0-9]*|'') fail "unreadable exit status '$rc'" ;;
		esac
		exit "$rc"
	fi
	[ $qrc -eq 124 ] && { echo "nested: timed out after ${timeout_s}s" >&2; exit 124; }
	# No status file: QEMU or the L1 kernel died. An abort of the outer QEMU
	# (PLATFORM.md has seen TCG assert) is not a petrel failure: say which.
	if [ $qrc -ge 128 ]; then
		echo "nested: step 'QEMU': qemu-system-x86_64 died of signal $((qrc - 128)) after ${secs}s (an abort of the outer QEMU, not a petrel failure)" >&2
		return 1
	fi
	# QEMU logs L1's CPU resets (a triple fault among them) to $qlog
	if grep -q 'Triple fault' "$qlog" 2>/dev/null; then
		echo "nested: step 'L1': L1 triple-faulted after ${secs}s (QEMU TCG; QEMU's log: $qlog)" >&2
		return 1
	fi
	# L1's kernel panicked (panic=-1 powers it off): a process in L1, petrel
	# included, cannot do that to a correct kernel, so it is the platform's
	# failure (seen: a kernel stack overflow in exc_page_fault on a vCPU
	# thread, the per-CPU base wrong right after a #VMEXIT under TCG's SVM)
	if grep -q '^\[ *[0-9.]*\] Kernel panic - not syncing' "$console" 2>/dev/null; then
		echo "nested: step 'L1': L1's kernel panicked after ${secs}s (QEMU TCG + kvm-amd; its last lines:)" >&2
		grep -E '^\[ *[0-9.]*\] (BUG|Kernel panic|RIP|CPU|Comm)' "$console" | tail -n 6 | sed 's/^/  /' >&2
		return 1
	fi
	echo "nested: L1's last console lines:" >&2
	tail -n 15 "$console" 2>/dev/null | sed 's/^/  /' >&2
	fail "step 'L1': the VM stopped after ${secs}s (QEMU status $qrc) before the command finished"
}

# A failure of the platform gets one more boot in batch mode, said aloud:
# the command runs again from the start (its callers run whole test or
# benchmark runs, which start by clearing their results). On a terminal the
# user decides.
boot_l1 && exit 0
[ $tty -eq 0 ] || exit 125
echo "nested: the nested VM itself failed: running the command once more" >&2
boot_l1 && exit 0
fail "the nested VM failed twice"
