#!/usr/bin/env bash
# The gdb tier: Debian's gdb, in batch mode, against petrel's GDB stub.
#   kit      a guest-kit guest with symbols (tests/guest/test_gdb.c): hbreak,
#            arguments and a local, stepi, watchpoint, a write the guest
#            checks, two vCPUs as threads, an int3 the guest sees and gdb
#            does not, Ctrl-C, the guest's exit
# No case lets the guest execute a software breakpoint: the nested VM's
# QEMU TCG does not give KVM the #BP intercept (see tests/guest/test_gdb.c).
#   linux    Debian's kernel with 2 vCPUs, attached while it runs: the
#            addresses come from the guest's /proc/kallsyms (nokaslr);
#            linux_banner read, registers, x/4i, both threads, a software
#            breakpoint put in read-only kernel text (and hidden from
#            reads), hbreak, stepi, a watchpoint on jiffies_64, detach;
#            then a second gdb attaches
#            and sees the guest power off ("exited normally")
#   wait     --gdb-wait: the kernel stopped before its first instruction,
#            hbreak on start_kernel, continue, detach, the boot goes on
#   kill     gdb's kill ends petrel (status 5)
#   cli      bad --gdb specs, --gdb-wait alone, a port in use
#
# Needs KVM with hardware-virtualization semantics (tests/run-all.sh runs it
# in the nested VM when this machine has none) and gdb (tools/deps.sh).
#   tests/e2e/gdb_test.sh [CASE...]
# Writes "<pass> <fail> <skip>" to build/test-logs/gdb-result; logs are
# build/test-logs/gdb-<case>.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
PETREL=${PETREL:-build/petrel}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
INITRD=${PETREL_TEST_INITRD:-.cache/initrd.img}
BUILD=${BUILD:-build}
logs=build/test-logs
mkdir -p "$logs"
result=$logs/gdb-result
echo "0 1 0" >"$result"
work=$(mktemp -d /tmp/petrel-gdb.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(kit linux wait kill cli)
if ! command -v gdb >/dev/null; then
	echo "  SKIP gdb tier: gdb is not installed (tools/deps.sh installs it)"
	echo "0 0 ${#cases[@]}" >"$result"
	exit 0
fi

. tests/e2e/initrd_with.sh

# Under QEMU's TCG (the nested VM: its kernel command line names the job)
# neither kind of breakpoint can stop an L2 guest: TCG checks INT3 against
# the INTn intercept only (not the #BP one KVM sets), and its VMRUN loads
# DR7 from the VMCB without arming its own breakpoints. Single-step works.
# There the stops by breakpoint and watchpoint are skipped, said as such.
nobp=""
grep -q 'nested.job=' /proc/cmdline 2>/dev/null &&
	nobp="QEMU TCG (the nested VM) cannot stop an L2 guest on an int3 or a debug register"
skip_bp() { # what
	echo "     SKIP $1: $nobp"
	skip=$((skip + 1))
}

pass=0 fail=0 skip=0
bad=0
ok() { echo "     ok   $1"; }
no() { echo "     FAIL $1"; bad=1; }
has() { grep -qE -- "$1" "$2"; }
finish() { # log
	if [ $bad -eq 0 ]; then
		pass=$((pass + 1)); echo "     PASS (log $1)"
	else
		fail=$((fail + 1)); echo "     last lines of $1:"; tail -30 "$1" | sed 's/^/       /'
	fi
	bad=0
}

# waits (up to $2 s) until file $1 has a line matching $3
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		grep -qE -- "$3" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

case_kit() {
	local log=$logs/gdb-kit.log bin=$BUILD/tests/guest/test_gdb rc
	echo "  -- kit: gdb debugs a guest-kit guest with symbols"
	GDB_TEST_NO_BREAKPOINTS=${nobp:+1} timeout -s KILL 300 "$bin" </dev/null >"$log" 2>&1
	rc=$?
	[ -n "$nobp" ] && skip_bp "kit: stops on hbreak and watch (it steps there instead)"
	case $rc in
	0) ok "test_gdb: every check passed" ;;
	77) echo "     SKIP $(grep -m1 '^SKIP' "$log")"; skip=$((skip + 1)); return ;;
	*) no "test_gdb exit status $rc"; grep '^FAIL' "$log" | head -10 | sed 's/^/       /' ;;
	esac
	finish "$log"
}

