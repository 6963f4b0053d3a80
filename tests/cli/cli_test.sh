#!/usr/bin/env bash
# petrel as a user runs it: usage errors, bad input files, limits, signals and
# the console escape. Each case checks the exit status and the message, and
# that petrel never dies of a signal (a crash) on bad input.
#
#   tests/cli/cli_test.sh [all|nokvm|kvm]
# nokvm: the cases that need no KVM (usage, bad input, no /dev/kvm); kvm:
# the cases that run a guest (reset and poweroff, debug-exit, signals, the
# console escape). tests/run-all.sh runs the kvm part where it runs the
# other KVM tiers (on this host or in the nested VM). Default: all.
set -uo pipefail
part=${1:-all}
case $part in all|nokvm|kvm) ;; *) echo "usage: cli_test.sh [all|nokvm|kvm]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/../.."
PETREL=${PETREL:-build/petrel}
KERNEL=${PETREL_TEST_KERNEL:-.cache/vmlinuz}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 16M "$tmp/disk.img" # the --disk cases
pass=0 fail=0 skip=0

# run_expect WRAP NAME STATUS PATTERN -- ARGS...
# WRAP "nokvm" runs petrel in a private mount namespace whose /dev is an
# empty tmpfs: no /dev/kvm, as on a host without KVM. There the output must
# not mention /dev/kvm: the input's own problem is reported first.
run_expect() {
	local wrap=$1 name=$2 want=$3 pat=$4; shift 5
	if [ "$wrap" = nokvm ]; then
		timeout 60 unshare -m sh -c 'mount -t tmpfs none /dev && exec "$0" "$@"' \
			"$PETREL" "$@" </dev/null >"$tmp/out" 2>&1
	else
		timeout 60 "$PETREL" "$@" </dev/null >"$tmp/out" 2>&1
	fi
	local rc=$?
	if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" "$tmp/out" &&
	   { [ "$wrap" != nokvm ] || ! grep -q "/dev/kvm" "$tmp/out"; }; then
		echo "  ok   $name"; pass=$((pass + 1))
	else
		echo "  FAIL $name: status $rc (want $want), output:"; sed 's/^/    /' "$tmp/out" | head -8
		fail=$((fail + 1))
	fi
}
expect() { run_expect "" "$@"; }
expect_nokvm() { local name=$1; shift; run_expect nokvm "$name, no /dev/kvm" "$@"; }
# skip_case NAME REASON: a case not run here counts as one skip
skip_case() { echo "  SKIP $1: $2"; skip=$((skip + 1)); }
skip_nokvm() { skip_case "$1, no /dev/kvm" "needs root and unshare"; }
skip_no_kernel() { skip_case "$1" "no test kernel at $KERNEL"; }