case_linux() {
	local log=$logs/gdb-linux.log g1=$logs/gdb-linux-gdb1.log g2=$logs/gdb-linux-gdb2.log
	local sock=$work/linux.sock banner sleepfn jif pid rc
	echo "  -- linux: gdb attaches to Debian's kernel (2 vCPUs) while it runs"
	cat >"$work/linux.sh" <<'EOF'
addr() { grep -m1 " [TtDdBbRr] $1\$" /proc/kallsyms | cut -d' ' -f1; }
echo "GDB-ADDRS banner=$(addr linux_banner) sleep=$(addr __x64_sys_clock_nanosleep) jiffies=$(addr jiffies_64) start_kernel=$(addr start_kernel)"
i=0
while [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
echo "GDB-GUEST-DONE"
EOF
	initrd_with "$work/linux.sh" "$work/linux.initrd"
	timeout -s TERM 600 "$PETREL" run -k "$KERNEL" --initrd "$work/linux.initrd" --cpus 2 \
		--cmdline "console=ttyS0 panic=-1 quiet nokaslr petrel.test=script" \
		--gdb "unix:$sock" </dev/null >"$log" 2>&1 &
	pid=$!
	pids+=("$pid")
	if ! wait_for "$log" 300 "GDB-ADDRS banner=[0-9a-f]+ sleep=[0-9a-f]+ jiffies=[0-9a-f]+"; then
		no "the guest never printed its kallsyms addresses"
		kill "$pid" 2>/dev/null
		wait "$pid"
		finish "$log"
		return
	fi
	# (a here-string: the nested VM's chroot has no /dev/fd for <(...))
	read -r banner sleepfn jif <<<"$(grep -m1 GDB-ADDRS "$log" |
		sed -E 's/.*banner=([0-9a-f]+) sleep=([0-9a-f]+) jiffies=([0-9a-f]+).*/\1 \2 \3/')"
	cat >"$work/gdb1" <<EOF
set pagination off
set confirm off
target remote $sock
info threads
thread 2
printf "T2 rip=%#lx\n", \$rip
thread 1
x/s 0x$banner
info registers rip rsp cs cr0 cr3 cr4 efer gs_base
x/4i \$pc
set breakpoint always-inserted on
break *0x$sleepfn
printf "SWBP-IN byte=%#x\n", *(unsigned char *)0x$sleepfn
delete
set breakpoint always-inserted off
EOF
	if [ -z "$nobp" ]; then
		cat >>"$work/gdb1" <<EOF
hbreak *0x$sleepfn
continue
printf "HWBP rip=%#lx\n", \$rip
EOF
	fi
	cat >>"$work/gdb1" <<EOF
set \$before = \$pc
stepi
printf "STEPI moved=%d rip=%#lx\n", \$pc != \$before, \$rip
delete
EOF
	if [ -z "$nobp" ]; then
		cat >>"$work/gdb1" <<EOF
watch *(long *)0x$jif
continue
printf "WATCH jiffies=%ld\n", *(long *)0x$jif
delete
EOF
	fi
	echo detach >>"$work/gdb1"
	timeout -s KILL 240 gdb -batch -nx -x "$work/gdb1" >"$g1" 2>&1
	has "Thread 2 \(vcpu1\)" "$g1" && ok "info threads: two vCPUs" || no "info threads"
	has "T2 rip=0xffffffff8" "$g1" && ok "thread 2's registers ($(grep -m1 -o 'T2 rip=0x[0-9a-f]*' "$g1"))" ||
		no "thread 2's rip: $(grep -m1 T2 "$g1")"
	has "\"Linux version 6" "$g1" && ok "linux_banner at 0x$banner reads \"Linux version 6...\"" ||
		no "linux_banner at 0x$banner: $(grep -m1 "0x$banner" "$g1")"
	has "^cr0 +0x8005" "$g1" && has "^efer +0x[0-9a-f]*d01" "$g1" && ok "cr0 (PG, PE) and efer (LMA, LME, SCE, NXE)" ||
		no "control registers: $(grep -E '^(cr0|efer)' "$g1" | tr '\n' ' ')"
	has "^=> 0xffffffff8" "$g1" && ok "x/4i \$pc disassembles kernel text" || no "x/4i \$pc"
	# an int3 patched into read-only kernel text (through the GPA), and
	# hidden: the read shows the function's own first byte (endbr64: f3)
	has "Breakpoint 1 at 0x$sleepfn" "$g1" && has "SWBP-IN byte=0x[0-9a-f]+" "$g1" &&
		! has "SWBP-IN byte=0xcc" "$g1" &&
		ok "a software breakpoint in kernel text, hidden from reads ($(grep -m1 -o 'SWBP-IN byte=0x[0-9a-f]*' "$g1"))" ||
		no "software breakpoint: $(grep -m1 SWBP-IN "$g1")"
	if [ -z "$nobp" ]; then
		has "HWBP rip=0x$sleepfn" "$g1" && ok "hbreak on __x64_sys_clock_nanosleep hit" ||
			no "hbreak: $(grep -m1 HWBP "$g1")"
		has "Hardware watchpoint [0-9]+: \*\(long \*\)0x$jif" "$g1" && has "New value = [0-9]+" "$g1" &&
			has "WATCH jiffies=[0-9]+" "$g1" &&
			ok "watchpoint on jiffies_64 fired ($(grep -m1 -o 'New value = [0-9]*' "$g1"))" ||
			no "watchpoint on jiffies_64"
	else
		skip_bp "linux: hbreak on __x64_sys_clock_nanosleep, watch on jiffies_64"
	fi
	has "STEPI moved=1 rip=0x" "$g1" && ok "stepi moved on ($(grep -m1 -o 'rip=0x[0-9a-f]*' <<<"$(grep STEPI "$g1")"))" ||
		no "stepi: $(grep -m1 STEPI "$g1")"
	has "Inferior 1 \(Remote target\) detached" "$g1" && ok "detached" || no "detach"
	# a second gdb, attached until the guest powers off
	printf 'set confirm off\ntarget remote %s\ncontinue\n' "$sock" >"$work/gdb2"
	timeout -s KILL 300 gdb -batch -nx -x "$work/gdb2" >"$g2" 2>&1
	has "exited normally" "$g2" && ok "a guest that powers off ends the session: exited normally" ||
		no "guest exit while attached: $(tail -2 "$g2" | tr '\n' ' ')"
	wait "$pid"
	rc=$?
	[ $rc -eq 0 ] && ok "petrel exit status 0" || no "petrel exit status $rc"
	has GDB-GUEST-DONE "$log" && ok "the guest's script ran to its end" || no "the guest's script did not finish"
	[ ! -e "$sock" ] && ok "the socket is removed" || no "the socket $sock is left behind"
	cat "$g1" "$g2" >>"$log"
	finish "$log"
}