have_kvm=1
[ -r /dev/kvm ] && [ -w /dev/kvm ] || have_kvm=0
can_unshare=0
[ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null && can_unshare=1
[ -s "$KERNEL" ] || tools/fetch-kernel.sh "$(dirname "$KERNEL")" >/dev/null 2>&1
have_kernel=1
[ -s "$KERNEL" ] || have_kernel=0

if [ "$part" != kvm ]; then
expect "no command" 2 "no command given" --
expect "unknown command" 2 'unknown command "launch"' -- launch
expect "run without --kernel" 2 "--kernel is required" -- run
expect "bad --mem" 2 "--mem: \"lots\"" -- run -k x --mem lots
expect "bad --cpus" 2 "--cpus" -- run -k x --cpus 0
expect "--version" 0 "^petrel [0-9]+\.[0-9]+\.[0-9]+" -- --version
expect "--help" 0 "exit status" -- --help
expect "run --help" 0 "--cpu-features" -- run --help
expect "run --help: the boot marker" 0 "port 0x3f0" -- run --help
expect "--cpu-features=help" 0 "cx16" -- run --cpu-features=help
expect "--cpu-features=help, KVM's names" 0 "kvm-pv-eoi" -- run --cpu-features=help
expect "--trace help" 0 "virtqueue kicks" -- run --trace help
expect "bad --trace class" 2 'unknown event class "disk"' -- run -k x --trace pio,disk
expect "--trace without a file name" 2 "no file name after" -- run -k x --trace pio:

# Inputs petrel can judge without KVM: the boot plan is built and the
# feature names checked before /dev/kvm is opened, so each gets its own
# message whether or not this host has KVM.
head -c 100000 /dev/urandom >"$tmp/garbage"
long=$(printf 'x%.0s' $(seq 3000))
if [ $have_kernel -eq 1 ]; then
	head -c 300000 "$KERNEL" >"$tmp/truncated"
	cp "$KERNEL" "$tmp/corrupt"
	# overwrite 4 KiB at the start of the compressed payload (past the
	# setup code): the header still parses, the payload does not
	setup_sects=$(od -An -tu1 -j 0x1f1 -N1 "$KERNEL" | tr -d ' ')
	payload_off=$(od -An -tu4 -j 0x248 -N4 "$KERNEL" | tr -d ' ')
	dd if=/dev/urandom of="$tmp/corrupt" bs=1 seek=$(( (setup_sects + 1) * 512 + payload_off + 16 )) \
		count=4096 conv=notrunc status=none
	truncate -s 600M "$tmp/huge-initrd" # sparse: costs no disk
fi

bad_input_cases() { # FN: expect, expect_nokvm, skip_nokvm
	local fn=$1
	$fn "missing kernel" 1 "--kernel /nonexistent/vmlinuz: No such file" -- run -k /nonexistent/vmlinuz
	$fn "kernel is a directory" 1 "Is a directory" -- run -k "$tmp"
	$fn "garbage kernel" 1 "not a kernel petrel can boot" -- run -k "$tmp/garbage"
	# disks are opened (and locked) before the kernel is read
	$fn "missing disk image" 1 "disk /nonexistent.img: open\(O_RDWR\): No such file" -- run -k "$tmp/garbage" --disk /nonexistent.img
	$fn "disk is a directory" 1 "disk $tmp: is a directory" -- run -k "$tmp/garbage" --disk "$tmp"
	$fn "one image as two rw disks" 1 "disk.img: is in use by another process \(locked\)" -- run -k "$tmp/garbage" --disk "$tmp/disk.img" --disk "$tmp/disk.img"
	$fn "bad --disk option" 2 'unknown option "rw"' -- run -k "$tmp/garbage" --disk "$tmp/disk.img,rw"
	# --net: bad options are usage errors; a missing tap is said (with the
	# command that makes one) before the kernel is read
	$fn "bad hostfwd" 2 "hostfwd=tcp::2222 is not tcp\|udp" -- run -k "$tmp/garbage" --net user,hostfwd=tcp::2222
	$fn "bad mac" 2 "mac=52:54:00:xx:00:01 is not a MAC address" -- run -k "$tmp/garbage" --net user,mac=52:54:00:xx:00:01
	$fn "missing tap" 1 "there is no interface petrel-nosuch: create it first, e.g. .sudo ip tuntap add petrel-nosuch mode tap" -- run -k "$tmp/garbage" --net tap=petrel-nosuch
	$fn "tap fd not open" 1 "fd 77 is not open" -- run -k "$tmp/garbage" --net tap,fd=77
	$fn "tap fd not a tap" 1 "fd 0 is not an attached tap" -- run -k "$tmp/garbage" --net tap,fd=0
	[ $have_kernel -eq 1 ] || fn=skip_no_kernel
	$fn "truncated bzImage" 1 "not a bootable bzImage" -- run -k "$tmp/truncated"
	$fn "corrupt payload" 1 "cannot (decompress|load)" -- run -k "$tmp/corrupt" --console none
	$fn "missing initrd" 1 "--initrd /nonexistent: No such file" -- run -k "$KERNEL" -i /nonexistent
	$fn "initrd larger than RAM" 1 "larger than guest RAM" -- run -k "$KERNEL" -i "$tmp/huge-initrd" -m 512M
	$fn "too little memory" 1 "give the VM more --mem" -- run -k "$KERNEL" -m 32M
	$fn "too many vCPUs" 1 "at most 254 fit" -- run -k "$KERNEL" --cpus 255
	$fn "command line too long" 1 "longer than this kernel accepts" -- run -k "$KERNEL" -c "$long"
	$fn "unknown CPU feature" 1 'unknown feature "warpdrive"' -- run -k "$KERNEL" --cpu-features=-warpdrive
	$fn "unknown KVM feature" 1 'unknown feature "kvm-warp"' -- run -k "$KERNEL" --cpu-features=-kvmclock,-kvm,-kvm-warp
	$fn "trace file cannot be opened" 1 "--trace: cannot open /nonexistent/dir/t.log: No such file" -- run -k "$KERNEL" --trace pio:/nonexistent/dir/t.log
	# the control API's socket is made after the plan, before /dev/kvm
	$fn "api socket in a missing directory" 1 "api-socket /nonexistent/dir/x.sock: the directory /nonexistent/dir does not exist" -- run -k "$KERNEL" --api-socket /nonexistent/dir/x.sock
	$fn "api socket path is a file" 1 "exists and is not a socket" -- run -k "$KERNEL" --api-socket "$tmp/garbage"
	$fn "api socket path too long" 1 "longer than a Unix socket path may be" -- run -k "$KERNEL" --api-socket "/tmp/$(printf 'x%.0s' {1..120})"
}
expect "empty --api-socket" 2 "api-socket: empty path" -- run -k "$tmp/garbage" --api-socket ""
expect "ctl without a command" 2 "no command given" -- ctl /tmp/x.sock
expect "ctl unknown command" 2 "unknown command" -- ctl /tmp/x.sock frobnicate
expect "ctl argument not a number" 2 "arguments are numbers" -- ctl /tmp/x.sock regs "0;rm"
expect "ctl to no petrel" 1 "cannot connect to $tmp/none.sock" -- ctl "$tmp/none.sock" info
expect "ctl --help" 0 "petrel ctl SOCKET COMMAND" -- ctl --help
bad_input_cases expect
if [ $can_unshare -eq 1 ]; then
	bad_input_cases expect_nokvm
else
	bad_input_cases skip_nokvm
fi

# A socket left by a petrel that died (nobody accepts on it) is replaced;
# without /dev/kvm petrel then stops, and removes the socket it made.
stale_socket_case() {
	local name="stale api socket replaced, then removed at exit, no /dev/kvm" rc
	if [ $can_unshare -ne 1 ] || [ $have_kernel -ne 1 ]; then
		skip_case "$name" "needs root, unshare and the test kernel"
		return
	fi
	python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$tmp/stale.sock"
	timeout 60 unshare -m sh -c 'mount -t tmpfs none /dev && exec "$0" "$@"' \
		"$PETREL" run -k "$KERNEL" --api-socket "$tmp/stale.sock" </dev/null >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q "/dev/kvm" "$tmp/out" && ! grep -q "api-socket" "$tmp/out" &&
	   [ ! -e "$tmp/stale.sock" ]; then
		echo "  ok   $name"; pass=$((pass + 1))
	else
		echo "  FAIL $name: status $rc, socket $( [ -e "$tmp/stale.sock" ] && echo left || echo gone), output:"
		sed 's/^/    /' "$tmp/out" | head -5
		fail=$((fail + 1))
	fi
}
stale_socket_case

fi # nokvm part

# Multiboot guests whose own reset or poweroff ends petrel with status 0
guests_built=1
for mode in 1:i8042 2:cf9 3:acpi 4:outl 5:outw; do
	cc -m32 -DMODE=${mode%%:*} -c tests/cli/power_guest.S -o "$tmp/power.o" &&
	ld -m elf_i386 -N -nostdlib -static --no-warn-rwx-segments -e _start -Ttext=0x100000 \
		-o "$tmp/power-${mode#*:}.elf" "$tmp/power.o" || guests_built=0
done
cc -m32 -c tests/cli/com1_flood.S -o "$tmp/flood.o" &&
ld -m elf_i386 -N -nostdlib -static --no-warn-rwx-segments -e _start -Ttext=0x100000 \
	-o "$tmp/flood.elf" "$tmp/flood.o" || guests_built=0
[ $guests_built -eq 1 ] || { echo "  FAIL cannot build the guests in tests/cli/"; fail=$((fail + 1)); }

if [ "$part" != kvm ]; then
# No /dev/kvm at all: a good kernel gets as far as the plan, then the
# explanation of the missing /dev/kvm (needs root and unshare).
nokvm_good() { # NAME KERNEL
	unshare -m sh -c 'mount -t tmpfs none /dev && exec "$0" "$@"' "$PETREL" run -k "$2" --console none \
		</dev/null >"$tmp/out" 2>&1; rc=$?
	if [ $rc -eq 1 ] && grep -q "/dev/kvm does not exist: this host has no KVM" "$tmp/out"; then
		echo "  ok   no /dev/kvm, $1: explained, status 1"; pass=$((pass + 1))
	else
		echo "  FAIL no /dev/kvm, $1: status $rc"; sed 's/^/    /' "$tmp/out" | head -8; fail=$((fail + 1))
	fi
}
if [ $can_unshare -eq 0 ]; then
	skip_case "no /dev/kvm, good bzImage" "needs root and unshare"
	skip_case "no /dev/kvm, good Multiboot kernel" "needs root and unshare"
else
	if [ $have_kernel -eq 1 ]; then nokvm_good "good bzImage" "$KERNEL"
	else skip_no_kernel "no /dev/kvm, good bzImage"; fi
	if [ $guests_built -eq 1 ]; then nokvm_good "good Multiboot kernel" "$tmp/power-acpi.elf"
	else skip_case "no /dev/kvm, good Multiboot kernel" "guest not built"; fi
fi

fi # nokvm part

if [ "$part" != nokvm ]; then
# A guest's own reset and poweroff end petrel with status 0; an outl or outw
# of V to the debug-exit port ends it with (V << 1 | 1) & 0xff, as QEMU's
# isa-debug-exit,iosize=4 does (needs KVM).
for m in i8042 cf9 acpi outl outw; do
	status=0 name="guest stop via $m" extra=()
	case $m in
	acpi) want="guest powered off \(acpi\)" ;;
	outl) status=67 extra=(--debug-exit) name="outl to the debug-exit port" ;;
	outw) status=33 extra=(--debug-exit) name="outw to the debug-exit port" ;;
	*) want="guest reset \($m\)" ;;
	esac
	[ $status -ne 0 ] && want="debug-exit port \(status $status\)"
	if [ $have_kvm -eq 0 ]; then
		skip_case "$name" "/dev/kvm is not available here"
	elif [ $guests_built -eq 0 ]; then
		skip_case "$name" "guest not built"
	else
		expect "$name" $status "$want" -- run -k "$tmp/power-$m.elf" --console none "${extra[@]}"
	fi
done

# SIGTERM while the guest floods COM1 and stdout is a pipe nobody reads: a
# stalled stdout must not hang a vCPU, so petrel still stops promptly with
# status 5, saying how much output it dropped. 20 s is a hang detector, not
# a timing assertion (the flush on stop waits 1 s for a stdout that takes
# nothing). The shell holds the FIFO's read end (fd 7) and never reads it;
# FIONREAD on it (perl, 0x541B) tells when the pipe is full.
stalled_stdout_case() {
	local name="SIGTERM with stdout stalled (a full pipe)" n last=-1 same=0 rc
	mkfifo "$tmp/stalled" && exec 7<>"$tmp/stalled" || {
		echo "  FAIL $name: cannot make a FIFO"; fail=$((fail + 1)); return; }
	"$PETREL" run -k "$tmp/flood.elf" </dev/null >"$tmp/stalled" 2>"$tmp/out" &
	local pid=$!
	# Until the pipe is (nearly) full and stays so: a pause of the guest's
	# output at 19942 bytes on a struggling nested VM once ended the wait
	# early, and then nothing was dropped. At most ~60 s.
	for _ in $(seq 600); do
		n=$(perl -e 'open(my $f, "<&=", 7) or die; my $b = pack("L", 0);
			ioctl($f, 0x541B, $b) or die; print unpack("L", $b)' 2>/dev/null) || { sleep 5; break; }
		if [ "$n" -ge 61440 ] && [ "$n" -eq "$last" ]; then
			same=$((same + 1)); [ $same -ge 5 ] && break
		else
			same=0
		fi
		last=$n
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	sleep 1 # the console's own buffer fills behind the pipe
	kill -TERM $pid
	for _ in $(seq 200); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	if kill -0 $pid 2>/dev/null; then
		echo "  FAIL $name: petrel still runs 20 s after SIGTERM (pipe held $last bytes)"
		tail -3 "$tmp/out" | sed 's/^/    /'
		kill -KILL $pid; wait $pid 2>/dev/null
		fail=$((fail + 1))
	else
		wait $pid; rc=$?
		if [ $rc -eq 5 ] && grep -q "stopped by signal" "$tmp/out" &&
		   grep -q "bytes of guest output dropped" "$tmp/out"; then
			echo "  ok   $name"; pass=$((pass + 1))
		else
			echo "  FAIL $name: status $rc (want 5, pipe held $last bytes)"
			tail -3 "$tmp/out" | sed 's/^/    /'; fail=$((fail + 1))
		fi
	fi
	exec 7>&-
	rm -f "$tmp/stalled"
}
if [ $have_kvm -eq 0 ]; then
	skip_case "SIGTERM with stdout stalled (a full pipe)" "/dev/kvm is not available here"
elif [ $guests_built -eq 0 ]; then
	skip_case "SIGTERM with stdout stalled (a full pipe)" "guest not built"
else
	stalled_stdout_case
fi

# A disk a running petrel writes is locked against a second one (needs KVM
# for the first to run); a read-only one may be shared.
if [ $have_kvm -eq 0 ] || [ $guests_built -eq 0 ]; then
	skip_case "a disk in use by a running petrel" "$([ $have_kvm -eq 0 ] && echo "/dev/kvm is not available here" || echo "guest not built")"
else
	"$PETREL" run -k "$tmp/flood.elf" --console none --disk "$tmp/disk.img" </dev/null >"$tmp/first" 2>&1 &
	pid=$!
	sleep 1
	timeout 60 "$PETREL" run -k "$tmp/flood.elf" --console none --disk "$tmp/disk.img,ro" \
		</dev/null >"$tmp/out" 2>&1; rc=$?
	if kill -0 $pid 2>/dev/null && [ $rc -eq 1 ] && grep -q "disk.img: is in use by another process (locked)" "$tmp/out"; then
		echo "  ok   a disk in use by a running petrel"; pass=$((pass + 1))
	else
		echo "  FAIL a disk in use by a running petrel: status $rc (want 1)"; tail -n3 "$tmp/out" "$tmp/first"
		fail=$((fail + 1))
	fi
	kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
fi

# Signals and the console escape, with the kernel running (needs KVM).
if [ $have_kvm -eq 0 ] || [ $have_kernel -eq 0 ]; then
	why="/dev/kvm is not available here"
	[ $have_kvm -eq 1 ] && why="no test kernel at $KERNEL"
	for c in "SIGTERM stops the VM with status 5" "Ctrl-A x quits with status 5" \
		 "Ctrl-A x quits behind a paste the guest never reads"; do
		skip_case "$c" "$why"
	done
else
	# a running guest stopped by SIGTERM: clean stop, status 5
	"$PETREL" run -k "$KERNEL" -c "console=ttyS0" </dev/null >"$tmp/out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do grep -q 'Linux version' "$tmp/out" && break; sleep 0.1; done
	kill -TERM $pid; wait $pid; rc=$?
	if [ $rc -eq 5 ] && grep -q "stopped by signal" "$tmp/out"; then
		echo "  ok   SIGTERM stops the VM with status 5"; pass=$((pass + 1))
	else
		echo "  FAIL SIGTERM: status $rc"; tail -3 "$tmp/out"; fail=$((fail + 1))
	fi
	# the console escape Ctrl-A x, typed after the kernel has started
	( sleep 1; printf '\001x' ) | timeout 60 "$PETREL" run -k "$KERNEL" \
		-c "console=ttyS0" >"$tmp/out" 2>&1; rc=$?
	if [ $rc -eq 5 ] && grep -q "quit from the console" "$tmp/out"; then
		echo "  ok   Ctrl-A x quits with status 5"; pass=$((pass + 1))
	else
		echo "  FAIL Ctrl-A x: status $rc"; tail -3 "$tmp/out"; fail=$((fail + 1))
	fi
	# ... even behind 8000 pasted bytes a guest never reads (the UART takes 16)
	( sleep 1; head -c 8000 /dev/zero | tr '\0' a; printf '\001x' ) | timeout 60 "$PETREL" run \
		-k "$KERNEL" -c "console=ttyS0" >"$tmp/out" 2>&1; rc=$?
	if [ $rc -eq 5 ] && grep -q "quit from the console" "$tmp/out" &&
	   grep -q "console input dropped: the guest is not reading COM1" "$tmp/out"; then
		echo "  ok   Ctrl-A x quits behind a paste the guest never reads"; pass=$((pass + 1))
	else
		echo "  FAIL Ctrl-A x behind a paste: status $rc"; tail -3 "$tmp/out"; fail=$((fail + 1))
	fi
fi
fi # kvm part
mkdir -p build/test-logs
echo "$pass $fail $skip" >"build/test-logs/cli-${part}-result"
echo "$pass $fail $skip" >build/test-logs/cli-result
[ $fail -eq 0 ]