case_wait() {
	local log=$logs/gdb-wait.log g=$logs/gdb-wait-gdb.log sock=$work/wait.sock pid rc sk
	echo "  -- wait: --gdb-wait stops the kernel before its first instruction"
	sk=$(grep -m1 -oE 'start_kernel=[0-9a-f]+' "$logs/gdb-linux.log" 2>/dev/null | cut -d= -f2)
	timeout -s TERM 600 "$PETREL" run -k "$KERNEL" --initrd "$INITRD" \
		--cmdline "console=ttyS0 panic=-1 quiet nokaslr petrel.test" \
		--gdb "unix:$sock" --gdb-wait </dev/null >"$log" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_for "$log" 60 "gdb: listening" || no "petrel did not listen"
	cat >"$work/gdbw" <<EOF
set pagination off
set confirm off
target remote $sock
printf "FIRST rip=%#lx\n", \$rip
x/2i \$pc
EOF
	if [ -n "$nobp" ]; then
		printf 'stepi\nprintf "STEPPED rip=%%#lx\\n", $rip\n' >>"$work/gdbw"
	elif [ -n "$sk" ]; then
		cat >>"$work/gdbw" <<EOF
hbreak *0x$sk
continue
printf "START_KERNEL rip=%#lx\n", \$rip
x/4i \$pc
delete
EOF
	fi
	timeout -s KILL 60 gdb -batch -nx -x "$work/gdbw" >"$g" 2>&1
	# the entry petrel's loader chose: the 64-bit entry of the decompressed kernel
	has "FIRST rip=0x1000000" "$g" && ok "stopped at the kernel's entry (rip 0x1000000), nothing run" ||
		no "first rip: $(grep -m1 FIRST "$g")"
	if [ -n "$nobp" ]; then
		# the first instruction is 7 bytes: lea 0x...(%rip),%rsp
		has "STEPPED rip=0x1000007" "$g" && ok "stepi: one instruction, to 0x1000007" ||
			no "stepi from the entry: $(grep -m1 STEPPED "$g")"
		skip_bp "wait: hbreak on start_kernel"
	elif [ -n "$sk" ]; then
		has "START_KERNEL rip=0x$sk" "$g" && ok "hbreak on start_kernel (0x$sk, from the linux case's kallsyms) hit" ||
			no "hbreak start_kernel: $(grep -m1 START_KERNEL "$g")"
	else
		echo "     (no start_kernel address: the linux case did not run first)"
	fi
	has "Inferior 1 \(Remote target\) detached" "$g" && ok "batch gdb detached at its end" || no "detach"
	wait "$pid"
	rc=$?
	[ $rc -eq 0 ] && ok "the kernel then booted to /init and powered off (status 0)" || no "petrel exit status $rc"
	cat "$g" >>"$log"
	finish "$log"
}

case_kill() {
	local log=$logs/gdb-kill.log g=$logs/gdb-kill-gdb.log sock=$work/kill.sock pid rc
	echo "  -- kill: gdb's kill stops petrel"
	timeout -s TERM 120 "$PETREL" run -k "$KERNEL" --initrd "$INITRD" --gdb "unix:$sock" --gdb-wait \
		</dev/null >"$log" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_for "$log" 60 "gdb: listening" || no "petrel did not listen"
	timeout -s KILL 60 gdb -batch -nx -ex "target remote $sock" -ex "info registers rip" -ex kill >"$g" 2>&1
	wait "$pid"
	rc=$?
	[ $rc -eq 5 ] && has "killed by gdb" "$log" && ok "status 5, \"$(grep -o 'killed by gdb.*' "$log")\"" ||
		no "after kill: status $rc, $(tail -1 "$log")"
	cat "$g" >>"$log"
	finish "$log"
}

case_cli() {
	local log=$logs/gdb-cli.log out rc sock=$work/busy.sock
	echo "  -- cli: bad --gdb values are clear errors"
	: >"$log"
	for spec in tcp:0 tcp:70000 tcp:x udp:1234 unix: tcp:host:; do
		out=$("$PETREL" run -k "$KERNEL" --gdb "$spec" 2>&1 </dev/null); rc=$?
		echo "$spec -> $rc: $out" >>"$log"
		[ $rc -eq 2 ] && [[ $out == *--gdb* ]] || no "--gdb $spec: status $rc, \"$out\""
	done
	[ $bad -eq 0 ] && ok "six bad specs: status 2, each message names --gdb"
	out=$("$PETREL" run -k "$KERNEL" --gdb-wait 2>&1 </dev/null); rc=$?
	[ $rc -eq 2 ] && [[ $out == *"needs --gdb"* ]] && ok "--gdb-wait alone: $out" || no "--gdb-wait alone: $rc $out"
	"$PETREL" run --help | grep -q -- "--gdb-wait" && ok "--help lists --gdb and --gdb-wait" || no "--help"
	# a port someone else listens on
	python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1); print(s.getsockname()[1], flush=True); time.sleep(60)' >"$work/port" &
	pids+=("$!")
	wait_for "$work/port" 10 "^[0-9]+"
	out=$("$PETREL" run -k "$KERNEL" --gdb "tcp:$(cat "$work/port")" 2>&1 </dev/null); rc=$?
	echo "busy -> $rc: $out" >>"$log"
	[ $rc -eq 1 ] && [[ $out == *"cannot listen on tcp:127.0.0.1"*"in use"* ]] &&
		ok "a port in use: status 1, \"$(grep -o 'gdb: cannot.*' <<<"$out")\"" || no "port in use: $rc $out"
	finish "$log"
}

for c in "${cases[@]}"; do
	case $c in
	kit|linux|wait|kill|cli) "case_$c" ;;
	*) echo "unknown case $c" >&2; fail=$((fail + 1)) ;;
	esac
done
echo "$pass $fail $skip" >"$result"
[ $fail -eq 0 ]
